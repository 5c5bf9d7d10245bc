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
}
