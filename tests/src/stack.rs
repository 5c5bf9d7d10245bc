//! A local stack for one test: a fresh table in DynamoDB Local, an emulator, and the
//! real client, store and engine wired to them.

use aws_sdk_dynamodb::Client;
use secrecy::SecretString;
use spartan_sync::config::TwentySettings;
use spartan_sync::twenty::RetryPolicy;
use spartan_sync::{DynamoLeadStore, ObjectName, SyncEngine, SyncSettings, TwentyClient};

use crate::emulator::{Emulator, EmulatorOptions, Seed};

/// A DynamoDB client for DynamoDB Local. `make test` starts it and sets
/// `AWS_ENDPOINT_URL_DYNAMODB`; without it the tests stop with that instruction
/// rather than reaching for a real AWS account.
pub async fn dynamo_local() -> Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "DynamoDB Local is not configured (AWS_ENDPOINT_URL_DYNAMODB={endpoint:?}): run the tests with `make test`"
    );
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
        request_timeout: std::time::Duration::from_secs(2),
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
        let emulator = Emulator::start(EmulatorOptions {
            seed,
            ..EmulatorOptions::default()
        })
        .await
        .expect("start emulator");
        let dynamo = dynamo_local().await;
        let table = fresh_table(&dynamo).await;
        let store = DynamoLeadStore::new(dynamo.clone(), &table, "leads");
        let twenty = TwentyClient::new(&twenty_settings(&emulator, page_size))
            .expect("client")
            .with_retry_policy(RetryPolicy::fast());
        let engine = SyncEngine::new(twenty, store.clone(), SyncSettings::default());
        Self {
            emulator,
            dynamo,
            table,
            store,
            engine,
        }
    }
}
