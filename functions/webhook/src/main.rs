use lambda_http::{Request, service_fn};
use spartan_sync::config::LogSettings;
use spartan_sync::metrics::Metrics;
use spartan_sync::{DynamoLeadStore, WebhookConfig};
use webhook::{WebhookState, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    spartan_sync::logging::init(&LogSettings::from_env());
    let config = WebhookConfig::load().await?;
    if config.secret.is_none() {
        tracing::warn!(
            "WEBHOOK_ALLOW_UNSIGNED=true: webhook signatures are NOT verified. Never run this way in production."
        );
    }
    let dynamo = spartan_sync::store::dynamo_client().await;
    let store = DynamoLeadStore::new(dynamo, &config.table_name, config.object.plural());
    let metrics = Metrics::new(config.metrics_namespace.clone(), "webhook");
    let state = WebhookState {
        config,
        store,
        metrics,
    };
    // Built once and kept for the life of the process; `run_concurrent` serves one
    // invocation at a time unless AWS_LAMBDA_MAX_CONCURRENCY says more.
    let state: &'static WebhookState = Box::leak(Box::new(state));
    lambda_http::run_concurrent(service_fn(move |request: Request| async move {
        handle(state, request).await
    }))
    .await
}
