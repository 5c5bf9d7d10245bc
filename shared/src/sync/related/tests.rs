use super::*;
use crate::domain::ObjectName;
use serde_json::json;

fn record(v: Value) -> RemoteRecord {
    RemoteRecord::from_fields(v.as_object().cloned().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"))
}

const LEAD: &str = "73affd6e-2319-4ad1-82d8-f8eb9312a232";

fn links() -> Mirrored {
    Mirrored {
        name: ObjectName::new("noteTargets", "noteTarget"),
        role: MirrorRole::NoteLinks,
    }
}

fn link(target: Value, deleted: Value) -> RemoteRecord {
    record(json!({
        "id": "8d969ae5-8538-4664-85fc-96a6fa79311e",
        "updatedAt": "2026-11-27T12:00:00.000Z",
        "noteId": "5b2f7c1e-8d3a-4f6b-9c0d-1e2f3a4b5c6d",
        "targetLeadId": target,
        "deletedAt": deleted,
    }))
}

fn decide_link(target: Value, deleted: Value) -> RelatedWrite {
    decide(&links(), "targetLeadId", &link(target, deleted))
}

#[test]
fn a_live_link_to_a_lead_is_stored_under_that_lead() {
    let lead = LeadId::parse(LEAD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        decide_link(json!(LEAD), Value::Null),
        RelatedWrite::Link(lead)
    );
}

#[test]
fn a_soft_deleted_link_is_removed() {
    let lead = LeadId::parse(LEAD).unwrap_or_else(|e| panic!("{e}"));
    let deleted = json!("2026-11-27T12:00:00.000Z");
    assert_eq!(
        decide_link(json!(LEAD), deleted),
        RelatedWrite::Unlink(lead)
    );
}

/// Twenty nulls `targetLeadId` when the lead is destroyed, and a link may point at a
/// person or a company instead: neither is a lead's note.
#[test]
fn a_link_to_no_lead_is_skipped() {
    assert_eq!(decide_link(Value::Null, Value::Null), RelatedWrite::Skip);
}

#[test]
fn any_other_object_is_stored_as_sent() {
    let people = Mirrored {
        name: ObjectName::new("people", "person"),
        role: MirrorRole::Records,
    };
    let person = link(json!(LEAD), Value::Null);
    assert_eq!(
        decide(&people, "targetLeadId", &person),
        RelatedWrite::Record
    );
}
