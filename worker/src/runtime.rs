//! The worker's side of the attach stream: say hello, offer credit, run every assigned host under
//! the concurrency bound, and send each host's output (in chunks) and result the moment it is done.

use crate::WorkerConfig;
use crate::attempts::{JobParts, collect_with_retries};
use crate::backoff::Backoff;
use crate::http::HttpRunner;
use crate::pacer::Pacer;
use crate::session::{
    DeviceProfile, DeviceTarget, HostOutcome, KeyAuth, SessionFailure, SessionOptions,
    SshAlgorithms,
};
use crate::validate::Validator;
use fanout_common::channel::{self, ChannelError, Remote};
use fanout_common::proto::{
    self, CommandStatus, CoordinatorMessage, Credit, Failure, Heartbeat, HostResult, OutputChunk,
    RuleVerdict, WorkerHello, WorkerMessage, coordinator_client::CoordinatorClient,
    coordinator_message, worker_message,
};
use fanout_common::{FailureKind, Secret};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

/// Outputs go to the coordinator in pieces of this size, well under any gRPC message limit.
const CHUNK_BYTES: usize = 256 * 1024;
/// How often an idle worker tells the coordinator it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Messages waiting to go to the coordinator; senders wait when it is full, which slows the
/// sessions down instead of buffering without bound.
const OUTBOUND_QUEUE: usize = 1024;
/// Largest message either side accepts (an assignment of 10,000 hosts is about 1 MiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The coordinator could not be reached, its certificate was not accepted, or the URL or
    /// credentials are unusable.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The coordinator refused the attach (bad token, incompatible version).
    #[error(
        "coordinator refused this worker ({}): {}{}",
        .0.code(),
        .0.message(),
        refusal_hint(.0)
    )]
    Refused(tonic::Status),
    /// The stream broke before the coordinator said goodbye.
    #[error("lost the coordinator: {0}")]
    Lost(String),
    /// The threads for device sessions could not be started.
    #[error("cannot start the session threads: {0}")]
    Threads(std::io::Error),
}

/// What to check when the coordinator did not accept our credentials.
fn refusal_hint(status: &tonic::Status) -> &'static str {
    match status.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
            " (workers present the coordinator's worker token, `worker-token` from `fanout \
             certs`, not the clients' token)"
        }
        _ => "",
    }
}

impl WorkerError {
    /// Whether attaching again could help: a coordinator that is down or restarting, a cut
    /// link. A refusal, a rejected certificate or unusable settings need a person.
    pub fn is_transient(&self) -> bool {
        match self {
            WorkerError::Lost(_) => true,
            WorkerError::Channel(ChannelError::Connect { certificate, .. }) => !certificate,
            WorkerError::Channel(_) | WorkerError::Refused(_) | WorkerError::Threads(_) => false,
        }
    }
}

/// Attaches to the coordinator and works until it says to shut down or `shutdown` is cancelled
/// (then running hosts are abandoned: the coordinator re-leases them). When the stream breaks or
/// the coordinator cannot be reached, attaches again after a backoff, unless `config.reconnect`
/// is off; a refusal ends the worker at once.
pub async fn run(config: WorkerConfig, shutdown: CancellationToken) -> Result<(), WorkerError> {
    // Device sessions run on threads of their own. A burst of key exchanges can keep those
    // threads busy for seconds; on the caller's runtime it would also delay the heartbeats
    // and results, and the coordinator would take a busy worker for a dead one.
    let session_runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("fanout-session")
        .enable_all()
        .build()
        .map_err(WorkerError::Threads)?;
    let mut backoff = reconnect_backoff();
    let outcome = loop {
        // Each attach has its own token: when its stream breaks, its sessions stop, and none of
        // their results can reach a later stream (the coordinator has re-leased those hosts).
        let attach = shutdown.child_token();
        let mut welcomed = false;
        let ended = attach_once(
            &config,
            &attach,
            session_runtime.handle(),
            backoff.pauses() + 1,
            &mut welcomed,
        )
        .await;
        attach.cancel();
        let error = match ended {
            Ok(()) => break Ok(()),
            Err(e) if !config.reconnect || !e.is_transient() => break Err(e),
            Err(e) => e,
        };
        if welcomed {
            backoff.reset();
        }
        let delay = backoff.next_pause();
        let attempt = backoff.pauses();
        warn!(
            coordinator = %config.remote.url,
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "coordinator unavailable; attaching again after a pause"
        );
        tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    };
    // Every task has finished; dropping a runtime inside another one is not allowed.
    session_runtime.shutdown_background();
    outcome
}

/// One attach: connect, say hello, offer full credit, and serve assignments until the stream
/// ends. `Ok` means stop for good (the coordinator said so, or `attach` was cancelled from
/// outside); sets `welcomed` once the coordinator accepted us.
async fn attach_once(
    config: &WorkerConfig,
    attach: &CancellationToken,
    runtime: &tokio::runtime::Handle,
    attempt: u32,
    welcomed: &mut bool,
) -> Result<(), WorkerError> {
    let auth = channel::authorization(&config.remote)?;
    let channel = tokio::select! {
        _ = attach.cancelled() => return Ok(()),
        channel = channel::connect(&config.remote) => channel?,
    };
    let mut client =
        CoordinatorClient::with_interceptor(channel, move |mut req: tonic::Request<()>| {
            if let Some(value) = &auth {
                req.metadata_mut().insert("authorization", value.clone());
            }
            Ok(req)
        })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);

    let (outbound, outbound_rx) = mpsc::channel(OUTBOUND_QUEUE);
    // Queued before the call so the coordinator sees who we are in the stream's first message.
    send(&outbound, hello(config)).await;
    send(
        &outbound,
        worker_message::Body::Credit(Credit {
            hosts: config.concurrency,
        }),
    )
    .await;
    let attached = tokio::select! {
        _ = attach.cancelled() => return Ok(()),
        attached = client.attach(ReceiverStream::new(outbound_rx)) => attached,
    };
    let mut inbound = attached
        .map_err(|status| attach_failed(&config.remote, status))?
        .into_inner();
    info!(worker = %config.worker_id, coordinator = %config.remote.url, attempt, "attached");

    let sessions = Arc::new(Semaphore::new(config.concurrency as usize));
    let tasks = TaskTracker::new();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    let mut contexts = JobContexts::default();
    let outcome = loop {
        tokio::select! {
            _ = attach.cancelled() => break Ok(()),
            _ = heartbeat.tick() => {
                let in_flight = config.concurrency - sessions.available_permits() as u32;
                // Never waits: with the queue full the coordinator is hearing from us anyway,
                // and this loop must stay free to notice a broken stream.
                let beat = worker_message::Body::Heartbeat(Heartbeat { in_flight });
                let _ = outbound.try_send(WorkerMessage { body: Some(beat) });
            }
            message = inbound.next() => match message {
                None => break Err(WorkerError::Lost("the coordinator closed the stream".into())),
                Some(Err(status)) => break Err(WorkerError::Lost(channel::error_chain(&status))),
                Some(Ok(CoordinatorMessage { body })) => match body {
                    Some(coordinator_message::Body::Assignment(assignment)) => {
                        let sessions = SessionSpawner { limit: &sessions, tasks: &tasks, runtime };
                        start_assignment(&mut contexts, assignment, &sessions, &outbound, attach);
                    }
                    Some(coordinator_message::Body::Welcome(welcome)) => {
                        *welcomed = true;
                        info!(coordinator_version = %welcome.coordinator_version, "welcomed");
                    }
                    Some(coordinator_message::Body::Cancel(cancel)) => contexts.cancel(&cancel.job_id),
                    Some(coordinator_message::Body::Shutdown(bye)) => {
                        info!(reason = %bye.reason, "coordinator asked us to stop");
                        break Ok(());
                    }
                    None => {}
                },
            },
        }
    };
    // Whatever ended this attach, none of its sessions outlives it.
    attach.cancel();
    tasks.close();
    tasks.wait().await;
    outcome
}

/// Sorts a failed attach call: a refusal is final, a certificate the coordinator rejected
/// (mTLS) needs new settings, anything else (coordinator restarting, link down) may pass.
fn attach_failed(remote: &Remote, status: tonic::Status) -> WorkerError {
    use tonic::Code;
    match status.code() {
        Code::Unauthenticated
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::InvalidArgument => WorkerError::Refused(status),
        _ if channel::is_certificate_problem(&status) => {
            WorkerError::Channel(ChannelError::Connect {
                url: remote.url.clone(),
                message: channel::error_chain(&status),
                certificate: true,
            })
        }
        // With TLS 1.3 the client's handshake is over before the server checks the client's
        // certificate, so a coordinator that requires one just closes the connection on the
        // first call; rustls' reason stays inside hyper. Say what is most likely missing.
        _ if remote.is_tls() && remote.client_cert.is_none() => WorkerError::Lost(format!(
            "{} (if the coordinator requires client certificates, give --client-cert and \
             --client-key)",
            channel::error_chain(&status)
        )),
        _ => WorkerError::Lost(channel::error_chain(&status)),
    }
}

/// Pauses between attach attempts: 0.5 s doubling to 30 s, each ±20 % so a fleet that lost
/// its coordinator together does not come back in one burst.
fn reconnect_backoff() -> Backoff {
    Backoff::new(RECONNECT_FIRST, RECONNECT_FIRST.mul_f64(0.8), RECONNECT_MAX).with_jitter(0.8, 1.2)
}

const RECONNECT_FIRST: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// Where and under which bound host sessions run.
struct SessionSpawner<'a> {
    /// One permit per session this worker may hold at once.
    limit: &'a Arc<Semaphore>,
    tasks: &'a TaskTracker,
    runtime: &'a tokio::runtime::Handle,
}

fn hello(config: &WorkerConfig) -> worker_message::Body {
    worker_message::Body::Hello(WorkerHello {
        worker_id: config.worker_id.clone(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        concurrency: config.concurrency,
        labels: config.labels.clone().into_iter().collect(),
        hostname: std::env::var("HOSTNAME").unwrap_or_default(),
    })
}

/// A failed send means the coordinator is gone; the main loop notices that on its own.
async fn send(outbound: &mpsc::Sender<WorkerMessage>, body: worker_message::Body) -> bool {
    outbound
        .send(WorkerMessage { body: Some(body) })
        .await
        .is_ok()
}

/// What every host of a job shares in this worker, built on the job's first assignment.
struct JobContext {
    /// Cancelled when the coordinator cancels the job or this attach ends (a child of the
    /// attach's token).
    cancel: CancellationToken,
    options: SessionOptions,
    /// The worker's share of the job's connection rate.
    pacer: Arc<Pacer>,
    /// Validation jobs only; an error fails every host of the job as `internal`.
    validator: Option<Result<Validator, String>>,
    /// Jobs with HTTP steps only: one client for all the job's hosts in this worker, so
    /// connections are pooled. An error (a CA file that does not parse) fails every host as
    /// `internal`.
    http: Option<Result<HttpRunner, String>>,
    /// The job's platform profiles, compiled once; a profile that does not parse fails its
    /// hosts as `internal` with the reason.
    profiles: HashMap<String, Result<Arc<DeviceProfile>, String>>,
}

impl JobContext {
    /// What the attempts at one of the job's hosts need.
    fn parts<'a>(&'a self, job: &'a proto::JobSpec) -> JobParts<'a> {
        JobParts {
            job,
            options: &self.options,
            pacer: &self.pacer,
            http: self.http.as_ref(),
        }
    }
}

/// Contexts of the jobs this worker has seen, by job id.
#[derive(Default)]
struct JobContexts {
    by_job: std::collections::HashMap<String, Arc<JobContext>>,
}

/// Contexts kept for jobs that may still send assignments; a long-lived worker forgets older ones.
const JOB_CONTEXTS_KEPT: usize = 32;

impl JobContexts {
    fn for_job(&mut self, job: &proto::JobSpec, attach: &CancellationToken) -> Arc<JobContext> {
        if !self.by_job.contains_key(&job.job_id) && self.by_job.len() >= JOB_CONTEXTS_KEPT {
            // Every running host holds its job's context: only idle ones go, so a CancelJob
            // still finds every job with work in progress.
            self.by_job
                .retain(|_, context| Arc::strong_count(context) > 1);
        }
        self.by_job
            .entry(job.job_id.clone())
            .or_insert_with(|| {
                let options = session_options(job);
                let http = job
                    .http
                    .as_ref()
                    .filter(|http| !http.steps.is_empty())
                    .map(|http| HttpRunner::new(http, &options));
                Arc::new(JobContext {
                    cancel: attach.child_token(),
                    http,
                    options,
                    pacer: Arc::new(Pacer::new(job.connect_rate)),
                    validator: job.validation.as_ref().map(Validator::from_proto),
                    profiles: job
                        .platform_profiles
                        .iter()
                        .map(|(name, yaml)| {
                            let profile = DeviceProfile::from_yaml(name, yaml).map(Arc::new);
                            (name.clone(), profile)
                        })
                        .collect(),
                })
            })
            .clone()
    }

    /// Stops the job's sessions (each gives its credit back) and forgets the job.
    fn cancel(&mut self, job_id: &str) {
        match self.by_job.remove(job_id) {
            Some(context) => {
                info!(job = %job_id, "job cancelled by the coordinator");
                context.cancel.cancel();
            }
            None => debug!(job = %job_id, "cancel for a job with no work here"),
        }
    }
}

fn start_assignment(
    contexts: &mut JobContexts,
    assignment: proto::Assignment,
    spawner: &SessionSpawner<'_>,
    outbound: &mpsc::Sender<WorkerMessage>,
    attach: &CancellationToken,
) {
    let Some(job) = assignment.job else {
        warn!("assignment without a job spec ignored");
        return;
    };
    let context = contexts.for_job(&job, attach);
    if let Some(spec) = job.monitor.clone() {
        let lease = (assignment.lease_epoch, assignment.hosts);
        start_monitoring(&job, spec, lease, &context, spawner, outbound, attach);
        return;
    }
    let job = Arc::new(job);
    debug!(job = %job.job_id, hosts = assignment.hosts.len(), epoch = assignment.lease_epoch, "assignment");
    for host in assignment.hosts {
        let (job, context, sessions) = (job.clone(), context.clone(), spawner.limit.clone());
        let (outbound, attach) = (outbound.clone(), attach.clone());
        let epoch = assignment.lease_epoch;
        let mut host = host;
        let session = async move {
            let name = host.name.clone();
            let work = async {
                // The coordinator never leases more than our credit, so this wait is only a guard.
                let _permit = sessions.acquire_owned().await.ok()?;
                let started = SystemTime::now();
                let clock = Instant::now();
                let facts = std::mem::take(&mut host.facts_json);
                let target = device_target(host, &context.profiles);
                let (outcome, attempts) =
                    collect_with_retries(&target, &facts, &context.parts(&job)).await;
                let (outcome, verdicts) = validate(&context, facts, target.platform, outcome).await;
                let timing = (started, clock.elapsed(), attempts);
                report(
                    &outbound,
                    &job.job_id,
                    epoch,
                    &name,
                    timing,
                    (outcome, verdicts),
                )
                .await;
                send(&outbound, worker_message::Body::Credit(Credit { hosts: 1 })).await;
                Some(())
            };
            // Reporting is cancellable too: a send waiting on a dead stream's full queue must
            // not keep this attach from ending.
            tokio::select! {
                _ = context.cancel.cancelled() => {
                    give_back_if_job_cancelled(&outbound, &attach).await;
                }
                _ = work => {}
            }
        };
        spawner.tasks.spawn_on(session, spawner.runtime);
    }
}

/// A host stopped because its job was cancelled sends no result, but its credit goes back so
/// the coordinator's count of what we can take stays right. When the whole attach ended there
/// is nobody to tell: the next attach offers full credit.
async fn give_back_if_job_cancelled(
    outbound: &mpsc::Sender<WorkerMessage>,
    attach: &CancellationToken,
) {
    if !attach.is_cancelled() {
        send(outbound, worker_message::Body::Credit(Credit { hosts: 1 })).await;
    }
}

/// Starts one poll loop per host of a monitor job. They hold no session permit: a monitored host
/// is held for the job's whole life, and the coordinator never leases more than our credit.
fn start_monitoring(
    job: &proto::JobSpec,
    spec: proto::MonitorSpec,
    (lease_epoch, hosts): (u64, Vec<proto::HostTarget>),
    context: &Arc<JobContext>,
    spawner: &SessionSpawner<'_>,
    outbound: &mpsc::Sender<WorkerMessage>,
    attach: &CancellationToken,
) {
    let spec = Arc::new(spec);
    debug!(job = %job.job_id, hosts = hosts.len(), epoch = lease_epoch, "monitor assignment");
    for mut host in hosts {
        host.facts_json.clear();
        let poller = crate::monitor::HostPoller {
            target: device_target(host, &context.profiles),
            job_id: job.job_id.clone(),
            lease_epoch,
            spec: spec.clone(),
            options: context.options.clone(),
            pacer: context.pacer.clone(),
            outbound: outbound.clone(),
        };
        let (context, outbound, attach) = (context.clone(), outbound.clone(), attach.clone());
        let polling = async move {
            poller.run(context.cancel.clone()).await;
            if context.cancel.is_cancelled() {
                give_back_if_job_cancelled(&outbound, &attach).await;
            }
        };
        spawner.tasks.spawn_on(polling, spawner.runtime);
    }
}

fn session_options(job: &proto::JobSpec) -> SessionOptions {
    let known_hosts = if job.known_hosts.is_empty() {
        fanout_common::paths::default_known_hosts()
    } else {
        job.known_hosts.clone().into()
    };
    SessionOptions {
        connect_timeout: Duration::from_millis(job.connect_timeout_ms),
        command_timeout: Duration::from_millis(job.command_timeout_ms),
        host_timeout: Duration::from_millis(job.host_timeout_ms),
        host_key_policy: job.host_key_policy(),
        known_hosts,
        max_output_bytes: job.max_output_bytes,
        session_log: job.session_log,
    }
}

/// The session's view of a host. A profile the job sent that does not parse (a coordinator of
/// another version) falls back to the built-in profile of that name, with a warning.
fn device_target(
    host: proto::HostTarget,
    profiles: &HashMap<String, Result<Arc<DeviceProfile>, String>>,
) -> DeviceTarget {
    let profile = match profiles.get(&host.platform) {
        Some(Ok(profile)) => Some(profile.clone()),
        Some(Err(e)) => {
            warn!(host = %host.name, error = %e, "platform profile unusable; using the built-in");
            None
        }
        None => None,
    };
    let jump_host = (!host.jump_host.is_empty()).then_some(host.jump_host);
    DeviceTarget {
        name: host.name,
        hostname: host.hostname,
        port: u16::try_from(host.port).unwrap_or(22),
        username: host.username,
        password: Secret::new(host.password),
        secret: Secret::new(host.secret),
        platform: host.platform,
        profile,
        keys: KeyAuth {
            private_key: Secret::new(host.ssh_key),
            key_path: host.ssh_key_path,
            passphrase: Secret::new(host.ssh_key_passphrase),
            agent: host.ssh_agent,
        },
        algorithms: SshAlgorithms {
            kex: host.ssh_kex,
            ciphers: host.ssh_ciphers,
            host_key: host.ssh_host_key_algorithms,
        },
        jump_host,
    }
}

/// For a validation job whose host ran every command: the rules' verdicts, computed off the
/// async threads (TextFSM over a large output can take milliseconds).
async fn validate(
    context: &Arc<JobContext>,
    facts: String,
    platform: String,
    mut outcome: HostOutcome,
) -> (HostOutcome, Vec<RuleVerdict>) {
    let validator = match &context.validator {
        None => return (outcome, Vec::new()),
        Some(Err(e)) => {
            outcome.failure = Some(SessionFailure {
                kind: FailureKind::Internal,
                message: format!("cannot evaluate the rules: {e}"),
            });
            return (outcome, Vec::new());
        }
        Some(Ok(_)) if outcome.failure.is_some() => return (outcome, Vec::new()),
        Some(Ok(_)) => context.clone(),
    };
    let evaluated = tokio::task::spawn_blocking(move || {
        let facts = serde_json::from_str(&facts).unwrap_or(serde_json::Value::Null);
        let Some(Ok(rules)) = &validator.validator else {
            return (outcome, Vec::new());
        };
        let verdicts = rules.verdicts(&facts, &platform, &outcome.outputs);
        (outcome, verdicts)
    })
    .await;
    evaluated.unwrap_or_else(|e| {
        let failure = SessionFailure {
            kind: FailureKind::Internal,
            message: format!("rule evaluation crashed: {e}"),
        };
        let outcome = HostOutcome {
            failure: Some(failure),
            ..Default::default()
        };
        (outcome, Vec::new())
    })
}

/// Sends the host's outputs as ordered chunks, then its result.
async fn report(
    outbound: &mpsc::Sender<WorkerMessage>,
    job_id: &str,
    lease_epoch: u64,
    host: &str,
    (started, elapsed, attempts): (SystemTime, Duration, u32),
    (outcome, verdicts): (HostOutcome, Vec<RuleVerdict>),
) {
    let mut commands = Vec::with_capacity(outcome.outputs.len());
    for (index, output) in outcome.outputs.into_iter().enumerate() {
        for piece in output.output.chunks(CHUNK_BYTES) {
            let chunk = OutputChunk {
                job_id: job_id.to_string(),
                lease_epoch,
                host: host.to_string(),
                command_index: index as u32,
                data: piece.to_vec(),
                transcript: false,
            };
            if !send(outbound, worker_message::Body::Chunk(chunk)).await {
                return;
            }
        }
        commands.push(CommandStatus {
            rejected: output.rejected(),
            command: output.command,
            output_bytes: output.output.len() as u64,
            duration_ms: output.duration.as_millis() as u64,
        });
    }
    for piece in outcome
        .transcript
        .iter()
        .flat_map(|t| t.chunks(CHUNK_BYTES))
    {
        let chunk = OutputChunk {
            job_id: job_id.to_string(),
            lease_epoch,
            host: host.to_string(),
            command_index: 0,
            data: piece.to_vec(),
            transcript: true,
        };
        if !send(outbound, worker_message::Body::Chunk(chunk)).await {
            return;
        }
    }
    let failure = outcome.failure.map(|f| Failure {
        kind: f.kind.to_proto() as i32,
        retryable: f.kind.retryable(),
        message: f.message,
    });
    if let Some(f) = &failure {
        let kind = FailureKind::from_proto(f.kind()).map_or("unknown", FailureKind::as_str);
        debug!(host, kind, "host failed");
    }
    let result = HostResult {
        job_id: job_id.to_string(),
        lease_epoch,
        host: host.to_string(),
        ok: failure.is_none(),
        failure,
        commands,
        started_unix_ms: started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        duration_ms: elapsed.as_millis() as u64,
        attempts,
        rules: verdicts,
    };
    send(outbound, worker_message::Body::Result(result)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_pauses_double_from_half_a_second_to_thirty_and_start_over_when_welcomed() {
        let within = |d: Duration, nominal_ms: u64| {
            let nominal = Duration::from_millis(nominal_ms);
            d >= nominal.mul_f64(0.8) && d <= nominal.mul_f64(1.2)
        };
        for _ in 0..50 {
            let mut backoff = reconnect_backoff();
            for (n, nominal_ms) in [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
                .into_iter()
                .enumerate()
            {
                let delay = backoff.next_pause();
                assert_eq!(backoff.pauses() as usize, n + 1);
                assert!(within(delay, nominal_ms), "attempt {}: {delay:?}", n + 1);
            }
            for _ in 0..100 {
                backoff.next_pause();
            }
            assert!(within(backoff.next_pause(), 30_000));
            backoff.reset();
            assert_eq!(backoff.pauses(), 0);
            assert!(within(backoff.next_pause(), 500));
        }
    }

    #[test]
    fn only_passing_troubles_are_retried() {
        let connect = |certificate| {
            WorkerError::Channel(ChannelError::Connect {
                url: "https://coord:7443".into(),
                message: "x".into(),
                certificate,
            })
        };
        assert!(WorkerError::Lost("reset".into()).is_transient());
        assert!(connect(false).is_transient());
        assert!(!connect(true).is_transient());
        let remote = Remote {
            url: "http://127.0.0.1:7443".into(),
            ..Default::default()
        };
        for code in [
            tonic::Code::Unauthenticated,
            tonic::Code::PermissionDenied,
            tonic::Code::FailedPrecondition,
        ] {
            let error = attach_failed(&remote, tonic::Status::new(code, "no"));
            assert!(!error.is_transient(), "{code:?}");
        }
        let error = attach_failed(&remote, tonic::Status::unavailable("restarting"));
        assert!(error.is_transient());
    }
}
