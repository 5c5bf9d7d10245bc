//! Small operator commands for the local stack (used by `make run` / `make demo`):
//!
//!   spartan-local create-table <table>
//!   spartan-local get-lead <table> <id>        prints the stored item's Twenty fields as JSON
//!   spartan-local state <table> [object]       prints the sync state item as JSON
//!
//! DynamoDB is reached through the usual AWS variables (AWS_ENDPOINT_URL_DYNAMODB, ...).

use anyhow::{Context, bail};
use spartan_sync::{DynamoLeadStore, LeadId};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let client = spartan_sync::store::dynamo_client().await;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-table", table] => {
            spartan_sync::store::create_table(&client, table).await?;
            println!("table {table} ready");
        }
        ["get-lead", table, id] => {
            let store = DynamoLeadStore::new(client, *table, "leads");
            let id = LeadId::parse(id).map_err(anyhow::Error::msg)?;
            let lead = store
                .get_lead(&id)
                .await?
                .context("no such lead in the table")?;
            println!("{}", serde_json::to_string_pretty(&lead.fields)?);
        }
        ["state", table, rest @ ..] => {
            let object = rest.first().copied().unwrap_or("leads");
            let store = DynamoLeadStore::new(client, *table, object);
            let state = store.load_state().await?;
            println!("{}", serde_json::to_string_pretty(&state)?);
        }
        _ => bail!(
            "usage: spartan-local create-table <table> | get-lead <table> <id> | state <table> [object]"
        ),
    }
    Ok(())
}
