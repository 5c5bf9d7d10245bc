//! Read, decide, write if unchanged: the one loop behind every lead write that
//! depends on what is stored. A write that lost a race means another writer's write
//! landed, so N concurrent writers need at most N rounds.

use crate::domain::LeadId;
use crate::store::{Conflict, LeadItem, LeadWrite, Mirror, StoreError};

/// Rounds before giving up with [`StoreError::Contended`].
const ATTEMPTS: usize = 64;

/// What a decision on the stored lead says.
pub enum Step<T> {
    /// Nothing to write; the answer is `T`.
    Done(T),
    /// Replace the lead with `next` (`None` removes it), recording `conflicts` (and
    /// queueing a recheck, see [`crate::store::Recheck`]) in the same write; the answer
    /// is `T` once it lands.
    Write {
        next: Option<Box<LeadItem>>,
        conflicts: Vec<Conflict>,
        recheck: bool,
        then: T,
    },
}

impl<T> Step<T> {
    pub fn write(next: Option<LeadItem>, then: T) -> Self {
        Self::Write {
            next: next.map(Box::new),
            conflicts: Vec::new(),
            recheck: false,
            then,
        }
    }
}

/// Reads lead `id`, asks `decide`, and writes its answer only if the lead is still
/// as read; otherwise decides again on the new state.
pub async fn rewrite<M, T, E>(
    mirror: &M,
    id: &LeadId,
    mut decide: impl FnMut(Option<&LeadItem>) -> Result<Step<T>, E>,
) -> Result<T, E>
where
    M: Mirror,
    E: From<StoreError>,
{
    for _ in 0..ATTEMPTS {
        let current = mirror.read_lead(id).await?;
        let (next, conflicts, recheck, then) = match decide(current.as_ref())? {
            Step::Done(answer) => return Ok(answer),
            Step::Write {
                next,
                conflicts,
                recheck,
                then,
            } => (next, conflicts, recheck, then),
        };
        let write = LeadWrite::replace(id, current.as_ref(), next.map(|b| *b))
            .with_conflicts(conflicts)
            .with_recheck(recheck);
        if mirror.write_leads(&[write]).await?.first() == Some(&true) {
            return Ok(then);
        }
    }
    Err(StoreError::Contended {
        key: id.to_string(),
        attempts: ATTEMPTS,
    }
    .into())
}
