//! The three-way merge of a lead edited on both sides.
//!
//! The base is what both sides last agreed on. A field only one side changed takes
//! that side's value; a field both changed to different values is a conflict, settled
//! by the policy and reported so it can be recorded.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub use crate::domain::{ConflictPolicy, ConflictRules, SYSTEM_FIELDS};
use crate::domain::{LeadId, Timestamp};
use crate::store::{Conflict, ConflictStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Local,
    Remote,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldConflict {
    pub field: String,
    pub local: Value,
    pub remote: Value,
    pub chosen: Side,
    /// The rule that settled it (`manual`: Twenty's value stays, a person decides).
    pub policy: ConflictPolicy,
}

impl FieldConflict {
    /// The conflict's record. Under `manual` it stays open: Twenty's value is in both
    /// places until a person decides, and the local value waits in the record.
    pub fn record(&self, lead: &LeadId, now: Timestamp) -> Conflict {
        Conflict {
            lead_id: lead.to_string(),
            field: self.field.clone(),
            local_value: self.local.clone(),
            remote_value: self.remote.clone(),
            chosen: match self.chosen {
                Side::Local => "local".into(),
                Side::Remote => "remote".into(),
            },
            policy: self.policy.as_str().into(),
            at: now,
            status: if self.policy == ConflictPolicy::Manual {
                ConflictStatus::Open
            } else {
                ConflictStatus::Settled
            },
            resolution: None,
            id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merge {
    /// What to PATCH in Twenty: merged values that differ from Twenty's.
    pub patch: Map<String, Value>,
    pub conflicts: Vec<FieldConflict>,
}

/// When each side changed, for `newest-wins`.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub local_edited_at: Option<Timestamp>,
    pub remote_updated_at: Timestamp,
}

pub fn merge(
    base: &Map<String, Value>,
    local: &Map<String, Value>,
    remote: &Map<String, Value>,
    rules: &ConflictRules,
    local_edited_at: Option<Timestamp>,
    remote_updated_at: Timestamp,
) -> Merge {
    let times = Times {
        local_edited_at,
        remote_updated_at,
    };
    let fields: BTreeSet<&String> = base
        .keys()
        .chain(local.keys())
        .chain(remote.keys())
        .collect();
    let mut out = Merge::default();
    for field in fields {
        if SYSTEM_FIELDS.contains(&field.as_str()) {
            continue;
        }
        let (b, l, r) = (base.get(field), local.get(field), remote.get(field));
        // A composite field (emails, phones, address, ...) merges by sub-field, as a
        // PATCH applies it: a primary email changed here and an additional one
        // changed in Twenty both survive.
        if let (Some(Value::Object(lo)), Some(Value::Object(ro))) = (l, r)
            && matches!(b, None | Some(Value::Null) | Some(Value::Object(_)))
        {
            let empty = Map::new();
            let bo = b.and_then(Value::as_object).unwrap_or(&empty);
            let subs: BTreeSet<&String> = bo.keys().chain(lo.keys()).chain(ro.keys()).collect();
            let mut patch = Map::new();
            for sub in subs {
                let name = format!("{field}.{sub}");
                if let Some(v) = settle(
                    &name,
                    (bo.get(sub), lo.get(sub), ro.get(sub)),
                    rules,
                    times,
                    &mut out.conflicts,
                ) {
                    patch.insert(sub.clone(), v);
                }
            }
            if !patch.is_empty() {
                out.patch.insert(field.clone(), Value::Object(patch));
            }
            continue;
        }
        if let Some(v) = settle(field, (b, l, r), rules, times, &mut out.conflicts) {
            out.patch.insert(field.clone(), v);
        }
    }
    out
}

/// One field (or sub-field): the value to send to Twenty, if the local side wins and
/// differs from what Twenty has; a conflict is recorded when both sides changed it.
fn settle(
    name: &str,
    (b, l, r): (Option<&Value>, Option<&Value>, Option<&Value>),
    rules: &ConflictRules,
    times: Times,
    conflicts: &mut Vec<FieldConflict>,
) -> Option<Value> {
    let local_changed = l != b;
    let remote_changed = r != b;
    let chosen = match (local_changed, remote_changed) {
        (false, _) => Side::Remote,
        (true, false) => Side::Local,
        (true, true) if l == r => Side::Remote,
        (true, true) => {
            let policy = rules.for_path(name);
            let chosen = match policy {
                ConflictPolicy::RemoteWins | ConflictPolicy::Manual => Side::Remote,
                ConflictPolicy::LocalWins => Side::Local,
                ConflictPolicy::NewestWins => match times.local_edited_at {
                    Some(t) if t > times.remote_updated_at => Side::Local,
                    _ => Side::Remote,
                },
            };
            conflicts.push(FieldConflict {
                field: name.to_string(),
                local: l.cloned().unwrap_or(Value::Null),
                remote: r.cloned().unwrap_or(Value::Null),
                chosen,
                policy,
            });
            chosen
        }
    };
    match (chosen, l) {
        (Side::Local, Some(value)) if Some(value) != r => Some(value.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn edits_to_different_fields_both_survive() {
        let base = m(json!({"phones": "1", "email": "a@x", "updatedAt": "t0"}));
        let local = m(json!({"phones": "1", "email": "b@x", "updatedAt": "t0"}));
        let remote = m(json!({"phones": "2", "email": "a@x", "updatedAt": "t1"}));
        let out = merge(
            &base,
            &local,
            &remote,
            &ConflictRules::uniform(ConflictPolicy::RemoteWins),
            None,
            ts("2026-01-01T00:00:00Z"),
        );
        assert_eq!(out.patch, m(json!({"email": "b@x"})));
        assert!(out.conflicts.is_empty());
    }

    #[test]
    fn the_policy_settles_a_field_both_changed() {
        let base = m(json!({"phones": "1"}));
        let local = m(json!({"phones": "L"}));
        let remote = m(json!({"phones": "R"}));
        let remote_at = ts("2026-01-01T00:00:10Z");
        let remote_wins = merge(
            &base,
            &local,
            &remote,
            &ConflictRules::uniform(ConflictPolicy::RemoteWins),
            None,
            remote_at,
        );
        assert!(remote_wins.patch.is_empty());
        assert_eq!(remote_wins.conflicts[0].chosen, Side::Remote);
        let local_wins = merge(
            &base,
            &local,
            &remote,
            &ConflictRules::uniform(ConflictPolicy::LocalWins),
            None,
            remote_at,
        );
        assert_eq!(local_wins.patch, m(json!({"phones": "L"})));
        let later = merge(
            &base,
            &local,
            &remote,
            &ConflictRules::uniform(ConflictPolicy::NewestWins),
            Some(ts("2026-01-01T00:00:11Z")),
            remote_at,
        );
        assert_eq!(later.conflicts[0].chosen, Side::Local);
        let earlier = merge(
            &base,
            &local,
            &remote,
            &ConflictRules::uniform(ConflictPolicy::NewestWins),
            Some(ts("2026-01-01T00:00:09Z")),
            remote_at,
        );
        assert_eq!(earlier.conflicts[0].chosen, Side::Remote);
    }

    #[test]
    fn the_same_change_on_both_sides_is_no_conflict_and_system_fields_are_never_sent() {
        let base = m(json!({"score": 1, "updatedAt": "a", "position": 0}));
        let local = m(json!({"score": 2, "updatedAt": "b", "position": 5}));
        let remote = m(json!({"score": 2, "updatedAt": "c", "position": 0}));
        let out = merge(
            &base,
            &local,
            &remote,
            &ConflictRules::uniform(ConflictPolicy::RemoteWins),
            None,
            ts("2026-01-01T00:00:00Z"),
        );
        assert!(out.patch.is_empty() && out.conflicts.is_empty());
    }

    #[test]
    fn edits_to_different_parts_of_one_composite_both_survive() {
        let base = m(json!({"email": {"primaryEmail": "a@x", "additionalEmails": []}}));
        let local = m(json!({"email": {"primaryEmail": "b@x", "additionalEmails": []}}));
        let remote = m(json!({"email": {"primaryEmail": "a@x", "additionalEmails": ["c@x"]}}));
        let out = merge(
            &base,
            &local,
            &remote,
            &ConflictRules::uniform(ConflictPolicy::RemoteWins),
            None,
            ts("2026-01-01T00:00:00Z"),
        );
        assert!(out.conflicts.is_empty(), "{:?}", out.conflicts);
        assert_eq!(out.patch, m(json!({"email": {"primaryEmail": "b@x"}})));
        let both = m(json!({"email": {"primaryEmail": "r@x", "additionalEmails": []}}));
        let out = merge(
            &base,
            &local,
            &both,
            &ConflictRules::uniform(ConflictPolicy::RemoteWins),
            None,
            ts("2026-01-01T00:00:00Z"),
        );
        assert_eq!(out.conflicts.len(), 1);
        assert_eq!(out.conflicts[0].field, "email.primaryEmail");
    }

    #[test]
    fn policies_parse_from_their_documented_names() {
        for p in [
            ConflictPolicy::RemoteWins,
            ConflictPolicy::LocalWins,
            ConflictPolicy::NewestWins,
            ConflictPolicy::Manual,
        ] {
            assert_eq!(p.as_str().parse::<ConflictPolicy>(), Ok(p));
        }
        assert!("whoever".parse::<ConflictPolicy>().is_err());
    }

    /// Issue #16: each field by its own rule — a field rule, a sub-field rule, the
    /// default — and `manual` keeps Twenty's value and reports the conflict.
    #[test]
    fn each_field_is_settled_by_its_own_rule() {
        let rules = ConflictRules::parse(
            ConflictPolicy::RemoteWins,
            "score=local-wins,phones.primaryPhoneNumber=manual",
        )
        .unwrap();
        let base = m(json!({"score": 1, "status": "NEW",
            "phones": {"primaryPhoneNumber": "1", "primaryPhoneCountryCode": "FR"}}));
        let local = m(json!({"score": 2, "status": "WON",
            "phones": {"primaryPhoneNumber": "2", "primaryPhoneCountryCode": "DE"}}));
        let remote = m(json!({"score": 3, "status": "LOST",
            "phones": {"primaryPhoneNumber": "3", "primaryPhoneCountryCode": "IT"}}));
        let out = merge(
            &base,
            &local,
            &remote,
            &rules,
            None,
            ts("2026-01-01T00:00:00Z"),
        );
        assert_eq!(out.patch, m(json!({"score": 2})), "only local-wins is sent");
        let settled: Vec<(&str, Side, &str)> = out
            .conflicts
            .iter()
            .map(|c| (c.field.as_str(), c.chosen, c.policy.as_str()))
            .collect();
        assert_eq!(
            settled,
            vec![
                (
                    "phones.primaryPhoneCountryCode",
                    Side::Remote,
                    "remote-wins"
                ),
                ("phones.primaryPhoneNumber", Side::Remote, "manual"),
                ("score", Side::Local, "local-wins"),
                ("status", Side::Remote, "remote-wins"),
            ]
        );
    }
}
