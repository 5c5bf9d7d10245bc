//! A deterministic simulation of the two-way sync (issue #13): its own crate, so it
//! can be optimised in test builds without optimising the integration tests.
//!
//! One seed fixes everything: the workspace, what people do in Twenty, what the app
//! does through the leads API's functions, which webhooks are dropped, repeated,
//! reordered or delayed, when sync runs start, which of them crash (dropped at
//! whatever await point they reached), and every latency. All of it runs on one
//! thread under tokio's paused clock, against the real sync core with the in-memory
//! mirror and [`twenty::SimTwenty`]. After quiescence the [`oracle`] judges it.

mod oracle;
pub mod rng;
pub mod twenty;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use spartan_sync::domain::{ConflictPolicy, ConflictRules, LeadId, RemoteRecord, Timestamp, clock};
use spartan_sync::store::{MemoryMirror, Mirror, WriteOrigin};
use spartan_sync::sync::{
    Context, RequestedMode, RunStatus, SyncEngine, SyncSettings, apply, local,
};
use tokio::time::Instant;

pub use oracle::Verdict;
use rng::Rng;
use twenty::{PATHS, SimTwenty, get_path, patch_of};

/// A local edit the leads API acknowledged.
#[derive(Debug, Clone)]
pub struct LocalEdit {
    pub id: LeadId,
    pub path: String,
    pub value: Value,
    /// The value both sides agreed on when the edit was made (its merge base).
    pub agreed: Value,
    pub at_micros: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Journal {
    pub edits: Vec<LocalEdit>,
    /// Leads deleted through the leads API, and when.
    pub deletes: Vec<(LeadId, i64)>,
}

/// What one scenario did, for reports.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub crashed_runs: u64,
    pub window_overwrites: u64,
}

const EPOCH_MS: i64 = 1_798_761_600_000; // 2027-01-01

fn value_for(path: &str, n: u64) -> Value {
    match path {
        "score" => json!(n),
        "email.additionalEmails" => json!([format!("x{n}@example.com")]),
        "email.primaryEmail" => json!(format!("p{n}@example.com")),
        _ => json!(format!("v{n}")),
    }
}

fn lead_fields(n: u64) -> Map<String, Value> {
    json!({
        "name": format!("lead {n}"),
        "status": "NEW",
        "score": n,
        "email": {"primaryEmail": format!("l{n}@example.com"), "additionalEmails": []},
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn id_for(rng: &Rng) -> LeadId {
    let hi = rng.below(u64::MAX);
    let lo = rng.below(u64::MAX);
    LeadId::parse(&uuid::Uuid::from_u64_pair(hi, lo).to_string())
        .unwrap_or_else(|_| LeadId::new_random())
}

/// Runs scenario `seed` to quiescence and judges it.
pub fn run(seed: u64) -> Result<Stats, String> {
    simulated(|| scenario(seed))?
}

/// Runs `f` on one thread under tokio's paused clock, with the functions' clock
/// simulated from 2027-01-01: what every scenario, and the plain race tests, run in.
pub fn simulated<F: Future>(f: impl FnOnce() -> F) -> Result<F::Output, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(rt.block_on(async {
        let _clock = clock::simulate(EPOCH_MS);
        f().await
    }))
}

/// A simulated Twenty (no random faults) and an engine over an in-memory mirror, with
/// the simulation's short lookback and lease.
pub fn pair(seed: u64, policy: ConflictPolicy) -> (SimTwenty, SyncEngine<SimTwenty, MemoryMirror>) {
    let twenty = SimTwenty::new(Rng::new(seed), EPOCH_MS * 1000, 0, 2);
    let engine = SyncEngine::new(twenty.clone(), MemoryMirror::new(), settings(policy, 0));
    (twenty, engine)
}

/// `skew_micros`: how far Twenty's clock runs ahead (negative: behind), which the
/// engine is told as its clock-skew allowance (so its delta window is exercised both
/// with and without the lookback).
fn settings(policy: ConflictPolicy, skew_micros: i64) -> SyncSettings {
    SyncSettings {
        lookback: Duration::from_millis(5),
        time_budget: None,
        reserve: Duration::from_millis(5),
        lease_ttl: Duration::from_millis(60),
        conflict_rules: ConflictRules::uniform(policy),
        clock_skew: Duration::from_micros(skew_micros.unsigned_abs()),
    }
}

/// A new lead's fields, numbered.
pub fn new_lead(n: u64) -> Map<String, Value> {
    lead_fields(n)
}

async fn scenario(seed: u64) -> Result<Stats, String> {
    let rng = Rng::new(seed);
    let skew = if rng.chance(0.2) {
        rng.below(3_000_000) as i64 - 1_000_000
    } else {
        0
    };
    let page = 1 + rng.below(3) as u32;
    let twenty = SimTwenty::new(rng.clone(), EPOCH_MS * 1000, skew, page);
    let lat = rng.clone();
    let mirror = MemoryMirror::new()
        .with_latency(Arc::new(move |_| Duration::from_micros(lat.below(800))))
        .with_sweep_page(page as usize);
    let policy = *rng
        .pick(&[
            ConflictPolicy::RemoteWins,
            ConflictPolicy::LocalWins,
            ConflictPolicy::NewestWins,
            ConflictPolicy::Manual,
        ])
        .unwrap_or(&ConflictPolicy::RemoteWins);
    let engine = SyncEngine::new(twenty.clone(), mirror.clone(), settings(policy, skew));
    let mut counter = 0u64;
    for _ in 0..1 + rng.below(3) {
        counter += 1;
        twenty.human_create(&id_for(&rng), lead_fields(counter));
    }
    twenty.world().faults = rng.chance(0.5);
    // The first sync, so the app has something to edit.
    let deadline = Instant::now() + Duration::from_secs(5);
    engine
        .run(RequestedMode::Auto, deadline)
        .await
        .map_err(|e| format!("first sync: {e}"))?;

    let mut journal = Journal::default();
    let mut stats = Stats::default();
    {
        let mut human_counter = counter;
        let humans = humans(&twenty, &rng, &mut human_counter);
        let app = app(&mirror, &rng, &mut journal, seed);
        let hooks = webhooks(&twenty, &mirror, &rng);
        let runs = runs(&engine, &rng, &mut stats);
        tokio::join!(humans, app, hooks, runs);
    }
    quiesce(&engine, &twenty).await?;
    let data = mirror.snapshot();
    oracle::judge(&twenty, &data, &journal, &mut stats).map(|()| stats)
}

async fn humans(twenty: &SimTwenty, rng: &Rng, counter: &mut u64) {
    for _ in 0..rng.below(6) {
        tokio::time::sleep(Duration::from_micros(rng.below(6000))).await;
        let ids = twenty.ids();
        *counter += 1000;
        let n = *counter + rng.below(1000);
        match rng.below(20) {
            0 => twenty.human_create(&id_for(rng), lead_fields(n)),
            1 => {
                if let Some(id) = rng.pick(&ids) {
                    twenty.human_soft_delete(id);
                }
            }
            2 => {
                let k = 1 + rng.below(ids.len() as u64 + 1) as usize;
                let chosen: Vec<LeadId> = ids.iter().take(k).cloned().collect();
                twenty.human_bulk_destroy(&chosen);
            }
            _ => {
                if let (Some(id), Some(path)) = (rng.pick(&ids), rng.pick(&PATHS)) {
                    twenty.human_edit(id, path, value_for(path, n));
                }
            }
        }
    }
}

async fn app(mirror: &MemoryMirror, rng: &Rng, journal: &mut Journal, seed: u64) {
    for step in 0..rng.below(7) {
        tokio::time::sleep(Duration::from_micros(rng.below(6000))).await;
        let ids: Vec<LeadId> = mirror
            .snapshot()
            .leads
            .iter()
            .filter(|(_, l)| l.is_live() && l.fields.get("deletedAt") == Some(&Value::Null))
            .map(|(id, _)| id.clone())
            .collect();
        let n = seed.wrapping_mul(31).wrapping_add(step) % 1_000_000 + 2_000_000 + step;
        let now = Timestamp::now().unix_millis() * 1000;
        match rng.below(12) {
            0 => {
                let id = id_for(rng);
                if local::create(mirror, &id, lead_fields(n)).await.is_ok() {
                    for path in PATHS {
                        let value = get_path(&lead_fields(n), path);
                        journal.edits.push(LocalEdit {
                            id: id.clone(),
                            path: path.into(),
                            value,
                            agreed: Value::Null,
                            at_micros: now,
                        });
                    }
                }
            }
            1 => {
                if let Some(id) = rng.pick(&ids)
                    && local::delete(mirror, id, None).await.is_ok()
                {
                    journal.deletes.push((id.clone(), now));
                }
            }
            _ => {
                let (Some(id), Some(path)) = (rng.pick(&ids), rng.pick(&PATHS)) else {
                    continue;
                };
                let before = mirror.read_lead(id).await.ok().flatten();
                let value = value_for(path, n);
                if let Ok(lead) =
                    local::update(mirror, id, &patch_of(path, value.clone()), None).await
                {
                    // The base the edit merges against: what the item agreed on with
                    // Twenty (its `_base`), or its fields if nothing was pending.
                    let agreed = lead
                        .local
                        .base
                        .as_ref()
                        .or(before.as_ref().map(|b| &b.fields))
                        .map(|f| get_path(f, path))
                        .unwrap_or(Value::Null);
                    journal.edits.push(LocalEdit {
                        id: id.clone(),
                        path: path.to_string(),
                        value,
                        agreed,
                        at_micros: now,
                    });
                }
            }
        }
    }
}

async fn webhooks(twenty: &SimTwenty, mirror: &MemoryMirror, rng: &Rng) {
    // The webhook function down for the whole scenario: the delta alone must catch up.
    if rng.chance(0.25) {
        return;
    }
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_micros(200 + rng.below(1500))).await;
        let delivery = {
            let now = twenty.now_micros();
            let mut w = twenty.world();
            // Twenty sends after the commit; among those sent, any order.
            let ready: Vec<usize> = (0..w.deliveries.len())
                .filter(|&i| w.deliveries[i].at_micros <= now)
                .collect();
            let Some(&i) = rng.pick(&ready) else {
                continue;
            };
            let d = w.deliveries.remove(i);
            if rng.chance(0.2) {
                w.deliveries.push(d.clone()); // delivered again later
            }
            d
        };
        if rng.chance(0.25) {
            continue; // dropped: Twenty never retries
        }
        let Ok(record) = RemoteRecord::from_fields(delivery.record) else {
            continue;
        };
        let ctx = Context {
            origin: WriteOrigin::Webhook,
            now: Timestamp::now(),
            generation: None,
            read_at: None,
        };
        let _applied = if delivery.event == "lead.destroyed" {
            apply::destroy_one(mirror, &record).await
        } else {
            apply::apply_one(mirror, &record, &ctx).await
        };
    }
}

async fn runs(engine: &SyncEngine<SimTwenty, MemoryMirror>, rng: &Rng, stats: &mut Stats) {
    let one = |delay: u64, crash: Option<u64>, mode: RequestedMode| async move {
        tokio::time::sleep(Duration::from_micros(delay)).await;
        let deadline = Instant::now() + Duration::from_millis(200);
        match crash {
            Some(after) => {
                tokio::time::timeout(Duration::from_micros(after), engine.run(mode, deadline))
                    .await
                    .is_err()
            }
            None => {
                let _outcome = engine.run(mode, deadline).await;
                false
            }
        }
    };
    let mut crashed = 0;
    let n = 1 + rng.below(3);
    for _ in 0..n {
        let a = one(
            rng.below(8000),
            rng.chance(0.3).then(|| rng.below(8000)),
            if rng.chance(0.15) {
                RequestedMode::Full
            } else {
                RequestedMode::Auto
            },
        );
        let b = one(
            rng.below(8000),
            rng.chance(0.3).then(|| rng.below(8000)),
            RequestedMode::Auto,
        );
        let (ca, cb) = tokio::join!(a, b);
        crashed += ca as u64 + cb as u64;
    }
    stats.crashed_runs += crashed;
}

/// Faults off, undelivered webhooks dropped, leases left to expire; then runs until
/// nothing is pending, and a forced full pass.
async fn quiesce(
    engine: &SyncEngine<SimTwenty, MemoryMirror>,
    twenty: &SimTwenty,
) -> Result<(), String> {
    {
        let mut w = twenty.world();
        w.faults = false;
        w.deliveries.clear();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for round in 0.. {
        if round > 12 {
            return Err("pending edits never drained".into());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let summary = engine
            .run(RequestedMode::Delta, deadline)
            .await
            .map_err(|e| format!("quiescent run failed: {e}"))?;
        let pending = engine
            .store()
            .pending_leads(10)
            .await
            .map_err(|e| e.to_string())?;
        // A run rechecks one request's worth of leads (as few as one at page size 1);
        // the rest wait for the next, so the mirror has not settled while any is queued.
        let rechecks = engine
            .store()
            .rechecks(1)
            .await
            .map_err(|e| e.to_string())?;
        // A pass resumed from a crashed run's checkpoint began before the activity ended:
        // only a pass begun after it must find every change.
        if summary.status == RunStatus::Succeeded
            && !summary.resumed
            && pending.is_empty()
            && rechecks.is_empty()
            && summary.push.is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    oracle::mirrors_twenty(twenty, &engine.store().snapshot())
        .map_err(|e| format!("after the delta runs: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let full = engine
        .run(RequestedMode::Full, deadline)
        .await
        .map_err(|e| format!("final full pass failed: {e}"))?;
    if full.status != RunStatus::Succeeded {
        return Err(format!("final full pass ended {:?}", full.status));
    }
    Ok(())
}
