//! The client side of a long-lived coordinator: `run`/`validate --coordinator` submit the job
//! they checked locally and follow it to the same report and exit code as a local run;
//! `jobs`, `watch`, `cancel` and `workers` look at and steer what the coordinator does.

use super::{CommandError, progress_bar};
use crate::cli::{ExecutionArgs, JobIdArgs, RemoteArgs, RemoteOnlyArgs, WatchArgs};
use crate::job::{self, JobSettings};
use crate::record::HostRecord;
use crate::recorder::Recorder;
use crate::report;
use crate::run::{Interrupts, RunOutcome};
use fanout_common::Secret;
use fanout_common::channel::Remote;
use fanout_common::inventory::Host;
use fanout_common::proto::jobs_client::JobsClient;
use fanout_common::proto::{
    JobEvent, JobRef, JobState, JobStatus, ListJobs, ListWorkers, SubmitJob, WatchJob, job_event,
};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tracing::warn;

/// How long a client keeps trying to reach a coordinator that went away mid-job (it may be
/// restarting; the job resumes from its state directory).
const RECONNECT_FOR: Duration = Duration::from_secs(120);
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Adds the token to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Client = JobsClient<InterceptedService<Channel, Bearer>>;

fn remote(args: &RemoteArgs) -> Result<Remote, CommandError> {
    let Some(url) = &args.coordinator else {
        return Err(CommandError::Input(
            "no coordinator: give --coordinator URL or set FANOUT_COORDINATOR".into(),
        ));
    };
    let token = args
        .access
        .token_file
        .as_deref()
        .map(super::read_token)
        .transpose()?;
    Ok(args.access.remote(url.clone(), token.map(Secret::new)))
}

pub async fn connect(args: &RemoteArgs) -> Result<Client, CommandError> {
    let remote = remote(args)?;
    let input = |e: fanout_common::channel::ChannelError| CommandError::Input(e.to_string());
    let auth = fanout_common::channel::authorization(&remote).map_err(input)?;
    let channel = fanout_common::channel::connect(&remote)
        .await
        .map_err(input)?;
    Ok(JobsClient::with_interceptor(channel, Bearer(auth))
        .max_decoding_message_size(crate::server::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(crate::server::MAX_MESSAGE_BYTES))
}

fn refused(status: tonic::Status) -> CommandError {
    CommandError::Input(format!("the coordinator refused: {}", status.message()))
}

/// What a remote run came to: followed to the end, or only submitted.
pub enum Submitted {
    Followed(RunOutcome),
    Detached(String),
}

/// Submits the checked hosts and job, then (unless --detach) follows it to its end.
pub async fn submit(
    args: &RemoteArgs,
    hosts: &[Host],
    (settings, execution): (&JobSettings, &ExecutionArgs),
    (kind, detach): (&str, bool),
    recorder: Recorder,
    interrupts: Interrupts,
) -> Result<Submitted, CommandError> {
    let mut client = connect(args).await?;
    let mut spec = settings.to_proto("", 1);
    if execution.known_hosts.is_none() {
        // Our default path means nothing on the workers' machines: each uses its own default.
        spec.known_hosts.clear();
    }
    let request = SubmitJob {
        job: Some(spec),
        hosts: hosts.iter().map(job::target).collect(),
        kind: kind.to_string(),
        submitted_by: submitter(),
    };
    let status = client.submit(request).await.map_err(refused)?.into_inner();
    eprintln!(
        "fanout: job {} submitted to {} ({} hosts)",
        status.job_id,
        args.coordinator.as_deref().unwrap_or_default(),
        status.hosts
    );
    let attached = client
        .workers(ListWorkers {})
        .await
        .map(|w| w.into_inner().workers.len());
    if attached.is_ok_and(|n| n == 0) {
        eprintln!("fanout: no worker is attached to the coordinator yet; the job waits for one");
    }
    if detach {
        crate::outln!("{}", status.job_id);
        return Ok(Submitted::Detached(status.job_id));
    }
    let outcome = follow(args, client, &status.job_id, recorder, interrupts).await?;
    Ok(Submitted::Followed(outcome))
}

/// `user@host`, for listings.
fn submitter() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!("{user}@{host}")
}

/// Records every result of the job as it arrives until the job is over. The first interrupt
/// cancels the job (hosts in flight are dropped; they are listed as unfinished), the second
/// stops following at once. A lost connection is retried: the coordinator may be restarting.
pub async fn follow(
    args: &RemoteArgs,
    mut client: Client,
    job_id: &str,
    mut recorder: Recorder,
    interrupts: Interrupts,
) -> Result<RunOutcome, CommandError> {
    let started = Instant::now();
    let progress = recorder.progress();
    let mut seen: u64 = 0;
    let mut last: Option<JobStatus> = None;
    let mut cancel_sent = false;
    let mut lost_since: Option<Instant> = None;
    'watch: loop {
        let stream = client
            .watch(WatchJob {
                job_id: job_id.to_string(),
                from_record: seen,
            })
            .await;
        let mut stream = match stream {
            Ok(stream) => stream.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => return Err(refused(status)),
            Err(status) if status.code() == tonic::Code::Unauthenticated => {
                return Err(refused(status));
            }
            Err(status) => {
                wait_to_reconnect(&mut lost_since, &status, &interrupts).await?;
                client = reconnect(args, client).await;
                continue;
            }
        };
        lost_since = None;
        loop {
            let event = tokio::select! {
                event = stream.message() => event,
                _ = interrupts.drain.cancelled(), if !cancel_sent => {
                    cancel_sent = true;
                    eprintln!("fanout: cancelling job {job_id} (interrupt again to stop waiting)");
                    let mut canceller = client.clone();
                    let id = job_id.to_string();
                    tokio::spawn(async move {
                        if let Err(e) = canceller.cancel(JobRef { job_id: id }).await {
                            warn!(error = %e.message(), "cancel failed");
                        }
                    });
                    continue;
                }
                _ = interrupts.abort.cancelled() => break 'watch,
            };
            match event {
                Ok(Some(JobEvent { body: Some(body) })) => match body {
                    job_event::Body::Record(record) => {
                        seen += 1;
                        if recorder
                            .record(HostRecord::from_job_record(record))
                            .is_err()
                        {
                            // results.jsonl cannot be written: cancel the job as a first
                            // Ctrl-C would; the report still accounts for every host.
                            interrupts.drain.cancel();
                        }
                    }
                    job_event::Body::Status(status) => {
                        progress.set_message(format!("{} in flight", status.in_flight));
                        let over = status.state() != JobState::Running;
                        last = Some(status);
                        if over {
                            break 'watch;
                        }
                    }
                },
                Ok(Some(JobEvent { body: None })) => {}
                Ok(None) => {
                    // The coordinator is stopping: it will be back with the job.
                    let closed = tonic::Status::unavailable("the coordinator closed the watch");
                    wait_to_reconnect(&mut lost_since, &closed, &interrupts).await?;
                    continue 'watch;
                }
                Err(status) => {
                    wait_to_reconnect(&mut lost_since, &status, &interrupts).await?;
                    client = reconnect(args, client).await;
                    continue 'watch;
                }
            }
        }
    }
    let wall = started.elapsed();
    let interrupted = cancel_sent || interrupts.abort.is_cancelled();
    finish(job_id, recorder, last, wall, interrupted)
}

async fn wait_to_reconnect(
    lost_since: &mut Option<Instant>,
    status: &tonic::Status,
    interrupts: &Interrupts,
) -> Result<(), CommandError> {
    let since = *lost_since.get_or_insert_with(Instant::now);
    if since.elapsed() > RECONNECT_FOR {
        return Err(CommandError::Internal(format!(
            "lost the coordinator for {}s: {}",
            RECONNECT_FOR.as_secs(),
            status.message()
        )));
    }
    warn!(error = %status.message(), "lost the coordinator; trying again");
    tokio::select! {
        _ = tokio::time::sleep(RECONNECT_PAUSE) => Ok(()),
        _ = interrupts.abort.cancelled() => Err(CommandError::Internal("interrupted".into())),
    }
}

/// A fresh channel, or the old one (tonic reconnects channels lazily) if dialling fails now.
async fn reconnect(args: &RemoteArgs, old: Client) -> Client {
    connect(args).await.unwrap_or(old)
}

fn finish(
    job_id: &str,
    recorder: Recorder,
    last: Option<JobStatus>,
    wall: Duration,
    interrupted: bool,
) -> Result<RunOutcome, CommandError> {
    let files_written = recorder.files_written();
    let results_error = recorder.stopped().map(str::to_string);
    let records = recorder.into_records();
    let mut worker_pids: Vec<u32> = records.iter().map(|r| r.worker.pid).collect();
    worker_pids.sort_unstable();
    worker_pids.dedup();
    let last = last.unwrap_or_default();
    let mut unfinished = last.unfinished;
    unfinished.sort();
    Ok(RunOutcome {
        job_id: job_id.to_string(),
        records,
        wall,
        setup: Duration::ZERO,
        worker_usage: Vec::new(),
        unfinished,
        reassigned: last.reassigned,
        worker_pids,
        workers_lost: 0,
        interrupted,
        files_written,
        results_error,
    })
}

pub async fn jobs(args: RemoteOnlyArgs) -> Result<u8, CommandError> {
    let mut client = connect(&args.remote).await?;
    let jobs = client
        .list(ListJobs {})
        .await
        .map_err(refused)?
        .into_inner()
        .jobs;
    if args.json {
        let rows: Vec<serde_json::Value> = jobs.iter().map(status_json).collect();
        crate::outln!("{}", serde_json::Value::Array(rows));
        return Ok(0);
    }
    crate::outln!(
        "{:<36}  {:<9}  {:<8}  {:>6}  {:>6}  {:>6}  {:<19}  {}",
        "JOB",
        "STATE",
        "KIND",
        "HOSTS",
        "DONE",
        "FAILED",
        "SUBMITTED",
        "BY"
    );
    for job in &jobs {
        crate::outln!(
            "{:<36}  {:<9}  {:<8}  {:>6}  {:>6}  {:>6}  {:<19}  {}",
            job.job_id,
            state_name(job.state()),
            job.kind,
            job.hosts,
            job.done,
            job.failed,
            when(job.submitted_unix_ms),
            job.submitted_by
        );
    }
    Ok(0)
}

pub async fn watch(args: WatchArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let mut client = connect(&args.remote).await?;
    let status = client
        .get(JobRef {
            job_id: args.job.clone(),
        })
        .await
        .map_err(refused)?
        .into_inner();
    let progress = progress_bar(status.hosts as usize);
    let keep_outputs = args.format == crate::recorder::Format::Human && args.output.is_none();
    let output = args.output.as_deref();
    let recorder = Recorder::new(args.format, output, args.overwrite, keep_outputs, progress)?;
    let outcome = follow(&args.remote, client, &args.job, recorder, interrupts).await?;
    report::print(&outcome, args.format, args.output.as_deref());
    Ok(outcome.exit_code())
}

pub async fn cancel(args: JobIdArgs) -> Result<u8, CommandError> {
    let mut client = connect(&args.remote).await?;
    let status = client
        .cancel(JobRef { job_id: args.job })
        .await
        .map_err(refused)?
        .into_inner();
    crate::outln!(
        "job {} {}: {} of {} hosts done, {} unfinished",
        status.job_id,
        state_name(status.state()),
        status.done,
        status.hosts,
        status.unfinished.len()
    );
    Ok(0)
}

pub async fn workers(args: RemoteOnlyArgs) -> Result<u8, CommandError> {
    let mut client = connect(&args.remote).await?;
    let workers = client
        .workers(ListWorkers {})
        .await
        .map_err(refused)?
        .into_inner()
        .workers;
    if args.json {
        let rows: Vec<serde_json::Value> = workers
            .iter()
            .map(|w| {
                serde_json::json!({
                    "worker_id": w.worker_id, "hostname": w.hostname, "pid": w.pid,
                    "peer": w.peer, "labels": w.labels, "concurrency": w.concurrency,
                    "in_flight": w.in_flight, "attached": when(w.attached_unix_ms),
                })
            })
            .collect();
        crate::outln!("{}", serde_json::Value::Array(rows));
        return Ok(0);
    }
    crate::outln!(
        "{:<20}  {:<22}  {:>7}  {:>11}  {:>9}  {}",
        "WORKER",
        "PEER",
        "PID",
        "CONCURRENCY",
        "IN FLIGHT",
        "LABELS"
    );
    for w in &workers {
        let mut labels: Vec<String> = w.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        crate::outln!(
            "{:<20}  {:<22}  {:>7}  {:>11}  {:>9}  {}",
            w.worker_id,
            w.peer,
            w.pid,
            w.concurrency,
            w.in_flight,
            labels.join(",")
        );
    }
    Ok(0)
}

fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Running => "running",
        JobState::Finished => "finished",
        JobState::Cancelled => "cancelled",
    }
}

fn status_json(job: &JobStatus) -> serde_json::Value {
    serde_json::json!({
        "job_id": job.job_id,
        "state": state_name(job.state()),
        "kind": job.kind,
        "hosts": job.hosts,
        "done": job.done,
        "failed": job.failed,
        "in_flight": job.in_flight,
        "reassigned": job.reassigned,
        "unfinished": job.unfinished,
        "submitted": when(job.submitted_unix_ms),
        "finished": (job.finished_unix_ms > 0).then(|| when(job.finished_unix_ms)),
        "submitted_by": job.submitted_by,
        "commands": job.commands,
    })
}

/// UTC time to the second, as in logs.
fn when(unix_ms: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(unix_ms);
    humantime::format_rfc3339_seconds(at).to_string()
}
