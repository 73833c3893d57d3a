//! `fanout monitor`'s long-running job: the same coordinator, scheduler and local workers as a
//! one-shot run, but hosts are never finished. Each worker keeps a session open to each of its
//! hosts and polls it every interval; every answer comes back as a poll report, is parsed here
//! and handed to [`Monitor::ingest`]. A worker that dies or falls silent loses its leases after
//! the lease timeout and its hosts go to the others (and to its replacement, if `--respawn`
//! allows one). It runs until interrupted, or for `duration` when one is given.

pub mod parse;

use crate::job::JobSettings;
use crate::run::{Interrupts, RunError, random_token, sleep_until, wait_for_workers};
use crate::scheduler::PlacedHost;
use crate::server::{ServerPolicy, Shared};
use crate::supervisor::{LocalWorkers, WorkerProgram};
use crate::usage::ProcessUsage;
use fanout_common::Secret;
use fanout_common::inventory::Host;
use fanout_common::proto::{HostTarget, MonitorCheck, MonitorSpec};
use fanout_monitor::Monitor;
use fanout_monitor::config::{MonitorConfig, Source};
use parse::PollParser;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Poll reports waiting to be parsed; a full queue slows the workers' streams, not memory.
const POLL_QUEUE: usize = 8192;
/// How long workers get to exit after being told to.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// How often the child processes are checked on.
const REAP_EVERY: Duration = Duration::from_millis(200);
/// At shutdown, how long the last alerts may take to go out.
const NOTIFY_GRACE: Duration = Duration::from_secs(10);

pub struct MonitorRun {
    pub hosts: Vec<Host>,
    /// Timeouts, host keys and connect rate, as for one-shot jobs; `commands` is unused.
    pub job: JobSettings,
    pub interval: Duration,
    pub workers: usize,
    /// Hosts each worker may hold: what it can absorb when another worker dies.
    pub concurrency: u32,
    pub program: WorkerProgram,
    pub lease_timeout: Duration,
    /// Dead workers replaced, at most.
    pub respawn: u32,
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

/// The job's checks as workers receive them. HTTP checks are refused before anything starts.
pub fn monitor_spec(config: &MonitorConfig, interval: Duration) -> Result<MonitorSpec, String> {
    let checks = config
        .checks
        .iter()
        .map(|c| match &c.source {
            Source::Command(command) => Ok(MonitorCheck {
                name: c.name.clone(),
                command: command.clone(),
            }),
            Source::Http { .. } => Err(format!(
                "check {:?}: HTTP checks are not supported by `fanout monitor` yet",
                c.name
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MonitorSpec {
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        checks,
    })
}

/// Runs the monitor job until interrupted (or `duration` passes), feeding `monitor`.
pub async fn run_monitor(
    run: MonitorRun,
    spec: MonitorSpec,
    parser: PollParser,
    monitor: Arc<Monitor>,
    interrupts: Interrupts,
    on_started: impl FnOnce(&[u32]),
) -> Result<MonitorOutcome, RunError> {
    let job_id = uuid::Uuid::new_v4().to_string();
    let mut job_spec = run.job.to_proto(&job_id, run.workers);
    job_spec.monitor = Some(spec);
    let hosts = run
        .hosts
        .iter()
        .map(|h| PlacedHost::anywhere(HostTarget::from(h)))
        .collect();
    let token = Secret::new(random_token());
    // One-shot results never come: the channel exists because the server needs one.
    let (results_tx, _results) = mpsc::channel(1);
    let policy = ServerPolicy {
        token: Some(token.clone()),
        max_output_bytes: run.job.max_output_bytes,
        lease_timeout: run.lease_timeout,
    };
    let shared = Shared::new(policy);
    shared.add_job(job_spec, hosts, results_tx);
    let (polls_tx, mut polls) = mpsc::channel(POLL_QUEUE);
    shared.route_polls(polls_tx);

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(RunError::Listen)?;
    let address = listener.local_addr().map_err(RunError::Listen)?;
    let server_stop = CancellationToken::new();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_service(shared.service())
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                server_stop.clone().cancelled_owned(),
            ),
    );
    let url = format!("http://{address}");
    let mut workers =
        LocalWorkers::spawn(&run.program, run.workers, &url, &token, run.concurrency)?;
    let mut worker_pids = workers.pids();
    if let Err(e) = wait_for_workers(&shared, &mut workers, run.workers, &interrupts).await {
        server_stop.cancel();
        return Err(e);
    }
    shared.start(&job_id).await;
    info!(job = %job_id, hosts = run.hosts.len(), workers = ?worker_pids, "monitoring");
    on_started(&worker_pids);

    let mut polled = 0u64;
    let mut unparsed = 0u64;
    let mut workers_lost = 0;
    let mut respawns_left = run.respawn;
    let mut reap = tokio::time::interval(REAP_EVERY);
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
            _ = reap.tick() => {
                if let Some(exited) = workers.reap_exited().await {
                    warn!(pid = exited.pid, status = %exited.status, "worker exited:\n{}", exited.stderr_tail);
                    workers_lost += 1;
                    if respawns_left > 0 {
                        respawns_left -= 1;
                        let pid = workers.respawn(&run.program, &url, &token, run.concurrency)?;
                        info!(pid, "started a replacement worker");
                        worker_pids.push(pid);
                    }
                }
            }
        }
    }
    info!("monitor stopping");
    let worker_usage = workers
        .pids()
        .into_iter()
        .filter_map(ProcessUsage::of)
        .collect();
    let reassigned = shared.reassigned(&job_id);
    shared.shutdown_workers("monitor stopped").await;
    workers.wait_or_kill(EXIT_GRACE).await;
    server_stop.cancel();
    let _ = server.await;
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
