//! `fanout monitor`'s long-running job: the same coordinator, scheduler and local workers as a
//! one-shot run, but hosts are never finished. Each worker keeps a session open to each of its
//! hosts and polls it every interval; every answer comes back as a poll report, is parsed here
//! and handed to [`Monitor::ingest`]. A worker that dies or falls silent loses its leases after
//! the lease timeout and its hosts go to the others (and to its replacement, if `--respawn`
//! allows one). It runs until interrupted, or for `duration` when one is given.

pub mod poll_parse;

use crate::interrupts::Interrupts;
use crate::job::JobSettings;
use crate::local_cluster::{ClusterConfig, ClusterError, LocalCluster, sleep_until};
use crate::process_usage::ProcessUsage;
use fanout_common::inventory::Host;
use fanout_common::proto::{JobSpec, MonitorCheck, MonitorSpec, SnmpOp, SnmpRequest};
use fanout_monitor::Monitor;
use fanout_monitor::config::{MonitorConfig, Source};
use fanout_monitor::snmp_check::{SYS_UPTIME_0, SnmpSource};
use poll_parse::PollParser;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Poll reports waiting to be parsed; a full queue slows the workers' streams, not memory.
const POLL_QUEUE: usize = 8192;
/// At shutdown, how long the last alerts may take to go out.
const NOTIFY_GRACE: Duration = Duration::from_secs(10);

pub struct MonitorRun {
    pub hosts: Vec<Host>,
    /// Timeouts, host keys and connect rate, as for one-shot jobs; `commands` is unused.
    pub job: JobSettings,
    pub interval: Duration,
    /// The workers that poll (each holds every host it may have to absorb when another dies).
    pub cluster: ClusterConfig,
    /// Stop by itself after this long (benchmarks, tests); `None` runs until interrupted.
    pub duration: Option<Duration>,
}

/// What the monitor did, for the closing summary.
pub struct MonitorOutcome {
    pub polls: u64,
    pub unparsed: u64,
    pub workers_lost: usize,
    pub reassigned: u64,
    pub worker_pids: Vec<u32>,
    pub worker_usage: Vec<ProcessUsage>,
}

/// The job's checks as workers receive them.
pub fn monitor_spec(config: &MonitorConfig, interval: Duration) -> MonitorSpec {
    let checks = config
        .checks
        .iter()
        .map(|c| match &c.source {
            Source::Command(command) => MonitorCheck {
                name: c.name.clone(),
                command: command.clone(),
                snmp: Vec::new(),
            },
            Source::Snmp(source) => MonitorCheck {
                name: c.name.clone(),
                command: String::new(),
                snmp: snmp_requests(source),
            },
        })
        .collect();
    MonitorSpec {
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        checks,
    }
}

/// An SNMP check's requests: a walk of each of its columns, and `sysUpTime.0` when its counters
/// become rates (the agent's clock times them, and its going back shows a restart).
fn snmp_requests(source: &SnmpSource) -> Vec<SnmpRequest> {
    let mut requests: Vec<SnmpRequest> = source
        .walks()
        .into_iter()
        .map(|column| SnmpRequest {
            op: SnmpOp::Walk as i32,
            oid: column.oid.clone(),
            label: format!("snmp-walk {}", column.written),
        })
        .collect();
    if source.needs_uptime() {
        requests.push(SnmpRequest {
            op: SnmpOp::Get as i32,
            oid: SYS_UPTIME_0.to_string(),
            label: "snmp-get sysUpTime.0".to_string(),
        });
    }
    requests
}

/// Whether any check polls over SNMP (the hosts then need `snmp:` in the inventory).
pub fn has_snmp_checks(config: &MonitorConfig) -> bool {
    config
        .checks
        .iter()
        .any(|c| matches!(c.source, Source::Snmp(_)))
}

/// Runs the monitor job until interrupted (or `duration` passes), feeding `monitor`.
pub async fn run_monitor(
    run: MonitorRun,
    spec: MonitorSpec,
    mut parser: PollParser,
    monitor: Arc<Monitor>,
    interrupts: Interrupts,
    on_started: impl FnOnce(&[u32]),
) -> Result<MonitorOutcome, ClusterError> {
    let job_spec = JobSpec {
        monitor: Some(spec),
        ..JobSpec::from(&run.job)
    };
    let mut cluster = LocalCluster::serve(run.cluster, run.job.max_output_bytes).await?;
    let shared = cluster.shared().clone();
    // A monitor job has no one-shot results; polls go to their own sink. The job still needs
    // a results sink: nothing is ever sent to it.
    let (results_tx, _results) = mpsc::channel(1);
    let job_id = cluster.add_job(job_spec, &run.hosts, results_tx);
    let (polls_tx, mut polls) = mpsc::channel(POLL_QUEUE);
    shared.route_polls(polls_tx);
    cluster.start_workers(&interrupts).await?;
    shared.start(&job_id).await;
    info!(job = %job_id, hosts = run.hosts.len(), workers = ?cluster.worker_pids(), "monitoring");
    on_started(cluster.worker_pids());

    let mut polled = 0u64;
    let mut unparsed = 0u64;
    let stop_at = run.duration.map(|d| tokio::time::Instant::now() + d);
    loop {
        tokio::select! {
            report = polls.recv() => {
                let Some(report) = report else { break };
                polled += 1;
                match parser.parse(report) {
                    Ok(poll) => {
                        monitor.ingest(&poll);
                    }
                    Err(e) => {
                        unparsed += 1;
                        warn!(error = %e, "poll skipped");
                    }
                }
            }
            _ = interrupts.drain.cancelled() => break,
            _ = interrupts.abort.cancelled() => break,
            _ = sleep_until(stop_at) => break,
            _ = cluster.tick() => {
                cluster.check_workers(true).await?;
            }
        }
    }
    info!("monitor stopping");
    let worker_usage = cluster.worker_usage();
    let reassigned = shared.reassigned(&job_id);
    let worker_pids = cluster.worker_pids().to_vec();
    let workers_lost = cluster.workers_lost();
    cluster.shutdown("monitor stopped").await;
    if !monitor.settle(NOTIFY_GRACE).await {
        warn!("some notices were still queued at shutdown");
    }
    Ok(MonitorOutcome {
        polls: polled,
        unparsed,
        workers_lost,
        reassigned,
        worker_pids,
        worker_usage,
    })
}
