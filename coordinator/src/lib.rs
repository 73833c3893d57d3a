//! fanout's coordinator and CLI: loads and checks the inventory and the job, shards hosts
//! across worker processes, leases work by credit, records every result, reports.

pub mod backup;
pub mod chunks;
pub mod cli;
pub mod commands;
pub mod config_file;
pub mod csv_report;
pub mod host_record;
pub mod http_job;
pub mod interrupts;
pub mod job;
pub mod local_cluster;
pub mod local_run;
pub mod mibs;
pub mod monitor_job;
pub mod output;
pub mod output_tree;
pub mod parsed_output;
pub mod process_usage;
pub mod push;
pub mod recorder;
pub mod run_report;
pub mod scheduler;
pub mod serve;
pub mod shell_docs;
pub mod snmp_job;
pub mod terminal_text;
pub mod validate_report;
pub mod worker_service;
