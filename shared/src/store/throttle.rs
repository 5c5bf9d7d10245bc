//! Throttling is DynamoDB saying "slower", not "no". The SDK retries it too, but its
//! retry quota runs dry when a whole page of parallel writes is throttled at once, so
//! writes get a retry loop of their own on top: more patient, still bounded.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use rand::Rng;

const ATTEMPTS: u32 = 10;
const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(2);

fn is_throttling<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        err.code(),
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                // A transaction held the item a moment: as transient as throttling.
                | "TransactionConflictException"
        )
    )
}

/// Runs `attempt` until it succeeds, fails with anything but throttling, or has been
/// throttled [`ATTEMPTS`] times; waits with exponential backoff and jitter in between.
pub(crate) async fn retry_throttled<T, E, R, Fut>(
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    let mut delay = FIRST_DELAY;
    let mut n = 1;
    loop {
        match attempt().await {
            Err(e) if n < ATTEMPTS && is_throttling(&e) => {
                let jittered = delay.mul_f64(rand::rng().random_range(0.5..=1.0));
                tracing::debug!(
                    attempt = n,
                    delay_ms = jittered.as_millis() as u64,
                    "DynamoDB throttled a write; backing off"
                );
                tokio::time::sleep(jittered).await;
                delay = (delay * 2).min(MAX_DELAY);
                n += 1;
            }
            other => return other,
        }
    }
}

/// [`retry_throttled`] for a conditional write: a failed condition is an answer, not
/// an error, so it comes back as `Ok(None)`.
pub(crate) async fn send_if<T, E, R, Fut>(
    attempt: impl FnMut() -> Fut,
) -> Result<Option<T>, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    match retry_throttled(attempt).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
        Err(e) => Err(e),
    }
}
