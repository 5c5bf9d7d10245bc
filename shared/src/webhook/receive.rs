//! One delivery, end to end: method and size checks, signature, parse, classify,
//! apply, and the outcome the handler answers. The function crate only maps a
//! [`Received`] to its HTTP response.

use super::apply::{ApplyError, EventOutcome, apply_event};
use super::event::{Change, EventError, WebhookEvent};
use super::verify::{SignatureHeaders, VerifyError, verify};
use crate::config::WebhookConfig;
use crate::domain::Timestamp;
use crate::store::DynamoLeadStore;
use secrecy::ExposeSecret;

/// The parts of an HTTP request a delivery is judged on.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The request method, e.g. `POST`.
    pub method: &'a str,
    pub headers: SignatureHeaders<'a>,
    /// The raw body, exactly as received (the signature covers these bytes).
    pub body: &'a [u8],
}

/// Why a delivery was refused before anything was written. The text is the answer's
/// `error` message (it names no secret and no stored data).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("only POST is accepted")]
    NotPost,
    #[error("body is larger than {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
    #[error("invalid signature: {0}")]
    BadSignature(VerifyError),
    /// The body is not a webhook event.
    #[error("{0}")]
    BadBody(EventError),
    /// The event's record cannot be mirrored.
    #[error("{error}")]
    BadRecord { event: String, error: EventError },
}

/// How one delivery ended.
#[derive(Debug)]
pub enum Received {
    /// Judged and, where it changes the mirror, applied.
    Done(EventOutcome),
    /// Refused; nothing was written.
    Refused(Refusal),
    /// The store failed; the caller should answer a generic 5xx so Twenty retries.
    Failed(ApplyError),
}

/// Checks a delivery and classifies its event, without touching the store. Pure: the
/// clock is an argument.
pub fn admit(
    delivery: Delivery<'_>,
    config: &WebhookConfig,
    now: Timestamp,
) -> Result<(WebhookEvent, Change), Refusal> {
    if delivery.method != "POST" {
        return Err(Refusal::NotPost);
    }
    let body = delivery.body;
    if body.len() > config.max_body_bytes {
        return Err(Refusal::TooLarge {
            bytes: body.len(),
            limit: config.max_body_bytes,
        });
    }
    if let Some(secret) = &config.secret {
        verify(
            body,
            delivery.headers,
            secret.expose_secret().as_bytes(),
            now,
            config.tolerance,
        )
        .map_err(Refusal::BadSignature)?;
    }
    let event = WebhookEvent::parse(body).map_err(Refusal::BadBody)?;
    match event.change(&config.objects) {
        Ok(change) => Ok((event, change)),
        Err(error) => Err(Refusal::BadRecord {
            event: event.event_name,
            error,
        }),
    }
}

/// [`admit`], then the event applied to the mirror; logs how it ended. Never writes
/// for a refused delivery.
pub async fn receive(
    delivery: Delivery<'_>,
    config: &WebhookConfig,
    now: Timestamp,
    store: &DynamoLeadStore,
) -> Received {
    let (event, change) = match admit(delivery, config, now) {
        Ok(admitted) => admitted,
        Err(refusal) => {
            log_refusal(&refusal);
            return Received::Refused(refusal);
        }
    };
    match apply_event(store, &change).await {
        Ok(outcome) => {
            let record_id = event
                .record
                .as_ref()
                .and_then(|r| r.get("id"))
                .and_then(|v| v.as_str())
                .unwrap_or("-");
            match outcome {
                EventOutcome::Stale => {
                    tracing::info!(event = %event.event_name, record_id, outcome = outcome.as_str(), "Ignored stale {} (a newer version is stored)", event.event_name)
                }
                _ => {
                    tracing::info!(event = %event.event_name, record_id, outcome = outcome.as_str(), "Webhook {}: {}", event.event_name, outcome.as_str())
                }
            }
            Received::Done(outcome)
        }
        Err(e) => {
            tracing::error!(event = %event.event_name, error = %e, "webhook could not be applied");
            Received::Failed(e)
        }
    }
}

fn log_refusal(refusal: &Refusal) {
    match refusal {
        Refusal::NotPost => {}
        Refusal::TooLarge { bytes, .. } => {
            tracing::warn!(bytes, "webhook refused: body too large")
        }
        Refusal::BadSignature(reason) => {
            tracing::warn!(reason = %reason, "webhook refused: signature check failed")
        }
        Refusal::BadBody(error) => tracing::warn!(error = %error, "webhook refused: bad body"),
        Refusal::BadRecord { event, error } => {
            tracing::warn!(event = %event, error = %error, "webhook refused: bad record")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;
    use crate::domain::ObjectName;
    use crate::webhook::sign;

    const SECRET: &str = "s3cret";

    fn config(secret: Option<&str>, max_body_bytes: usize) -> WebhookConfig {
        WebhookConfig {
            table_name: "spartan-leads".into(),
            object: ObjectName::from_plural("leads"),
            objects: crate::domain::MirrorSet::with_defaults(&ObjectName::from_plural("leads")),
            secret: secret.map(|s| SecretString::from(s.to_string())),
            tolerance: Duration::from_secs(300),
            max_body_bytes,
            metrics_namespace: None,
        }
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
    }

    /// A POST of the lead event with no signature headers.
    fn unsigned_lead() -> Delivery<'static> {
        Delivery {
            method: "POST",
            headers: SignatureHeaders {
                timestamp: None,
                signature: None,
            },
            body: LEAD.as_bytes(),
        }
    }

    /// Admits `body` signed now with [`SECRET`], sent with `method`.
    fn admit_signed(
        method: &str,
        body: &[u8],
        config: &WebhookConfig,
    ) -> Result<(WebhookEvent, Change), Refusal> {
        let timestamp = now().unix_millis().to_string();
        let signature = sign(SECRET.as_bytes(), &timestamp, body);
        let delivery = Delivery {
            method,
            headers: SignatureHeaders {
                timestamp: Some(&timestamp),
                signature: Some(&signature),
            },
            body,
        };
        admit(delivery, config, now())
    }

    const LEAD: &str = r#"{"eventName":"lead.updated","record":{"id":"7f0c2a4e-3b7d-4d1e-9a51-0d2f7e8c1b11","updatedAt":"2025-12-31T23:00:00.000Z","name":"Ada"}}"#;

    #[test]
    fn a_signed_lead_event_is_admitted_and_classified() {
        let (event, change) =
            admit_signed("POST", LEAD.as_bytes(), &config(Some(SECRET), 1024)).unwrap();
        assert_eq!(event.event_name, "lead.updated");
        assert!(matches!(change, Change::Lead(..)), "{change:?}");
    }

    #[test]
    fn each_check_refuses_with_its_own_reason_in_order() {
        let signed = config(Some(SECRET), 1024);
        assert_eq!(
            admit_signed("GET", LEAD.as_bytes(), &signed).unwrap_err(),
            Refusal::NotPost
        );
        let small = config(Some(SECRET), 10);
        let err = admit_signed("POST", LEAD.as_bytes(), &small).unwrap_err();
        assert!(
            matches!(err, Refusal::TooLarge { limit: 10, .. }),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "body is larger than 10 bytes");

        let unsigned = unsigned_lead();
        let err = admit(unsigned, &signed, now()).unwrap_err();
        assert!(matches!(err, Refusal::BadSignature(_)), "{err:?}");
        assert!(err.to_string().starts_with("invalid signature: "), "{err}");

        let err = admit_signed("POST", b"not json", &signed).unwrap_err();
        assert!(matches!(err, Refusal::BadBody(_)), "{err:?}");
        let no_id = br#"{"eventName":"lead.updated","record":{"name":"Ada"}}"#;
        let err = admit_signed("POST", no_id, &signed).unwrap_err();
        assert!(
            matches!(&err, Refusal::BadRecord { event, .. } if event == "lead.updated"),
            "{err:?}"
        );
    }

    #[test]
    fn without_a_secret_the_signature_is_not_checked() {
        let unsigned = unsigned_lead();
        assert!(admit(unsigned, &config(None, 1024), now()).is_ok());
    }

    #[test]
    fn other_objects_are_admitted_as_ignored() {
        let body = br#"{"eventName":"company.created","record":{"id":"x"}}"#;
        let (_, change) = admit_signed("POST", body, &config(Some(SECRET), 1024)).unwrap();
        assert!(matches!(change, Change::Ignored(_)), "{change:?}");
    }
}
