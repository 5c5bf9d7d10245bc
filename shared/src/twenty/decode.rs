//! Records out of Twenty's JSON envelopes, with the path of what did not parse.

use serde_json::Value;

use super::page::OneEnvelope;
use super::{TwentyClient, TwentyError};
use crate::domain::RemoteRecord;

impl TwentyClient {
    pub(super) fn one(&self, env: OneEnvelope, op: &str) -> Result<RemoteRecord, TwentyError> {
        let (key, value) = env.data.iter().next().ok_or_else(|| TwentyError::Decode {
            operation: op.to_string(),
            path: "data".into(),
            reason: "empty".into(),
        })?;
        self.record_at(value, op, &format!("data.{key}"))
    }

    fn record_at(&self, value: &Value, op: &str, path: &str) -> Result<RemoteRecord, TwentyError> {
        self.owned_record(value.clone(), op, || path.to_string())
    }

    /// A record from a JSON value; the path (for the error) is only built on failure.
    pub(super) fn owned_record(
        &self,
        value: Value,
        op: &str,
        path: impl Fn() -> String,
    ) -> Result<RemoteRecord, TwentyError> {
        let fields = match value {
            Value::Object(m) => m,
            _ => {
                return Err(TwentyError::Decode {
                    operation: op.to_string(),
                    path: path(),
                    reason: "not an object".into(),
                });
            }
        };
        RemoteRecord::from_fields(fields).map_err(|e| TwentyError::Decode {
            operation: op.to_string(),
            path: path(),
            reason: e.to_string(),
        })
    }
}
