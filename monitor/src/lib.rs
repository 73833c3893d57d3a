//! fanout-monitor: the core of `fanout monitor` — continuous checks, alerting and the live
//! dashboard — kept free of SSH and scheduling so it is tested on its own.
//!
//! The flow: [`config::MonitorConfig::load`] reads `monitor.yaml`; the poll loop turns each
//! device answer into an [`engine::PollResult`] and hands it to [`monitor::Monitor::ingest`],
//! which updates the pure [`engine::Engine`], records alerts in `alerts.jsonl`, queues them to
//! the notifiers and pushes changed cells to [`dashboard::serve`]'s viewers.

pub mod config;
pub mod dashboard;
pub mod engine;
pub mod event;
pub mod journal;
pub mod monitor;
pub mod notify;
pub mod rate;
pub mod ratelimit;
pub mod snmp_check;

pub use config::{ConfigError, MonitorConfig};
pub use engine::{Engine, PollOutcome, PollResult, Values};
pub use event::{Event, EventKind};
pub use monitor::{Monitor, MonitorError, Update};
pub use notify::dispatch::DispatchSettings;
