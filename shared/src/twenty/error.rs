/// What went wrong talking to Twenty. Every variant names the request (`GET leads`)
/// so a log line alone says what failed.
#[derive(Debug, thiserror::Error)]
pub enum TwentyError {
    #[error("{operation}: Twenty refused the API key (401): {message}")]
    Unauthorized { operation: String, message: String },
    #[error("{operation}: Twenty answered {status}: {message}")]
    Rejected {
        operation: String,
        status: u16,
        message: String,
    },
    #[error("{operation}: record not found (404)")]
    NotFound { operation: String },
    #[error("{operation}: gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        operation: String,
        attempts: u32,
        last: String,
    },
    #[error("{operation}: rate limited by Twenty {attempts} times in a row")]
    RateLimited { operation: String, attempts: u32 },
    #[error("{operation}: out of time after {attempts} attempts; last error: {last}")]
    OutOfTime {
        operation: String,
        attempts: u32,
        last: String,
    },
    #[error("{operation}: unexpected response body at `{path}`: {reason}")]
    Decode {
        operation: String,
        path: String,
        reason: String,
    },
    #[error("could not build a Twenty URL: {0}")]
    Url(String),
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

impl TwentyError {
    /// True when the failure says Twenty could not be reached or kept failing (as
    /// opposed to refusing what we sent): the next run should simply try again.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::RetriesExhausted { .. } | Self::OutOfTime { .. })
    }

    /// True when the run should stop and resume later rather than fail: it ran out of
    /// time, or Twenty's rate limit keeps refusing.
    pub fn is_budget(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::OutOfTime { .. })
    }

    /// HTTP status of a definite answer, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Rejected { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(404),
            _ => None,
        }
    }
}
