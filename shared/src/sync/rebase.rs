//! The push's bookkeeping as pure functions: what a lead item becomes when a push is
//! attempted, lands, or fails.

use serde_json::{Map, Value};

use crate::domain::{RemoteRecord, Timestamp};
use crate::store::{LeadItem, LocalState, PendingKind, WriteOrigin};

/// Before a create is POSTed, or a PATCH that settles a conflict: the attempt is
/// counted under a new `rev` (so a local delete that read "never sent" cannot race a
/// create, and the conflict records written with it cannot be written twice by two
/// runs), and a create's first body becomes its base: it is what Twenty holds from
/// us if the answer is lost.
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
/// meanwhile). Otherwise only the fields edited meanwhile keep their local values —
/// every other field takes Twenty's, so the next push cannot send Twenty's own older
/// values back — and Twenty's answer becomes the base except where those edits were
/// made (see [`rebased`]).
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
    let (fields, base) = rebased(&cur.fields, &pushed.fields, answer.fields());
    item.fields = fields;
    item.local.base = Some(base);
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
    item.changed_at = Some(now);
    item.rev = cur.rev + 1;
    item
}

/// Twenty answered 404 to the push: the lead was deleted there, softly or for good
/// (Twenty answers the same for both, so this cannot tell which). The edit leaves the
/// queue — a pending update is kept in a conflict record by the caller — and the item
/// goes back to what it knew of Twenty: the newer version held in `_incoming` if one
/// arrived, else the agreed base, under its old `updatedAt`. So the next pull, which
/// lists soft-deleted records, stores the soft delete as newer, and a hard delete is
/// left to the destroy event or the sweep. Guessing a tombstone here would fence out
/// the soft-deleted record at its own `updatedAt` for good.
pub fn not_found(cur: &LeadItem, now: Timestamp) -> LeadItem {
    let mut item = match (&cur.local.incoming, cur.local.incoming_updated_at) {
        // Kept only when it was newer than the stored version (it may share its
        // millisecond: see `rules::on_remote`).
        (Some(fields), Some(at)) if at >= cur.remote_updated_at => {
            match RemoteRecord::from_fields(fields.clone()) {
                Ok(newer) => LeadItem {
                    // Not seen in Twenty now: the sweep may still remove it.
                    synced_at: cur.synced_at,
                    ..LeadItem::from_remote(&newer, WriteOrigin::Sync, now)
                },
                Err(_) => cur.clone(),
            }
        }
        _ => {
            let mut item = cur.clone();
            // A local delete keeps its own deletedAt: Twenty has no live lead either way.
            if cur.local.pending != Some(PendingKind::Delete)
                && let Some(base) = &cur.local.base
            {
                item.fields = base.clone();
            }
            item.changed_at = Some(now);
            item
        }
    };
    item.local = LocalState {
        version: cur.local.version,
        ..LocalState::default()
    };
    item.generation = cur.generation;
    item.rev = cur.rev + 1;
    item
}

/// One place a local edit can touch: a field, or a sub-field of a composite one.
type Path = (String, Option<String>);

/// Where `cur` differs from `pushed`: by sub-field when both are composite objects.
fn edited_since(cur: &Map<String, Value>, pushed: &Map<String, Value>) -> Vec<Path> {
    let mut paths = Vec::new();
    for (k, v) in cur {
        match (v, pushed.get(k)) {
            (now, Some(was)) if now == was => {}
            (Value::Object(now), Some(Value::Object(was))) => paths.extend(
                now.iter()
                    .filter(|(sk, sv)| was.get(*sk) != Some(*sv))
                    .map(|(sk, _)| (k.clone(), Some(sk.clone()))),
            ),
            _ => paths.push((k.clone(), None)),
        }
    }
    paths
}

fn get<'a>(fields: &'a Map<String, Value>, (k, sub): &Path) -> Option<&'a Value> {
    match sub {
        None => fields.get(k),
        Some(sk) => fields.get(k).and_then(|v| v.get(sk)),
    }
}

fn set(fields: &mut Map<String, Value>, (k, sub): &Path, value: Option<&Value>) {
    match (sub, value) {
        (None, Some(v)) => {
            fields.insert(k.clone(), v.clone());
        }
        (None, None) => {
            fields.remove(k);
        }
        (Some(sk), v) => {
            let entry = fields
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(obj) = entry {
                match v {
                    Some(v) => obj.insert(sk.clone(), v.clone()),
                    None => obj.remove(sk),
                };
            }
        }
    }
}

/// Rebases an edit made while a push was in flight onto Twenty's answer. Returns the
/// fields (the answer, with each path edited since `pushed` keeping its local value)
/// and the new base (the answer, with each such path keeping the value the edit was
/// made against — what the push read — not Twenty's). The edit never saw Twenty's
/// value there, so if Twenty's differs the next push must see both sides changed it
/// and record a conflict, rather than take Twenty's value as agreed and overwrite it.
fn rebased(
    cur: &Map<String, Value>,
    pushed: &Map<String, Value>,
    answer: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut fields = answer.clone();
    let mut base = answer.clone();
    for path in edited_since(cur, pushed) {
        set(&mut fields, &path, get(cur, &path));
        set(&mut base, &path, get(pushed, &path));
    }
    (fields, base)
}

/// The push of `pushed` did not go through. `rejected` (Twenty refused it) parks the
/// lead until it is edited again — it leaves the push queue so it never crowds out the
/// others — but only if it was not edited since: Twenty refused what was sent, not a
/// newer edit, which stays queued and is retried.
pub fn failed(cur: &LeadItem, pushed: &LeadItem, error: &str, rejected: bool) -> LeadItem {
    let mut item = cur.clone();
    let error: String = error.chars().take(500).collect();
    item.local.push_attempts += 1;
    if rejected && cur.local.version == pushed.local.version {
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

    /// Found by the simulator (seed 7486): a refusal parks only the version refused.
    #[test]
    fn a_refusal_parks_only_the_version_twenty_refused() {
        let r = record(json!({"id": "73affd6e-2319-4ad1-82d8-f8eb9312a232",
            "updatedAt": "2026-01-01T00:00:00.000Z", "status": "NEW"}));
        let mut pushed = LeadItem::from_remote(&r, WriteOrigin::Sync, Timestamp::now());
        pushed.local.pending = Some(PendingKind::Update);
        pushed.local.version = 1;
        pushed.local.queue = Some("LEAD".into());
        let parked = failed(&pushed, &pushed, "400 bad status", true);
        assert!(parked.local.rejected.is_some() && parked.local.queue.is_none());
        let mut edited = pushed.clone();
        edited.local.version = 2;
        let retried = failed(&edited, &pushed, "400 bad status", true);
        assert!(
            retried.local.rejected.is_none(),
            "the newer edit is not parked"
        );
        assert!(retried.local.queue.is_some() && retried.local.push_error.is_some());
    }
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

    /// Found by the simulator (seed 511): a field edited during the flight that Twenty
    /// also changed (a person's edit the push merged in) keeps, as its base, the value
    /// the edit was made against — so the next push records a conflict instead of
    /// overwriting the person's value as if it had been agreed.
    #[test]
    fn an_edit_during_a_push_keeps_the_base_it_was_made_against() {
        let id = "73affd6e-2319-4ad1-82d8-f8eb9312a232";
        let base = record(json!({"id": id, "updatedAt": "2026-01-01T00:00:00.000Z",
            "name": "Old", "score": 1, "email": {"primaryEmail": "a@x", "additionalEmails": []}}));
        let mut pushed = LeadItem::from_remote(&base, WriteOrigin::Sync, Timestamp::now());
        pushed.local.pending = Some(PendingKind::Update);
        pushed.local.version = 1;
        pushed.fields.insert("name".into(), json!("Mine"));
        let mut cur = pushed.clone();
        cur.local.version = 2;
        cur.fields.insert("score".into(), json!(3));
        cur.fields["email"]["primaryEmail"] = json!("b@x");
        // A person set the score to 2302 and an additional email in Twenty; the PATCH
        // of `name` merged over them.
        let answer = record(json!({"id": id, "updatedAt": "2026-01-01T00:00:05.000Z",
            "name": "Mine", "score": 2302, "email": {"primaryEmail": "a@x", "additionalEmails": ["c@x"]}}));
        let item = settled(&cur, &pushed, &answer, Timestamp::now());
        let base = item.local.base.as_ref().unwrap();
        assert_eq!(item.fields["score"], json!(3));
        assert_eq!(base["score"], json!(1), "the score edit was made against 1");
        assert_eq!(base["name"], json!("Mine"), "the pushed name landed");
        assert_eq!(
            item.fields["email"],
            json!({"primaryEmail": "b@x", "additionalEmails": ["c@x"]})
        );
        assert_eq!(
            base["email"],
            json!({"primaryEmail": "a@x", "additionalEmails": ["c@x"]})
        );
        // The next push's merge sees both sides changed the score.
        let merged = crate::sync::merge::merge(
            base,
            &item.fields,
            answer.fields(),
            &crate::domain::ConflictRules::uniform(crate::domain::ConflictPolicy::LocalWins),
            None,
            answer.updated_at(),
        );
        assert_eq!(merged.conflicts.len(), 1, "{:?}", merged.conflicts);
        assert_eq!(merged.conflicts[0].field, "score");
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
