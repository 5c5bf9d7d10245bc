use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::{LeadId, MirrorRole, MirrorSet, RemoteRecord};

/// What happened to a record, from the suffix of `eventName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    Created,
    Updated,
    Upserted,
    /// Soft delete: `record.deletedAt` is set.
    Deleted,
    /// Hard delete: `record` is the last state.
    Destroyed,
    Restored,
    Other(String),
}

/// A delivery's body, parsed. Twenty's shape:
/// `{"eventName":"lead.updated","objectMetadata":{..},"record":{..},"updatedFields":[..],..}`
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    pub event_name: String,
    /// `nameSingular` of the object (`lead`, `note`, `noteTarget`, ...).
    pub object: String,
    pub action: EventAction,
    pub record: Option<Map<String, Value>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a webhook event: {0}")]
    Shape(String),
    #[error("`record` is invalid: {0}")]
    Record(String),
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "eventName")]
    event_name: String,
    #[serde(default)]
    record: Option<Map<String, Value>>,
}

/// What the mirror does with an event, decided without touching the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Lead(EventAction, RemoteRecord),
    /// A record of another mirrored object (a note, a person...), with its kind.
    Record {
        action: EventAction,
        kind: String,
        record: RemoteRecord,
    },
    /// A note attached to (or detached from) a lead.
    NoteLink {
        action: EventAction,
        lead: LeadId,
        link: RemoteRecord,
    },
    /// Another object, or an action we do not mirror.
    Ignored(String),
}

impl WebhookEvent {
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
        if !value.is_object() {
            return Err(EventError::Shape("expected a JSON object".into()));
        }
        let raw: RawEvent = serde_path_to_error::deserialize(value)
            .map_err(|e| EventError::Shape(format!("`{}`: {}", e.path(), e.inner())))?;
        let (object, action) = raw.event_name.rsplit_once('.').ok_or_else(|| {
            EventError::Shape(format!(
                "eventName '{}' is not <object>.<action>",
                raw.event_name
            ))
        })?;
        let action = match action {
            "created" => EventAction::Created,
            "updated" => EventAction::Updated,
            "upserted" => EventAction::Upserted,
            "deleted" => EventAction::Deleted,
            "destroyed" => EventAction::Destroyed,
            "restored" => EventAction::Restored,
            other => EventAction::Other(other.to_string()),
        };
        Ok(Self {
            object: object.to_string(),
            event_name: raw.event_name.clone(),
            action,
            record: raw.record,
        })
    }

    /// Classifies the event for a mirror of `objects`. A handled event whose record
    /// lacks what the mirror needs is an error: it would otherwise be acknowledged and
    /// silently lost.
    pub fn change(&self, objects: &MirrorSet) -> Result<Change, EventError> {
        let object = match objects.by_singular(&self.object) {
            Some(o) if !matches!(self.action, EventAction::Other(_)) => o,
            _ => return Ok(Change::Ignored(self.event_name.clone())),
        };
        let fields = self
            .record
            .clone()
            .ok_or_else(|| EventError::Shape("`record` is missing".into()))?;
        let record =
            RemoteRecord::from_fields(fields).map_err(|e| EventError::Record(e.to_string()))?;
        let action = self.action.clone();
        let target_field = match object.role {
            MirrorRole::Leads => return Ok(Change::Lead(action, record)),
            MirrorRole::Records => {
                return Ok(Change::Record {
                    action,
                    kind: object.kind(),
                    record,
                });
            }
            MirrorRole::NoteLinks => objects.lead_link_field(),
        };
        match record.fields().get(&target_field) {
            Some(Value::String(lead)) => {
                let lead = LeadId::parse(lead)
                    .map_err(|e| EventError::Record(format!("{target_field}: {e}")))?;
                Ok(Change::NoteLink {
                    action,
                    lead,
                    link: record,
                })
            }
            _ => Ok(Change::Ignored(format!(
                "{} (not linked to a {})",
                self.event_name,
                objects.leads().name.singular()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ObjectName;

    fn leads_mirror() -> MirrorSet {
        MirrorSet::with_defaults(&ObjectName::new("leads", "lead"))
    }

    fn deliveries() -> Vec<(String, Vec<u8>)> {
        include_str!("../../../tests/fixtures/twenty/deliveries.jsonl")
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["eventName"].as_str().unwrap().to_string(),
                    v["body"].as_str().unwrap().as_bytes().to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn every_captured_delivery_parses_and_classifies() {
        for (name, body) in deliveries() {
            let event = WebhookEvent::parse(&body).unwrap();
            assert_eq!(event.event_name, name);
            let change = event.change(&leads_mirror()).unwrap();
            match name.as_str() {
                n if n.starts_with("person.") => {
                    assert!(matches!(change, Change::Ignored(_)), "{n}")
                }
                "lead.destroyed" => {
                    assert!(matches!(change, Change::Lead(EventAction::Destroyed, _)))
                }
                "lead.deleted" => {
                    let Change::Lead(EventAction::Deleted, r) = change else {
                        panic!("{name}")
                    };
                    assert!(r.deleted_at().is_some());
                }
                n if n.starts_with("lead.") => assert!(matches!(change, Change::Lead(..)), "{n}"),
                "note.created" => {
                    let Change::Record { action, kind, .. } = change else {
                        panic!("{name}")
                    };
                    assert_eq!((action, kind.as_str()), (EventAction::Created, "NOTE"));
                }
                "noteTarget.created" => {
                    let Change::NoteLink { lead, .. } = change else {
                        panic!("{name}")
                    };
                    assert_eq!(lead.as_str(), "73affd6e-2319-4ad1-82d8-f8eb9312a232");
                }
                other => panic!("unexpected fixture {other}"),
            }
        }
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        assert!(matches!(
            WebhookEvent::parse(b""),
            Err(EventError::NotJson(_))
        ));
        assert!(matches!(
            WebhookEvent::parse(b"{not json"),
            Err(EventError::NotJson(_))
        ));
        assert!(matches!(
            WebhookEvent::parse(b"[1,2]"),
            Err(EventError::Shape(_))
        ));
        let err = WebhookEvent::parse(br#"{"record":{}}"#).unwrap_err();
        assert!(err.to_string().contains("eventName"), "{err}");
        let no_id = WebhookEvent::parse(
            br#"{"eventName":"lead.updated","record":{"updatedAt":"2026-11-24T17:13:20.558Z"}}"#,
        )
        .unwrap();
        assert!(
            no_id
                .change(&leads_mirror())
                .unwrap_err()
                .to_string()
                .contains("id")
        );
        let bad_date = WebhookEvent::parse(br#"{"eventName":"lead.updated","record":{"id":"bf91e08e-34f1-43a7-9ba8-92963c4fd740","updatedAt":"tuesday"}}"#).unwrap();
        assert!(
            bad_date
                .change(&leads_mirror())
                .unwrap_err()
                .to_string()
                .contains("updatedAt")
        );
    }

    #[test]
    fn other_objects_and_metadata_events_are_ignored() {
        let e =
            WebhookEvent::parse(br#"{"eventName":"metadata.fieldMetadata.created","payload":{}}"#)
                .unwrap();
        assert!(matches!(
            e.change(&leads_mirror()).unwrap(),
            Change::Ignored(_)
        ));
    }
}
