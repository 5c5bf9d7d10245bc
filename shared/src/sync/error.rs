use crate::store::StoreError;
use crate::twenty::TwentyError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("fetching page {page} from Twenty failed: {source}")]
    Fetch {
        page: u32,
        #[source]
        source: TwentyError,
    },
    #[error("storing page {page} failed: {source}")]
    Store {
        page: u32,
        #[source]
        source: StoreError,
    },
    #[error("reading or writing the sync state failed: {0}")]
    State(#[source] StoreError),
    #[error("the run lease was lost (the run took longer than its lease and another took over)")]
    LeaseLost,
}

impl SyncError {
    /// Stop-and-resume conditions rather than failures.
    pub fn is_budget(&self) -> bool {
        matches!(self, Self::Fetch { source, .. } if source.is_budget())
    }

    pub fn twenty_unreachable(&self) -> bool {
        matches!(self, Self::Fetch { source, .. } if source.is_unavailable())
    }
}
