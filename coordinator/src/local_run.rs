//! One job on this machine: a [`LocalCluster`] of N worker processes, every result recorded
//! as it arrives, then the cluster stopped and the outcome returned.

use crate::host_record::HostRecord;
use crate::interrupts::Interrupts;
use crate::job::JobSettings;
use crate::local_cluster::{ClusterConfig, ClusterError, LocalCluster, sleep_until};
use crate::process_usage::ProcessUsage;
use crate::recorder::{Recorder, RecorderError};
use fanout_common::inventory::Host;
use fanout_common::proto::JobSpec;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Results waiting for the recorder.
const RESULT_QUEUE: usize = 4096;

pub struct LocalRun {
    pub hosts: Vec<Host>,
    pub job: JobSettings,
    /// The workers that run it (sessions per worker, respawns during the run...).
    pub cluster: ClusterConfig,
    /// After a first interrupt: how long in-flight hosts may take to finish.
    pub drain_grace: Duration,
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
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Recorder(#[from] RecorderError),
}

pub async fn run_local(
    run: LocalRun,
    recorder: Recorder,
    interrupts: Interrupts,
) -> Result<RunOutcome, RunError> {
    let total = run.hosts.len();
    let mut cluster = LocalCluster::serve(run.cluster, run.job.max_output_bytes).await?;
    let shared = cluster.shared().clone();
    let (results_tx, mut results) = mpsc::channel(RESULT_QUEUE);
    let job_id = cluster.add_job(JobSpec::from(&run.job), &run.hosts, results_tx);

    let progress = recorder.progress();
    // Drained by the first interrupt, or by the recorder when results.jsonl cannot be written.
    let drain = interrupts.drain.child_token();
    let (recorder_tx, recorder_thread) = spawn_recorder(recorder, drain.clone());
    let setup = cluster.start_workers(&interrupts).await?;
    info!(job = %job_id, hosts = total, workers = ?cluster.worker_pids(), "job starting");
    let mut received = 0usize;
    let mut interrupted = false;
    // The job's clock starts when hosts are first handed out, so worker start-up is not
    // counted as device time (it is reported apart as `setup`).
    let started = Instant::now();
    shared.start(&job_id).await;

    let mut live = shared.watch_workers();
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
                if *live.borrow_and_update() == 0 && cluster.running() == 0 {
                    warn!("no worker left to run the remaining hosts");
                    break;
                }
            }
            _ = cluster.tick() => {
                progress.set_message(format!("{} in flight", shared.in_flight(&job_id)));
                // A draining job starts no new hosts, so it needs no replacement workers.
                cluster.check_workers(drain_deadline.is_none()).await?;
                if cluster.running() == 0 && *live.borrow() == 0 {
                    break;
                }
                if drain_deadline.is_some() && shared.in_flight(&job_id) == 0 {
                    break;
                }
            }
        }
    }
    let wall = started.elapsed();
    let worker_usage = cluster.worker_usage();
    let reassigned = shared.reassigned(&job_id);
    // The scheduler counts a host done before its record reaches `results`, so a loop that
    // ended on "nothing in flight" may leave records on their way: without them those hosts
    // would be neither recorded nor unfinished. Taking the job off the scheduler drops its
    // sink; the channel then ends once the last record handed over has arrived (as in
    // `fanout serve`), and every host is in exactly one of the two.
    let removed = shared.remove_job(&job_id).await;
    while let Some(record) = results.recv().await {
        if recorder_tx
            .send(HostRecord::from_job_record(record))
            .is_err()
        {
            break;
        }
    }
    // A worker stream blocked handing over a record the recorder no longer takes is released.
    drop(results);
    let unfinished = removed.unfinished;
    let worker_pids = cluster.worker_pids().to_vec();
    let workers_lost = cluster.workers_lost();
    cluster.shutdown("job finished").await;
    drop(recorder_tx);
    let recorder = recorder_thread.join().map_err(|_| RecorderError::Results {
        path: "results".into(),
        source: std::io::Error::other("the recorder thread panicked"),
    })?;
    let files_written = recorder.files_written();
    let results_error = recorder.stopped().map(str::to_string);
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
