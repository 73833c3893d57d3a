//! fanout's coordinator and CLI: loads and checks the inventory and the job, shards hosts
//! across worker processes, leases work by credit, records every result, reports.

pub mod chunks;
pub mod cli;
pub mod commands;
pub mod http_job;
pub mod job;
pub mod monitoring;
pub mod output;
pub mod output_tree;
pub mod record;
pub mod recorder;
pub mod report;
pub mod run;
pub mod scheduler;
pub mod serve;
pub mod server;
pub mod supervisor;
pub mod terminal_text;
pub mod usage;
pub mod validate_report;
