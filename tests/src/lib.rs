//! The Twenty emulator and the helpers that put a local stack together for tests,
//! `make run` and `make demo`; `runs` for starting a sync run in a test. The benchmark
//! (`bench/`) and the simulator (`sim/`) are crates of their own.

pub mod dynamo_proxy;
pub mod emulator;
pub mod lambda_fake;
pub mod runs;
pub mod stack;
pub mod store_ext;
pub mod webhook_receiver;

pub use store_ext::StoreExt;
