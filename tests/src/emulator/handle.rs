//! [`EmulatorHandle`]: a cheap, clonable handle on the emulator's state. The HTTP
//! handlers use it, tests use it (through [`Emulator`](super::Emulator), which derefs to
//! it), and `after_list_request` hooks receive it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::clock::{format_ms, now_ms};
use super::delivery::{Delivery, WebhookSwitches};
use super::errors::ApiError;
use super::faults::{Fault, FaultQueue, RateLimiter};
use super::gate::LoggedRequest;
use super::schema::{ObjectKind, Record};
use super::seed;
use super::webhooks::Webhook;
use super::world::{Actor, Change, Outcome, World};

/// Runs once, after a chosen list request has been answered.
pub type ListHook = Box<dyn FnOnce(&EmulatorHandle) + Send>;

#[derive(Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
}

struct Shared {
    api_key: String,
    world: Mutex<World>,
    webhooks: Mutex<Vec<Webhook>>,
    deliveries: Arc<WebhookSwitches>,
    control: Mutex<Control>,
}

/// Everything about how requests are treated rather than what they do.
struct Control {
    faults: FaultQueue,
    rate: RateLimiter,
    log: Vec<LoggedRequest>,
    lists_answered: usize,
    list_hooks: Vec<(usize, ListHook)>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test hook must not wedge the emulator for the rest of the test.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Test helpers name objects by their plural (or singular); anything else is a bug in
/// the test, so it panics.
fn kind_of(object: &str) -> ObjectKind {
    ObjectKind::from_name(object).unwrap_or_else(|| {
        let known: Vec<&str> = ObjectKind::ALL.iter().map(|k| k.plural()).collect();
        panic!(
            "the emulator has no object {object:?} ({})",
            known.join(", ")
        )
    })
}

fn record_of(object: &str, fields: Value) -> Record {
    match fields {
        Value::Object(map) => map,
        other => panic!("fields for {object} must be a JSON object, got {other}"),
    }
}

impl EmulatorHandle {
    pub(crate) fn new(
        api_key: String,
        world: World,
        rate_limit: Option<(u32, Duration)>,
        deliveries: Arc<WebhookSwitches>,
    ) -> Self {
        let control = Control {
            faults: FaultQueue::default(),
            rate: RateLimiter::new(rate_limit),
            log: Vec::new(),
            lists_answered: 0,
            list_hooks: Vec::new(),
        };
        Self {
            shared: Arc::new(Shared {
                api_key,
                world: Mutex::new(world),
                webhooks: Mutex::default(),
                deliveries,
                control: Mutex::new(control),
            }),
        }
    }

    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    // ---- state access -------------------------------------------------------------

    /// Runs `f` on the state (no lock is held once it returns).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&lock(&self.shared.world))
    }

    /// Runs a mutation, then announces its changes once the state lock is released.
    pub(crate) fn mutate<T>(
        &self,
        f: impl FnOnce(&mut World) -> Outcome<T>,
    ) -> Result<T, ApiError> {
        let (value, changes) = f(&mut lock(&self.shared.world))?;
        self.announce(&changes);
        Ok(value)
    }

    fn announce(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let webhooks = lock(&self.shared.webhooks).clone();
        let event_date = format_ms(now_ms());
        for change in changes {
            for hook in webhooks.iter().filter(|w| w.wants(change)) {
                self.shared.deliveries.enqueue(Delivery::new(
                    change.event_name(),
                    hook.target_url.clone(),
                    hook.secret.clone(),
                    hook.event_body(change, &event_date),
                ));
            }
        }
    }

    // ---- direct edits, as a person in Twenty's UI would make them ---------------------

    /// Creates a record (server fields set, webhooks fired). Panics on invalid fields.
    pub fn create(&self, object: &str, fields: Value) -> Value {
        let kind = kind_of(object);
        let input = record_of(object, fields);
        self.mutate(|w| w.create(kind, &[input], Actor::Person, false))
            .map(|mut records| records.remove(0))
            .unwrap_or_else(|e| panic!("emulator create {object}: {:?}", e.messages))
    }

    /// Patches a live record (bumps `updatedAt`). `None` if absent or soft-deleted;
    /// panics on invalid fields.
    pub fn update(&self, object: &str, id: &str, patch: Value) -> Option<Value> {
        let kind = kind_of(object);
        let patch = record_of(object, patch);
        match self.mutate(|w| w.update(kind, id, &patch, Actor::Person)) {
            Ok(record) => Some(record),
            Err(e) if e.status == 404 => None,
            Err(e) => panic!("emulator update {object} {id}: {:?}", e.messages),
        }
    }

    pub fn soft_delete(&self, object: &str, id: &str) -> Option<Value> {
        let kind = kind_of(object);
        self.mutate(|w| w.soft_delete(kind, id, Actor::Person)).ok()
    }

    /// Hard delete. `false` if there was no such record.
    pub fn destroy(&self, object: &str, id: &str) -> bool {
        let kind = kind_of(object);
        self.mutate(|w| w.destroy(kind, id)).is_ok()
    }

    /// A bulk hard delete (`DELETE /rest/<objects>?filter=id[in]:[...]`): every row goes,
    /// ONE `destroyed` event is sent. Returns how many went.
    pub fn bulk_destroy(&self, object: &str, ids: &[String]) -> usize {
        let kind = kind_of(object);
        self.mutate(|w| w.destroy_many(kind, ids))
            .map_or(0, |gone| gone.len())
    }

    /// Restores a soft-deleted record. `None` if absent or not deleted.
    pub fn restore(&self, object: &str, id: &str) -> Option<Value> {
        let kind = kind_of(object);
        let ids = [id.to_string()];
        self.mutate(|w| w.restore(kind, &ids, Actor::Person))
            .ok()
            .and_then(|mut restored| restored.pop())
    }

    /// Creates `n` generated records of `object` (plural or singular: `people`,
    /// `companies`, `opportunities`, `leads`, ...) in one batch, as an API key would: they
    /// share one `updatedAt`, and `created` webhooks fire. Deterministic: the `k`-th
    /// generated record of an object has the same id and fields in every run; a later
    /// call continues after the rows already there. Returns the records, in input order.
    pub fn seed(&self, object: &str, n: usize) -> Vec<Value> {
        let kind = kind_of(object);
        let records = self.read(|w| {
            let mut start = w.rows(kind).count();
            loop {
                let batch: Vec<Record> = (start..start + n)
                    .map(|i| seed::generated(kind, i))
                    .collect();
                let taken =
                    |r: &Record| r["id"].as_str().is_some_and(|id| w.get(kind, id).is_some());
                match batch.iter().position(taken) {
                    None => break batch,
                    Some(at) => start += at + 1,
                }
            }
        });
        self.mutate(|w| w.create(kind, &records, Actor::Api, false))
            .unwrap_or_else(|e| panic!("emulator seed {object}: {:?}", e.messages))
    }

    /// `n` generated people (`name`, `emails`, `linkedinLink`, `jobTitle`, `phones`; no
    /// company): [`seed`](Self::seed)`("people", n)`.
    pub fn seed_people(&self, n: usize) -> Vec<Value> {
        self.seed("people", n)
    }

    /// `n` generated companies (`name`, `domainName`, `address`, `annualRevenue`):
    /// [`seed`](Self::seed)`("companies", n)`.
    pub fn seed_companies(&self, n: usize) -> Vec<Value> {
        self.seed("companies", n)
    }

    /// `n` generated opportunities (`name`, `amount`, `stage`; no company or contact):
    /// [`seed`](Self::seed)`("opportunities", n)`.
    pub fn seed_opportunities(&self, n: usize) -> Vec<Value> {
        self.seed("opportunities", n)
    }

    /// Includes soft-deleted records.
    pub fn get(&self, object: &str, id: &str) -> Option<Value> {
        let kind = kind_of(object);
        self.read(|w| w.get(kind, id).cloned().map(Value::Object))
    }

    /// Every record of `object`, soft-deleted ones included, in id order.
    pub fn records(&self, object: &str) -> Vec<Value> {
        let kind = kind_of(object);
        self.read(|w| w.rows(kind).cloned().map(Value::Object).collect())
    }

    /// The lead whose primary phone is `phone` (digits, with or without the calling
    /// code); a live one is preferred over a soft-deleted one.
    pub fn find_lead_by_phone(&self, phone: &str) -> Option<Value> {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let wanted = digits(phone);
        self.read(|w| {
            let matches = |r: &&Record| {
                let number = digits(r["phones"]["primaryPhoneNumber"].as_str().unwrap_or(""));
                let code = digits(
                    r["phones"]["primaryPhoneCallingCode"]
                        .as_str()
                        .unwrap_or(""),
                );
                !number.is_empty() && (number == wanted || format!("{code}{number}") == wanted)
            };
            let mut found: Vec<&Record> = w.rows(ObjectKind::Lead).filter(matches).collect();
            found.sort_by_key(|r| !r["deletedAt"].is_null());
            found.first().map(|r| Value::Object((*r).clone()))
        })
    }

    // ---- faults, rate limit, request log --------------------------------------------

    pub fn push_fault(&self, fault: Fault) {
        self.push_faults(fault, 1);
    }

    pub fn push_faults(&self, fault: Fault, times: usize) {
        lock(&self.shared.control).faults.push(fault, times);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.control).faults.clear();
    }

    pub(crate) fn next_fault(&self) -> Option<Fault> {
        lock(&self.shared.control).faults.next()
    }

    /// `Some((requests, window))`, or `None` for no limit. Starts a fresh window.
    pub fn set_rate_limit(&self, limit: Option<(u32, Duration)>) {
        lock(&self.shared.control).rate.set(limit);
    }

    pub(crate) fn admit(&self) -> Result<(), ApiError> {
        lock(&self.shared.control).rate.admit(Instant::now())
    }

    pub(crate) fn rate_limit_rejection(&self) -> ApiError {
        lock(&self.shared.control).rate.rejection()
    }

    pub(crate) fn log_request(&self, entry: LoggedRequest) {
        lock(&self.shared.control).log.push(entry);
    }

    /// Every request answered so far, oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.control).log.clone()
    }

    // ---- "an edit landing between page fetches" ----------------------------------------

    /// Runs `hook` right after the `n`-th (1-based, counted from now) successful list
    /// request (`GET /rest/<objects>`) has been computed, before its response is written:
    /// the page the client gets predates the edit, and the edit is in place before the
    /// client can ask for the next page.
    pub fn after_list_request(&self, n: usize, hook: ListHook) {
        let mut control = lock(&self.shared.control);
        let due = control.lists_answered + n.max(1);
        control.list_hooks.push((due, hook));
    }

    /// Called by the list handler once a page is ready; runs the hooks now due.
    pub(crate) fn list_answered(&self) {
        let due: Vec<ListHook> = {
            let mut control = lock(&self.shared.control);
            control.lists_answered += 1;
            let count = control.lists_answered;
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut control.list_hooks)
                .into_iter()
                .partition(|(at, _)| *at <= count);
            control.list_hooks = later;
            due.into_iter().map(|(_, hook)| hook).collect()
        };
        for hook in due {
            hook(self);
        }
    }

    // ---- webhooks -------------------------------------------------------------------

    /// Registers a webhook as `POST /rest/webhooks` would; returns its id.
    pub fn register_webhook(&self, target_url: &str, operations: &[&str], secret: &str) -> String {
        let operations = operations.iter().map(|s| s.to_string()).collect();
        self.add_webhook(Webhook::new(target_url, operations, secret, ""))
            .id
    }

    pub(crate) fn add_webhook(&self, webhook: Webhook) -> Webhook {
        lock(&self.shared.webhooks).push(webhook.clone());
        webhook
    }

    pub(crate) fn webhooks(&self) -> Vec<Webhook> {
        lock(&self.shared.webhooks).clone()
    }

    pub(crate) fn remove_webhook(&self, id: &str) -> Option<Webhook> {
        let mut hooks = lock(&self.shared.webhooks);
        let index = hooks.iter().position(|w| w.id == id)?;
        Some(hooks.remove(index))
    }

    /// Drop / duplicate / delay / hold-and-reorder controls for webhook delivery.
    pub fn webhook_switches(&self) -> &WebhookSwitches {
        &self.shared.deliveries
    }

    /// Resolves when no delivery is queued or being sent (held ones do not count).
    pub async fn wait_for_deliveries_idle(&self) {
        self.shared.deliveries.wait_idle().await;
    }

    /// POSTs made to webhook targets so far (whatever they answered).
    pub fn deliveries_sent(&self) -> usize {
        self.shared.deliveries.sent_count()
    }
}
