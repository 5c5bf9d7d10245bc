use lambda_http::{Request, service_fn};
use leads_api::{LeadsApi, handle};
use spartan_sync::config::LogSettings;
use spartan_sync::invoke::SyncInvoker;
use spartan_sync::{ApiConfig, DynamoLeadStore};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    spartan_sync::logging::init(&LogSettings::from_env());
    let config = ApiConfig::from_env()?;
    let dynamo = spartan_sync::store::dynamo_client().await;
    let lambda = spartan_sync::invoke::lambda_client().await;
    let api = LeadsApi {
        store: DynamoLeadStore::new(dynamo, &config.table_name, config.object.plural()),
        invoker: SyncInvoker::new(lambda, &config.delta_sync_function),
        objects: config.objects,
    };
    // Built once and kept for the life of the process; `run_concurrent` serves one
    // invocation at a time unless AWS_LAMBDA_MAX_CONCURRENCY says more.
    let api: &'static LeadsApi = Box::leak(Box::new(api));
    lambda_http::run_concurrent(service_fn(move |request: Request| async move {
        handle(api, request).await
    }))
    .await
}
