use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{LeadId, Timestamp};

/// A record exactly as Twenty returned it (every field, custom ones included), with
/// the three fields the sync depends on checked and parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRecord {
    id: LeadId,
    updated_at: Timestamp,
    deleted_at: Option<Timestamp>,
    /// Computed once: every write compares it, some twice.
    content_hash: String,
    fields: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordError {
    #[error("record is missing the field `{0}`")]
    Missing(&'static str),
    #[error("record field `{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl RemoteRecord {
    pub fn from_fields(fields: Map<String, Value>) -> Result<Self, RecordError> {
        let id = match fields.get("id") {
            Some(Value::String(s)) => LeadId::parse(s).map_err(|reason| RecordError::Invalid {
                field: "id",
                reason,
            })?,
            Some(_) => {
                return Err(RecordError::Invalid {
                    field: "id",
                    reason: "not a string".into(),
                });
            }
            None => return Err(RecordError::Missing("id")),
        };
        let updated_at = match fields.get("updatedAt") {
            Some(Value::String(s)) => Timestamp::parse(s).map_err(|e| RecordError::Invalid {
                field: "updatedAt",
                reason: e.to_string(),
            })?,
            Some(_) => {
                return Err(RecordError::Invalid {
                    field: "updatedAt",
                    reason: "not a string".into(),
                });
            }
            None => return Err(RecordError::Missing("updatedAt")),
        };
        let deleted_at = match fields.get("deletedAt") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(Timestamp::parse(s).map_err(|e| RecordError::Invalid {
                    field: "deletedAt",
                    reason: e.to_string(),
                })?)
            }
            Some(_) => {
                return Err(RecordError::Invalid {
                    field: "deletedAt",
                    reason: "not a string or null".into(),
                });
            }
        };
        Ok(Self {
            id,
            updated_at,
            deleted_at,
            content_hash: content_hash(&fields),
            fields,
        })
    }

    pub fn id(&self) -> &LeadId {
        &self.id
    }

    pub fn updated_at(&self) -> Timestamp {
        self.updated_at
    }

    pub fn deleted_at(&self) -> Option<Timestamp> {
        self.deleted_at
    }

    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    /// Fingerprint of what the record says, leaving out `updatedAt` and `updatedBy`:
    /// Twenty bumps them on every PATCH, even one that changes nothing (and sends no
    /// webhook for it), and such a bump is not a change.
    pub fn content_hash(&self) -> String {
        self.content_hash.clone()
    }
}

/// Fields Twenty rewrites on every PATCH whether or not anything changed.
const VOLATILE_FIELDS: [&str; 2] = ["updatedAt", "updatedBy"];

/// SHA-256 (first 128 bits, hex) of the fields in a canonical form (keys sorted at
/// every depth), so that key order in the JSON never makes two equal records differ.
pub fn content_hash(fields: &Map<String, Value>) -> String {
    let mut hasher = Sha256::new();
    let mut keys: Vec<&String> = fields
        .keys()
        .filter(|k| !VOLATILE_FIELDS.contains(&k.as_str()))
        .collect();
    keys.sort();
    hasher.update(b"{");
    for key in keys {
        write_canonical_str(&mut hasher, key);
        hasher.update(b":");
        if let Some(v) = fields.get(key) {
            write_canonical(&mut hasher, v);
        }
        hasher.update(b",");
    }
    hasher.update(b"}");
    let digest = hasher.finalize();
    hex::encode(&digest[..16])
}

fn write_canonical(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for key in keys {
                write_canonical_str(hasher, key);
                hasher.update(b":");
                if let Some(v) = map.get(key) {
                    write_canonical(hasher, v);
                }
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                write_canonical(hasher, item);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        Value::String(s) => write_canonical_str(hasher, s),
        Value::Number(n) => {
            // Numbers stored as `10` and read back as `10.0` must hash alike.
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    hasher.update(format!("n{}", f as i64).as_bytes())
                }
                _ => hasher.update(format!("n{n}").as_bytes()),
            }
        }
        Value::Bool(b) => hasher.update(if *b { b"t" } else { b"f" }),
        Value::Null => hasher.update(b"z"),
    }
}

fn write_canonical_str(hasher: &mut Sha256, s: &str) {
    hasher.update((s.len() as u64).to_le_bytes());
    hasher.update(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn parses_the_fields_the_sync_needs() {
        let r = RemoteRecord::from_fields(record(json!({
            "id": "73affd6e-2319-4ad1-82d8-f8eb9312a232",
            "updatedAt": "2026-11-24T17:14:05.755Z",
            "deletedAt": "2026-11-24T17:14:05.755Z",
            "name": "Globex lead"
        })))
        .unwrap();
        assert_eq!(r.id().as_str(), "73affd6e-2319-4ad1-82d8-f8eb9312a232");
        assert_eq!(r.updated_at().to_string(), "2026-11-24T17:14:05.755Z");
        assert!(r.deleted_at().is_some());
    }

    #[test]
    fn names_the_missing_or_bad_field() {
        let err =
            RemoteRecord::from_fields(record(json!({"updatedAt": "2026-11-24T17:14:05.755Z"})))
                .unwrap_err();
        assert_eq!(err, RecordError::Missing("id"));
        let err = RemoteRecord::from_fields(record(json!({
            "id": "73affd6e-2319-4ad1-82d8-f8eb9312a232", "updatedAt": "soon"
        })))
        .unwrap_err();
        assert!(err.to_string().contains("updatedAt"));
    }

    #[test]
    fn hash_ignores_updated_at_and_key_order_but_not_content() {
        let a = record(json!({"id": "x", "updatedAt": "1", "phones": {"a": "8563057016", "b": 1}}));
        let b = record(
            json!({"phones": {"b": 1.0, "a": "8563057016"}, "updatedAt": "2", "updatedBy": {"name": "Tim"}, "id": "x"}),
        );
        let c = record(json!({"id": "x", "updatedAt": "1", "phones": {"a": "8553057016", "b": 1}}));
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&c));
    }

    #[test]
    fn hash_tells_null_from_empty_string() {
        let a = record(json!({"source": null}));
        let b = record(json!({"source": ""}));
        assert_ne!(content_hash(&a), content_hash(&b));
    }
}
