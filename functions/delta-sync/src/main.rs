use delta_sync::DeltaSync;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use spartan_sync::config::LogSettings;
use spartan_sync::metrics::Metrics;
use spartan_sync::sync::related::RelatedPull;
use spartan_sync::{Config, DynamoLeadStore, SyncEngine, SyncSettings, TwentyClient};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    spartan_sync::logging::init(&LogSettings::from_env());
    let config = Config::load().await?;
    let twenty = TwentyClient::new(&config.twenty)?;
    let dynamo = spartan_sync::store::dynamo_client().await;
    let store = DynamoLeadStore::new(dynamo, &config.table_name, config.twenty.object.plural());
    let settings = SyncSettings {
        lookback: config.lookback,
        time_budget: config.time_budget,
        conflict_rules: config.conflict_rules.clone(),
        ..SyncSettings::default()
    };
    let related = RelatedPull::new(
        &twenty,
        &store,
        &config.objects,
        settings.lookback,
        settings.clock_skew,
        settings.reserve,
    );
    let related = (!related.is_empty()).then_some(related);
    let function = DeltaSync {
        related,
        engine: SyncEngine::new(twenty, store, settings),
        metrics: Metrics::new(config.metrics_namespace.clone(), "delta-sync"),
    };
    // Built once and kept for the life of the process; `run_concurrent` serves one
    // invocation at a time unless AWS_LAMBDA_MAX_CONCURRENCY says more.
    let function: &'static DeltaSync = Box::leak(Box::new(function));
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        delta_sync::handle(function, event).await
    }))
    .await
}
