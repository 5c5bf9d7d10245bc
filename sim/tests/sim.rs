//! The deterministic simulation of the two-way sync, as part of `make test`:
//! SIM_SCENARIOS scenarios (default 100,000) spread over the machine's cores. A failing
//! seed is printed with the command that replays it alone.

// Test code: an unwrap that fails is the test failing, with its location.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use spartan_sync_sim as sim;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn simulated_scenarios_never_lose_an_edit() {
    let first = env_u64("SIM_FIRST_SEED", 1);
    let count = env_u64("SIM_SCENARIOS", 100_000);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let next = AtomicU64::new(first);
    let failures = std::sync::Mutex::new(Vec::new());
    let crashed = AtomicU64::new(0);
    let windows = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= first + count {
                        return;
                    }
                    match sim::run(seed) {
                        Ok(stats) => {
                            crashed.fetch_add(stats.crashed_runs, Ordering::Relaxed);
                            windows.fetch_add(stats.window_overwrites, Ordering::Relaxed);
                        }
                        Err(e) => failures.lock().unwrap().push((seed, e)),
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    eprintln!(
        "simulation: {count} scenarios in {:.1}s on {threads} threads; {} runs crashed mid-way; {} overwrites in the GET-PATCH window; {} failed",
        started.elapsed().as_secs_f64(),
        crashed.into_inner(),
        windows.into_inner(),
        failures.len()
    );
    if std::env::var("SIM_VERBOSE").is_ok() {
        for (seed, e) in &failures {
            eprintln!("seed {seed}: {e}");
        }
    }
    if let Some((seed, e)) = failures.first() {
        panic!(
            "{} of {count} scenarios failed; first: seed {seed}: {e}\nreplay: SIM_FIRST_SEED={seed} SIM_SCENARIOS=1 SIM_VERBOSE=1 cargo test -p spartan-sync-sim --test sim -- --nocapture",
            failures.len()
        );
    }
}
