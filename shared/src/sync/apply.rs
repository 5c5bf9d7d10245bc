//! Remote versions into the mirror: a page, one delivery, a hard delete, the sweep.
//! Each reads what is stored, asks [`super::rules`] what to write, and writes it only
//! if the lead is still as read; a lead that changed meanwhile is decided again.

use std::collections::HashSet;

use super::rewrite::{Step, rewrite};
use super::rules::{self, Applied, Context};
use crate::domain::{LeadId, RemoteRecord, Timestamp};
use crate::store::{LeadWrite, Mirror, StoreError};

/// Counts of one batch of writes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub stale: u64,
    /// Kept beside a pending local edit, for the push's merge.
    pub deferred: u64,
}

impl ApplyCounts {
    /// Leads whose stored record changed.
    pub fn written(&self) -> u64 {
        self.inserted + self.updated
    }

    pub fn add(&mut self, applied: Applied) {
        match applied {
            Applied::Inserted => self.inserted += 1,
            Applied::Updated | Applied::Removed => self.updated += 1,
            Applied::Unchanged => self.unchanged += 1,
            Applied::Stale | Applied::Refused => self.stale += 1,
            Applied::Deferred => self.deferred += 1,
        }
    }

    pub fn merge(&mut self, other: ApplyCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.stale += other.stale;
        self.deferred += other.deferred;
    }
}

/// A page of records from Twenty: one read for the page, one write per lead that
/// needs one (records equal to what is stored cost nothing).
pub async fn apply_page<M: Mirror>(
    mirror: &M,
    records: &[RemoteRecord],
    ctx: &Context,
) -> Result<ApplyCounts, StoreError> {
    let ids: Vec<&LeadId> = records.iter().map(RemoteRecord::id).collect();
    let stored = mirror.read_leads(&ids).await?;
    let mut counts = ApplyCounts::default();
    let mut once = HashSet::new();
    let mut writes = Vec::new();
    let mut decided = Vec::new();
    let mut again = Vec::new();
    for record in records {
        if !once.insert(record.id()) {
            again.push(record);
            continue;
        }
        let current = stored.get(record.id());
        match rules::on_remote(current, record, ctx) {
            (applied, Some(item)) => {
                let recheck = rules::in_doubt(current, record, ctx);
                writes.push(
                    LeadWrite::replace(record.id(), current, Some(item)).with_recheck(recheck),
                );
                decided.push((record, applied));
            }
            (applied, None) => counts.add(applied),
        }
    }
    let results = mirror.write_leads(&writes).await?;
    for ((record, applied), landed) in decided.into_iter().zip(results) {
        if landed {
            counts.add(applied);
        } else {
            again.push(record);
        }
    }
    for record in again {
        counts.add(apply_one(mirror, record, ctx).await?);
    }
    Ok(counts)
}

/// One remote version (a webhook delivery, or a record whose page write lost a race).
pub async fn apply_one<M: Mirror>(
    mirror: &M,
    record: &RemoteRecord,
    ctx: &Context,
) -> Result<Applied, StoreError> {
    rewrite(mirror, record.id(), |current| {
        Ok(match rules::on_remote(current, record, ctx) {
            (applied, None) => Step::Done(applied),
            (applied, next) => Step::Write {
                next: next.map(Box::new),
                conflicts: Vec::new(),
                recheck: rules::in_doubt(current, record, ctx),
                then: applied,
            },
        })
    })
    .await
}

/// A hard delete in Twenty (`<object>.destroyed`).
pub async fn destroy_one<M: Mirror>(
    mirror: &M,
    record: &RemoteRecord,
) -> Result<Applied, StoreError> {
    rewrite(mirror, record.id(), |current| {
        Ok(
            match rules::on_destroyed(current, record, Timestamp::now()) {
                (applied, None, _) => Step::Done(applied),
                (applied, next, conflicts) => Step::Write {
                    next: next.map(Box::new),
                    conflicts,
                    recheck: false,
                    then: applied,
                },
            },
        )
    })
    .await
}

/// One page of the end of full pass `generation`: every live lead on it that the pass
/// did not see is gone from Twenty and becomes a tombstone. The page comes from a small
/// projection of each lead; the candidates are re-checked on their full item before the
/// guarded write, so a lead a webhook wrote meanwhile is kept. Returns how many were
/// removed and where the next page begins (`None`: the sweep is complete). The caller
/// walks the pages, so memory stays constant and the position can be checkpointed.
pub async fn sweep_page<M: Mirror>(
    mirror: &M,
    after: Option<String>,
    generation: u64,
    pass_started_at: Timestamp,
) -> Result<(u64, Option<String>), StoreError> {
    let (entries, next) = mirror.sweep_page(after).await?;
    let unseen: Vec<&LeadId> = entries
        .iter()
        .filter(|e| rules::unseen(e, generation, pass_started_at))
        .map(|e| &e.id)
        .collect();
    if unseen.is_empty() {
        return Ok((0, next));
    }
    let stored = mirror.read_leads(&unseen).await?;
    let now = Timestamp::now();
    let writes: Vec<LeadWrite> = unseen
        .iter()
        .filter_map(|id| {
            let cur = stored.get(*id)?;
            let entry = cur.sweep_entry(id);
            (cur.is_live() && rules::unseen(&entry, generation, pass_started_at)).then(|| {
                let tomb = rules::tombstone(Some(cur), cur.pk.clone(), cur.remote_updated_at, now);
                LeadWrite::replace(id, Some(cur), Some(tomb))
            })
        })
        .collect();
    let removed = mirror
        .write_leads(&writes)
        .await?
        .into_iter()
        .filter(|landed| *landed)
        .count() as u64;
    Ok((removed, next))
}
