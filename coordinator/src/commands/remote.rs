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
use crate::terminal_text::line;
use fanout_common::Secret;
use fanout_common::channel::Remote;
use fanout_common::inventory::Host;
use fanout_common::proto::jobs_client::JobsClient;
use fanout_common::proto::{
    JobEvent, JobRef, JobState, JobStatus, ListJobs, ListWorkers, SubmitJob, WatchJob, job_event,
};
use std::collections::{BTreeSet, HashSet};
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
/// After a second interrupt: how long the coordinator gets to confirm the job's cancellation
/// (and name its unfinished hosts) before the client leaves without it.
const CANCEL_WAIT: Duration = Duration::from_secs(2);

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

/// Submits the checked hosts and job, then (unless --detach) follows it to its end. An
/// interrupt before the job reached the coordinator ends the run there, every host listed as
/// never ran.
pub async fn submit(
    args: &RemoteArgs,
    hosts: &[Host],
    (settings, execution): (&JobSettings, &ExecutionArgs),
    (kind, detach): (&str, bool),
    recorder: Recorder,
    interrupts: Interrupts,
) -> Result<Submitted, CommandError> {
    let names = JobHosts::Named(hosts.iter().map(|h| h.name.clone()).collect());
    let not_submitted = |recorder: Recorder, names: &JobHosts| {
        eprintln!("fanout: interrupted before the job was submitted; no host was contacted");
        let outcome = finish("", recorder, names, None, Duration::ZERO, true);
        Ok(Submitted::Followed(outcome))
    };
    if interrupts.drain.is_cancelled() {
        return not_submitted(recorder, &names);
    }
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

/// The hosts of a followed job, as far as this client knows them.
pub enum JobHosts {
    /// Submitted from here: every name, so whatever ends the run each host can be listed.
    Named(Vec<String>),
    /// Followed with `fanout watch`: only how many; the names of the hosts without a result
    /// come with the job's final status.
    Counted(usize),
}

impl JobHosts {
    fn total(&self) -> usize {
        match self {
            JobHosts::Named(names) => names.len(),
            JobHosts::Counted(n) => *n,
        }
    }
}

/// Why following a job stopped.
enum Ending {
    /// The coordinator said the job is over.
    Over,
    /// A second interrupt: stop waiting at once.
    Aborted,
    /// The coordinator could not be reached (or forgot the job); why, for the user.
    Lost(String),
}

/// Records every result of the job as it arrives until the job is over. The first interrupt
/// cancels the job (hosts in flight are dropped; they are listed as unfinished), the second
/// stops following at once. A lost connection is retried: the coordinator may be restarting.
/// However it ends, every host of the job is in the outcome: with a result, or unfinished.
pub async fn follow(
    args: &RemoteArgs,
    client: Client,
    job_id: &str,
    hosts: JobHosts,
    mut recorder: Recorder,
    interrupts: Interrupts,
) -> Result<RunOutcome, CommandError> {
    let started = Instant::now();
    let mut follower = Follower {
        args,
        client,
        job_id,
        seen: 0,
        last: None,
        cancel_sent: false,
        attached: matches!(hosts, JobHosts::Named(_)),
    };
    let ending = follower.follow(&mut recorder, &interrupts).await?;
    let wall = started.elapsed();
    match &ending {
        Ending::Over => {}
        Ending::Aborted => {
            // The job must not go on running for a client that left: make sure the cancel
            // was asked for, and take the coordinator's list of unfinished hosts if it answers
            // at once.
            follower.cancel_briefly().await;
            eprintln!(
                "fanout: stopped waiting for job {job_id}; hosts without a result here are \
                 listed as never ran"
            );
        }
        Ending::Lost(why) => {
            let why = line(why);
            eprintln!(
                "fanout: {why}; hosts without a result here are listed as never ran (the job \
                 may still finish on the coordinator: `fanout watch {job_id}`)"
            );
        }
    }
    let interrupted = follower.cancel_sent || interrupts.drain.is_cancelled();
    Ok(finish(
        job_id,
        recorder,
        &hosts,
        follower.last,
        wall,
        interrupted,
    ))
}

/// The state of one client following one job across reconnections.
struct Follower<'a> {
    args: &'a RemoteArgs,
    client: Client,
    job_id: &'a str,
    /// Records received, so a new watch resumes after them.
    seen: u64,
    /// The latest status; the final one lists the hosts that never got a result.
    last: Option<JobStatus>,
    cancel_sent: bool,
    /// Whether the coordinator is known to have the job (submitted from here, or watched
    /// once): from then on a refusal ends the follow with a report instead of an error.
    attached: bool,
}

impl Follower<'_> {
    async fn follow(
        &mut self,
        recorder: &mut Recorder,
        interrupts: &Interrupts,
    ) -> Result<Ending, CommandError> {
        let progress = recorder.progress();
        let mut lost_since: Option<Instant> = None;
        loop {
            let request = WatchJob {
                job_id: self.job_id.to_string(),
                from_record: self.seen,
            };
            let stream = tokio::select! {
                stream = self.client.watch(request) => stream,
                _ = interrupts.abort.cancelled() => return Ok(Ending::Aborted),
            };
            let mut stream = match stream {
                Ok(stream) => stream.into_inner(),
                Err(status) if is_refusal(&status) => {
                    if !self.attached {
                        return Err(refused(status));
                    }
                    return Ok(Ending::Lost(format!(
                        "the coordinator refused to go on: {}",
                        status.message()
                    )));
                }
                Err(status) => {
                    if let Some(ending) = self.pause(&mut lost_since, &status, interrupts).await {
                        return Ok(ending);
                    }
                    self.client = reconnect(self.args, self.client.clone()).await;
                    continue;
                }
            };
            self.attached = true;
            lost_since = None;
            loop {
                let event = tokio::select! {
                    event = stream.message() => event,
                    _ = interrupts.drain.cancelled(), if !self.cancel_sent => {
                        self.send_cancel();
                        continue;
                    }
                    _ = interrupts.abort.cancelled() => return Ok(Ending::Aborted),
                };
                match event {
                    Ok(Some(JobEvent { body: Some(body) })) => match body {
                        job_event::Body::Record(record) => {
                            self.seen += 1;
                            recorder.record(HostRecord::from_job_record(record))?;
                        }
                        job_event::Body::Status(status) => {
                            progress.set_message(format!("{} in flight", status.in_flight));
                            let over = status.state() != JobState::Running;
                            self.last = Some(status);
                            if over {
                                return Ok(Ending::Over);
                            }
                        }
                    },
                    Ok(Some(JobEvent { body: None })) => {}
                    Ok(None) => {
                        // The coordinator is stopping: it will be back with the job.
                        let closed = tonic::Status::unavailable("the coordinator closed the watch");
                        if let Some(ending) = self.pause(&mut lost_since, &closed, interrupts).await
                        {
                            return Ok(ending);
                        }
                        break;
                    }
                    Err(status) => {
                        if let Some(ending) = self.pause(&mut lost_since, &status, interrupts).await
                        {
                            return Ok(ending);
                        }
                        self.client = reconnect(self.args, self.client.clone()).await;
                        break;
                    }
                }
            }
        }
    }

    /// Asks the coordinator to cancel the job, in the background: the watch stream brings
    /// the final status.
    fn send_cancel(&mut self) {
        self.cancel_sent = true;
        eprintln!(
            "fanout: cancelling job {} (interrupt again to stop waiting)",
            self.job_id
        );
        let mut canceller = self.client.clone();
        let id = self.job_id.to_string();
        tokio::spawn(async move {
            if let Err(e) = canceller.cancel(JobRef { job_id: id }).await {
                warn!(error = %e.message(), "cancel failed");
            }
        });
    }

    /// After a second interrupt: cancel the job and wait a moment for the coordinator's final
    /// status (its list of unfinished hosts), never longer than [`CANCEL_WAIT`].
    async fn cancel_briefly(&mut self) {
        if self
            .last
            .as_ref()
            .is_some_and(|s| s.state() != JobState::Running)
        {
            return;
        }
        self.cancel_sent = true;
        let request = JobRef {
            job_id: self.job_id.to_string(),
        };
        match tokio::time::timeout(CANCEL_WAIT, self.client.cancel(request)).await {
            Ok(Ok(status)) => {
                let status = status.into_inner();
                if status.state() != JobState::Running {
                    self.last = Some(status);
                }
            }
            Ok(Err(e)) => warn!(error = %e.message(), "cancel failed"),
            Err(_) => warn!("the coordinator did not confirm the cancel in time"),
        }
    }

    /// Waits before the next attempt to reach the coordinator; `Some` when following must
    /// end instead: interrupted, or the coordinator has been gone for [`RECONNECT_FOR`].
    async fn pause(
        &mut self,
        lost_since: &mut Option<Instant>,
        status: &tonic::Status,
        interrupts: &Interrupts,
    ) -> Option<Ending> {
        let since = *lost_since.get_or_insert_with(Instant::now);
        if since.elapsed() > RECONNECT_FOR {
            return Some(Ending::Lost(format!(
                "lost the coordinator for {}s: {}",
                RECONNECT_FOR.as_secs(),
                status.message()
            )));
        }
        warn!(error = %status.message(), "lost the coordinator; trying again");
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT_PAUSE) => None,
            // Nobody can be asked to cancel the job: stop waiting for it.
            _ = interrupts.drain.cancelled(), if !self.cancel_sent => {
                self.cancel_sent = true;
                Some(Ending::Lost(format!(
                    "interrupted while the coordinator is unreachable ({}), so job {} could \
                     not be cancelled",
                    status.message(),
                    self.job_id
                )))
            }
            _ = interrupts.abort.cancelled() => Some(Ending::Aborted),
        }
    }
}

/// A refusal that another attempt would not change.
fn is_refusal(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::NotFound | tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
    )
}

/// A fresh channel, or the old one (tonic reconnects channels lazily) if dialling fails now.
async fn reconnect(args: &RemoteArgs, old: Client) -> Client {
    connect(args).await.unwrap_or(old)
}

/// The outcome of a followed job: every host has a result or is listed as unfinished. The
/// coordinator's final status names its unfinished hosts; a job submitted from here is also
/// checked against its own host list, so an ending without that status (a second interrupt,
/// a lost coordinator) still accounts for every host.
fn finish(
    job_id: &str,
    recorder: Recorder,
    hosts: &JobHosts,
    last: Option<JobStatus>,
    wall: Duration,
    interrupted: bool,
) -> RunOutcome {
    let files_written = recorder.files_written();
    let records = recorder.into_records();
    let mut worker_pids: Vec<u32> = records.iter().map(|r| r.worker.pid).collect();
    worker_pids.sort_unstable();
    worker_pids.dedup();
    let recorded: HashSet<&str> = records.iter().map(|r| r.host.as_str()).collect();
    let last = last.unwrap_or_default();
    let mut unfinished: BTreeSet<String> = last
        .unfinished
        .into_iter()
        .filter(|h| !recorded.contains(h.as_str()))
        .collect();
    if let JobHosts::Named(names) = hosts {
        unfinished.extend(
            names
                .iter()
                .filter(|h| !recorded.contains(h.as_str()))
                .cloned(),
        );
    }
    let unlisted = hosts
        .total()
        .saturating_sub(recorded.len() + unfinished.len());
    RunOutcome {
        job_id: job_id.to_string(),
        records,
        wall,
        setup: Duration::ZERO,
        worker_usage: Vec::new(),
        unfinished: unfinished.into_iter().collect(),
        unlisted,
        reassigned: last.reassigned,
        worker_pids,
        workers_lost: 0,
        interrupted,
        files_written,
    }
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
    let recorder = Recorder::new(args.format, args.output.as_deref(), keep_outputs, progress)?;
    let hosts = JobHosts::Counted(status.hosts as usize);
    let outcome = follow(&args.remote, client, &args.job, hosts, recorder, interrupts).await?;
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
