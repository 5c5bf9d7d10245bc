//! Twenty in memory, as unforgiving as the real one (`twenty-api.md`): a microsecond
//! clock shown in milliseconds (ties), late commits (a version becomes visible after
//! one with a later `updatedAt` was already listed), keyset cursors that compare
//! milliseconds, lost answers, 429s, every PATCH bumping `updatedAt`, webhooks for
//! every visible change and ONE `destroyed` event for a bulk delete.
//!
//! It also keeps the history of every field, which is what the oracle judges.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};
use spartan_sync::domain::{LeadId, ObjectName, RemoteRecord, Timestamp};
use spartan_sync::twenty::{ListQuery, Page, RemoteObjects, RequestStats, TwentyError};
use tokio::time::Instant;

use super::rng::Rng;

/// Who wrote a value into Twenty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Human,
    Push,
}

/// One value of one field path, as it became visible in Twenty.
#[derive(Debug, Clone)]
pub struct FieldWrite {
    pub value: Value,
    pub old: Value,
    pub by: Writer,
    pub at_micros: i64,
    /// When the write committed: a read before this could not see it.
    pub visible_at_micros: i64,
    /// The world's event number: orders events within one microsecond.
    pub seq: u64,
    /// For a push: when the push last read the record (its GET) before writing, as
    /// (time, event number).
    pub read: Option<(i64, u64)>,
}

#[derive(Debug, Clone)]
struct Version {
    fields: Map<String, Value>,
    micros: i64,
    visible_at: i64,
}

#[derive(Debug, Default)]
struct Row {
    versions: Vec<Version>,
    destroyed: bool,
}

impl Row {
    fn visible(&self, now: i64) -> Option<&Version> {
        self.versions.iter().rev().find(|v| v.visible_at <= now)
    }
    fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }
}

/// A person's action scripted between two of the push's requests.
#[derive(Debug, Clone)]
pub enum Interlude {
    SoftDelete,
    Destroy,
    Edit(&'static str, Value),
}

/// A delivery Twenty would send (the record after the change).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: &'static str,
    pub record: Map<String, Value>,
    pub at_micros: i64,
}

#[derive(Debug, Default)]
pub struct World {
    rows: BTreeMap<LeadId, Row>,
    pub history: BTreeMap<(LeadId, String), Vec<FieldWrite>>,
    pub deliveries: Vec<Delivery>,
    last_get: BTreeMap<LeadId, (i64, u64)>,
    seq: u64,
    /// Scripted for plain tests: this many answers to the push's writes are lost.
    pub lose_answers: u32,
    /// Scripted for plain tests: what a person does right after the next GET of one
    /// record answers (so before the PATCH that follows it).
    pub after_next_get: Option<Interlude>,
    /// Scripted for plain tests: every write commits this long after its timestamp.
    pub commit_delay_micros: Option<i64>,
    pub faults: bool,
    pub requests: u64,
}

impl World {
    /// The fields of a record a client can change: not destroyed, not soft-deleted.
    fn live_fields(&self, id: &LeadId) -> Option<Map<String, Value>> {
        self.rows
            .get(id)
            .filter(|r| !r.destroyed)
            .and_then(Row::latest)
            .filter(|v| v.fields.get("deletedAt") == Some(&Value::Null))
            .map(|v| v.fields.clone())
    }
}

#[derive(Clone)]
pub struct SimTwenty {
    world: Arc<Mutex<World>>,
    rng: Rng,
    object: ObjectName,
    page_size: u32,
    origin: Instant,
    base_micros: i64,
    /// Twenty's clock runs this far ahead of the functions'.
    skew_micros: i64,
}

/// The field paths the simulation edits (composite sub-fields are separate paths).
pub const PATHS: [&str; 5] = [
    "name",
    "status",
    "score",
    "email.primaryEmail",
    "email.additionalEmails",
];

pub fn get_path(fields: &Map<String, Value>, path: &str) -> Value {
    match path.split_once('.') {
        Some((f, sub)) => fields
            .get(f)
            .and_then(|v| v.get(sub))
            .cloned()
            .unwrap_or(Value::Null),
        None => fields.get(path).cloned().unwrap_or(Value::Null),
    }
}

/// A PATCH body that sets one path.
pub fn patch_of(path: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::new();
    match path.split_once('.') {
        Some((f, sub)) => {
            m.insert(f.into(), json!({ sub: value }));
        }
        None => {
            m.insert(path.into(), value);
        }
    }
    m
}

fn apply_patch(fields: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match (fields.get_mut(k), v) {
            (Some(Value::Object(existing)), Value::Object(sub)) => {
                for (sk, sv) in sub {
                    existing.insert(sk.clone(), sv.clone());
                }
            }
            _ => {
                fields.insert(k.clone(), v.clone());
            }
        }
    }
}

fn ts(micros: i64) -> String {
    Timestamp::from_unix_millis(micros.div_euclid(1000))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn shown(v: &Version) -> Map<String, Value> {
    let mut f = v.fields.clone();
    f.insert("updatedAt".into(), Value::String(ts(v.micros)));
    f
}

fn unavailable(op: &str, why: &str) -> TwentyError {
    TwentyError::RetriesExhausted {
        operation: op.to_string(),
        attempts: 1,
        last: why.to_string(),
    }
}

impl SimTwenty {
    pub fn new(rng: Rng, base_micros: i64, skew_micros: i64, page_size: u32) -> Self {
        Self {
            world: Arc::default(),
            rng,
            object: ObjectName::new("leads", "lead"),
            page_size,
            origin: Instant::now(),
            base_micros,
            skew_micros,
        }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now_micros(&self) -> i64 {
        self.base_micros + self.skew_micros + self.origin.elapsed().as_micros() as i64
    }

    /// The writer's own answer comes after its commit: wait until it is visible.
    async fn committed(&self, id: &LeadId) {
        let visible_at = self
            .world()
            .rows
            .get(id)
            .and_then(Row::latest)
            .map_or(0, |v| v.visible_at);
        let wait = visible_at - self.now_micros();
        if wait > 0 {
            tokio::time::sleep(Duration::from_micros(wait as u64)).await;
        }
    }

    async fn latency(&self) {
        let d = self.rng.below(1500);
        tokio::time::sleep(Duration::from_micros(d)).await;
    }

    /// A commit that becomes visible now, or (sometimes) a few ms after its timestamp.
    fn commit_delay(&self) -> i64 {
        if self.rng.chance(0.2) {
            self.rng.below(4000) as i64
        } else {
            0
        }
    }

    /// Writes a new version and records what changed; returns the version shown.
    fn write(
        &self,
        w: &mut World,
        id: &LeadId,
        fields: Map<String, Value>,
        by: Writer,
        event: &'static str,
    ) -> Map<String, Value> {
        let micros = self.now_micros();
        // A row's versions commit in order (the row lock): never before the last one.
        let delay = w.commit_delay_micros.unwrap_or_else(|| self.commit_delay());
        let row = w.rows.entry(id.clone()).or_default();
        let visible_at = (micros + delay).max(row.latest().map_or(i64::MIN, |v| v.visible_at));
        let before = row.latest().map(|v| v.fields.clone()).unwrap_or_default();
        let changed = before != fields;
        row.versions.push(Version {
            fields: fields.clone(),
            micros,
            visible_at,
        });
        // Old versions go, but never the last one a reader can see yet.
        while row.versions.len() > 4 && row.versions[1].visible_at <= micros {
            row.versions.remove(0);
        }
        let shown = shown(row.versions.last().unwrap_or_else(|| unreachable!()));
        let read = w.last_get.get(id).copied();
        w.seq += 1;
        let seq = w.seq;
        for path in PATHS {
            let (old, new) = (get_path(&before, path), get_path(&fields, path));
            if old != new || before.is_empty() {
                w.history
                    .entry((id.clone(), path.to_string()))
                    .or_default()
                    .push(FieldWrite {
                        value: new,
                        old,
                        by,
                        at_micros: micros,
                        visible_at_micros: visible_at,
                        seq,
                        read: (by == Writer::Push).then_some(read).flatten(),
                    });
            }
        }
        // A PATCH that changes nothing sends no webhook (it still bumps updatedAt).
        if changed {
            w.deliveries.push(Delivery {
                event,
                record: shown.clone(),
                at_micros: visible_at,
            });
        }
        shown
    }

    fn base_record(&self, id: &LeadId, mut fields: Map<String, Value>) -> Map<String, Value> {
        fields.insert("id".into(), Value::String(id.to_string()));
        fields.entry("deletedAt").or_insert(Value::Null);
        fields
            .entry("createdAt")
            .or_insert(json!(ts(self.now_micros())));
        fields
    }

    // ---- what people do in Twenty ----

    pub fn human_create(&self, id: &LeadId, fields: Map<String, Value>) {
        let record = self.base_record(id, fields);
        let mut w = self.world();
        self.write(&mut w, id, record, Writer::Human, "lead.created");
    }

    /// Edits one path of a live lead; `false` if there is none.
    pub fn human_edit(&self, id: &LeadId, path: &str, value: Value) -> bool {
        let mut w = self.world();
        let Some(mut fields) = w.live_fields(id) else {
            return false;
        };
        apply_patch(&mut fields, &patch_of(path, value));
        self.write(&mut w, id, fields, Writer::Human, "lead.updated");
        true
    }

    pub fn human_soft_delete(&self, id: &LeadId) -> bool {
        let mut w = self.world();
        let Some(mut fields) = w.live_fields(id) else {
            return false;
        };
        fields.insert("deletedAt".into(), json!(ts(self.now_micros())));
        self.write(&mut w, id, fields, Writer::Human, "lead.deleted");
        true
    }

    /// A hard delete of several leads in one request: ONE `destroyed` event.
    pub fn human_bulk_destroy(&self, ids: &[LeadId]) {
        let mut w = self.world();
        let now = self.now_micros();
        let mut first = None;
        for id in ids {
            if let Some(row) = w.rows.get_mut(id).filter(|r| !r.destroyed) {
                row.destroyed = true;
                if first.is_none() {
                    first = row.latest().map(shown);
                }
            }
        }
        if let Some(record) = first {
            w.deliveries.push(Delivery {
                event: "lead.destroyed",
                record,
                at_micros: now,
            });
        }
    }

    /// Live ids (not destroyed), for actors to pick from.
    pub fn ids(&self) -> Vec<LeadId> {
        self.world()
            .rows
            .iter()
            .filter(|(_, r)| !r.destroyed)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The records as they are now (everything committed), destroyed ones left out.
    pub fn records(&self) -> BTreeMap<LeadId, Map<String, Value>> {
        self.world()
            .rows
            .iter()
            .filter(|(_, r)| !r.destroyed)
            .filter_map(|(id, r)| r.latest().map(|v| (id.clone(), shown(v))))
            .collect()
    }

    pub fn destroyed(&self, id: &LeadId) -> bool {
        self.world().rows.get(id).is_some_and(|r| r.destroyed)
    }

    /// Faults on: 429s and lost answers.
    fn fault(&self, op: &str) -> Result<(), TwentyError> {
        let faults = self.world().faults;
        if faults && self.rng.chance(0.08) {
            return Err(TwentyError::RateLimited {
                operation: op.to_string(),
                attempts: 3,
            });
        }
        Ok(())
    }

    fn lose_answer(&self) -> bool {
        let mut w = self.world();
        if w.lose_answers > 0 {
            w.lose_answers -= 1;
            return true;
        }
        w.faults && self.rng.chance(0.08)
    }
}

fn encode_cursor(micros: i64, id: &LeadId) -> String {
    format!("{}|{id}", micros.div_euclid(1000))
}

fn decode_cursor(c: &str) -> Option<(i64, LeadId)> {
    let (ms, id) = c.split_once('|')?;
    Some((ms.parse().ok()?, LeadId::parse(id).ok()?))
}

impl RemoteObjects for SimTwenty {
    fn object(&self) -> &ObjectName {
        &self.object
    }

    fn page_size(&self) -> u32 {
        self.page_size
    }

    fn stats(&self) -> RequestStats {
        RequestStats::default()
    }

    async fn list(&self, query: &ListQuery, _deadline: Instant) -> Result<Page, TwentyError> {
        self.latency().await;
        self.fault("GET leads")?;
        let now = self.now_micros();
        let since_ms = query.changed_since.map(|t| t.unix_millis());
        let after = query.starting_after.as_deref().and_then(decode_cursor);
        let page = {
            let mut w = self.world();
            w.requests += 1;
            // The database orders by microseconds; the cursor only knows milliseconds.
            let mut rows: Vec<(i64, LeadId, Map<String, Value>)> = w
                .rows
                .iter()
                .filter(|(_, r)| !r.destroyed)
                .filter_map(|(id, r)| r.visible(now).map(|v| (v.micros, id.clone(), shown(v))))
                .filter(|(m, _, _)| since_ms.is_none_or(|s| m.div_euclid(1000) >= s))
                .filter(|(_, id, _)| query.ids.as_ref().is_none_or(|ids| ids.contains(id)))
                .filter(|(m, id, _)| {
                    after
                        .as_ref()
                        .is_none_or(|(ams, aid)| (m.div_euclid(1000), id) > (*ams, aid))
                })
                .collect();
            rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            let limit = query
                .limit
                .map_or(self.page_size, |l| l.min(self.page_size)) as usize;
            let more = rows.len() > limit;
            rows.truncate(limit);
            let end = rows.last().map(|(m, id, _)| encode_cursor(*m, id));
            let records = rows
                .into_iter()
                .filter_map(|(_, _, f)| RemoteRecord::from_fields(f).ok())
                .collect();
            Page {
                records,
                total_count: None,
                end_cursor: end,
                has_next_page: more,
            }
        };
        self.latency().await;
        Ok(page)
    }

    async fn get(
        &self,
        id: &LeadId,
        _deadline: Instant,
    ) -> Result<Option<RemoteRecord>, TwentyError> {
        self.latency().await;
        self.fault("GET lead")?;
        let now = self.now_micros();
        let found = {
            let mut w = self.world();
            w.requests += 1;
            let found = w
                .rows
                .get(id)
                .filter(|r| !r.destroyed)
                .and_then(|r| r.visible(now))
                .filter(|v| v.fields.get("deletedAt") == Some(&Value::Null))
                .map(shown);
            w.seq += 1;
            let seq = w.seq;
            w.last_get.insert(id.clone(), (now, seq));
            found
        };
        let interlude = self.world().after_next_get.take();
        match interlude {
            Some(Interlude::SoftDelete) => {
                self.human_soft_delete(id);
            }
            Some(Interlude::Destroy) => self.human_bulk_destroy(std::slice::from_ref(id)),
            Some(Interlude::Edit(path, value)) => {
                self.human_edit(id, path, value);
            }
            None => {}
        }
        self.latency().await;
        Ok(found.and_then(|f| RemoteRecord::from_fields(f).ok()))
    }

    async fn create(
        &self,
        fields: &Map<String, Value>,
        _deadline: Instant,
    ) -> Result<RemoteRecord, TwentyError> {
        self.latency().await;
        self.fault("POST leads")?;
        let id = fields
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| LeadId::parse(s).ok())
            .ok_or_else(|| TwentyError::Rejected {
                operation: "POST leads".into(),
                status: 400,
                message: "id required in this simulation".into(),
            })?;
        let shown = {
            let mut w = self.world();
            w.requests += 1;
            if w.rows.contains_key(&id) {
                return Err(TwentyError::Rejected {
                    operation: "POST leads".into(),
                    status: 400,
                    message: "A duplicate entry was detected".into(),
                });
            }
            let record = self.base_record(&id, fields.clone());
            self.write(&mut w, &id, record, Writer::Push, "lead.created")
        };
        self.committed(&id).await;
        self.latency().await;
        if self.lose_answer() {
            return Err(unavailable("POST leads", "timed out (the answer was lost)"));
        }
        RemoteRecord::from_fields(shown).map_err(|e| unavailable("POST leads", &e.to_string()))
    }

    async fn update(
        &self,
        id: &LeadId,
        patch: &Map<String, Value>,
        _deadline: Instant,
    ) -> Result<RemoteRecord, TwentyError> {
        self.push_change("PATCH lead", id, "lead.updated", |fields| {
            apply_patch(fields, patch)
        })
        .await
    }

    async fn delete(
        &self,
        id: &LeadId,
        soft: bool,
        _deadline: Instant,
    ) -> Result<Option<RemoteRecord>, TwentyError> {
        if !soft {
            return Err(unavailable("DELETE lead", "hard deletes are not simulated"));
        }
        let at = json!(ts(self.now_micros()));
        self.push_change("DELETE lead", id, "lead.deleted", |fields| {
            fields.insert("deletedAt".into(), at);
        })
        .await
        .map(Some)
    }
}

impl SimTwenty {
    /// A PATCH or soft DELETE by the push: 404 unless the record is live, a 429 or a
    /// lost answer when faults are on, and the answer only after the commit.
    async fn push_change(
        &self,
        op: &'static str,
        id: &LeadId,
        event: &'static str,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<RemoteRecord, TwentyError> {
        self.latency().await;
        self.fault(op)?;
        let shown = {
            let mut w = self.world();
            w.requests += 1;
            let Some(mut fields) = w.live_fields(id) else {
                return Err(TwentyError::NotFound {
                    operation: op.into(),
                });
            };
            change(&mut fields);
            self.write(&mut w, id, fields, Writer::Push, event)
        };
        self.committed(id).await;
        self.latency().await;
        if self.lose_answer() {
            return Err(unavailable(op, "timed out (the answer was lost)"));
        }
        RemoteRecord::from_fields(shown).map_err(|e| unavailable(op, &e.to_string()))
    }
}
