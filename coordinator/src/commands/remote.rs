//! The client side of a long-lived coordinator: `run`/`validate --coordinator` submit the job
//! they checked locally and follow it to the same report and exit code as a local run;
//! `jobs`, `watch`, `cancel` and `workers` look at and steer what the coordinator does.

use super::follow::{JobHosts, finish, follow};
use super::{CommandError, progress_bar};
use crate::cli::{ExecutionArgs, JobIdArgs, RemoteArgs, RemoteOnlyArgs, WatchArgs};
use crate::interrupts::Interrupts;
use crate::job::JobSettings;
use crate::local_run::RunOutcome;
use crate::recorder::Recorder;
use crate::run_report;
use crate::terminal_text::line;
use fanout_common::Secret;
use fanout_common::channel::Remote;
use fanout_common::inventory::Host;
use fanout_common::proto::jobs_client::JobsClient;
use fanout_common::proto::{
    HostTarget, JobRef, JobSpec, JobState, JobStatus, ListJobs, ListWorkers, SubmitJob,
};
use fanout_common::wire::{Bearer, MAX_MESSAGE_BYTES};
use std::time::{Duration, UNIX_EPOCH};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

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
    Ok(JobsClient::with_interceptor(channel, Bearer::new(auth))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES))
}

pub(super) fn refused(status: tonic::Status) -> CommandError {
    CommandError::Input(format!("the coordinator refused: {}", status.message()))
}

/// A checked job to hand to a coordinator.
pub struct Submission<'a> {
    pub hosts: &'a [Host],
    pub settings: &'a JobSettings,
    pub execution: &'a ExecutionArgs,
    /// `run` or `validate`, as the coordinator lists it.
    pub kind: &'a str,
    /// Only submit; do not follow the job.
    pub detach: bool,
}

/// What a remote run came to: followed to the end, or only submitted.
pub enum Submitted {
    Followed(RunOutcome),
    Detached(String),
}

/// Submits the checked hosts and job, then (unless --detach) follows it to its end. An
/// interrupt before the job reached the coordinator ends the run there, every host listed as
/// never ran.
pub async fn submit(
    args: &RemoteArgs,
    job: Submission<'_>,
    recorder: Recorder,
    interrupts: Interrupts,
) -> Result<Submitted, CommandError> {
    let Submission {
        hosts,
        settings,
        execution,
        kind,
        detach,
    } = job;
    let names = JobHosts::Named(hosts.iter().map(|h| h.name.clone()).collect());
    let not_submitted = |recorder: Recorder, names: &JobHosts| {
        eprintln!("fanout: interrupted before the job was submitted; no host was contacted");
        let outcome = finish("", recorder, names, None, Duration::ZERO, true);
        Ok(Submitted::Followed(outcome))
    };
    if interrupts.drain.is_cancelled() {
        return not_submitted(recorder, &names);
    }
    let mut spec = JobSpec::from(settings);
    if execution.known_hosts.is_none() {
        // Our default path means nothing on the workers' machines: each uses its own default.
        spec.known_hosts.clear();
    }
    let request = SubmitJob {
        job: Some(spec),
        hosts: hosts.iter().map(HostTarget::from).collect(),
        kind: kind.to_string(),
        submitted_by: submitter(),
    };
    let submitted = async {
        let mut client = connect(args).await?;
        let status = client.submit(request).await.map_err(refused)?.into_inner();
        Ok::<_, CommandError>((client, status))
    };
    // A first interrupt lets the submission finish (the follow then cancels the job), so the
    // coordinator never runs a job nobody is told about; a second one stops at once.
    let (mut client, status) = tokio::select! {
        submitted = submitted => submitted?,
        _ = interrupts.abort.cancelled() => return not_submitted(recorder, &names),
    };
    eprintln!(
        "fanout: job {} submitted to {} ({} hosts)",
        line(&status.job_id),
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
        crate::outln!("{}", line(&status.job_id));
        return Ok(Submitted::Detached(status.job_id));
    }
    let outcome = follow(args, client, &status.job_id, names, recorder, interrupts).await?;
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
    // Ids, kinds and submitters are whatever clients sent the coordinator: shown, not obeyed.
    for job in &jobs {
        crate::outln!(
            "{:<36}  {:<9}  {:<8}  {:>6}  {:>6}  {:>6}  {:<19}  {}",
            line(&job.job_id),
            state_name(job.state()),
            line(&job.kind),
            job.hosts,
            job.done,
            job.failed,
            when(job.submitted_unix_ms),
            line(&job.submitted_by)
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
    let hosts = JobHosts::Counted(status.hosts as usize);
    let outcome = follow(&args.remote, client, &args.job, hosts, recorder, interrupts).await?;
    run_report::print(&outcome, args.format, args.output.as_deref());
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
        line(&status.job_id),
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
    // Worker ids, peers and labels are whatever the workers said: shown, not obeyed.
    for w in &workers {
        let mut labels: Vec<String> = w.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        crate::outln!(
            "{:<20}  {:<22}  {:>7}  {:>11}  {:>9}  {}",
            line(&w.worker_id),
            line(&w.peer),
            w.pid,
            w.concurrency,
            w.in_flight,
            line(&labels.join(","))
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
