//! Regression tests for the version rules (issue #13, items 4, 5 and 6).

use serde_json::{Value, json};

use super::*;
use crate::store::PendingKind;

const ID: &str = "73affd6e-2319-4ad1-82d8-f8eb9312a232";

fn record(updated_at: &str, name: &str) -> RemoteRecord {
    let v = json!({"id": ID, "updatedAt": updated_at, "name": name, "deletedAt": null});
    RemoteRecord::from_fields(v.as_object().cloned().unwrap()).unwrap()
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn ctx(origin: WriteOrigin, now: &str) -> Context {
    Context {
        origin,
        now: ts(now),
        generation: None,
        read_at: None,
    }
}

fn stored(r: &RemoteRecord, at: &str) -> LeadItem {
    LeadItem::from_remote(r, WriteOrigin::Sync, ts(at))
}

/// Item 6: two versions within one millisecond; the second (different content) wins.
#[test]
fn a_second_version_in_the_same_millisecond_is_not_stale() {
    let first = record("2026-01-01T00:00:00.000Z", "A");
    let second = record("2026-01-01T00:00:00.000Z", "B");
    let cur = stored(&first, "2026-01-01T00:00:00.010Z");
    let (applied, item) = on_remote(
        Some(&cur),
        &second,
        &ctx(WriteOrigin::Webhook, "2026-01-01T00:00:00.020Z"),
    );
    assert_eq!(applied, Applied::Updated);
    assert_eq!(item.unwrap().fields["name"], json!("B"));
    // A list page requested before the stored version was written is the older one.
    let mut old_page = ctx(WriteOrigin::Sync, "2026-01-01T00:00:00.030Z");
    old_page.read_at = Some(ts("2026-01-01T00:00:00.005Z"));
    assert_eq!(on_remote(Some(&cur), &second, &old_page).0, Applied::Stale);
    let mut new_page = old_page;
    new_page.read_at = Some(ts("2026-01-01T00:00:00.015Z"));
    assert_eq!(
        on_remote(Some(&cur), &second, &new_page).0,
        Applied::Updated
    );
}

/// Item 5: a delivery dated far in the future is refused, and one already stored no
/// longer fences what Twenty's list says.
#[test]
fn a_version_from_the_future_cannot_freeze_a_lead() {
    let now = "2026-01-01T00:00:00.000Z";
    let future = record("2026-01-02T00:00:00.000Z", "Future");
    assert_eq!(
        on_remote(None, &future, &ctx(WriteOrigin::Webhook, now)).0,
        Applied::Refused
    );
    let cur = stored(&future, now);
    let real = record("2026-01-01T00:00:01.000Z", "Real");
    let (applied, item) = on_remote(
        Some(&cur),
        &real,
        &ctx(WriteOrigin::Sync, "2026-01-01T00:00:02.000Z"),
    );
    assert_eq!(applied, Applied::Updated);
    assert_eq!(item.unwrap().remote_updated_at, real.updated_at());
    // Within the tolerance a future version still fences older ones, as any newer one.
    let near = record("2026-01-01T00:04:00.000Z", "Near");
    let cur = stored(&near, now);
    assert_eq!(
        on_remote(Some(&cur), &real, &ctx(WriteOrigin::Sync, now)).0,
        Applied::Stale
    );
}

/// Item 4: destroying a lead with a pending local edit keeps the edit in a conflict.
#[test]
fn a_destroy_over_a_pending_edit_records_the_edit() {
    let r = record("2026-01-01T00:00:00.000Z", "Remote");
    let mut cur = stored(&r, "2026-01-01T00:00:00.000Z");
    cur.local.pending = Some(PendingKind::Update);
    cur.fields.insert("name".into(), json!("Local edit"));
    let (applied, item, conflicts) = on_destroyed(Some(&cur), &r, ts("2026-01-01T00:01:00.000Z"));
    assert_eq!(applied, Applied::Removed);
    assert!(!item.unwrap().is_live());
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, WHOLE_RECORD);
    assert_eq!(conflicts[0].local_value["name"], Value::from("Local edit"));
}

#[test]
fn a_tombstone_fences_older_versions_but_not_newer_ones() {
    let r = record("2026-01-01T00:00:00.000Z", "A");
    let (_, tomb, _) = on_destroyed(None, &r, ts("2026-01-01T00:00:01.000Z"));
    let tomb = tomb.unwrap();
    let c = ctx(WriteOrigin::Webhook, "2026-01-01T00:00:02.000Z");
    assert_eq!(on_remote(Some(&tomb), &r, &c).0, Applied::Stale);
    let later = record("2026-01-01T00:00:01.500Z", "B");
    assert_eq!(on_remote(Some(&tomb), &later, &c).0, Applied::Inserted);
}

/// Issue #15: a tombstone cannot be mistaken for a lead by a reader that filters on
/// `deletedAt`, the attribute readers of Twenty's records already filter on.
#[test]
fn a_tombstone_says_it_is_deleted_where_readers_look() {
    let r = record("2026-11-27T10:00:00.000Z", "A");
    let cur = stored(&r, "2026-11-27T10:00:01.000Z");
    let now = ts("2026-11-27T11:00:00.000Z");
    let tomb = tombstone(Some(&cur), cur.pk.clone(), r.updated_at(), now);
    assert!(!tomb.is_live());
    assert_eq!(tomb.fields["deletedAt"], json!("2026-11-27T11:00:00.000Z"));
    assert_eq!(tomb.fields["id"], json!(ID));
    assert_eq!(tomb.fields.len(), 2, "nothing else of the lead is kept");
    assert_eq!(tomb.kind, None, "out of the byKind index the API lists");
}

/// A soft delete made in Twenty in the millisecond of our own push, while the app edited
/// the lead again: a list read after the push's answer was stored shows the delete as the
/// later version, kept beside the pending edit — and when the push then finds the lead
/// gone, the lead follows it. (Simulator seed 80212 lost it: no delta lists it again.)
#[test]
fn a_same_millisecond_version_over_a_pending_edit_is_kept_for_the_push() {
    let pushed = record("2026-01-01T00:00:00.233Z", "A");
    let mut cur = stored(&pushed, "2026-01-01T00:00:00.235Z");
    cur.local.pending = Some(PendingKind::Update);
    cur.local.base = Some(pushed.fields().clone());
    cur.fields["name"] = json!("edited here");
    let deleted = {
        let v = json!({"id": ID, "updatedAt": "2026-01-01T00:00:00.233Z", "name": "A",
            "deletedAt": "2026-01-01T00:00:00.233Z"});
        RemoteRecord::from_fields(v.as_object().cloned().unwrap()).unwrap()
    };
    let mut before = ctx(WriteOrigin::Sync, "2026-01-01T00:00:00.300Z");
    before.read_at = Some(ts("2026-01-01T00:00:00.234Z"));
    assert_eq!(
        on_remote(Some(&cur), &deleted, &before).0,
        Applied::Stale,
        "a page read before the push's answer was stored may be the older"
    );
    let mut after = before;
    after.read_at = Some(ts("2026-01-01T00:00:00.240Z"));
    let (applied, item) = on_remote(Some(&cur), &deleted, &after);
    assert_eq!(applied, Applied::Deferred);
    let item = item.unwrap();
    assert_eq!(item.fields["name"], json!("edited here"), "the edit stays");
    let gone = crate::sync::rebase::not_found(&item, ts("2026-01-01T00:00:00.400Z"));
    assert_eq!(
        gone.fields["deletedAt"],
        json!("2026-01-01T00:00:00.233Z"),
        "the push that finds it gone leaves the lead soft-deleted, as in Twenty"
    );
}
