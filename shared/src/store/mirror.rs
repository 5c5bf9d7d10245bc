//! The mirror's operations as the sync core needs them: a narrow trait with two
//! implementations, DynamoDB ([`super::DynamoLeadStore`]) and memory
//! ([`super::MemoryMirror`], for unit tests and the simulator).
//!
//! Every lead write names the `rev` it read (or that the lead is absent), so the
//! decisions that compute items can be pure functions: read, decide, write-if-unchanged,
//! and on a lost race read again.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use super::{Checkpoint, Conflict, LeadItem, LeaseHolder, RunRecord, StoreError, SyncState};
use crate::domain::{LeadId, Timestamp};

/// What a lead write requires of the item it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Absent,
    Rev(u64),
}

/// One conditional lead write, with what it does to the lead count and the conflicts
/// recorded with it (atomically: a crash cannot keep one and lose the other).
#[derive(Debug, Clone, PartialEq)]
pub struct LeadWrite {
    pub id: LeadId,
    pub expect: Expect,
    /// `None` removes the item.
    pub item: Option<LeadItem>,
    /// +1 when a live lead appears, -1 when one goes.
    pub live_delta: i64,
    pub conflicts: Vec<Conflict>,
    /// The write is a guess Twenty must confirm (see [`Recheck`]): a recheck of the
    /// lead is queued in the same write.
    pub recheck: bool,
}

impl LeadWrite {
    /// Replaces `current` (as read) with `next`.
    pub fn replace(id: &LeadId, current: Option<&LeadItem>, next: Option<LeadItem>) -> Self {
        let live = |i: Option<&LeadItem>| i.is_some_and(LeadItem::is_live) as i64;
        Self {
            id: id.clone(),
            expect: current.map_or(Expect::Absent, |c| Expect::Rev(c.rev)),
            live_delta: live(next.as_ref()) - live(current),
            item: next,
            conflicts: Vec::new(),
            recheck: false,
        }
    }

    pub fn with_conflicts(mut self, conflicts: Vec<Conflict>) -> Self {
        self.conflicts = conflicts;
        self
    }

    pub fn with_recheck(mut self, recheck: bool) -> Self {
        self.recheck = recheck;
        self
    }
}

/// A lead whose stored version a write could only guess, queued to be read again from
/// Twenty by id: a webhook that met a second version within the stored version's
/// millisecond (Twenty shows milliseconds and cannot order them), or a push that found
/// the lead gone (absent and soft-deleted look alike). `rev` is the lead's `rev` that
/// write produced: a recheck is cleared only if no later guess replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recheck {
    pub id: LeadId,
    pub rev: u64,
}

/// What the hard-delete sweep needs of a stored lead.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepEntry {
    pub id: LeadId,
    pub generation: Option<u64>,
    pub synced_at: Option<Timestamp>,
    pub pending: bool,
}

/// A page of the sweep's walk over every live lead, and where to continue.
pub type SweepPage = (Vec<SweepEntry>, Option<String>);

pub trait Mirror: Send + Sync {
    /// Consistent reads of the given leads (tombstones included; absent ones missing).
    fn read_leads(
        &self,
        ids: &[&LeadId],
    ) -> impl Future<Output = Result<HashMap<LeadId, LeadItem>, StoreError>> + Send;

    fn read_lead(
        &self,
        id: &LeadId,
    ) -> impl Future<Output = Result<Option<LeadItem>, StoreError>> + Send;

    /// Applies each write whose expectation holds; `false` where it did not (someone
    /// wrote the lead since it was read). No two writes may name the same lead.
    fn write_leads(
        &self,
        writes: &[LeadWrite],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// Leads with a local edit queued for the push, oldest edit first.
    fn pending_leads(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LeadId>, StoreError>> + Send;

    /// One page of every live lead, for the sweep (constant memory, resumable).
    fn sweep_page(
        &self,
        after: Option<String>,
    ) -> impl Future<Output = Result<SweepPage, StoreError>> + Send;

    /// Up to `limit` queued rechecks (see [`Recheck`]).
    fn rechecks(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Recheck>, StoreError>> + Send;

    /// Removes a recheck once Twenty was read, unless a later write queued it again.
    fn clear_recheck(
        &self,
        recheck: &Recheck,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn load_state(&self) -> impl Future<Output = Result<SyncState, StoreError>> + Send;

    /// Starts a new full pass: returns its generation number.
    fn next_generation(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Stores a pass's progress, only while `owner` holds a live lease (`false`: lost).
    fn save_checkpoint(
        &self,
        owner: &str,
        checkpoint: &Checkpoint,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records the end of a run, only while `owner` holds a live lease (`false`: lost).
    fn record_run(
        &self,
        owner: &str,
        record: &RunRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes the lease for `ttl` unless someone else holds a live one; then says who.
    fn acquire_lease(
        &self,
        owner: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Result<(), LeaseHolder>, StoreError>> + Send;

    /// Extends a lease we hold; `false` if it was lost (expired and taken over).
    fn renew_lease(
        &self,
        owner: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn release_lease(&self, owner: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}
