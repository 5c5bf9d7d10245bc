//! The push step: local edits sent to Twenty before each pull.
//!
//! Creates carry the id chosen locally, so a create retried after a timeout finds its
//! first attempt ("duplicate entry") instead of making a second lead. Updates are merged
//! field by field against Twenty's current record and only the fields that must change
//! are PATCHed. What Twenty returns is stored as the lead's new agreed state, so the
//! echo of the push (webhook or delta) is recognised as nothing new.

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::merge::merge;
use super::rebase;
use super::rewrite::{Step, rewrite};
use super::rules;
use super::{PushSummary, SyncError};
use crate::domain::{ConflictRules, LeadId, RemoteRecord, SYSTEM_FIELDS, Timestamp};
use crate::store::{Conflict, LeadItem, LeadWrite, Mirror, PendingKind, StoreError};
use crate::twenty::{RemoteObjects, TwentyError};

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

pub(crate) struct Pusher<'a, R, M> {
    pub remote: &'a R,
    pub mirror: &'a M,
    pub rules: &'a ConflictRules,
    /// The run's lease (owner, ttl): renewed as pushes go by, so a long push never
    /// lets a second run start beside it.
    pub lease: Option<(&'a str, std::time::Duration)>,
}

impl<R: RemoteObjects, M: Mirror> Pusher<'_, R, M> {
    /// Pushes pending edits until done or `deadline`; `None` when nothing was pending.
    pub async fn push_pending(&self, deadline: Instant) -> Result<Option<PushSummary>, SyncError> {
        let ids = self
            .mirror
            .pending_leads(PUSH_BATCH)
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
                    .mirror
                    .renew_lease(owner, ttl)
                    .await
                    .map_err(SyncError::State)?
                {
                    return Err(SyncError::LeaseLost);
                }
                lease_renewed = Instant::now();
            }
            let Some(lead) = self.mirror.read_lead(&id).await.map_err(SyncError::State)? else {
                continue;
            };
            let Some(kind) = lead.local.pending else {
                continue;
            };
            if lead.local.rejected.is_some() || !lead.is_live() {
                continue;
            }
            match self.push_one(&id, &lead, kind, deadline).await {
                Ok(conflicts) => {
                    transient_in_a_row = 0;
                    summary.pushed += 1;
                    summary.conflicts += conflicts;
                }
                Err(PushError::Rejected(message)) => {
                    tracing::warn!(lead = %id, error = %message, "Twenty refused a local edit; it stays pending for a person to look at");
                    self.record_failure(&id, &lead, &message, true).await?;
                    summary.rejected += 1;
                }
                Err(PushError::Transient(e)) => {
                    tracing::warn!(lead = %id, error = %e, "pushing a local edit failed; the next run retries");
                    self.record_failure(&id, &lead, &e.to_string(), false)
                        .await?;
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
            "Pushed {} local {} to Twenty ({} failed, {} refused, {} conflicts recorded; rules {})",
            summary.pushed,
            if summary.pushed == 1 {
                "change"
            } else {
                "changes"
            },
            summary.failed,
            summary.rejected,
            summary.conflicts,
            self.rules.describe()
        );
        Ok(Some(summary))
    }

    /// Returns the number of conflicts recorded.
    async fn push_one(
        &self,
        id: &LeadId,
        lead: &LeadItem,
        kind: PendingKind,
        deadline: Instant,
    ) -> Result<u64, PushError> {
        match kind {
            PendingKind::Create => {
                let mut body = sendable(&lead.fields);
                body.insert("id".into(), Value::String(id.to_string()));
                // Counted before sending, guarded on what was read: if the lead was
                // deleted or edited meanwhile, this push stops here and the next
                // run sees the new state.
                let attempt = rebase::attempted(lead, &body);
                if !self
                    .write(id, lead, Some(attempt.clone()), Vec::new())
                    .await?
                {
                    return Ok(0);
                }
                match self.remote.create(&body, deadline).await {
                    Ok(answer) => self.settle(id, &attempt, &answer).await.map(|_| 0),
                    // An earlier attempt got through (its answer was lost): Twenty has
                    // the lead under our id, as the first POST sent it. Carry on as an
                    // update against that, so nothing changed in Twenty since is undone.
                    Err(TwentyError::Rejected {
                        status: 400,
                        message,
                        ..
                    }) if message.contains("duplicate") => {
                        let base = attempt.local.base.clone().unwrap_or_else(|| body.clone());
                        match self.remote.get(id, deadline).await? {
                            Some(remote) => {
                                self.update_against(id, &attempt, &base, remote, deadline)
                                    .await
                            }
                            // ... and it was deleted there since: like any push that
                            // finds the lead gone, though only edits made after the
                            // first POST are the app's to keep.
                            None => {
                                let edited = body != base;
                                self.not_found(id, edited).await.map(|_| edited as u64)
                            }
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            PendingKind::Update => match self.remote.get(id, deadline).await? {
                Some(remote) => {
                    let base = lead
                        .local
                        .base
                        .clone()
                        .unwrap_or_else(|| remote.fields().clone());
                    self.update_against(id, lead, &base, remote, deadline).await
                }
                // Deleted in Twenty (hard, or soft: both answer 404) while edited here:
                // the edit is kept in a conflict record and the lead follows Twenty.
                None => self.not_found(id, true).await.map(|_| 1),
            },
            PendingKind::Delete => match self.remote.delete(id, true, deadline).await {
                Ok(Some(answer)) => self.settle(id, lead, &answer).await.map(|_| 0),
                Ok(None) | Err(TwentyError::NotFound { .. }) => {
                    self.not_found(id, false).await.map(|_| 0)
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    async fn update_against(
        &self,
        id: &LeadId,
        lead: &LeadItem,
        base: &Map<String, Value>,
        remote: RemoteRecord,
        deadline: Instant,
    ) -> Result<u64, PushError> {
        let merged = merge(
            base,
            &lead.fields,
            remote.fields(),
            self.rules,
            lead.local.edited_at,
            remote.updated_at(),
        );
        let now = Timestamp::now();
        let conflicts: Vec<Conflict> = merged
            .conflicts
            .iter()
            .map(|c| {
                tracing::info!(lead = %id, field = %c.field, chosen = ?c.chosen, policy = c.policy.as_str(), "Conflict on {}: both sides changed it", c.field);
                c.record(id, now)
            })
            .collect();
        let count = conflicts.len() as u64;
        let (lead, conflicts) = if conflicts.is_empty() || merged.patch.is_empty() {
            (lead.clone(), conflicts)
        } else {
            // Recorded before the PATCH, with the attempt: if its answer is lost, the
            // retry reads Twenty with our value already in it and sees no conflict,
            // so a record written only after the answer would never be written.
            let attempt = rebase::attempted(lead, &merged.patch);
            if !self
                .write(id, lead, Some(attempt.clone()), conflicts)
                .await?
            {
                return Ok(0); // edited meanwhile: the next run decides again
            }
            (attempt, Vec::new())
        };
        let answer = if merged.patch.is_empty() {
            remote
        } else {
            match self.remote.update(id, &merged.patch, deadline).await {
                Ok(answer) => answer,
                // Deleted in Twenty between the GET and the PATCH.
                Err(TwentyError::NotFound { .. }) => {
                    return self.not_found(id, true).await.map(|_| count + 1);
                }
                Err(e) => return Err(e.into()),
            }
        };
        self.settle_with(id, &lead, &answer, conflicts).await?;
        Ok(count)
    }

    async fn settle(
        &self,
        id: &LeadId,
        pushed: &LeadItem,
        answer: &RemoteRecord,
    ) -> Result<(), PushError> {
        self.settle_with(id, pushed, answer, Vec::new()).await
    }

    /// Stores Twenty's answer (see [`rebase::settled`]) with the conflicts the push
    /// recorded, in one write. A lead destroyed meanwhile keeps its tombstone.
    async fn settle_with(
        &self,
        id: &LeadId,
        pushed: &LeadItem,
        answer: &RemoteRecord,
        conflicts: Vec<Conflict>,
    ) -> Result<(), PushError> {
        rewrite(self.mirror, id, |cur| {
            Ok::<_, StoreError>(match cur.filter(|c| c.is_live()) {
                None => Step::Done(()),
                Some(cur) => Step::Write {
                    next: Some(Box::new(rebase::settled(
                        cur,
                        pushed,
                        answer,
                        Timestamp::now(),
                    ))),
                    conflicts: conflicts.clone(),
                    recheck: false,
                    then: (),
                },
            })
        })
        .await
        .map_err(PushError::Store)
    }

    /// Twenty answered 404 (see [`rebase::not_found`]); a pending update is kept in
    /// a conflict record first (`keep_edit`). A 404 does not say whether the lead was
    /// destroyed or soft-deleted, nor when: the lead is queued to be read again, so the
    /// next run mirrors what Twenty now holds whatever the delta window has moved past.
    async fn not_found(&self, id: &LeadId, keep_edit: bool) -> Result<(), PushError> {
        rewrite(self.mirror, id, |cur| {
            let Some(cur) = cur.filter(|c| c.is_live() && c.is_pending()) else {
                return Ok::<_, StoreError>(Step::Done(()));
            };
            let now = Timestamp::now();
            let conflicts = if keep_edit {
                rules::lost_edit(cur, "deleted-in-twenty", now)
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            };
            Ok(Step::Write {
                next: Some(Box::new(rebase::not_found(cur, now))),
                conflicts,
                recheck: true,
                then: (),
            })
        })
        .await
        .map_err(PushError::Store)
    }

    /// Records a failed push of `pushed` (see [`rebase::failed`]).
    async fn record_failure(
        &self,
        id: &LeadId,
        pushed: &LeadItem,
        error: &str,
        rejected: bool,
    ) -> Result<(), SyncError> {
        rewrite(self.mirror, id, |cur| {
            Ok::<_, StoreError>(match cur.filter(|c| c.is_pending() && c.is_live()) {
                None => Step::Done(()),
                Some(cur) => Step::write(Some(rebase::failed(cur, pushed, error, rejected)), ()),
            })
        })
        .await
        .map_err(SyncError::State)
    }

    /// One guarded write of what was read, without deciding again: `false` if the
    /// lead changed meanwhile.
    async fn write(
        &self,
        id: &LeadId,
        cur: &LeadItem,
        next: Option<LeadItem>,
        conflicts: Vec<Conflict>,
    ) -> Result<bool, StoreError> {
        let write = LeadWrite::replace(id, Some(cur), next).with_conflicts(conflicts);
        Ok(self.mirror.write_leads(&[write]).await?.first() == Some(&true))
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
