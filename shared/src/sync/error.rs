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
    #[error("re-reading the leads queued for a recheck from Twenty failed: {source}")]
    Recheck {
        #[source]
        source: TwentyError,
    },
    #[error("storing the rechecked leads failed: {0}")]
    RecheckStore(#[source] StoreError),
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
        self.twenty().is_some_and(TwentyError::is_budget)
    }

    pub fn twenty_unreachable(&self) -> bool {
        self.twenty().is_some_and(TwentyError::is_unavailable)
    }

    fn twenty(&self) -> Option<&TwentyError> {
        match self {
            Self::Fetch { source, .. } | Self::Recheck { source } => Some(source),
            _ => None,
        }
    }
}
