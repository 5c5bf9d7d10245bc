//! The push step: local edits sent to Twenty before each pull.
//!
//! Creates carry the id chosen locally, so a create retried after a timeout finds its
//! first attempt ("duplicate entry") instead of making a second lead. Updates are merged
//! field by field against Twenty's current record and only the fields that must change
//! are PATCHed. What Twenty returns is stored as the lead's new agreed state, so the
//! echo of the push (webhook or delta) is recognised as nothing new.

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::merge::{ConflictPolicy, SYSTEM_FIELDS, Side, merge};
use super::{PushSummary, SyncError};
use crate::domain::{RemoteRecord, Timestamp};
use crate::store::{Conflict, DynamoLeadStore, PendingKind, StoreError, StoredLead};
use crate::twenty::{TwentyClient, TwentyError};

/// Pending leads looked at per run; more wait for the next run.
const PUSH_BATCH: usize = 200;

enum PushError {
    /// Twenty refused the edit: retrying will not help.
    Rejected(String),
    /// Twenty could not be reached, or ran out of budget: the next run retries.
    Transient(TwentyError),
    Store(StoreError),
}

impl From<StoreError> for PushError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<TwentyError> for PushError {
    fn from(e: TwentyError) -> Self {
        match e.status() {
            Some(s) if (400..500).contains(&s) && s != 401 && s != 429 => {
                Self::Rejected(e.to_string())
            }
            _ => Self::Transient(e),
        }
    }
}

pub(crate) struct Pusher<'a> {
    pub twenty: &'a TwentyClient,
    pub store: &'a DynamoLeadStore,
    pub policy: ConflictPolicy,
    /// The run's lease (owner, ttl): renewed as pushes go by, so a long push never
    /// lets a second run start beside it.
    pub lease: Option<(&'a str, std::time::Duration)>,
}

impl Pusher<'_> {
    /// Pushes pending edits until done or `deadline`; `None` when nothing was pending.
    pub async fn push_pending(&self, deadline: Instant) -> Result<Option<PushSummary>, SyncError> {
        let ids = self
            .store
            .pending_ids(PUSH_BATCH)
            .await
            .map_err(SyncError::State)?;
        if ids.is_empty() {
            return Ok(None);
        }
        let mut summary = PushSummary::default();
        let mut transient_in_a_row = 0;
        let mut lease_renewed = Instant::now();
        for id in ids {
            if Instant::now() >= deadline {
                break;
            }
            if let Some((owner, ttl)) = self.lease
                && lease_renewed.elapsed() >= ttl / 3
            {
                if !self
                    .store
                    .renew_lease(owner, ttl)
                    .await
                    .map_err(SyncError::State)?
                {
                    return Err(SyncError::LeaseLost);
                }
                lease_renewed = Instant::now();
            }
            let Some(lead) = self.store.load_lead(&id).await.map_err(SyncError::State)? else {
                continue;
            };
            let Some(kind) = lead.local.pending else {
                continue;
            };
            if lead.local.rejected.is_some() {
                continue;
            }
            match self.push_one(&lead, kind, deadline).await {
                Ok(conflicts) => {
                    transient_in_a_row = 0;
                    summary.pushed += 1;
                    summary.conflicts += conflicts;
                }
                Err(PushError::Rejected(message)) => {
                    tracing::warn!(lead = %id, error = %message, "Twenty refused a local edit; it stays pending for a person to look at");
                    self.store
                        .fail_push(&id, &message, true)
                        .await
                        .map_err(SyncError::State)?;
                    summary.rejected += 1;
                }
                Err(PushError::Transient(e)) => {
                    tracing::warn!(lead = %id, error = %e, "pushing a local edit failed; the next run retries");
                    self.store
                        .fail_push(&id, &e.to_string(), false)
                        .await
                        .map_err(SyncError::State)?;
                    summary.failed += 1;
                    transient_in_a_row += 1;
                    // Out of rate-limit budget, or three failures in a row (Twenty is
                    // down, not one lead): leave the rest for the next run.
                    if e.is_budget() || transient_in_a_row >= 3 {
                        break;
                    }
                }
                Err(PushError::Store(e)) => return Err(SyncError::State(e)),
            }
        }
        tracing::info!(
            pushed = summary.pushed,
            failed = summary.failed,
            rejected = summary.rejected,
            conflicts = summary.conflicts,
            "Pushed {} local {} to Twenty ({} failed, {} refused, {} conflicts settled {})",
            summary.pushed,
            if summary.pushed == 1 {
                "change"
            } else {
                "changes"
            },
            summary.failed,
            summary.rejected,
            summary.conflicts,
            self.policy.as_str()
        );
        Ok(Some(summary))
    }

    /// Returns the number of conflicts settled.
    async fn push_one(
        &self,
        lead: &StoredLead,
        kind: PendingKind,
        deadline: Instant,
    ) -> Result<u64, PushError> {
        let id = &lead.id;
        match kind {
            PendingKind::Create => {
                let mut body = sendable(&lead.fields);
                body.insert("id".into(), Value::String(id.to_string()));
                self.store.note_push_attempt(id).await?;
                match self.twenty.create(&body, deadline).await {
                    Ok(remote) => self.finish(lead, &remote).await.map(|_| 0),
                    // An earlier attempt got through (its answer was lost): Twenty has the
                    // lead under our id. Carry on as an update against what it stored.
                    Err(TwentyError::Rejected {
                        status: 400,
                        message,
                        ..
                    }) if message.contains("duplicate") => {
                        let remote = self
                            .twenty
                            .get(id, deadline)
                            .await?
                            .ok_or_else(|| PushError::Rejected(message.clone()))?;
                        self.update_against(lead, remote.fields(), remote.clone(), deadline)
                            .await
                    }
                    Err(e) => Err(e.into()),
                }
            }
            PendingKind::Update => {
                let remote = self.twenty.get(id, deadline).await?.ok_or_else(|| {
                    PushError::Rejected(
                        "the lead no longer exists in Twenty (deleted there)".into(),
                    )
                })?;
                let base = lead
                    .local
                    .base
                    .clone()
                    .unwrap_or_else(|| remote.fields().clone());
                self.update_against(lead, &base, remote, deadline).await
            }
            PendingKind::Delete => match self.twenty.delete(id, true, deadline).await {
                Ok(Some(remote)) => self.finish(lead, &remote).await.map(|_| 0),
                Ok(None) | Err(TwentyError::NotFound { .. }) => {
                    self.store.forget_lead(id, lead.local.version).await?;
                    Ok(0)
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    async fn update_against(
        &self,
        lead: &StoredLead,
        base: &Map<String, Value>,
        remote: RemoteRecord,
        deadline: Instant,
    ) -> Result<u64, PushError> {
        let merged = merge(
            base,
            &lead.fields,
            remote.fields(),
            self.policy,
            lead.local.edited_at,
            remote.updated_at(),
        );
        let now = Timestamp::now();
        for c in &merged.conflicts {
            tracing::info!(lead = %lead.id, field = %c.field, chosen = ?c.chosen, policy = self.policy.as_str(), "Conflict on {}: both sides changed it", c.field);
            self.store
                .record_conflict(&Conflict {
                    lead_id: lead.id.to_string(),
                    field: c.field.clone(),
                    local_value: c.local.clone(),
                    remote_value: c.remote.clone(),
                    chosen: match c.chosen {
                        Side::Local => "local".into(),
                        Side::Remote => "remote".into(),
                    },
                    policy: self.policy.as_str().into(),
                    at: now,
                })
                .await?;
        }
        let result = if merged.patch.is_empty() {
            remote
        } else {
            self.twenty
                .update(&lead.id, &merged.patch, deadline)
                .await?
        };
        self.finish(lead, &result).await?;
        Ok(merged.conflicts.len() as u64)
    }

    /// Stores Twenty's answer as the agreed state, or as the new base when the lead
    /// was edited again while the push was in flight.
    async fn finish(&self, lead: &StoredLead, remote: &RemoteRecord) -> Result<(), PushError> {
        if !self.store.complete_push(lead, remote).await? {
            self.store.rebase_pending(&lead.id, remote).await?;
        }
        Ok(())
    }
}

/// The fields a client may send: everything but Twenty's own.
fn sendable(fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(k, _)| !SYSTEM_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
