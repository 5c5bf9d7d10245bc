//! Webhook registrations, which events they want, the body Twenty posts, and its signature.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::clock::{format_ms, now_ms};
use super::errors::ApiError;
use super::json;
use super::world::Change;

pub(crate) const WORKSPACE_ID: &str = "20202020-1c25-4d02-bf25-6aeccf7ea419";
const APPLICATION_ID: &str = "1f167ae2-292e-4710-8cb1-6df28db87ced";

#[derive(Clone, Debug)]
pub(crate) struct Webhook {
    pub id: String,
    pub target_url: String,
    pub operations: Vec<String>,
    pub secret: String,
    pub description: String,
    pub created_at: String,
}

impl Webhook {
    pub(crate) fn new(
        target_url: &str,
        operations: Vec<String>,
        secret: &str,
        description: &str,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            target_url: target_url.to_string(),
            operations,
            secret: secret.to_string(),
            description: description.to_string(),
            created_at: format_ms(now_ms()),
        }
    }

    /// `POST /rest/webhooks {"targetUrl","operations","secret","description"}`.
    pub(crate) fn from_request(body: &Value) -> Result<Self, ApiError> {
        let target_url = body
            .get("targetUrl")
            .and_then(Value::as_str)
            .filter(|u| url::Url::parse(u).is_ok())
            .ok_or_else(|| ApiError::bad_request("targetUrl must be a valid URL"))?;
        let operations = match body.get("operations") {
            None | Some(Value::Null) => vec!["*.*".to_string()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|op| {
                    op.as_str()
                        .filter(|s| s.contains('.'))
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::bad_request(format!("Invalid operation {op}")))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "operations must be an array, got {other}"
                )));
            }
        };
        let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
        Ok(Self::new(
            target_url,
            operations,
            text("secret"),
            text("description"),
        ))
    }

    /// As webhook-create.json shows it.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "targetUrl": self.target_url,
            "operations": self.operations,
            "description": self.description,
            "secret": self.secret,
            "workspaceId": WORKSPACE_ID,
            "applicationId": APPLICATION_ID,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "deletedAt": null,
        })
    }

    /// `*.*`, `lead.*`, `*.updated` or an exact `lead.updated`.
    pub(crate) fn wants(&self, change: &Change) -> bool {
        let object = change.kind.singular();
        let action = change.action.as_str();
        self.operations.iter().any(|op| {
            op.split_once('.')
                .is_some_and(|(o, a)| (o == "*" || o == object) && (a == "*" || a == action))
        })
    }

    /// The single-line JSON body Twenty posts for `change`.
    pub(crate) fn event_body(&self, change: &Change, event_date: &str) -> String {
        let mut body = json!({
            "targetUrl": self.target_url,
            "eventName": change.event_name(),
            "objectMetadata": {
                "id": change.kind.metadata_id(),
                "nameSingular": change.kind.singular(),
            },
            "workspaceId": WORKSPACE_ID,
            "webhookId": self.id,
            "eventDate": event_date,
            "record": change.record,
        });
        if let (Some(fields), Some(obj)) = (&change.updated_fields, body.as_object_mut()) {
            obj.insert("updatedFields".into(), json!(fields));
        }
        json::to_string(&body, Some(change.kind))
    }
}

/// `X-Twenty-Webhook-Signature`: lowercase hex HMAC-SHA256 of `<timestamp>:<raw body>`
/// keyed with the webhook's secret; `timestamp` is the `X-Twenty-Webhook-Timestamp` value.
pub fn sign_payload(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `X-Twenty-Webhook-Nonce`: 16 random bytes, hex, new on every send.
pub(crate) fn nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::schema::ObjectKind;
    use crate::emulator::world::Action;

    const DELIVERIES: &str = include_str!("../../fixtures/twenty/deliveries.jsonl");

    #[test]
    fn signature_reproduces_every_captured_delivery() {
        let mut checked = 0;
        for line in DELIVERIES.lines().filter(|l| !l.trim().is_empty()) {
            let delivery: Value = serde_json::from_str(line).expect("jsonl line");
            let headers = &delivery["headers"];
            let timestamp = headers["x-twenty-webhook-timestamp"]
                .as_str()
                .expect("timestamp");
            let body = delivery["body"].as_str().expect("raw body");
            assert_eq!(
                sign_payload("twenty-test-secret", timestamp, body),
                headers["x-twenty-webhook-signature"]
                    .as_str()
                    .expect("signature"),
            );
            checked += 1;
        }
        assert!(checked > 0);
    }

    #[test]
    fn event_body_has_the_captured_shape() {
        let line = DELIVERIES
            .lines()
            .find(|l| {
                l.contains("\"eventName\": \"lead.deleted\"")
                    || l.contains("\"eventName\":\"lead.deleted\"")
            })
            .expect("a lead.deleted capture");
        let delivery: Value = serde_json::from_str(line).expect("jsonl line");
        let captured = delivery["body"].as_str().expect("raw body");
        let captured_json: Value = serde_json::from_str(captured).expect("body json");
        let hook = Webhook {
            id: captured_json["webhookId"]
                .as_str()
                .unwrap_or_default()
                .into(),
            target_url: captured_json["targetUrl"]
                .as_str()
                .unwrap_or_default()
                .into(),
            operations: vec!["*.*".into()],
            secret: "twenty-test-secret".into(),
            description: String::new(),
            created_at: String::new(),
        };
        let change = Change {
            kind: ObjectKind::Lead,
            action: Action::Deleted,
            record: captured_json["record"].clone(),
            updated_fields: Some(vec!["deletedAt".into()]),
        };
        let event_date = captured_json["eventDate"].as_str().unwrap_or_default();
        assert!(hook.wants(&change));
        // Same keys, same order, byte for byte.
        assert_eq!(hook.event_body(&change, event_date), captured);
    }

    #[test]
    fn operations_match_like_twenty() {
        let change = Change {
            kind: ObjectKind::Lead,
            action: Action::Updated,
            record: Value::Null,
            updated_fields: None,
        };
        let with = |ops: &[&str]| {
            Webhook::new(
                "http://x",
                ops.iter().map(|s| s.to_string()).collect(),
                "",
                "",
            )
            .wants(&change)
        };
        assert!(with(&["*.*"]));
        assert!(with(&["lead.*"]));
        assert!(with(&["*.updated"]));
        assert!(with(&["note.*", "lead.updated"]));
        assert!(!with(&["lead.created", "note.*"]));
    }
}
