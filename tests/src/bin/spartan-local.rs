//! Small operator commands for the local stack (used by `make run`, `make demo` and the
//! `make local-*` targets):
//!
//!   spartan-local create-table [table]
//!   spartan-local get-lead [table] <id>       prints the stored item's Twenty fields as JSON
//!   spartan-local state [table [object]]      prints the sync state item as JSON
//!
//! The table and DynamoDB come from the usual variables (`LEADS_TABLE`,
//! `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_REGION`, ...) and, for those not set, from the stack
//! `make run` is serving (`.run/stack.env`, or `$SPARTAN_RUN_DIR/stack.env`). With neither,
//! it says so instead of looking for AWS credentials.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use aws_sdk_dynamodb::config::{Credentials, Region};
use spartan_sync::{DynamoLeadStore, LeadId};

const USAGE: &str =
    "usage: spartan-local create-table [table] | get-lead [table] <id> | state [table [object]]";

/// Settings from the environment first, then from the running local stack's stack.env.
struct Settings {
    env: HashMap<String, String>,
    stack: HashMap<String, String>,
    stack_file: Option<PathBuf>,
}

impl Settings {
    fn load() -> Self {
        let env: HashMap<String, String> = std::env::vars().collect();
        let candidates = [
            env.get("SPARTAN_RUN_DIR").map(PathBuf::from),
            Some(PathBuf::from(".run")),
            Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../.run"
            ))),
        ];
        let stack_file = candidates
            .into_iter()
            .flatten()
            .map(|dir| dir.join("stack.env"))
            .find(|file| file.is_file());
        let stack = stack_file
            .as_ref()
            .and_then(|file| std::fs::read_to_string(file).ok())
            .map(|text| parse_env_file(&text))
            .unwrap_or_default();
        Self {
            env,
            stack,
            stack_file,
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .filter(|v| !v.is_empty())
            .or_else(|| self.stack.get(name))
            .map(String::as_str)
    }

    fn table(&self, given: Option<&str>) -> anyhow::Result<String> {
        match given.or_else(|| self.get("LEADS_TABLE")) {
            Some(table) => Ok(table.to_string()),
            None => bail!(
                "no local stack is running (no .run/stack.env) and no table was given: \
                 start one with `make run`, or name the table (and set AWS_ENDPOINT_URL_DYNAMODB)"
            ),
        }
    }

    /// A client for the DynamoDB the settings name; never the default AWS credential chain
    /// without an endpoint, whose failure (IMDS) says nothing useful here.
    async fn client(&self) -> anyhow::Result<(aws_sdk_dynamodb::Client, String)> {
        let Some(endpoint) = self.get("AWS_ENDPOINT_URL_DYNAMODB") else {
            bail!(
                "no local stack is running (no .run/stack.env) and AWS_ENDPOINT_URL_DYNAMODB is not set: \
                 start one with `make run`, or set AWS_ENDPOINT_URL_DYNAMODB"
            );
        };
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new(
                self.get("AWS_REGION").unwrap_or("us-east-1").to_string(),
            ))
            .retry_config(spartan_sync::store::retry_config());
        if let (Some(key), Some(secret)) = (
            self.get("AWS_ACCESS_KEY_ID"),
            self.get("AWS_SECRET_ACCESS_KEY"),
        ) {
            loader = loader.credentials_provider(Credentials::new(
                key,
                secret,
                None,
                None,
                "spartan-local",
            ));
        }
        let config = loader.load().await;
        Ok((aws_sdk_dynamodb::Client::new(&config), endpoint.to_string()))
    }

    fn unreachable_hint(&self, endpoint: &str) -> String {
        match &self.stack_file {
            Some(file) if !self.env.contains_key("AWS_ENDPOINT_URL_DYNAMODB") => format!(
                "DynamoDB at {endpoint} (from {}) did not answer: is `make run` still running?",
                file.display()
            ),
            _ => format!("DynamoDB at {endpoint} did not answer"),
        }
    }
}

/// `KEY=VALUE` lines; `#` comments and blank lines skipped.
fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("spartan-local: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let settings = Settings::load();
    let object = settings.get("TWENTY_OBJECT").unwrap_or("leads").to_string();
    match args.as_slice() {
        ["create-table", rest @ ..] if rest.len() <= 1 => {
            let table = settings.table(rest.first().copied())?;
            let (client, endpoint) = settings.client().await?;
            spartan_sync::store::create_table(&client, &table)
                .await
                .with_context(|| settings.unreachable_hint(&endpoint))?;
            println!("table {table} ready");
        }
        ["get-lead", rest @ ..] if (1..=2).contains(&rest.len()) => {
            let (table, id) = match rest {
                [id] => (settings.table(None)?, *id),
                [table, id] => (table.to_string(), *id),
                _ => bail!(USAGE),
            };
            let (client, endpoint) = settings.client().await?;
            let store = DynamoLeadStore::new(client, table, object);
            let id = LeadId::parse(id).map_err(anyhow::Error::msg)?;
            let lead = store
                .get_lead(&id)
                .await
                .with_context(|| settings.unreachable_hint(&endpoint))?
                .context("no such lead in the table")?;
            println!("{}", serde_json::to_string_pretty(&lead.fields)?);
        }
        ["state", rest @ ..] if rest.len() <= 2 => {
            let table = settings.table(rest.first().copied())?;
            let object = rest.get(1).map_or(object, |o| o.to_string());
            let (client, endpoint) = settings.client().await?;
            let store = DynamoLeadStore::new(client, table, object);
            let state = store
                .load_state()
                .await
                .with_context(|| settings.unreachable_hint(&endpoint))?;
            println!("{}", serde_json::to_string_pretty(&state)?);
        }
        _ => bail!(USAGE),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_env_file;

    #[test]
    fn reads_the_stack_env_file() {
        let vars =
            parse_env_file("# the local stack\nLEADS_TABLE=spartan-leads\n\nWATCH_PORT=9000\n");
        assert_eq!(
            vars.get("LEADS_TABLE").map(String::as_str),
            Some("spartan-leads")
        );
        assert_eq!(vars.get("WATCH_PORT").map(String::as_str), Some("9000"));
        assert_eq!(vars.len(), 2);
    }
}
