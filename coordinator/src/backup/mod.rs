//! `fanout backup`: every device's configuration in a git repository. Workers collect each
//! platform's configuration command(s) exactly as `fanout run` collects any command; this
//! process normalises the outputs (volatile lines out, secrets masked: see
//! `fanout_common::platform::backup`) and is the only writer of the repository, one commit per
//! run (see [`store`] for what survives a crash and how concurrent runs are refused).

pub mod args;
pub mod history;
pub mod https;
pub mod layout;
pub mod mask;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod push;
pub mod schedule;
pub mod scheduled;
pub mod store;
mod transport;
