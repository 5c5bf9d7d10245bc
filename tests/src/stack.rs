//! A local stack for one test: a fresh table in DynamoDB Local, an emulator, and the
//! real client, store and engine wired to them.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use secrecy::SecretString;
use spartan_sync::config::TwentySettings;
use spartan_sync::twenty::{Pacer, RetryPolicy};
use spartan_sync::{DynamoLeadStore, ObjectName, SyncEngine, SyncSettings, TwentyClient};

use crate::emulator::{Emulator, EmulatorOptions, Seed};

/// The DynamoDB Local endpoint `make test` started (`AWS_ENDPOINT_URL_DYNAMODB`). Without
/// it the tests stop with that instruction rather than reaching for a real AWS account.
pub fn dynamo_local_endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "DynamoDB Local is not configured (AWS_ENDPOINT_URL_DYNAMODB={endpoint:?}): run the tests with `make test`"
    );
    endpoint
}

/// A DynamoDB client for DynamoDB Local, with the production retry settings.
pub async fn dynamo_local() -> Client {
    dynamo_at(&dynamo_local_endpoint()).await
}

pub async fn dynamo_at(endpoint: &str) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "dynamodb-local",
        ))
        .endpoint_url(endpoint)
        .retry_config(spartan_sync::store::retry_config())
        .load()
        .await;
    Client::new(&config)
}

/// Creates a table with a unique name, so tests never see each other's items.
pub async fn fresh_table(client: &Client) -> String {
    let name = format!("test-{}", uuid::Uuid::new_v4().simple());
    spartan_sync::store::create_table(client, &name)
        .await
        .expect("create table in DynamoDB Local");
    name
}

pub fn twenty_settings(emulator: &Emulator, page_size: u32) -> TwentySettings {
    TwentySettings {
        api_url: url::Url::parse(&format!("{}/", emulator.url())).expect("emulator url"),
        api_key: SecretString::from(emulator.api_key().to_string()),
        object: ObjectName::from_plural("leads"),
        page_size,
        request_timeout: Duration::from_secs(2),
        rate_limit_per_minute: 0,
    }
}

/// How to put a stack together; `Default` is the common case.
pub struct StackOptions {
    pub seed: Seed,
    pub page_size: u32,
    pub settings: SyncSettings,
    /// Twenty's rate limit as the emulator enforces it.
    pub emulator_rate_limit: Option<(u32, Duration)>,
    /// The client's own pacing (requests, window).
    pub pacing: Option<(u32, Duration)>,
    /// Reach DynamoDB through this endpoint instead (a fault-injecting proxy).
    pub dynamo_endpoint: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            seed: Seed::Empty,
            page_size: 200,
            settings: SyncSettings::default(),
            emulator_rate_limit: None,
            pacing: None,
            dynamo_endpoint: None,
        }
    }
}

pub struct TestStack {
    pub emulator: Emulator,
    pub dynamo: Client,
    pub table: String,
    pub store: DynamoLeadStore,
    pub engine: SyncEngine,
}

impl TestStack {
    pub async fn start(seed: Seed) -> Self {
        Self::with_page_size(seed, 200).await
    }

    pub async fn with_page_size(seed: Seed, page_size: u32) -> Self {
        Self::with(StackOptions {
            seed,
            page_size,
            ..StackOptions::default()
        })
        .await
    }

    pub async fn with(opts: StackOptions) -> Self {
        let emulator = Emulator::start(EmulatorOptions {
            seed: opts.seed,
            rate_limit: opts.emulator_rate_limit,
            ..EmulatorOptions::default()
        })
        .await
        .expect("start emulator");
        let admin = dynamo_local().await;
        let table = fresh_table(&admin).await;
        let dynamo = match &opts.dynamo_endpoint {
            Some(endpoint) => dynamo_at(endpoint).await,
            None => admin,
        };
        let store = DynamoLeadStore::new(dynamo.clone(), &table, "leads");
        let mut twenty = TwentyClient::new(&twenty_settings(&emulator, opts.page_size))
            .expect("client")
            .with_retry_policy(RetryPolicy::fast());
        if let Some((limit, window)) = opts.pacing {
            twenty = twenty.with_pacer(Pacer::new(limit, window));
        }
        let engine = SyncEngine::new(twenty, store.clone(), opts.settings);
        Self {
            emulator,
            dynamo,
            table,
            store,
            engine,
        }
    }

    /// Another engine on the same table and emulator (a second Lambda instance).
    pub fn second_engine(&self, settings: SyncSettings) -> SyncEngine {
        let twenty = TwentyClient::new(&twenty_settings(&self.emulator, 200))
            .expect("client")
            .with_retry_policy(RetryPolicy::fast());
        SyncEngine::new(twenty, self.store.clone(), settings)
    }
}
