use super::ConfigError;
use super::vars::Vars;
use crate::domain::{MirrorSet, ObjectName};

/// What the leads API needs: only the table.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub table_name: String,
    pub object: ObjectName,
    /// Every object mirrored (`TWENTY_OBJECTS`), the lead object first.
    pub objects: MirrorSet,
    pub metrics_namespace: Option<String>,
    /// The function `POST /sync` invokes (`DELTA_SYNC_FUNCTION`; `cargo lambda watch`
    /// knows it by its binary name).
    pub delta_sync_function: String,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&get);
        let object = vars.object()?;
        Ok(Self {
            table_name: vars.table_name()?,
            objects: vars.objects(&object)?,
            object,
            metrics_namespace: vars.optional("METRICS_NAMESPACE"),
            delta_sync_function: vars
                .optional("DELTA_SYNC_FUNCTION")
                .unwrap_or_else(|| "delta-sync".into()),
        })
    }
}
