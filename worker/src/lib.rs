//! fanout's worker: attaches to a coordinator over one gRPC stream, asks for hosts by credit,
//! runs each host's device session concurrently and streams every result back as soon as the
//! host is done.

pub mod args;
pub mod attempts;
pub mod backoff;
pub mod http;
pub mod monitor;
pub mod pacer;
pub mod runtime;
pub mod session;
pub mod validate;

pub use args::{AccessArgs, WorkerArgs, WorkerConfig};
pub use runtime::{WorkerError, run};
