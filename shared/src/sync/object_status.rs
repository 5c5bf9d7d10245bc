//! `GET /sync`'s view of the other mirrored objects (`TWENTY_OBJECTS` past the leads):
//! each one's own state item, as pure a function of it as the leads' status.

use serde::Serialize;
use serde_json::Value;

use super::SyncStatus;
use crate::domain::{MirrorSet, Timestamp};
use crate::store::{DynamoLeadStore, StoreError, SyncState};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectStatus {
    pub object: String,
    /// The newest `updatedAt` pulled.
    pub watermark: Option<Timestamp>,
    /// Every change Twenty made to it before this time is in the mirror.
    pub fresh_as_of: Option<Timestamp>,
    pub lag_seconds: Option<u64>,
    /// The last complete pull's summary (`pages`, `fetched`, `written`, `removed`).
    pub last_pull: Option<Value>,
    pub last_pull_at: Option<Timestamp>,
    /// Its records in the mirror when its last reconcile ended (soft-deleted included).
    pub records: Option<u64>,
    pub counted_at: Option<Timestamp>,
    /// A pull stopped before its end; the next run resumes it.
    pub pull_in_progress: bool,
}

impl ObjectStatus {
    pub fn of(object: &str, state: SyncState, now: Timestamp) -> Self {
        Self {
            object: object.to_string(),
            watermark: state.watermark,
            fresh_as_of: state.fresh_as_of,
            lag_seconds: state.fresh_as_of.map(|t| t.age_at(now).as_secs()),
            last_pull: state.last_run,
            last_pull_at: state.last_run_at,
            records: state.record_count,
            counted_at: state.counted_at,
            pull_in_progress: state.pull.is_some(),
        }
    }
}

impl SyncStatus {
    /// Adds the other objects' states; their counts join `records` beside the leads'.
    pub fn with_objects(mut self, states: Vec<(String, SyncState)>, now: Timestamp) -> Self {
        for (object, state) in states {
            let status = ObjectStatus::of(&object, state, now);
            if let Some(n) = status.records {
                self.records
                    .insert(object.clone(), i64::try_from(n).unwrap_or(i64::MAX));
            }
            self.objects.push(status);
        }
        self
    }

    /// [`SyncStatus::read`] and the state of every other object of `objects`.
    pub async fn read_all(
        store: &DynamoLeadStore,
        objects: &MirrorSet,
        now: Timestamp,
    ) -> Result<Self, StoreError> {
        let status = Self::read(store, now).await?;
        let mut states = Vec::with_capacity(objects.related().len());
        for object in objects.related() {
            let plural = object.name.plural();
            let state = store.for_object(plural).load_state().await?;
            states.push((plural.to_string(), state));
        }
        Ok(status.with_objects(states, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_object_reports_its_own_state_and_its_count_joins_the_records() {
        let now = t("2026-11-27T12:00:00.000Z");
        let leads = SyncState {
            lead_count: 47,
            ..SyncState::default()
        };
        let people = SyncState {
            watermark: Some(t("2026-11-27T11:00:00.000Z")),
            fresh_as_of: Some(t("2026-11-27T11:55:00.000Z")),
            last_run: Some(json!({"object": "people", "pages": 1, "fetched": 0})),
            record_count: Some(1200),
            counted_at: Some(t("2026-11-27T03:00:00.000Z")),
            ..SyncState::default()
        };
        let status = SyncStatus::of("leads", leads, None, 0, 0, None, now).with_objects(
            vec![
                ("notes".into(), SyncState::default()),
                ("people".into(), people),
            ],
            now,
        );
        assert_eq!(status.records["leads"], 47);
        assert_eq!(status.records["people"], 1200);
        assert!(!status.records.contains_key("notes"), "never reconciled");
        let objects: Vec<_> = status.objects.iter().map(|o| o.object.as_str()).collect();
        assert_eq!(objects, ["notes", "people"]);
        assert_eq!(status.objects[1].lag_seconds, Some(300));
        assert_eq!(
            status.objects[1]
                .last_pull
                .as_ref()
                .map(|p| p["pages"].clone()),
            Some(json!(1))
        );
    }
}
