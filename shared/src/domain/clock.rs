//! The wall clock, with a seam for the simulator.
//!
//! Production reads the system clock. A simulation pins "now" to tokio's (paused,
//! deterministic) clock on its thread, so every timestamp the sync core takes —
//! `_syncedAt`, a pass's start, a lease's expiry — is reproducible from the seed.

use std::cell::Cell;

use tokio::time::Instant;

thread_local! {
    static SIMULATED: Cell<Option<(Instant, i64)>> = const { Cell::new(None) };
}

/// Milliseconds since the Unix epoch: simulated on a thread that asked for it.
pub(crate) fn now_millis() -> Option<i64> {
    SIMULATED.with(|s| {
        s.get()
            .map(|(anchor, millis)| millis + anchor.elapsed().as_millis() as i64)
    })
}

/// From now on, on this thread, `Timestamp::now()` is `epoch_millis` plus the time
/// tokio's clock has advanced since this call. Dropping the guard restores the
/// system clock.
pub fn simulate(epoch_millis: i64) -> SimulatedClock {
    SIMULATED.with(|s| s.set(Some((Instant::now(), epoch_millis))));
    SimulatedClock(())
}

/// Restores the system clock when dropped.
#[must_use = "the simulated clock ends when this guard is dropped"]
pub struct SimulatedClock(());

impl Drop for SimulatedClock {
    fn drop(&mut self) {
        SIMULATED.with(|s| s.set(None));
    }
}
