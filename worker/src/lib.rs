//! fanout's worker: attaches to a coordinator over one gRPC stream, asks for hosts by credit,
//! runs each host's device session concurrently and streams every result back as soon as the
//! host is done.
//!
//! Where things are: [`attach`] keeps the stream (attach loop and protocol); `jobs` holds each
//! job's spec and what its hosts share; `dispatch` turns assignments into tasks; `host` takes
//! one host from its first connection to its result, with its retries in `attempts`; `report`
//! sends outputs in chunks and results; `from_proto` turns the wire's job and host into the
//! session's; [`outcome`] is what a host produced, by SSH or HTTP; [`session`] speaks SSH to
//! devices, [`http`] runs HTTP steps, [`monitor`] polls the hosts of monitor jobs, [`validate`]
//! evaluates rules. [`preflight`] is what a client may check before sending a job to workers.

pub mod args;
pub mod attach;
mod attempts;
mod dispatch;
mod from_proto;
mod host;
pub mod http;
mod jobs;
pub mod monitor;
pub mod outcome;
pub mod pacer;
pub mod preflight;
mod report;
pub mod session;
pub mod snmp;
pub mod validate;

pub use args::{WorkerArgs, WorkerConfig};
pub use attach::{WorkerError, run};
