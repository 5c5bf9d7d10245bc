//! The simulation's oracle, checked after quiescence:
//!
//! 1. the mirror equals Twenty record for record (destroyed ones absent or tombstones),
//!    after the delta runs alone too (hard deletes aside);
//! 2. the lead count in the sync state equals the live items held;
//! 3. every acknowledged local edit reached Twenty, or is named by a conflict record,
//!    or was superseded by a later local edit or delete of the same lead;
//! 4. every value the push wrote into Twenty is one a local edit made (so nothing went
//!    back to an older value), and a value a person wrote in Twenty that the edit had
//!    not seen was only overwritten with a conflict record naming the field.

use serde_json::Value;
use spartan_sync::store::{MemoryData, WHOLE_RECORD};

use super::twenty::{SimTwenty, Writer, get_path};
use super::{Journal, Stats};

pub type Verdict = Result<(), String>;

const VOLATILE: [&str; 2] = ["updatedAt", "updatedBy"];

fn names(conflict_field: &str, path: &str) -> bool {
    conflict_field == WHOLE_RECORD
        || conflict_field == path
        || path
            .split_once('.')
            .is_some_and(|(f, _)| f == conflict_field)
}

pub fn judge(
    twenty: &SimTwenty,
    data: &MemoryData,
    journal: &Journal,
    stats: &mut Stats,
) -> Verdict {
    let records = twenty.records();
    // 1. Record for record.
    mirrors_twenty(twenty, data)?;
    for (id, item) in &data.leads {
        if item.is_live() && !records.contains_key(id) {
            return Err(format!("lead {id} is live in the mirror but not in Twenty"));
        }
    }
    // 2. Counts.
    let live = data.leads.values().filter(|i| i.is_live()).count() as i64;
    if data.state.lead_count != live {
        return Err(format!(
            "the sync state counts {} leads; the mirror holds {live}",
            data.state.lead_count
        ));
    }
    let w = twenty.world();
    let conflict_on = |id: &str, path: &str| {
        data.conflicts
            .iter()
            .any(|c| c.lead_id == id && names(&c.field, path))
    };
    // 3. Every acknowledged local edit is in Twenty, in a conflict, or superseded.
    for (i, e) in journal.edits.iter().enumerate() {
        let superseded = journal.edits[i + 1..]
            .iter()
            .any(|later| later.id == e.id && later.path == e.path)
            || journal
                .deletes
                .iter()
                .any(|(d, at)| *d == e.id && *at >= e.at_micros);
        if superseded {
            continue;
        }
        let landed = w
            .history
            .get(&(e.id.clone(), e.path.clone()))
            .is_some_and(|h| h.iter().any(|fw| fw.value == e.value));
        let already = records
            .get(&e.id)
            .is_some_and(|r| get_path(r, &e.path) == e.value);
        if !(landed || already || conflict_on(e.id.as_str(), &e.path)) {
            return Err(format!(
                "local edit of {} on lead {} to {} was lost: not in Twenty, no conflict record",
                e.path, e.id, e.value
            ));
        }
    }
    // 4. What the push wrote.
    for ((id, path), writes) in &w.history {
        for fw in writes.iter().filter(|fw| fw.by == Writer::Push) {
            if fw.value == Value::Null && fw.old == Value::Null {
                continue;
            }
            let made: Vec<_> = journal
                .edits
                .iter()
                .filter(|e| &e.id == id && &e.path == path && e.value == fw.value)
                .collect();
            let Some(edit) = made.last() else {
                return Err(format!(
                    "the push wrote {} into {path} of lead {id}, a value no local edit made (a reversion)",
                    fw.value
                ));
            };
            // Was the overwritten value a person's, written after the edit's base and
            // before the push read the record?
            let human = writes.iter().rev().find(|h| {
                h.by == Writer::Human && h.at_micros <= fw.at_micros && h.value == fw.old
            });
            if let Some(h) = human
                && fw.old != edit.agreed
                && fw.old != fw.value
            {
                let unseen = |(at, seq): (i64, u64)| h.seq > seq || h.visible_at_micros > at;
                if fw.read.is_some_and(unseen) {
                    // Committed after the push's GET (written between the GET and the
                    // PATCH, or written before but not yet committed when the GET
                    // read): Twenty has no conditional update, so no client can see
                    // this one.
                    stats.window_overwrites += 1;
                } else if !conflict_on(id.as_str(), path) {
                    return Err(format!(
                        "the push overwrote {} (written in Twenty) in {path} of lead {id} with {} without a conflict record",
                        fw.old, fw.value
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every record Twenty holds is in the mirror, field for field. True after the delta
/// runs alone (hard deletes aside, which only a full pass's sweep finds): a delta
/// window that skipped a change fails here, before the final full pass would mend it.
pub fn mirrors_twenty(twenty: &SimTwenty, data: &MemoryData) -> Verdict {
    let records = twenty.records();
    for (id, remote) in &records {
        let Some(item) = data.leads.get(id).filter(|i| i.is_live()) else {
            let held = data.leads.get(id).map(|i| {
                format!(
                    "a tombstone fencing {} (Twenty: {})",
                    i.remote_updated_at,
                    remote.get("updatedAt").cloned().unwrap_or_default()
                )
            });
            return Err(format!(
                "lead {id} is in Twenty but not in the mirror ({})",
                held.unwrap_or_else(|| "absent".into())
            ));
        };
        if item.is_pending() {
            return Err(format!(
                "lead {id} still has a pending edit after quiescence"
            ));
        }
        for (k, v) in remote {
            if VOLATILE.contains(&k.as_str()) {
                continue;
            }
            if item.fields.get(k) != Some(v) {
                return Err(format!(
                    "lead {id}: field {k} is {:?} in the mirror but {v} in Twenty",
                    item.fields.get(k)
                ));
            }
        }
    }
    Ok(())
}
