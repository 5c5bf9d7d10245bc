//! The mirror in memory: the same contract as DynamoDB's (conditional lead writes,
//! atomic counts, a fenced state item, a lease), for unit tests and the simulator.
//!
//! Each operation can be given a latency before and after it takes effect, so a
//! simulation interleaves concurrent callers at every await point, and a caller
//! dropped while it waits after a write has "crashed" with the write done.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::mirror::{Expect, LeadWrite, Mirror, Recheck, SweepEntry, SweepPage};
use super::{
    Checkpoint, CheckpointChange, Conflict, LeadItem, LeaseHolder, Reachability, RunRecord,
    StoreError, SyncState,
};
use crate::domain::{LeadId, Timestamp};

/// Decides how long an operation waits before (and again after) it takes effect.
pub type Latency = Arc<dyn Fn(&'static str) -> Duration + Send + Sync>;

#[derive(Debug, Default, Clone)]
pub struct MemoryData {
    pub leads: BTreeMap<LeadId, LeadItem>,
    pub conflicts: Vec<Conflict>,
    pub state: SyncState,
    pub lease: Option<(String, Timestamp)>,
    /// Queued rechecks: lead → the `rev` that queued it.
    pub rechecks: BTreeMap<LeadId, u64>,
}

#[derive(Clone, Default)]
pub struct MemoryMirror {
    data: Arc<Mutex<MemoryData>>,
    latency: Option<Latency>,
    sweep_page: Option<usize>,
}

impl std::fmt::Debug for MemoryMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryMirror").finish_non_exhaustive()
    }
}

const SWEEP_PAGE: usize = 100;

impl MemoryMirror {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Leads per page of the sweep (100 unless set): a simulation sets a few, so that
    /// runs crash and pause between the pages of a sweep.
    pub fn with_sweep_page(mut self, leads: usize) -> Self {
        self.sweep_page = Some(leads.max(1));
        self
    }

    /// A copy of everything held, for assertions.
    pub fn snapshot(&self) -> MemoryData {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryData> {
        // A panic while holding the lock is a test failure already; keep the data.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn wait(&self, op: &'static str) {
        if let Some(latency) = &self.latency {
            let d = latency(op);
            if !d.is_zero() {
                tokio::time::sleep(d).await;
            }
        }
    }

    fn lease_live(data: &MemoryData, owner: &str, now: Timestamp) -> bool {
        matches!(&data.lease, Some((o, until)) if o == owner && *until >= now)
    }
}

impl Mirror for MemoryMirror {
    async fn read_leads(&self, ids: &[&LeadId]) -> Result<HashMap<LeadId, LeadItem>, StoreError> {
        self.wait("read_leads").await;
        let found = {
            let data = self.lock();
            ids.iter()
                .filter_map(|id| data.leads.get(*id).map(|i| ((*id).clone(), i.clone())))
                .collect()
        };
        self.wait("read_leads").await;
        Ok(found)
    }

    async fn read_lead(&self, id: &LeadId) -> Result<Option<LeadItem>, StoreError> {
        self.wait("read_lead").await;
        let found = self.lock().leads.get(id).cloned();
        self.wait("read_lead").await;
        Ok(found)
    }

    async fn write_leads(&self, writes: &[LeadWrite]) -> Result<Vec<bool>, StoreError> {
        self.wait("write_leads").await;
        let results = {
            let mut data = self.lock();
            let mut results = Vec::with_capacity(writes.len());
            for w in writes {
                let holds = match (w.expect, data.leads.get(&w.id)) {
                    (Expect::Absent, None) => true,
                    (Expect::Rev(r), Some(item)) => item.rev == r,
                    _ => false,
                };
                if holds {
                    match &w.item {
                        Some(item) => data.leads.insert(w.id.clone(), item.clone()),
                        None => data.leads.remove(&w.id),
                    };
                    data.state.lead_count += w.live_delta;
                    data.conflicts.extend(w.conflicts.iter().cloned());
                    if let (true, Some(item)) = (w.recheck, &w.item) {
                        data.rechecks.insert(w.id.clone(), item.rev);
                    }
                }
                results.push(holds);
            }
            results
        };
        self.wait("write_leads").await;
        Ok(results)
    }

    async fn pending_leads(&self, limit: usize) -> Result<Vec<LeadId>, StoreError> {
        self.wait("pending_leads").await;
        let mut queued: Vec<(Option<Timestamp>, LeadId)> = self
            .lock()
            .leads
            .iter()
            .filter(|(_, i)| i.local.queue.is_some())
            .map(|(id, i)| (i.local.pending_since, id.clone()))
            .collect();
        queued.sort();
        Ok(queued.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn sweep_page(&self, after: Option<String>) -> Result<SweepPage, StoreError> {
        self.wait("sweep_page").await;
        let data = self.lock();
        let start = after.and_then(|a| LeadId::parse(&a).ok());
        let page = self.sweep_page.unwrap_or(SWEEP_PAGE);
        let entries: Vec<SweepEntry> = data
            .leads
            .iter()
            .filter(|(id, _)| start.as_ref().is_none_or(|s| *id > s))
            .filter(|(_, i)| i.is_live())
            .take(page)
            .map(|(id, i)| i.sweep_entry(id))
            .collect();
        let next = (entries.len() == page)
            .then(|| entries.last().map(|e| e.id.to_string()))
            .flatten();
        Ok((entries, next))
    }

    async fn rechecks(&self, limit: usize) -> Result<Vec<Recheck>, StoreError> {
        self.wait("rechecks").await;
        let queued = self
            .lock()
            .rechecks
            .iter()
            .take(limit)
            .map(|(id, rev)| Recheck {
                id: id.clone(),
                rev: *rev,
            })
            .collect();
        self.wait("rechecks").await;
        Ok(queued)
    }

    async fn clear_recheck(&self, recheck: &Recheck) -> Result<(), StoreError> {
        self.wait("clear_recheck").await;
        {
            let mut data = self.lock();
            if data.rechecks.get(&recheck.id) == Some(&recheck.rev) {
                data.rechecks.remove(&recheck.id);
            }
        }
        self.wait("clear_recheck").await;
        Ok(())
    }

    async fn load_state(&self) -> Result<SyncState, StoreError> {
        self.wait("load_state").await;
        Ok(self.lock().state.clone())
    }

    async fn next_generation(&self) -> Result<u64, StoreError> {
        self.wait("next_generation").await;
        let mut data = self.lock();
        data.state.generation += 1;
        Ok(data.state.generation)
    }

    async fn save_checkpoint(
        &self,
        owner: &str,
        checkpoint: &Checkpoint,
    ) -> Result<bool, StoreError> {
        self.wait("save_checkpoint").await;
        let now = Timestamp::now();
        let saved = {
            let mut data = self.lock();
            let live = Self::lease_live(&data, owner, now);
            if live {
                data.state.checkpoint = Some(checkpoint.clone());
            }
            live
        };
        self.wait("save_checkpoint").await;
        Ok(saved)
    }

    async fn record_run(&self, owner: &str, record: &RunRecord) -> Result<bool, StoreError> {
        self.wait("record_run").await;
        let now = Timestamp::now();
        let recorded = {
            let mut data = self.lock();
            let live = Self::lease_live(&data, owner, now);
            if live {
                let state = &mut data.state;
                state.last_run = Some(record.last_run.clone());
                state.last_run_at = Some(now);
                if let Some(t) = record.fresh_as_of {
                    state.fresh_as_of = Some(t);
                }
                if let Some(w) = record.watermark {
                    state.watermark = Some(w);
                }
                if let Some(t) = record.succeeded_at {
                    state.last_success_at = Some(t);
                }
                match &record.checkpoint {
                    CheckpointChange::Keep => {}
                    CheckpointChange::Clear => state.checkpoint = None,
                    CheckpointChange::Set(cp) => state.checkpoint = Some(cp.clone()),
                }
                match record.reachability {
                    Reachability::Unknown => {}
                    Reachability::Reachable => state.unreachable_since = None,
                    Reachability::UnreachableAt(t) => {
                        state.unreachable_since.get_or_insert(t);
                    }
                }
            }
            live
        };
        self.wait("record_run").await;
        Ok(recorded)
    }

    async fn acquire_lease(
        &self,
        owner: &str,
        ttl: Duration,
    ) -> Result<Result<(), LeaseHolder>, StoreError> {
        self.wait("acquire_lease").await;
        let now = Timestamp::now();
        let mut data = self.lock();
        match &data.lease {
            Some((o, until)) if o != owner && *until >= now => Ok(Err(LeaseHolder {
                owner: o.clone(),
                until: Some(*until),
            })),
            _ => {
                data.lease = Some((owner.to_string(), now.saturating_add(ttl)));
                Ok(Ok(()))
            }
        }
    }

    async fn renew_lease(&self, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.wait("renew_lease").await;
        let now = Timestamp::now();
        let mut data = self.lock();
        // As in DynamoDB: renewable while the item still names us, even if it lapsed
        // and nobody took it meanwhile.
        match &mut data.lease {
            Some((o, until)) if o == owner => {
                *until = now.saturating_add(ttl);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(&self, owner: &str) -> Result<(), StoreError> {
        self.wait("release_lease").await;
        let mut data = self.lock();
        if data.lease.as_ref().is_some_and(|(o, _)| o == owner) {
            data.lease = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RemoteRecord;
    use crate::store::WriteOrigin;
    use serde_json::json;

    fn item(n: u8) -> (LeadId, LeadItem) {
        let id = LeadId::parse(&format!("73affd6e-2319-4ad1-82d8-f8eb9312a2{n:02}")).unwrap();
        let v = json!({"id": id.to_string(), "updatedAt": "2026-01-01T00:00:00.000Z"});
        let r = RemoteRecord::from_fields(v.as_object().cloned().unwrap()).unwrap();
        (
            id,
            LeadItem::from_remote(&r, WriteOrigin::Sync, Timestamp::now()),
        )
    }

    /// Issue #13, item 7: the lead count moves in the same write as the lead, so no
    /// crash between two writes can leave it wrong; a write that does not land moves
    /// nothing.
    #[tokio::test]
    async fn the_lead_count_moves_with_the_lead_and_only_then() {
        let m = MemoryMirror::new();
        let (a, ia) = item(1);
        let (b, ib) = item(2);
        let writes = [
            LeadWrite::replace(&a, None, Some(ia.clone())),
            LeadWrite::replace(&b, None, Some(ib)),
        ];
        assert_eq!(m.write_leads(&writes).await.unwrap(), vec![true, true]);
        // The same inserts again: both expectations fail, the count stays.
        assert_eq!(m.write_leads(&writes).await.unwrap(), vec![false, false]);
        assert_eq!(m.load_state().await.unwrap().lead_count, 2);
        let gone = LeadWrite::replace(&a, Some(&ia), None);
        assert_eq!(gone.live_delta, -1);
        assert_eq!(m.write_leads(&[gone]).await.unwrap(), vec![true]);
        assert_eq!(m.load_state().await.unwrap().lead_count, 1);
    }

    /// Issue #13, item 8: a run whose lease lapsed and was taken over can no longer
    /// write its checkpoint or its record.
    #[tokio::test(start_paused = true)]
    async fn a_run_that_lost_its_lease_cannot_write_the_state() {
        let _clock = crate::domain::clock::simulate(1_800_000_000_000);
        let m = MemoryMirror::new();
        let ttl = Duration::from_secs(60);
        assert!(m.acquire_lease("old", ttl).await.unwrap().is_ok());
        let cp = Checkpoint {
            full: true,
            since: None,
            cursor: Some("c".into()),
            generation: Some(1),
            pass_started_at: Timestamp::now(),
            newest_seen: None,
            pages: 1,
            fetched: 1,
            sweep: None,
        };
        assert!(m.save_checkpoint("old", &cp).await.unwrap());
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert!(m.acquire_lease("new", ttl).await.unwrap().is_ok());
        assert!(!m.save_checkpoint("old", &cp).await.unwrap());
        assert!(!m.record_run("old", &RunRecord::default()).await.unwrap());
        assert!(m.record_run("new", &RunRecord::default()).await.unwrap());
    }
}
