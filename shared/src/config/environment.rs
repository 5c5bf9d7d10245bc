//! Secrets given by reference, read from their store before the settings are parsed.

use std::collections::HashMap;

use super::ConfigError;

/// Secrets that may come as a reference instead of a value: deployed functions get the
/// name of an SSM SecureString parameter (`<NAME>_PARAMETER`, the default) or a Secrets
/// Manager ARN (`<NAME>_SECRET_ARN`), local runs the value itself.
const SECRETS: [(&str, &str, &str); 2] = [
    (
        "TWENTY_API_KEY",
        "TWENTY_API_KEY_PARAMETER",
        "TWENTY_API_KEY_SECRET_ARN",
    ),
    (
        "TWENTY_WEBHOOK_SECRET",
        "TWENTY_WEBHOOK_SECRET_PARAMETER",
        "TWENTY_WEBHOOK_SECRET_ARN",
    ),
];

/// The process environment, with each secret given by reference read from its store.
pub(super) async fn environment_with_secrets() -> Result<HashMap<String, String>, ConfigError> {
    use crate::secrets::SecretStore;
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    for (name, parameter_name, arn_name) in SECRETS {
        if vars.get(name).is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let reference = [
            (parameter_name, SecretStore::ParameterStore),
            (arn_name, SecretStore::SecretsManager),
        ]
        .into_iter()
        .find_map(|(var, store)| {
            let id = vars.get(var)?.trim();
            (!id.is_empty()).then(|| (var, store, id.to_string()))
        });
        if let Some((var, store, id)) = reference {
            let value =
                crate::secrets::fetch(store, &id)
                    .await
                    .map_err(|e| ConfigError::Secret {
                        name: var,
                        reason: e.to_string(),
                    })?;
            vars.insert(name.to_string(), value);
        }
    }
    Ok(vars)
}
