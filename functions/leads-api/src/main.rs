use lambda_http::{Request, service_fn};
use leads_api::{LeadsApi, handle};
use spartan_sync::invoke::SyncInvoker;
use spartan_sync::{ApiConfig, DynamoLeadStore};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = ApiConfig::from_env()?;
    let dynamo = spartan_sync::store::dynamo_client().await;
    let lambda = spartan_sync::invoke::lambda_client().await;
    let api = LeadsApi {
        store: DynamoLeadStore::new(dynamo, &config.table_name, config.object.plural()),
        invoker: SyncInvoker::new(lambda, &config.delta_sync_function),
    };
    let api = &api;
    lambda_http::run(service_fn(move |request: Request| async move {
        handle(api, request).await
    }))
    .await
}
