use serde_json::json;

use super::*;
use crate::domain::RemoteRecord;
use crate::store::{PendingKind, WriteOrigin};

const ID: &str = "73affd6e-2319-4ad1-82d8-f8eb9312a232";

fn now() -> Timestamp {
    Timestamp::parse("2026-11-27T12:00:00.000Z").unwrap()
}

/// A lead as a manual conflict leaves it: Twenty's number in both places.
fn lead() -> LeadItem {
    let record = RemoteRecord::from_fields(
        json!({"id": ID, "updatedAt": "2026-11-27T11:00:00.000Z", "status": "NEW",
            "phones": {"primaryPhoneNumber": "5550111", "primaryPhoneCountryCode": "FR"}})
        .as_object()
        .cloned()
        .unwrap(),
    )
    .unwrap();
    LeadItem::from_remote(&record, WriteOrigin::Sync, now())
}

fn open() -> Conflict {
    Conflict {
        lead_id: ID.into(),
        field: "phones.primaryPhoneNumber".into(),
        local_value: json!("5550222"),
        remote_value: json!("5550111"),
        chosen: "remote".into(),
        policy: "manual".into(),
        at: now(),
        status: ConflictStatus::Open,
        resolution: None,
        id: None,
    }
}

#[test]
fn choosing_twentys_value_settles_without_an_edit() {
    let (settled, edit) = decide(&open(), Some(&lead()), &Choice::Remote, "ana", now()).unwrap();
    assert!(edit.is_none());
    assert_eq!(settled.status, ConflictStatus::Settled);
    let r = settled.resolution.unwrap();
    assert_eq!((r.choice.as_str(), r.by.as_str()), ("remote", "ana"));
    assert_eq!(r.value, json!("5550111"));
}

#[test]
fn choosing_the_local_value_edits_only_that_sub_field_for_the_next_push() {
    let (settled, edit) = decide(&open(), Some(&lead()), &Choice::Local, "ana", now()).unwrap();
    let edit = edit.unwrap();
    assert_eq!(edit.local.pending, Some(PendingKind::Update));
    assert_eq!(
        edit.fields["phones"],
        json!({"primaryPhoneNumber": "5550222", "primaryPhoneCountryCode": "FR"})
    );
    // Merged against Twenty's value: a newer one in Twenty by the push is a conflict.
    assert_eq!(
        edit.local.base.as_ref().unwrap()["phones"]["primaryPhoneNumber"],
        "5550111"
    );
    assert_eq!(settled.chosen, "local");
}

#[test]
fn a_value_of_ones_own_is_what_gets_pushed() {
    let (settled, edit) = decide(
        &open(),
        Some(&lead()),
        &Choice::Value(json!("5550333")),
        "ana",
        now(),
    )
    .unwrap();
    assert_eq!(
        edit.unwrap().fields["phones"]["primaryPhoneNumber"],
        "5550333"
    );
    assert_eq!(settled.resolution.unwrap().choice, "value");
}

#[test]
fn a_newer_edit_on_either_side_keeps_the_conflict_open() {
    let mut changed = lead();
    changed.fields["phones"]["primaryPhoneNumber"] = json!("5550999");
    let err = decide(&open(), Some(&changed), &Choice::Local, "ana", now()).unwrap_err();
    assert!(matches!(err, ResolveError::Changed { current } if current == "5550999"));
}

#[test]
fn a_settled_conflict_or_a_gone_lead_cannot_be_settled() {
    let settled = Conflict {
        status: ConflictStatus::Settled,
        ..open()
    };
    assert!(matches!(
        decide(&settled, Some(&lead()), &Choice::Local, "ana", now()),
        Err(ResolveError::NotOpen)
    ));
    assert!(matches!(
        decide(&open(), None, &Choice::Local, "ana", now()),
        Err(ResolveError::LeadGone)
    ));
}
