//! The Twenty emulator and the helpers that put a local stack together for tests,
//! `make run` and `make demo`.

pub mod dynamo_proxy;
pub mod emulator;
pub mod stack;
pub mod store_ext;
pub mod webhook_receiver;

pub use store_ext::StoreExt;
