//! Integration tests: the real client, store, engine and handlers against DynamoDB
//! Local and the Twenty emulator. Run with `make test` (it starts DynamoDB Local).

// Test code: an unwrap that fails is the test failing, with its location.
#![allow(clippy::unwrap_used)]

mod bidirectional;
mod changes_feed;
mod delta_sync_handler;
mod faults;
mod leads_api;
mod objects;
mod objects_api;
mod openapi;
mod ordering;
mod pipeline;
mod scale;
mod sync_api;
mod sync_runs;
mod util;
mod webhook_handler;
