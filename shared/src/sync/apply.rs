//! Remote versions into the mirror: a page, one delivery, a hard delete, the sweep.
//! Each reads what is stored, asks [`super::rules`] what to write, and writes it only
//! if the lead is still as read; a lead that changed meanwhile is decided again.

use std::collections::{HashMap, HashSet};

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

/// What a page's writes assume about the leads already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prior {
    /// Read them first (consistent, a BatchGetItem per 100 keys): the general case.
    Read,
    /// Assume none of them is stored, and skip the read: a first pass into an empty
    /// mirror, where reading 200 keys to find nothing is half the page's cost. Every
    /// write still names what it expects (absent), so a lead stored after all (a
    /// webhook got there first) fails its condition and is read and decided again.
    Absent,
}

/// What one page did: the counts, and how many of its leads were presumed absent but
/// found stored (the caller stops presuming when that stops being rare).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PageApplied {
    pub counts: ApplyCounts,
    pub found_stored: u64,
}

/// A page of records from Twenty: one read for the page, one write per lead that
/// needs one (records equal to what is stored cost nothing).
pub async fn apply_page<M: Mirror>(
    mirror: &M,
    records: &[RemoteRecord],
    ctx: &Context,
) -> Result<ApplyCounts, StoreError> {
    Ok(apply_page_as(mirror, records, ctx, Prior::Read)
        .await?
        .counts)
}

/// [`apply_page`], with what it may assume about the stored leads.
pub async fn apply_page_as<M: Mirror>(
    mirror: &M,
    records: &[RemoteRecord],
    ctx: &Context,
    prior: Prior,
) -> Result<PageApplied, StoreError> {
    let stored = match prior {
        Prior::Read => {
            let ids: Vec<&LeadId> = records.iter().map(RemoteRecord::id).collect();
            mirror.read_leads(&ids).await?
        }
        Prior::Absent => HashMap::new(),
    };
    let mut counts = ApplyCounts::default();
    let mut found_stored = 0;
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
            if prior == Prior::Absent {
                found_stored += 1;
            }
            again.push(record);
        }
    }
    for record in again {
        counts.add(apply_one(mirror, record, ctx).await?);
    }
    Ok(PageApplied {
        counts,
        found_stored,
    })
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{MemoryMirror, WriteOrigin};

    fn record(n: u8, updated_at: &str, score: u32) -> RemoteRecord {
        let v = json!({
            "id": format!("73affd6e-2319-4ad1-82d8-f8eb9312a2{n:02}"),
            "updatedAt": updated_at,
            "score": score,
        });
        RemoteRecord::from_fields(v.as_object().cloned().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn ctx(origin: WriteOrigin) -> Context {
        let now = Timestamp::now();
        Context {
            origin,
            now,
            generation: None,
            read_at: Some(now),
        }
    }

    /// A page that presumes an empty mirror, where a webhook stored two of its leads
    /// first (one newer than the page, one older): those are read and decided as any
    /// page would, the rest inserted without a read.
    #[tokio::test]
    async fn presuming_absent_leads_falls_back_to_reading_those_found_stored() {
        let mirror = MemoryMirror::new();
        let webhook = ctx(WriteOrigin::Webhook);
        let newer = record(1, "2026-01-02T00:00:00.000Z", 9);
        let older = record(2, "2025-01-01T00:00:00.000Z", 9);
        for r in [&newer, &older] {
            apply_one(&mirror, r, &webhook)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let page: Vec<RemoteRecord> = (1..=4)
            .map(|n| record(n, "2026-01-01T00:00:00.000Z", 1))
            .collect();
        let applied = apply_page_as(&mirror, &page, &ctx(WriteOrigin::Sync), Prior::Absent)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(applied.found_stored, 2);
        assert_eq!(
            (
                applied.counts.inserted,
                applied.counts.updated,
                applied.counts.stale
            ),
            (2, 1, 1)
        );
        let data = mirror.snapshot();
        assert_eq!(data.leads.len(), 4);
        assert_eq!(data.state.lead_count, 4);
        assert_eq!(
            data.leads[newer.id()].fields["score"],
            json!(9),
            "newer kept"
        );
        assert_eq!(
            data.leads[older.id()].fields["score"],
            json!(1),
            "older replaced"
        );
    }
}
