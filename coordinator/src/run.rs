//! One job on this machine: a coordinator on a loopback port, N local worker processes, every
//! result recorded as it arrives, then the workers stopped and the outcome returned.

use crate::job::JobSettings;
use crate::record::HostRecord;
use crate::recorder::{Recorder, RecorderError};
use crate::scheduler::PlacedHost;
use crate::server::{ServerPolicy, Shared};
use crate::supervisor::{LocalWorkers, SupervisorError, WorkerProgram};
use crate::usage::ProcessUsage;
use fanout_common::Secret;
use fanout_common::inventory::Host;
use fanout_common::proto::HostTarget;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How long local workers get to attach before the run gives up on them.
const ATTACH_DEADLINE: Duration = Duration::from_secs(30);
/// How long workers get to exit after being told to.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// How often the run checks on its child processes.
const REAP_EVERY: Duration = Duration::from_millis(200);
/// Results waiting for the recorder.
const RESULT_QUEUE: usize = 4096;

pub struct LocalRun {
    pub hosts: Vec<Host>,
    pub job: JobSettings,
    pub workers: usize,
    /// Sessions per worker.
    pub concurrency: u32,
    pub program: WorkerProgram,
    /// After a first interrupt: how long in-flight hosts may take to finish.
    pub drain_grace: Duration,
    /// Silence after which a worker's leases are fenced and its hosts run elsewhere.
    pub lease_timeout: Duration,
    /// Dead local workers replaced during the run, at most.
    pub respawn: u32,
}

/// Signals from outside: the first asks to drain, the second to stop at once.
#[derive(Clone, Default)]
pub struct Interrupts {
    pub drain: CancellationToken,
    pub abort: CancellationToken,
}

pub struct RunOutcome {
    pub job_id: String,
    pub records: Vec<HostRecord>,
    /// From the first host handed out to the last result.
    pub wall: Duration,
    /// Starting the workers and waiting for them to attach.
    pub setup: Duration,
    /// CPU and memory of each worker still running at the end of the job.
    pub worker_usage: Vec<ProcessUsage>,
    /// Hosts that never got a result (interrupted, or no worker left to run them).
    pub unfinished: Vec<String>,
    /// Hosts without a result whose names this process cannot know: a job followed with
    /// `fanout watch` that stopped before the coordinator listed its unfinished hosts.
    pub unlisted: usize,
    pub reassigned: u64,
    /// Every local worker process of the run, replacements included.
    pub worker_pids: Vec<u32>,
    /// Local workers that died during the job.
    pub workers_lost: usize,
    pub interrupted: bool,
    pub files_written: usize,
    /// Why `results.jsonl` stopped taking lines, if it did: the run then stopped early, and
    /// its report is the only full account of the hosts.
    pub results_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on loopback for workers: {0}")]
    Listen(std::io::Error),
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
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
    #[error(transparent)]
    Recorder(#[from] RecorderError),
}

pub async fn run_local(
    run: LocalRun,
    recorder: Recorder,
    interrupts: Interrupts,
) -> Result<RunOutcome, RunError> {
    let job_id = uuid::Uuid::new_v4().to_string();
    let total = run.hosts.len();
    let hosts = run
        .hosts
        .iter()
        .map(|h| PlacedHost::anywhere(HostTarget::from(h)))
        .collect();
    let token = Secret::new(random_token());
    let (results_tx, mut results) = mpsc::channel(RESULT_QUEUE);
    let policy = ServerPolicy {
        token: Some(token.clone()),
        max_output_bytes: run.job.max_output_bytes,
        lease_timeout: run.lease_timeout,
    };
    let shared = Shared::new(policy);
    shared.add_job(run.job.to_proto(&job_id, run.workers), hosts, results_tx);

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

    let setup_started = Instant::now();
    let coordinator_url = format!("http://{address}");
    let mut workers = LocalWorkers::spawn(
        &run.program,
        run.workers,
        &coordinator_url,
        &token,
        run.concurrency,
    )?;
    let mut worker_pids = workers.pids();
    let mut workers_lost = 0;
    let mut respawns_left = run.respawn;
    info!(job = %job_id, hosts = total, workers = ?worker_pids, "job starting");

    let progress = recorder.progress();
    // Drained by the first interrupt, or by the recorder when results.jsonl cannot be written.
    let drain = interrupts.drain.child_token();
    let (recorder_tx, recorder_thread) = spawn_recorder(recorder, drain.clone());
    let attached = wait_for_workers(&shared, &mut workers, run.workers, &interrupts).await;
    let mut received = 0usize;
    let mut interrupted = false;
    if let Err(e) = attached {
        server_stop.cancel();
        return Err(e);
    }
    let setup = setup_started.elapsed();
    // The job's clock starts when hosts are first handed out, so worker start-up is not
    // counted as device time (it is reported apart as `setup`).
    let started = Instant::now();
    shared.start(&job_id).await;

    let mut live = shared.watch_workers();
    let mut reap = tokio::time::interval(REAP_EVERY);
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    while received < total {
        tokio::select! {
            record = results.recv() => {
                let Some(record) = record else { break };
                received += 1;
                if recorder_tx.send(HostRecord::from_job_record(record)).is_err() {
                    break;
                }
            }
            _ = drain.cancelled(), if drain_deadline.is_none() => {
                if interrupts.drain.is_cancelled() {
                    warn!("interrupted: finishing hosts in flight, starting no new ones");
                    interrupted = true;
                } else {
                    warn!("results cannot be recorded: finishing hosts in flight, starting no new ones");
                }
                shared.stop_dispatching(&job_id);
                drain_deadline = Some(tokio::time::Instant::now() + run.drain_grace);
            }
            _ = interrupts.abort.cancelled() => {
                interrupted = true;
                break;
            }
            _ = sleep_until(drain_deadline) => break,
            _ = live.changed() => {
                if *live.borrow_and_update() == 0 && workers.running() == 0 {
                    warn!("no worker left to run the remaining hosts");
                    break;
                }
            }
            _ = reap.tick() => {
                progress.set_message(format!("{} in flight", shared.in_flight(&job_id)));
                if let Some(exited) = workers.reap_exited().await {
                    warn!(pid = exited.pid, status = %exited.status, "worker exited during the job:\n{}", exited.stderr_tail);
                    workers_lost += 1;
                    if respawns_left > 0 && drain_deadline.is_none() {
                        respawns_left -= 1;
                        let pid = workers.respawn(&run.program, &coordinator_url, &token, run.concurrency)?;
                        info!(pid, "started a replacement worker");
                        worker_pids.push(pid);
                    }
                }
                if workers.running() == 0 && *live.borrow() == 0 {
                    break;
                }
                if drain_deadline.is_some() && shared.in_flight(&job_id) == 0 {
                    break;
                }
            }
        }
    }
    let wall = started.elapsed();
    // Sampled before the workers are told to stop: afterwards /proc has nothing to say.
    let worker_usage = workers
        .pids()
        .into_iter()
        .filter_map(ProcessUsage::of)
        .collect();
    let unfinished = shared.unfinished(&job_id);
    let reassigned = shared.reassigned(&job_id);
    shared.shutdown_workers("job finished").await;
    workers.wait_or_kill(EXIT_GRACE).await;
    server_stop.cancel();
    let _ = server.await;
    drop(recorder_tx);
    let recorder = recorder_thread.join().map_err(|_| RecorderError::Results {
        path: "results".into(),
        source: std::io::Error::other("the recorder thread panicked"),
    })?;
    let files_written = recorder.files_written();
    let results_error = recorder.stopped().map(str::to_string);
    let mut unfinished = unfinished;
    unfinished.sort();
    Ok(RunOutcome {
        job_id,
        records: recorder.into_records(),
        wall,
        setup,
        worker_usage,
        unfinished,
        unlisted: 0,
        reassigned,
        worker_pids,
        workers_lost,
        interrupted,
        files_written,
        results_error,
    })
}

pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Waits until `expected` workers are attached; a worker that dies first is reported with its
/// stderr instead of letting the run hang.
pub(crate) async fn wait_for_workers(
    shared: &Shared,
    workers: &mut LocalWorkers,
    expected: usize,
    interrupts: &Interrupts,
) -> Result<(), RunError> {
    let mut live = shared.watch_workers();
    let deadline = tokio::time::Instant::now() + ATTACH_DEADLINE;
    let mut reap = tokio::time::interval(Duration::from_millis(50));
    loop {
        if *live.borrow_and_update() >= expected {
            return Ok(());
        }
        tokio::select! {
            _ = live.changed() => {}
            _ = reap.tick() => {
                if let Some(exited) = workers.reap_exited().await {
                    return Err(RunError::WorkerDied {
                        pid: exited.pid,
                        status: exited.status,
                        stderr_tail: exited.stderr_tail,
                    });
                }
            }
            _ = interrupts.drain.cancelled() => {
                return Err(RunError::AttachTimeout { attached: *live.borrow(), expected });
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(RunError::AttachTimeout { attached: *live.borrow(), expected });
            }
        }
    }
}

type RecorderThread = std::thread::JoinHandle<Recorder>;

/// Records on a thread of its own. When results.jsonl can no longer be written it drains the
/// run (`stop`) and keeps taking records, so every host still reaches the report.
fn spawn_recorder(
    mut recorder: Recorder,
    stop: CancellationToken,
) -> (std::sync::mpsc::Sender<HostRecord>, RecorderThread) {
    let (tx, rx) = std::sync::mpsc::channel::<HostRecord>();
    let thread = std::thread::spawn(move || {
        for record in rx {
            if recorder.record(record).is_err() {
                stop.cancel();
            }
        }
        recorder
    });
    (tx, thread)
}

/// 256 random bits, hex: the token local workers present.
pub(crate) fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
