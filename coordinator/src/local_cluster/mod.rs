//! A coordinator and its worker processes on this machine, as `fanout run`, `validate` and
//! `monitor` use them: the coordinator's gRPC service on a loopback port with a fresh token,
//! N `fanout-worker` children attached to it, dead ones reaped (and replaced while the budget
//! allows), and everything stopped at the end.
//!
//! What a job does with the cluster (record one-shot results, parse monitor polls) stays with
//! the job: [`crate::local_run`] and [`crate::monitor_job`].

pub mod sizing;
pub mod worker_processes;

use crate::process_usage::ProcessUsage;
use crate::scheduler::PlacedHost;
use crate::worker_service::{ServerPolicy, Shared};
use fanout_common::Secret;
use fanout_common::inventory::Host;
use fanout_common::proto::{HostTarget, JobRecord, JobSpec};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{info, warn};
use worker_processes::{Exited, LocalWorkers, SupervisorError, WorkerProgram};

use crate::interrupts::Interrupts;

/// How long local workers get to attach before the cluster gives up on them.
const ATTACH_DEADLINE: Duration = Duration::from_secs(30);
/// How long workers get to exit after being told to.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// How often the worker processes are checked on while a job runs.
pub const REAP_EVERY: Duration = Duration::from_millis(200);
/// How often they are checked on while attaching: a worker that cannot start should say so
/// quickly.
const REAP_WHILE_ATTACHING: Duration = Duration::from_millis(50);

/// What the cluster is made of.
pub struct ClusterConfig {
    /// Worker processes to start.
    pub workers: usize,
    /// Sessions (or monitored hosts) each worker may hold at once.
    pub concurrency: u32,
    pub program: WorkerProgram,
    /// Silence after which a worker's leases are fenced and its hosts run elsewhere.
    pub lease_timeout: Duration,
    /// Dead workers replaced, at most, over the cluster's life.
    pub respawn: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot listen on loopback for workers: {0}")]
    Listen(std::io::Error),
    #[error(transparent)]
    Workers(#[from] SupervisorError),
    #[error(
        "worker {pid} exited ({status}) before the job could start; its last words:\n{stderr_tail}"
    )]
    WorkerDied {
        pid: u32,
        status: std::process::ExitStatus,
        stderr_tail: String,
    },
    #[error("only {attached} of {expected} workers attached within {}s", ATTACH_DEADLINE.as_secs())]
    AttachTimeout { attached: usize, expected: usize },
    /// The first interrupt came before every worker attached: nothing was handed out.
    #[error(
        "interrupted while {attached} of {expected} workers had attached; no host was contacted"
    )]
    InterruptedWhileAttaching { attached: usize, expected: usize },
}

/// A running local cluster. Dropping it stops the service and kills the workers; [`shutdown`]
/// lets them finish first.
///
/// [`shutdown`]: LocalCluster::shutdown
pub struct LocalCluster {
    shared: Arc<Shared>,
    config: ClusterConfig,
    token: Secret,
    url: String,
    workers: Option<LocalWorkers>,
    /// Every worker process started, replacements included.
    pids: Vec<u32>,
    lost: usize,
    respawns_left: u32,
    reap: tokio::time::Interval,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    /// Stops the gRPC service when the cluster goes away, however it goes.
    _stop_server: DropGuard,
}

impl LocalCluster {
    /// Serves the coordinator on a loopback port; no job may have outputs larger than
    /// `max_output_bytes`. Add jobs with [`add_job`](Self::add_job), then
    /// [`start_workers`](Self::start_workers).
    pub async fn serve(config: ClusterConfig, max_output_bytes: u64) -> Result<Self, ClusterError> {
        let token = Secret::new(random_token());
        let shared = Shared::new(ServerPolicy {
            token: Some(token.clone()),
            max_output_bytes,
            lease_timeout: config.lease_timeout,
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ClusterError::Listen)?;
        let address = listener.local_addr().map_err(ClusterError::Listen)?;
        let stop = CancellationToken::new();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .tcp_nodelay(true)
                .add_service(shared.service())
                .serve_with_incoming_shutdown(
                    TcpListenerStream::new(listener),
                    stop.clone().cancelled_owned(),
                ),
        );
        let mut reap = tokio::time::interval(REAP_EVERY);
        reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(Self {
            shared,
            respawns_left: config.respawn,
            config,
            token,
            url: format!("http://{address}"),
            workers: None,
            pids: Vec::new(),
            lost: 0,
            reap,
            server,
            _stop_server: stop.drop_guard(),
        })
    }

    /// The coordinator's state: start jobs, watch workers.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Adds a job of every one of `hosts`, each free to run on any worker, under a new id
    /// (returned); its accepted results go to `results`. It waits for [`Shared::start`].
    pub fn add_job(
        &self,
        spec: JobSpec,
        hosts: &[Host],
        results: mpsc::Sender<JobRecord>,
    ) -> String {
        let job_id = uuid::Uuid::new_v4().to_string();
        let hosts = hosts
            .iter()
            .map(|h| PlacedHost::anywhere(HostTarget::from(h)))
            .collect();
        let spec = JobSpec {
            job_id: job_id.clone(),
            ..spec
        };
        self.shared.add_job(spec, hosts, results);
        job_id
    }

    /// Starts the workers and waits until all of them are attached; returns how long that
    /// took. A worker that dies first is reported with its stderr instead of letting the
    /// caller hang.
    pub async fn start_workers(
        &mut self,
        interrupts: &Interrupts,
    ) -> Result<Duration, ClusterError> {
        let started = Instant::now();
        let workers = self.workers.insert(LocalWorkers::spawn(
            &self.config.program,
            self.config.workers,
            &self.url,
            &self.token,
            self.config.concurrency,
        )?);
        self.pids = workers.pids();
        let expected = self.config.workers;
        let mut live = self.shared.watch_workers();
        let deadline = tokio::time::Instant::now() + ATTACH_DEADLINE;
        let mut reap = tokio::time::interval(REAP_WHILE_ATTACHING);
        loop {
            let attached = *live.borrow_and_update();
            if attached >= expected {
                return Ok(started.elapsed());
            }
            tokio::select! {
                _ = live.changed() => {}
                _ = reap.tick() => {
                    if let Some(exited) = workers.reap_exited().await {
                        return Err(ClusterError::WorkerDied {
                            pid: exited.pid,
                            status: exited.status,
                            stderr_tail: exited.stderr_tail,
                        });
                    }
                }
                _ = interrupts.drain.cancelled() => {
                    return Err(ClusterError::InterruptedWhileAttaching { attached, expected });
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(ClusterError::AttachTimeout { attached, expected });
                }
            }
        }
    }

    /// Resolves every [`REAP_EVERY`]; cancel-safe, for a `select!` branch, after which the
    /// caller runs [`check_workers`](Self::check_workers).
    pub async fn tick(&mut self) {
        self.reap.tick().await;
    }

    /// Reaps a worker that exited, if one did, and when `replace` is set and the respawn
    /// budget allows, starts its replacement.
    pub async fn check_workers(&mut self, replace: bool) -> Result<Option<Exited>, ClusterError> {
        let Some(workers) = self.workers.as_mut() else {
            return Ok(None);
        };
        let Some(exited) = workers.reap_exited().await else {
            return Ok(None);
        };
        warn!(pid = exited.pid, status = %exited.status, "worker exited:\n{}", exited.stderr_tail);
        self.lost += 1;
        if replace && self.respawns_left > 0 {
            self.respawns_left -= 1;
            let pid = workers.respawn(
                &self.config.program,
                &self.url,
                &self.token,
                self.config.concurrency,
            )?;
            info!(pid, "started a replacement worker");
            self.pids.push(pid);
        }
        Ok(Some(exited))
    }

    /// Worker processes still running.
    pub fn running(&self) -> usize {
        self.workers.as_ref().map_or(0, LocalWorkers::running)
    }

    /// Every worker process started, replacements included.
    pub fn worker_pids(&self) -> &[u32] {
        &self.pids
    }

    /// Workers that exited on their own.
    pub fn workers_lost(&self) -> usize {
        self.lost
    }

    /// CPU and memory of each worker still running. Sample before [`shutdown`]: afterwards
    /// /proc has nothing to say.
    ///
    /// [`shutdown`]: LocalCluster::shutdown
    pub fn worker_usage(&self) -> Vec<ProcessUsage> {
        self.workers
            .as_ref()
            .map(LocalWorkers::pids)
            .unwrap_or_default()
            .into_iter()
            .filter_map(ProcessUsage::of)
            .collect()
    }

    /// Tells the workers to stop, gives them [`EXIT_GRACE`] to do so, kills the rest, and
    /// stops the service.
    pub async fn shutdown(self, reason: &str) {
        let LocalCluster {
            shared,
            workers,
            server,
            _stop_server,
            ..
        } = self;
        shared.shutdown_workers(reason).await;
        if let Some(mut workers) = workers {
            workers.wait_or_kill(EXIT_GRACE).await;
        }
        drop(_stop_server);
        let _ = server.await;
    }
}

/// 256 random bits, hex: the token local workers present.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Waits for `deadline`, or for ever when there is none: a `select!` branch that may be off.
pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
