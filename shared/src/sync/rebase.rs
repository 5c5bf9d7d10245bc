//! The push's bookkeeping as pure functions: what a lead item becomes when a push is
//! attempted, lands, or fails.

use serde_json::{Map, Value};

use crate::domain::{RemoteRecord, Timestamp};
use crate::store::{LeadItem, PendingKind, WriteOrigin};

/// Before a create is POSTed: the attempt is counted (under a new `rev`, so a local
/// delete that read "never sent" cannot race it), and the first body sent becomes the
/// base: it is what Twenty holds from us if the answer is lost.
pub fn attempted(cur: &LeadItem, sent: &Map<String, Value>) -> LeadItem {
    let mut item = cur.clone();
    item.local.push_attempts += 1;
    if cur.local.pending == Some(PendingKind::Create) && item.local.base.is_none() {
        item.local.base = Some(sent.clone());
    }
    item.rev += 1;
    item
}

/// Twenty took the push and answered `answer`. If the lead was not edited since the
/// push read it (`pushed`), it becomes Twenty's record (or a newer one that arrived
/// meanwhile). Otherwise Twenty's answer becomes the new base and only the fields
/// edited meanwhile keep their local values — every other field takes Twenty's, so
/// the next push cannot send Twenty's own older values back.
pub fn settled(
    cur: &LeadItem,
    pushed: &LeadItem,
    answer: &RemoteRecord,
    now: Timestamp,
) -> LeadItem {
    if cur.local.version == pushed.local.version {
        let mut item = LeadItem::from_remote(answer, WriteOrigin::Sync, now);
        if let (Some(fields), Some(at)) = (&cur.local.incoming, cur.local.incoming_updated_at)
            && at > answer.updated_at()
            && let Ok(newer) = RemoteRecord::from_fields(fields.clone())
        {
            item = LeadItem::from_remote(&newer, WriteOrigin::Sync, now);
        }
        item.rev = cur.rev + 1;
        item.local.version = cur.local.version;
        item.generation = cur.generation;
        return item;
    }
    let mut item = cur.clone();
    item.fields = rebased(&cur.fields, &pushed.fields, answer.fields());
    item.local.base = Some(answer.fields().clone());
    item.remote_updated_at = answer.updated_at();
    item.content_hash = answer.content_hash();
    if item.local.pending == Some(PendingKind::Create) {
        item.local.pending = Some(PendingKind::Update);
    }
    if cur
        .local
        .incoming_updated_at
        .is_some_and(|t| t <= answer.updated_at())
    {
        item.local.incoming = None;
        item.local.incoming_updated_at = None;
    }
    item.local.push_error = None;
    item.synced_at = Some(now);
    item.rev = cur.rev + 1;
    item
}

/// Fields edited since `pushed` keep their value (by sub-field for composites); the
/// rest are `answer`'s.
fn rebased(
    cur: &Map<String, Value>,
    pushed: &Map<String, Value>,
    answer: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = answer.clone();
    for (k, v) in cur {
        let before = pushed.get(k);
        if before == Some(v) {
            continue;
        }
        match (v, before, answer.get(k)) {
            (Value::Object(now), Some(Value::Object(was)), Some(Value::Object(theirs))) => {
                let mut merged = theirs.clone();
                for (sk, sv) in now {
                    if was.get(sk) != Some(sv) {
                        merged.insert(sk.clone(), sv.clone());
                    }
                }
                out.insert(k.clone(), Value::Object(merged));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// The push did not go through. `rejected` (Twenty refused it) parks the lead until it
/// is edited again: it leaves the push queue so it never crowds out the others.
pub fn failed(cur: &LeadItem, error: &str, rejected: bool) -> LeadItem {
    let mut item = cur.clone();
    let error: String = error.chars().take(500).collect();
    item.local.push_attempts += 1;
    if rejected {
        item.local.rejected = Some(error);
        item.local.queue = None;
    } else {
        item.local.push_error = Some(error);
    }
    item.rev += 1;
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> RemoteRecord {
        RemoteRecord::from_fields(v.as_object().cloned().unwrap()).unwrap()
    }

    /// Issue #13, item 1: an edit made while a PATCH was in flight keeps only itself;
    /// every other field takes Twenty's answer, so nothing older is sent back.
    #[test]
    fn an_edit_during_a_push_is_rebased_on_twentys_answer() {
        let id = "73affd6e-2319-4ad1-82d8-f8eb9312a232";
        let base = record(
            json!({"id": id, "updatedAt": "2026-01-01T00:00:00.000Z", "name": "Old", "score": 1}),
        );
        let mut pushed = LeadItem::from_remote(&base, WriteOrigin::Sync, Timestamp::now());
        pushed.local.pending = Some(PendingKind::Update);
        pushed.local.version = 1;
        pushed.fields.insert("score".into(), json!(2));
        // Meanwhile: the app edits the score again.
        let mut cur = pushed.clone();
        cur.local.version = 2;
        cur.fields.insert("score".into(), json!(3));
        // Twenty's answer carries a name someone changed there.
        let answer = record(
            json!({"id": id, "updatedAt": "2026-01-01T00:00:05.000Z", "name": "New", "score": 2}),
        );
        let item = settled(&cur, &pushed, &answer, Timestamp::now());
        assert_eq!(item.fields["name"], json!("New"), "Twenty's name kept");
        assert_eq!(item.fields["score"], json!(3), "the newer local edit kept");
        assert_eq!(item.local.base.as_ref().unwrap()["name"], json!("New"));
        assert_eq!(item.local.pending, Some(PendingKind::Update));
    }
}

#[cfg(test)]
mod create_tests {
    use super::*;
    use crate::sync::local::{Deletion, created, deleted};
    use serde_json::json;

    fn lead() -> LeadItem {
        let id = crate::domain::LeadId::parse("73affd6e-2319-4ad1-82d8-f8eb9312a232").unwrap();
        created(
            &id,
            json!({"name": "A"}).as_object().cloned().unwrap(),
            Timestamp::now(),
        )
    }

    /// Issue #13, item 2: a create retried after "duplicate entry" merges against what
    /// the FIRST POST sent, not against Twenty's current record.
    #[test]
    fn a_retried_create_keeps_the_first_post_as_its_base() {
        let first = json!({"id": "x", "name": "A"})
            .as_object()
            .cloned()
            .unwrap();
        let once = attempted(&lead(), &first);
        let mut edited = once.clone();
        edited.fields.insert("name".into(), json!("B"));
        let second = json!({"id": "x", "name": "B"})
            .as_object()
            .cloned()
            .unwrap();
        let twice = attempted(&edited, &second);
        assert_eq!(twice.local.base.as_ref(), Some(&first));
        assert_eq!(twice.local.push_attempts, 2);
    }

    /// Issue #13, item 3: once a create's attempt is counted (a new rev), a local
    /// delete no longer simply drops it, and a delete decided before the attempt
    /// cannot land (its write expects the old rev).
    #[test]
    fn a_local_delete_cannot_race_a_create_being_pushed() {
        let l = lead();
        assert_eq!(
            deleted(Some(&l), None, Timestamp::now()).unwrap(),
            Deletion::Remove
        );
        let sent = attempted(&l, &Map::new());
        assert_ne!(sent.rev, l.rev, "the attempt is a new revision");
        assert!(matches!(
            deleted(Some(&sent), None, Timestamp::now()).unwrap(),
            Deletion::Mark(_)
        ));
    }
}
