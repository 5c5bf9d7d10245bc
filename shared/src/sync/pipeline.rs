//! The pass's pipeline: while a page is stored, the next one is fetched (see
//! [`super::engine::SyncRun::next_page`]).

use tokio::time::Instant;

use super::apply::Prior;
use crate::domain::Timestamp;
use crate::twenty::{ListQuery, Page, RemoteObjects, TwentyError};

/// What the steps of a run hand each other: the page fetched ahead, and whether pages
/// read the mirror before writing.
#[derive(Debug, Default)]
pub struct Pipeline {
    pub(super) next: Option<Fetched>,
    /// Decided by the first page.
    pub(super) prior: Option<Prior>,
}

/// A page as Twenty answered it (or failed to), and when it was asked for.
#[derive(Debug)]
pub(super) struct Fetched {
    pub(super) page: Result<Page, TwentyError>,
    pub(super) read_at: Timestamp,
}

impl Fetched {
    pub(super) async fn now<R: RemoteObjects>(
        twenty: &R,
        query: &ListQuery,
        deadline: Instant,
    ) -> Self {
        let read_at = Timestamp::now();
        Self {
            page: twenty.list(query, deadline).await,
            read_at,
        }
    }
}
