//! The workspace's records and every way they change. Each change yields a [`Change`],
//! which the caller turns into webhook deliveries once the state lock is released.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::clock::{Clock, Millis, format_ms};
use super::errors::ApiError;
use super::schema::{self, ObjectKind, Record};
use super::search_vector;
use super::standard_objects::{OnDestroy, REFERENCES};

/// Who made a change: an API key, or a person in Twenty's UI (the direct-edit helpers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Actor {
    Api,
    Person,
}

impl Actor {
    fn to_value(self) -> Value {
        match self {
            Self::Api => json!({
                "source": "API",
                "workspaceMemberId": null,
                "name": "My api key",
                "context": {},
            }),
            Self::Person => json!({
                "source": "MANUAL",
                "workspaceMemberId": "20202020-0687-4c41-b707-ed1bfca972a7",
                "name": "Tim Apple",
                "context": {},
            }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Created,
    Updated,
    Deleted,
    Destroyed,
    Restored,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Destroyed => "destroyed",
            Self::Restored => "restored",
        }
    }
}

/// One record changed: what a webhook event reports.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub kind: ObjectKind,
    pub action: Action,
    /// The state after the change (for `destroyed`, the last state).
    pub record: Value,
    pub updated_fields: Option<Vec<String>>,
}

impl Change {
    pub(crate) fn event_name(&self) -> String {
        format!("{}.{}", self.kind.singular(), self.action.as_str())
    }
}

/// What a mutation returns: the records to answer with, and the changes to announce.
pub(crate) type Outcome<T> = Result<(T, Vec<Change>), ApiError>;

#[derive(Debug, Default)]
pub(crate) struct World {
    /// Keyed by id, so iteration is already in `id` order.
    tables: HashMap<ObjectKind, BTreeMap<String, Record>>,
    clock: Clock,
}

/// Fields that say nothing about what a person changed: they never trigger a webhook.
const BOOKKEEPING: &[&str] = &["updatedAt", "updatedBy", "searchVector"];

impl World {
    pub(crate) fn rows(&self, kind: ObjectKind) -> impl Iterator<Item = &Record> {
        self.tables.get(&kind).into_iter().flat_map(|t| t.values())
    }

    /// Includes soft-deleted records.
    pub(crate) fn get(&self, kind: ObjectKind, id: &str) -> Option<&Record> {
        self.tables.get(&kind)?.get(&id.to_ascii_lowercase())
    }

    pub(crate) fn get_live(&self, kind: ObjectKind, id: &str) -> Option<&Record> {
        self.get(kind, id).filter(|r| r["deletedAt"].is_null())
    }

    /// Seeds only: sets `createdAt` and `updatedAt` of the `i`-th record of `kind` (in id
    /// order) to `at(i)`. The clock is not wound back, so later edits are newer.
    pub(crate) fn backdate(&mut self, kind: ObjectKind, mut at: impl FnMut(usize) -> Millis) {
        for (i, record) in self.table_mut(kind).values_mut().enumerate() {
            let stamp = Value::from(format_ms(at(i)));
            record.insert("createdAt".into(), stamp.clone());
            record.insert("updatedAt".into(), stamp);
        }
    }

    fn table_mut(&mut self, kind: ObjectKind) -> &mut BTreeMap<String, Record> {
        self.tables.entry(kind).or_default()
    }

    /// Twenty puts new records first: one below the lowest position so far (0 if none).
    fn next_position(&self, kind: ObjectKind) -> i64 {
        self.rows(kind)
            .filter_map(|r| r["position"].as_f64())
            .map(|p| p.floor() as i64 - 1)
            .min()
            .unwrap_or(0)
    }

    /// Creates records (one request's worth; they share one `updatedAt`). With `upsert`,
    /// an input whose `id` exists updates that record instead of being a duplicate.
    pub(crate) fn create(
        &mut self,
        kind: ObjectKind,
        inputs: &[Record],
        actor: Actor,
        upsert: bool,
    ) -> Outcome<Vec<Value>> {
        let now = self.clock.tick();
        let mut staged: Vec<(String, Option<Record>)> = Vec::with_capacity(inputs.len());
        let mut position = self.next_position(kind);
        for input in inputs {
            let id = match input.get("id") {
                None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
                Some(Value::String(s)) if schema::is_valid_uuid(s) => s.to_ascii_lowercase(),
                Some(other) => {
                    let shown = other
                        .as_str()
                        .map_or_else(|| other.to_string(), str::to_string);
                    return Err(ApiError::invalid_uuid(&shown));
                }
            };
            let repeated = staged.iter().any(|(staged_id, _)| *staged_id == id);
            if repeated || (!upsert && self.get(kind, &id).is_some()) {
                return Err(ApiError::duplicate_entry());
            }
            if self.get(kind, &id).is_some() {
                // Upsert of an existing record: checked here, applied below.
                let mut probe = self.get(kind, &id).cloned().unwrap_or_default();
                schema::merge_input(kind, &mut probe, input)?;
                staged.push((id, None));
                continue;
            }
            let mut record = schema::blank_record(kind);
            schema::merge_input(kind, &mut record, input)?;
            let stamp = Value::from(format_ms(now));
            record.insert("id".into(), Value::from(id.clone()));
            record.insert("createdAt".into(), stamp.clone());
            record.insert("updatedAt".into(), stamp);
            record.insert("deletedAt".into(), Value::Null);
            record.insert("position".into(), Value::from(position));
            record.insert("createdBy".into(), actor.to_value());
            record.insert("updatedBy".into(), actor.to_value());
            record.insert(
                "searchVector".into(),
                search_vector::compute(kind, &record).into(),
            );
            position -= 1;
            staged.push((id, Some(record)));
        }

        let mut records = Vec::with_capacity(staged.len());
        let mut changes = Vec::new();
        for ((id, new_record), input) in staged.into_iter().zip(inputs) {
            match new_record {
                Some(record) => {
                    let value = Value::Object(record.clone());
                    self.table_mut(kind).insert(id, record);
                    changes.push(Change {
                        kind,
                        action: Action::Created,
                        record: value.clone(),
                        updated_fields: None,
                    });
                    records.push(value);
                }
                None => {
                    let (value, change) = self.apply_update(kind, &id, input, actor, now)?;
                    changes.extend(change);
                    records.push(value);
                }
            }
        }
        Ok((records, changes))
    }

    /// PATCH: merges `patch`, always bumps `updatedAt`; announces only real changes.
    pub(crate) fn update(
        &mut self,
        kind: ObjectKind,
        id: &str,
        patch: &Record,
        actor: Actor,
    ) -> Outcome<Value> {
        if self.get_live(kind, id).is_none() {
            return Err(ApiError::not_found());
        }
        let now = self.clock.tick();
        let (value, change) = self.apply_update(kind, id, patch, actor, now)?;
        Ok((value, change.into_iter().collect()))
    }

    fn apply_update(
        &mut self,
        kind: ObjectKind,
        id: &str,
        patch: &Record,
        actor: Actor,
        now: Millis,
    ) -> Result<(Value, Option<Change>), ApiError> {
        let before = self
            .get(kind, id)
            .cloned()
            .ok_or_else(ApiError::not_found)?;
        let mut after = before.clone();
        schema::merge_input(kind, &mut after, patch)?;
        after.insert("updatedAt".into(), format_ms(now).into());
        after.insert("updatedBy".into(), actor.to_value());
        after.insert(
            "searchVector".into(),
            search_vector::compute(kind, &after).into(),
        );

        let changed: Vec<String> = kind
            .fields()
            .iter()
            .map(|f| f.name)
            .filter(|name| *name != "updatedAt" && *name != "searchVector")
            .filter(|name| before.get(*name) != after.get(*name))
            .map(str::to_string)
            .collect();
        let meaningful = changed.iter().any(|f| !BOOKKEEPING.contains(&f.as_str()));
        let value = Value::Object(after.clone());
        self.table_mut(kind).insert(id.to_ascii_lowercase(), after);
        let change = meaningful.then(|| Change {
            kind,
            action: Action::Updated,
            record: value.clone(),
            updated_fields: Some(changed),
        });
        Ok((value, change))
    }

    /// Sets `deletedAt` and `updatedAt` to the same instant.
    pub(crate) fn soft_delete(
        &mut self,
        kind: ObjectKind,
        id: &str,
        actor: Actor,
    ) -> Outcome<Value> {
        if self.get_live(kind, id).is_none() {
            return Err(ApiError::not_found());
        }
        let now = format_ms(self.clock.tick());
        let record = self
            .table_mut(kind)
            .get_mut(&id.to_ascii_lowercase())
            .ok_or_else(ApiError::not_found)?;
        record.insert("deletedAt".into(), now.clone().into());
        record.insert("updatedAt".into(), now.clone().into());
        record.insert("updatedBy".into(), actor.to_value());
        let value = Value::Object(record.clone());
        let mut changes = vec![Change {
            kind,
            action: Action::Deleted,
            record: value.clone(),
            updated_fields: Some(vec!["deletedAt".into()]),
        }];
        changes.extend(self.soft_cascade(kind, id, Some(&now), actor));
        Ok((value, changes))
    }

    /// Twenty 2.21.0 soft-deletes a soft-deleted note's noteTargets with it (and restores
    /// them with it), an event each: `deleted_at` is the note's new `deletedAt`.
    fn soft_cascade(
        &mut self,
        kind: ObjectKind,
        id: &str,
        deleted_at: Option<&str>,
        actor: Actor,
    ) -> Vec<Change> {
        if kind != ObjectKind::Note {
            return Vec::new();
        }
        let stamp = match deleted_at {
            Some(at) => at.to_string(),
            None => format_ms(self.clock.tick()),
        };
        let id = id.to_ascii_lowercase();
        let mut changes = Vec::new();
        for link in self.table_mut(ObjectKind::NoteTarget).values_mut() {
            let of_note = link["noteId"].as_str().map(str::to_ascii_lowercase) == Some(id.clone());
            if !of_note || link["deletedAt"].is_null() != deleted_at.is_some() {
                continue;
            }
            let value = deleted_at.map_or(Value::Null, |at| Value::String(at.to_string()));
            link.insert("deletedAt".into(), value);
            link.insert("updatedAt".into(), stamp.clone().into());
            link.insert("updatedBy".into(), actor.to_value());
            changes.push(Change {
                kind: ObjectKind::NoteTarget,
                action: match deleted_at {
                    Some(_) => Action::Deleted,
                    None => Action::Restored,
                },
                record: Value::Object(link.clone()),
                updated_fields: Some(vec!["deletedAt".into()]),
            });
        }
        changes
    }

    /// Removes the row (soft-deleted or not); the event carries its last state.
    pub(crate) fn destroy(&mut self, kind: ObjectKind, id: &str) -> Outcome<Value> {
        let record = self
            .table_mut(kind)
            .remove(&id.to_ascii_lowercase())
            .ok_or_else(ApiError::not_found)?;
        self.cascade(kind, id);
        let value = Value::Object(record);
        let change = Change {
            kind,
            action: Action::Destroyed,
            record: value.clone(),
            updated_fields: None,
        };
        Ok((value, vec![change]))
    }

    /// `DELETE /rest/<objects>?filter=...`: removes every matching row but, as 2.21.0
    /// does, reports ONE `destroyed` change (for the first row) however many went.
    pub(crate) fn destroy_many(&mut self, kind: ObjectKind, ids: &[String]) -> Outcome<Vec<Value>> {
        let mut gone = Vec::new();
        for id in ids {
            if let Some(record) = self.table_mut(kind).remove(&id.to_ascii_lowercase()) {
                self.cascade(kind, id);
                gone.push(Value::Object(record));
            }
        }
        let changes = gone
            .first()
            .map(|first| Change {
                kind,
                action: Action::Destroyed,
                record: first.clone(),
                updated_fields: None,
            })
            .into_iter()
            .collect();
        Ok((gone, changes))
    }

    /// What the database does when a row goes, silently (no event, no `updatedAt`): each
    /// relation column pointing at it ([`REFERENCES`]) is nulled, or its row goes with it
    /// (a note's `noteTarget` rows). E.g. a lead's `noteTarget` rows keep pointing nowhere.
    fn cascade(&mut self, kind: ObjectKind, id: &str) {
        let id = id.to_ascii_lowercase();
        for reference in REFERENCES.iter().filter(|r| r.to == kind) {
            let column = reference.column;
            let points_at = |r: &Record| {
                r.get(column)
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(&id))
            };
            let rows = self.table_mut(reference.from);
            match reference.on_destroy {
                OnDestroy::SetNull => {
                    for r in rows.values_mut().filter(|r| points_at(r)) {
                        r.insert(column.into(), Value::Null);
                    }
                }
                OnDestroy::Cascade => rows.retain(|_, r| !points_at(r)),
            }
        }
    }

    /// Clears `deletedAt` on those of `ids` that are soft-deleted; all share one `updatedAt`.
    pub(crate) fn restore(
        &mut self,
        kind: ObjectKind,
        ids: &[String],
        actor: Actor,
    ) -> Outcome<Vec<Value>> {
        let now = format_ms(self.clock.tick());
        let mut restored = Vec::new();
        let mut changes = Vec::new();
        for id in ids {
            let Some(record) = self.table_mut(kind).get_mut(&id.to_ascii_lowercase()) else {
                continue;
            };
            if record["deletedAt"].is_null() {
                continue;
            }
            record.insert("deletedAt".into(), Value::Null);
            record.insert("updatedAt".into(), now.clone().into());
            record.insert("updatedBy".into(), actor.to_value());
            let value = Value::Object(record.clone());
            changes.push(Change {
                kind,
                action: Action::Restored,
                record: value.clone(),
                updated_fields: Some(vec!["deletedAt".into()]),
            });
            restored.push(value);
            changes.extend(self.soft_cascade(kind, id, None, actor));
        }
        Ok((restored, changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> Record {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn create_fills_server_fields_and_positions() {
        let mut world = World::default();
        let (first, _) = world
            .create(
                ObjectKind::Lead,
                &[input(json!({"name": "Acme lead"}))],
                Actor::Api,
                false,
            )
            .expect("created");
        let (second, _) = world
            .create(
                ObjectKind::Lead,
                &[input(json!({"name": "Globex lead"}))],
                Actor::Api,
                false,
            )
            .expect("created");
        let (a, b) = (&first[0], &second[0]);
        assert_eq!(a["position"], 0);
        assert_eq!(b["position"], -1);
        assert_eq!(a["searchVector"], "'acme':1 'lead':2");
        assert_eq!(a["status"], "NEW");
        assert_eq!(a["score"], Value::Null);
        assert_eq!(
            a["budget"],
            json!({"amountMicros": null, "currencyCode": ""})
        );
        assert_eq!(a["createdAt"], a["updatedAt"]);
        assert_eq!(a["createdBy"]["name"], "My api key");
    }

    #[test]
    fn duplicate_ids_are_refused_unless_upserting() {
        let mut world = World::default();
        let id = "bf91e08e-34f1-43a7-9ba8-92963c4fd740";
        let rec = input(json!({"id": id, "name": "A"}));
        world
            .create(
                ObjectKind::Lead,
                std::slice::from_ref(&rec),
                Actor::Api,
                false,
            )
            .expect("created");
        let err = world
            .create(ObjectKind::Lead, &[rec], Actor::Api, false)
            .expect_err("duplicate");
        assert_eq!(err.messages, vec!["A duplicate entry was detected"]);
        let (out, changes) = world
            .create(
                ObjectKind::Lead,
                &[input(json!({"id": id, "name": "B"}))],
                Actor::Api,
                true,
            )
            .expect("upserted");
        assert_eq!(out[0]["name"], "B");
        assert_eq!(changes[0].action, Action::Updated);
    }

    #[test]
    fn noop_patch_bumps_updated_at_without_an_event() {
        let mut world = World::default();
        let (out, _) = world
            .create(
                ObjectKind::Lead,
                &[input(json!({"name": "A", "score": 1}))],
                Actor::Api,
                false,
            )
            .expect("created");
        let id = out[0]["id"].as_str().expect("id").to_string();
        let (after, changes) = world
            .update(
                ObjectKind::Lead,
                &id,
                &input(json!({"score": 1})),
                Actor::Api,
            )
            .expect("updated");
        assert!(changes.is_empty());
        assert_ne!(after["updatedAt"], out[0]["updatedAt"]);
        let (_, changes) = world
            .update(
                ObjectKind::Lead,
                &id,
                &input(json!({"score": 2})),
                Actor::Api,
            )
            .expect("updated");
        assert_eq!(changes[0].updated_fields, Some(vec!["score".to_string()]));
    }

    #[test]
    fn soft_delete_then_restore() {
        let mut world = World::default();
        let (out, _) = world
            .create(
                ObjectKind::Lead,
                &[input(json!({"name": "A"}))],
                Actor::Api,
                false,
            )
            .expect("created");
        let id = out[0]["id"].as_str().expect("id").to_string();
        let (deleted, _) = world
            .soft_delete(ObjectKind::Lead, &id, Actor::Api)
            .expect("deleted");
        assert_eq!(deleted["deletedAt"], deleted["updatedAt"]);
        assert!(world.get_live(ObjectKind::Lead, &id).is_none());
        let (restored, changes) = world
            .restore(ObjectKind::Lead, std::slice::from_ref(&id), Actor::Api)
            .expect("restored");
        assert_eq!(restored[0]["deletedAt"], Value::Null);
        assert_eq!(changes[0].event_name(), "lead.restored");
    }
}
