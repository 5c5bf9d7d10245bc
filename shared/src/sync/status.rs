//! The sync state as a person or an app wants it at a glance (`GET /sync`): built by a
//! pure function from the state item, the lease and two counts, so tests can pin
//! every field without DynamoDB.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::report::headline;
use crate::domain::Timestamp;
use crate::store::{Conflict, DynamoLeadStore, Lease, StoreError, SyncState};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub object: String,
    /// A run holds the lease now.
    pub running: Option<Running>,
    pub last_run: Option<LastRun>,
    pub last_success_at: Option<Timestamp>,
    /// The newest Twenty `updatedAt` the mirror is known to hold everything up to.
    pub watermark: Option<Timestamp>,
    /// Now minus the watermark: grows while Twenty is quiet, so it overstates the lag.
    pub watermark_age_seconds: Option<u64>,
    /// Every change Twenty made before this time is in the mirror (the start of the
    /// last completed pass); webhooks usually bring later ones within a second.
    pub fresh_as_of: Option<Timestamp>,
    /// Now minus `freshAsOf`: how far behind Twenty the mirror can at most be.
    pub lag_seconds: Option<u64>,
    /// Live records in the mirror, per object.
    pub records: BTreeMap<String, i64>,
    /// Local edits waiting to be pushed to Twenty.
    pub pending_pushes: u64,
    /// Conflicts waiting for a person (`GET /conflicts?status=open`).
    pub open_conflicts: u64,
    /// The oldest of them: how long a decision has waited.
    pub oldest_open_conflict: Option<OldestConflict>,
    /// Twenty could not be reached by the last runs.
    pub outage: Option<Outage>,
    /// A pass that stopped before its end; the next run resumes it.
    pub pass_in_progress: Option<PassInProgress>,
    /// The other mirrored objects (`TWENTY_OBJECTS`), each with its own state.
    pub objects: Vec<super::ObjectStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OldestConflict {
    pub lead_id: String,
    pub field: String,
    pub at: Timestamp,
    pub waiting_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Running {
    pub run_id: String,
    pub since: Option<Timestamp>,
    pub lease_until: Option<Timestamp>,
}

/// The last run's summary as stored, with the line a person reads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LastRun {
    pub run_id: Option<String>,
    pub status: Option<String>,
    pub mode: Option<String>,
    pub resumed: bool,
    pub at: Option<Timestamp>,
    pub duration_ms: u64,
    pub fetched: u64,
    pub changed: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub stale: u64,
    pub removed: u64,
    pub total_in_table: i64,
    pub push: Option<Value>,
    pub error: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outage {
    pub since: Timestamp,
    pub seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassInProgress {
    pub mode: &'static str,
    pub started_at: Timestamp,
    pub pages: u32,
    pub fetched: u64,
    /// Every page is stored and the full pass's hard-delete sweep is under way.
    pub sweeping: bool,
}

impl SyncStatus {
    pub fn of(
        object: &str,
        state: SyncState,
        lease: Option<Lease>,
        pending_pushes: u64,
        open_conflicts: u64,
        oldest_open: Option<Conflict>,
        now: Timestamp,
    ) -> Self {
        let age = |t: Timestamp| t.age_at(now).as_secs();
        let last_run = state.last_run.and_then(|v| {
            // A summary that does not read is shown as absent, not as an error: the
            // rest of the status is still worth having.
            let mut run: LastRun = serde_json::from_value(v).ok()?;
            run.at = state.last_run_at;
            run.message = headline(&run);
            Some(run)
        });
        Self {
            object: object.to_string(),
            running: lease
                .filter(|l| l.until.is_some_and(|u| u >= now))
                .map(|l| Running {
                    run_id: l.owner,
                    since: l.taken_at,
                    lease_until: l.until,
                }),
            last_run,
            last_success_at: state.last_success_at,
            watermark: state.watermark,
            watermark_age_seconds: state.watermark.map(age),
            fresh_as_of: state.fresh_as_of,
            lag_seconds: state.fresh_as_of.map(age),
            records: BTreeMap::from([(object.to_string(), state.lead_count)]),
            pending_pushes,
            open_conflicts,
            oldest_open_conflict: oldest_open.map(|c| OldestConflict {
                waiting_seconds: age(c.at),
                lead_id: c.lead_id,
                field: c.field,
                at: c.at,
            }),
            outage: state.unreachable_since.map(|since| Outage {
                since,
                seconds: age(since),
            }),
            pass_in_progress: state.checkpoint.map(|cp| PassInProgress {
                mode: if cp.full { "full" } else { "delta" },
                started_at: cp.pass_started_at,
                pages: cp.pages,
                fetched: cp.fetched,
                sweeping: cp.sweep.is_some(),
            }),
            objects: Vec::new(),
        }
    }

    /// Reads everything the status is made of.
    pub async fn read(store: &DynamoLeadStore, now: Timestamp) -> Result<Self, StoreError> {
        let state = store.load_state().await?;
        let lease = store.lease().await?;
        let pending = store.pending_count().await?;
        let conflicts = store.open_conflict_count().await?;
        let oldest = match conflicts {
            0 => None,
            _ => store.oldest_open_conflict().await?,
        };
        Ok(Self::of(
            store.object(),
            state,
            lease,
            pending,
            conflicts,
            oldest,
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn the_lag_is_measured_from_the_last_complete_pass_not_the_watermark() {
        let now = t("2026-11-27T12:00:00.000Z");
        let state = SyncState {
            watermark: Some(t("2026-11-24T12:00:00.000Z")),
            lead_count: 47,
            last_run: Some(
                json!({"runId": "r1", "status": "succeeded", "mode": "delta",
                "changed": 3, "totalInTable": 47, "durationMs": 812}),
            ),
            last_run_at: Some(t("2026-11-27T11:58:01.000Z")),
            fresh_as_of: Some(t("2026-11-27T11:58:00.000Z")),
            ..SyncState::default()
        };
        let oldest = Conflict {
            lead_id: "l1".into(),
            field: "phones.primaryPhoneNumber".into(),
            local_value: json!("2"),
            remote_value: json!("1"),
            chosen: "remote".into(),
            policy: "manual".into(),
            at: t("2026-11-27T11:00:00.000Z"),
            status: crate::store::ConflictStatus::Open,
            resolution: None,
            id: None,
        };
        let s = SyncStatus::of("leads", state, None, 2, 1, Some(oldest), now);
        let waiting = s.oldest_open_conflict.as_ref().unwrap();
        assert_eq!(
            (waiting.field.as_str(), waiting.waiting_seconds),
            ("phones.primaryPhoneNumber", 3600)
        );
        assert_eq!(s.watermark_age_seconds, Some(3 * 86_400));
        assert_eq!(s.lag_seconds, Some(120));
        let run = s.last_run.unwrap();
        assert_eq!(run.message, "Found 3 changed leads out of 47 total");
        assert_eq!(run.at, Some(t("2026-11-27T11:58:01.000Z")));
        assert_eq!(s.records["leads"], 47);
        assert!(s.running.is_none() && s.outage.is_none());
    }

    #[test]
    fn a_live_lease_is_a_run_in_progress_and_a_lapsed_one_is_not() {
        let now = t("2026-11-27T12:00:00.000Z");
        let lease = |until: &str| Lease {
            owner: "run-1".into(),
            until: Some(t(until)),
            taken_at: Some(t("2026-11-27T11:59:50.000Z")),
        };
        let live = SyncStatus::of(
            "leads",
            SyncState::default(),
            Some(lease("2026-11-27T12:01:00.000Z")),
            0,
            0,
            None,
            now,
        );
        assert_eq!(live.running.unwrap().run_id, "run-1");
        let lapsed = SyncStatus::of(
            "leads",
            SyncState::default(),
            Some(lease("2026-11-27T11:59:00.000Z")),
            0,
            0,
            None,
            now,
        );
        assert!(lapsed.running.is_none());
    }
}
