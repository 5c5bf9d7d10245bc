//! Footprint: the release arm64 artifacts `make package` leaves, how long each function
//! binary takes from process start to asking for its first event, and how much memory
//! it holds after handling one. The binaries run for real, against a small fake of the
//! Lambda Runtime API served here.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use spartan_sync::Timestamp;
use spartan_sync::webhook::sign;
use tokio::sync::Notify;

use super::{median, proc_status_kb, sibling_binary};
use spartan_sync_tests::emulator::{Emulator, EmulatorOptions, Seed};
use spartan_sync_tests::stack::{dynamo_local, dynamo_local_endpoint, fresh_table};

/// Starts per function for the cold-start median.
const STARTS: usize = 7;
const FUNCTIONS: [&str; 2] = ["delta-sync", "webhook"];
const WEBHOOK_SECRET: &str = "bench-webhook-secret";

#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub function: String,
    /// `None` when `make package` has not been run.
    pub zip_bytes: Option<u64>,
    /// The `bootstrap` binary (from the zip's directory when only the zip is there).
    pub bootstrap_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColdStart {
    pub function: String,
    /// Where its secret came from: `environment`, or fetched at init as deployed.
    pub secrets: &'static str,
    pub starts: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Size of the host binary measured (bench-build profile, not stripped).
    pub binary_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeakRss {
    pub function: String,
    pub what: String,
    pub peak_rss_kb: u64,
    /// From receiving the event to posting the answer.
    pub invocation_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Footprint {
    pub artifacts: Vec<Artifact>,
    pub cold_starts: Vec<ColdStart>,
    pub peak_rss: Vec<PeakRss>,
}

pub async fn run(repo_root: &Path) -> anyhow::Result<Footprint> {
    let artifacts = FUNCTIONS
        .iter()
        .map(|f| artifact(repo_root, f))
        .collect::<Vec<_>>();
    let runtime = FakeRuntime::start().await?;
    let emulator = Emulator::start(EmulatorOptions {
        seed: Seed::Backdated {
            count: 1_000,
            age: Duration::from_secs(3600),
            span: Duration::from_secs(30 * 24 * 3600),
        },
        ..EmulatorOptions::default()
    })
    .await?;
    let table = fresh_table(&dynamo_local().await).await;
    let secrets = FakeSecrets::start(&[
        (API_KEY_SECRET_ARN, emulator.api_key()),
        (API_KEY_PARAMETER, emulator.api_key()),
        (WEBHOOK_SECRET_ARN, WEBHOOK_SECRET),
        (WEBHOOK_SECRET_PARAMETER, WEBHOOK_SECRET),
    ])
    .await?;
    let env = Env {
        runtime_api: runtime.addr.to_string(),
        twenty_url: emulator.url(),
        api_key: emulator.api_key().to_string(),
        table,
        secrets_url: secrets.url(),
    };

    let mut cold_starts = Vec::new();
    for function in FUNCTIONS {
        for source in [
            SecretSource::Environment,
            SecretSource::SecretsManager,
            SecretSource::ParameterStore,
        ] {
            cold_starts.push(cold_start(&env, &runtime, &secrets, function, source).await?);
        }
    }
    secrets.stop();

    // One invocation each, then the peak memory while the process waits for the next.
    let schedule: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/aws/example-eventbridge-schedule.json"
    ))?;
    let webhook_event: Value = serde_json::from_str(&signed_webhook_event(&emulator)?)?;
    let mut peak_rss = Vec::new();
    for (function, event, what, expect) in [
        (
            "delta-sync",
            schedule,
            "one scheduled run: full sync of 1,000 leads (5 pages of 200)",
            "\"changed\":1000",
        ),
        (
            "webhook",
            webhook_event,
            "one signed lead.updated delivery",
            "applied",
        ),
    ] {
        runtime.reset(Some(event));
        let mut child = env.spawn(
            &sibling_binary(function)?,
            function,
            SecretSource::Environment,
        )?;
        let measured = async {
            let asked = runtime
                .wait_for_next(1, Duration::from_secs(10))
                .await
                .context("never asked for the event")?;
            let answered = runtime
                .wait_for_next(2, Duration::from_secs(120))
                .await
                .context("never finished the invocation")?;
            let answer = runtime.answer().context("no answer posted")?;
            ensure!(
                answer.contains(expect),
                "{function} answered {}",
                answer.chars().take(400).collect::<String>()
            );
            let peak = proc_status_kb(Some(child.id()), "VmHWM").context("VmHWM")?;
            Ok(PeakRss {
                function: function.to_string(),
                what: what.to_string(),
                peak_rss_kb: peak,
                invocation_ms: answered.duration_since(asked).as_secs_f64() * 1e3,
            })
        }
        .await;
        stop(&mut child);
        peak_rss.push(measured.with_context(|| format!("{function} invocation"))?);
    }
    runtime.release();
    Ok(Footprint {
        artifacts,
        cold_starts,
        peak_rss,
    })
}

/// `STARTS` cold starts of `function`, its secret taken from `source`.
async fn cold_start(
    env: &Env,
    runtime: &FakeRuntime,
    secrets: &FakeSecrets,
    function: &str,
    source: SecretSource,
) -> anyhow::Result<ColdStart> {
    let binary = sibling_binary(function)?;
    let mut samples = Vec::with_capacity(STARTS);
    let calls_before = secrets.calls();
    for _ in 0..STARTS {
        runtime.reset(None);
        let started = Instant::now();
        let mut child = env.spawn(&binary, function, source)?;
        let ready = runtime.wait_for_next(1, Duration::from_secs(10)).await;
        stop(&mut child);
        let ready = ready.with_context(|| {
            format!(
                "{function} (secret from {}) never asked for an event",
                source.label()
            )
        })?;
        samples.push(ready.duration_since(started));
    }
    let calls = secrets.calls() - calls_before;
    let expected = if source == SecretSource::Environment {
        0
    } else {
        STARTS as u64
    };
    ensure!(
        calls == expected,
        "{function} (secret from {}): {calls} secret reads in {STARTS} starts, expected {expected}",
        source.label()
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(ColdStart {
        function: function.to_string(),
        secrets: source.label(),
        starts: STARTS,
        median_ms: ms(median(&samples)),
        min_ms: ms(samples.iter().min().copied().unwrap_or_default()),
        max_ms: ms(samples.iter().max().copied().unwrap_or_default()),
        binary_bytes: std::fs::metadata(&binary)?.len(),
    })
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The environment Lambda gives a function, plus the function's own settings.
struct Env {
    runtime_api: String,
    twenty_url: String,
    api_key: String,
    table: String,
    /// The fake Secrets Manager and Parameter Store.
    secrets_url: String,
}

/// Where a function finds its secret (the Twenty API key, the webhook secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretSource {
    /// The value itself in the environment, as local runs give it.
    Environment,
    /// A Secrets Manager ARN, read at init (the stack's option).
    SecretsManager,
    /// An SSM SecureString parameter's name, read at init (the stack's default).
    ParameterStore,
}

impl SecretSource {
    fn label(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::SecretsManager => "Secrets Manager",
            Self::ParameterStore => "SSM Parameter Store",
        }
    }
}

const API_KEY_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-twenty-api-key-AbCdEf";
const API_KEY_PARAMETER: &str = "/bench/twenty-api-key";
const WEBHOOK_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-webhook-secret-AbCdEf";
const WEBHOOK_SECRET_PARAMETER: &str = "/bench/webhook-secret";

impl Env {
    fn spawn(&self, binary: &Path, function: &str, source: SecretSource) -> anyhow::Result<Child> {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &self.runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_DYNAMODB", dynamo_local_endpoint())
            .env("LEADS_TABLE", &self.table)
            .env("TWENTY_API_URL", &self.twenty_url)
            .env("TWENTY_RATE_LIMIT_PER_MINUTE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // As the stack configures each function: only its own secret, by reference.
        let webhook = function == "webhook";
        match source {
            SecretSource::Environment => {
                command
                    .env("TWENTY_API_KEY", &self.api_key)
                    .env("TWENTY_WEBHOOK_SECRET", WEBHOOK_SECRET);
            }
            SecretSource::SecretsManager => {
                command.env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &self.secrets_url);
                if webhook {
                    command.env("TWENTY_WEBHOOK_SECRET_ARN", WEBHOOK_SECRET_ARN);
                } else {
                    command.env("TWENTY_API_KEY_SECRET_ARN", API_KEY_SECRET_ARN);
                }
            }
            SecretSource::ParameterStore => {
                command.env("AWS_ENDPOINT_URL_SSM", &self.secrets_url);
                if webhook {
                    command.env("TWENTY_WEBHOOK_SECRET_PARAMETER", WEBHOOK_SECRET_PARAMETER);
                } else {
                    command.env("TWENTY_API_KEY_PARAMETER", API_KEY_PARAMETER);
                }
            }
        }
        command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))
    }
}

/// An API Gateway v2 event carrying a signed `lead.updated` of the emulator's first lead.
fn signed_webhook_event(emulator: &Emulator) -> anyhow::Result<String> {
    let mut record = emulator
        .records("leads")
        .into_iter()
        .next()
        .context("a seeded lead")?;
    record["updatedAt"] = json!(Timestamp::now().to_string());
    record["score"] = json!(4242);
    let now = Timestamp::now();
    let body = serde_json::to_vec(&json!({
        "targetUrl": "https://example.execute-api.us-east-1.amazonaws.com/api/webhooks/twenty",
        "eventName": "lead.updated",
        "objectMetadata": {"id": "17714a70-29e7-4dda-819c-789b7c8a9fb5", "nameSingular": "lead"},
        "workspaceId": "20202020-1c25-4d02-bf25-6aeccf7ea419",
        "webhookId": "0e70af78-ded4-4328-a5fb-b1dafabc601d",
        "eventDate": now.to_string(),
        "record": record,
        "updatedFields": ["score"],
    }))?;
    let ts = now.unix_millis().to_string();
    let signature = sign(WEBHOOK_SECRET.as_bytes(), &ts, &body);
    super::webhook::apigw_event(
        &body,
        &[
            ("x-twenty-webhook-timestamp", &ts),
            ("x-twenty-webhook-signature", &signature),
            ("x-twenty-webhook-nonce", "00112233445566778899aabbccddeeff"),
        ],
    )
}

/// Sizes of `target/lambda/<fn>/bootstrap.zip` and of the `bootstrap` in it.
fn artifact(repo_root: &Path, function: &str) -> Artifact {
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| repo_root.join("target"), Into::into);
    let dir = target.join("lambda").join(function);
    let zip = std::fs::read(dir.join("bootstrap.zip")).ok();
    let bootstrap_bytes = std::fs::metadata(dir.join("bootstrap"))
        .ok()
        .map(|m| m.len())
        .or_else(|| zip.as_deref().and_then(|z| zip_entry_size(z, "bootstrap")));
    Artifact {
        function: function.to_string(),
        zip_bytes: zip.map(|z| z.len() as u64),
        bootstrap_bytes,
    }
}

/// The uncompressed size of `name` in a zip, from its central directory.
fn zip_entry_size(zip: &[u8], name: &str) -> Option<u64> {
    let u16_at = |i: usize| Some(u16::from_le_bytes(zip.get(i..i + 2)?.try_into().ok()?));
    let u32_at = |i: usize| Some(u32::from_le_bytes(zip.get(i..i + 4)?.try_into().ok()?));
    let eocd = (0..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(i) == Some(0x0605_4b50))?;
    let entries = u16_at(eocd + 10)?;
    let mut at = u32_at(eocd + 16)? as usize;
    for _ in 0..entries {
        if u32_at(at)? != 0x0201_4b50 {
            return None;
        }
        let size = u32_at(at + 24)?;
        let name_len = u16_at(at + 28)? as usize;
        let extra = u16_at(at + 30)? as usize;
        let comment = u16_at(at + 32)? as usize;
        if zip.get(at + 46..at + 46 + name_len)? == name.as_bytes() {
            return Some(u64::from(size));
        }
        at += 46 + name_len + extra + comment;
    }
    None
}

// ---- a fake Lambda Runtime API ---------------------------------------------------

/// Serves `GET /2018-06-01/runtime/invocation/next` (records when it was asked, hands
/// out the queued event if any, else holds the request) and accepts the answers.
struct FakeRuntime {
    addr: SocketAddr,
    shared: Arc<RuntimeShared>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct RuntimeShared {
    state: Mutex<RuntimeState>,
    release: Notify,
}

#[derive(Default)]
struct RuntimeState {
    next_calls: Vec<Instant>,
    queue: VecDeque<Value>,
    answers: Vec<String>,
    invocations: u64,
}

impl RuntimeShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, RuntimeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FakeRuntime {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(RuntimeShared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(answered),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(answered))
            .route("/2018-06-01/runtime/init/error", post(answered))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, task })
    }

    /// Forgets what was asked and answered; `event` is handed to the next caller.
    fn reset(&self, event: Option<Value>) {
        self.release();
        let mut state = self.shared.lock();
        state.next_calls.clear();
        state.answers.clear();
        state.queue = event.into_iter().collect();
    }

    /// When `/next` was called for the `n`-th time (1-based) since the reset.
    async fn wait_for_next(&self, n: usize, timeout: Duration) -> Option<Instant> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(at) = self.shared.lock().next_calls.get(n - 1) {
                return Some(*at);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn answer(&self) -> Option<String> {
        self.shared.lock().answers.first().cloned()
    }

    /// Lets held `/next` requests go (their callers are gone by then).
    fn release(&self) {
        self.shared.release.notify_waiters();
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.release();
        self.task.abort();
    }
}

async fn next(State(rt): State<Arc<RuntimeShared>>) -> Response {
    let at = Instant::now();
    let event = {
        let mut state = rt.lock();
        state.next_calls.push(at);
        let event = state.queue.pop_front();
        if event.is_some() {
            state.invocations += 1;
        }
        event.map(|e| (e, state.invocations))
    };
    let Some((event, n)) = event else {
        // Hold, as Lambda does between invocations.
        tokio::select! {
            () = rt.release.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(120)) => {}
        }
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        + 15 * 60 * 1000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", format!("bench-{n}"));
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, event.to_string()).into_response()
}

async fn answered(State(rt): State<Arc<RuntimeShared>>, body: Bytes) -> StatusCode {
    rt.lock()
        .answers
        .push(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

// ---- a fake Secrets Manager and SSM Parameter Store ------------------------------

/// `GetSecretValue` and `GetParameter` (the AWS JSON 1.1 protocol: a POST to `/` naming
/// the operation in `X-Amz-Target`), answering from a fixed map as the real services
/// answer, so a function's init makes the same call it makes in AWS. Signatures are
/// not checked.
struct FakeSecrets {
    addr: SocketAddr,
    shared: Arc<SecretsShared>,
    task: tokio::task::JoinHandle<()>,
}

struct SecretsShared {
    values: HashMap<String, String>,
    calls: AtomicU64,
}

impl FakeSecrets {
    async fn start(values: &[(&str, &str)]) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(SecretsShared {
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            calls: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/", post(secret_call))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, task })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for FakeSecrets {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn secret_call(
    State(secrets): State<Arc<SecretsShared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .unwrap_or_default();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = request["SecretId"]
        .as_str()
        .or_else(|| request["Name"].as_str())
        .unwrap_or_default();
    let answer = match (target, secrets.values.get(id)) {
        ("secretsmanager.GetSecretValue", Some(value)) => json!({
            "ARN": id,
            "Name": id.rsplit(':').next().unwrap_or(id),
            "SecretString": value,
            "VersionId": "00000000-0000-0000-0000-000000000001",
            "VersionStages": ["AWSCURRENT"],
            "CreatedDate": 1_790_000_000.0,
        }),
        ("AmazonSSM.GetParameter", Some(value)) => json!({
            "Parameter": {
                "Name": id,
                "Type": "SecureString",
                "Value": value,
                "Version": 1,
                "ARN": format!("arn:aws:ssm:us-east-1:123456789012:parameter{id}"),
                "DataType": "text",
            }
        }),
        _ => {
            let kind = if target.starts_with("AmazonSSM") {
                "ParameterNotFound"
            } else {
                "ResourceNotFoundException"
            };
            return (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/x-amz-json-1.1")],
                json!({"__type": kind, "message": format!("{id} not found")}).to_string(),
            )
                .into_response();
        }
    };
    secrets.calls.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        answer.to_string(),
    )
        .into_response()
}
