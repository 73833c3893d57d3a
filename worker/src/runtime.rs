//! The worker's side of the attach stream: say hello, offer credit, run every assigned host under
//! the concurrency bound, and send each host's output (in chunks) and result the moment it is done.

use crate::WorkerConfig;
use crate::http::HttpRunner;
use crate::pacer::Pacer;
use crate::session::{
    self, DeviceProfile, DeviceTarget, HostOutcome, KeyAuth, SessionFailure, SessionOptions,
    SshAlgorithms,
};
use crate::validate::Validator;
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
use tonic::metadata::MetadataValue;
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
    /// The coordinator URL is malformed.
    #[error("bad coordinator address {url:?}: {source}")]
    BadAddress {
        url: String,
        source: tonic::transport::Error,
    },
    /// The coordinator could not be reached.
    #[error("cannot reach coordinator at {url}: {source}")]
    Connect {
        url: String,
        source: tonic::transport::Error,
    },
    /// The coordinator refused the attach (bad token, incompatible version).
    #[error("coordinator refused this worker: {0}")]
    Refused(tonic::Status),
    /// The token holds characters that cannot travel in a header.
    #[error("the worker token is not valid header text")]
    BadToken,
    /// The stream broke before the coordinator said goodbye.
    #[error("lost the coordinator: {0}")]
    Lost(String),
    /// The threads for device sessions could not be started.
    #[error("cannot start the session threads: {0}")]
    Threads(std::io::Error),
}

/// Attaches to the coordinator and works until it says to shut down, the stream ends, or
/// `shutdown` is cancelled (in which case running hosts are abandoned: the coordinator re-leases
/// them).
pub async fn run(config: WorkerConfig, shutdown: CancellationToken) -> Result<(), WorkerError> {
    let endpoint = tonic::transport::Endpoint::from_shared(config.coordinator.clone())
        .map_err(|source| WorkerError::BadAddress {
            url: config.coordinator.clone(),
            source,
        })?
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true);
    let channel = endpoint
        .connect()
        .await
        .map_err(|source| WorkerError::Connect {
            url: config.coordinator.clone(),
            source,
        })?;
    let auth = bearer(config.token.as_ref())?;
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
    send(&outbound, hello(&config)).await;
    send(
        &outbound,
        worker_message::Body::Credit(Credit {
            hosts: config.concurrency,
        }),
    )
    .await;
    let mut inbound = client
        .attach(ReceiverStream::new(outbound_rx))
        .await
        .map_err(WorkerError::Refused)?
        .into_inner();
    info!(worker = %config.worker_id, coordinator = %config.coordinator, "attached");

    // Device sessions run on threads of their own. A burst of key exchanges can keep those
    // threads busy for seconds; on the caller's runtime it would also delay the heartbeats
    // and results, and the coordinator would take a busy worker for a dead one.
    let session_runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("fanout-session")
        .enable_all()
        .build()
        .map_err(WorkerError::Threads)?;
    let spawner = session_runtime.handle().clone();
    let sessions = Arc::new(Semaphore::new(config.concurrency as usize));
    let tasks = TaskTracker::new();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    let mut contexts = JobContexts::default();
    let outcome = loop {
        tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            _ = heartbeat.tick() => {
                let in_flight = config.concurrency - sessions.available_permits() as u32;
                send(&outbound, worker_message::Body::Heartbeat(Heartbeat { in_flight })).await;
            }
            message = inbound.next() => match message {
                None => break Err(WorkerError::Lost("the coordinator closed the stream".into())),
                Some(Err(status)) => break Err(WorkerError::Lost(status.to_string())),
                Some(Ok(CoordinatorMessage { body })) => match body {
                    Some(coordinator_message::Body::Assignment(assignment)) => {
                        let sessions = SessionSpawner { limit: &sessions, tasks: &tasks, runtime: &spawner };
                        start_assignment(&mut contexts, assignment, &sessions, &outbound, &shutdown);
                    }
                    Some(coordinator_message::Body::Shutdown(bye)) => {
                        info!(reason = %bye.reason, "coordinator asked us to stop");
                        break Ok(());
                    }
                    Some(coordinator_message::Body::Welcome(_) | coordinator_message::Body::Cancel(_)) | None => {}
                },
            },
        }
    };
    // Whatever ended the loop, no session outlives the worker.
    shutdown.cancel();
    tasks.close();
    tasks.wait().await;
    // Every task has finished; dropping a runtime inside another one is not allowed.
    session_runtime.shutdown_background();
    outcome
}

/// Where and under which bound host sessions run.
struct SessionSpawner<'a> {
    /// One permit per session this worker may hold at once.
    limit: &'a Arc<Semaphore>,
    tasks: &'a TaskTracker,
    runtime: &'a tokio::runtime::Handle,
}

fn bearer(
    token: Option<&Secret>,
) -> Result<Option<MetadataValue<tonic::metadata::Ascii>>, WorkerError> {
    token
        .map(|t| {
            let mut value: MetadataValue<_> = format!("Bearer {}", t.expose())
                .parse()
                .map_err(|_| WorkerError::BadToken)?;
            value.set_sensitive(true);
            Ok(value)
        })
        .transpose()
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

/// Contexts of the jobs this worker has seen, by job id.
#[derive(Default)]
struct JobContexts {
    by_job: std::collections::HashMap<String, Arc<JobContext>>,
}

/// Contexts kept for jobs that may still send assignments; a long-lived worker forgets older ones.
const JOB_CONTEXTS_KEPT: usize = 32;

impl JobContexts {
    fn for_job(&mut self, job: &proto::JobSpec) -> Arc<JobContext> {
        if !self.by_job.contains_key(&job.job_id) && self.by_job.len() >= JOB_CONTEXTS_KEPT {
            self.by_job.clear();
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
}

fn start_assignment(
    contexts: &mut JobContexts,
    assignment: proto::Assignment,
    spawner: &SessionSpawner<'_>,
    outbound: &mpsc::Sender<WorkerMessage>,
    shutdown: &CancellationToken,
) {
    let Some(job) = assignment.job else {
        warn!("assignment without a job spec ignored");
        return;
    };
    let context = contexts.for_job(&job);
    if let Some(spec) = job.monitor.clone() {
        let lease = (assignment.lease_epoch, assignment.hosts);
        start_monitoring(&job, spec, lease, &context, spawner, outbound, shutdown);
        return;
    }
    let job = Arc::new(job);
    debug!(job = %job.job_id, hosts = assignment.hosts.len(), epoch = assignment.lease_epoch, "assignment");
    for host in assignment.hosts {
        let (job, context, sessions) = (job.clone(), context.clone(), spawner.limit.clone());
        let (outbound, shutdown) = (outbound.clone(), shutdown.clone());
        let epoch = assignment.lease_epoch;
        let mut host = host;
        let session = async move {
            // The coordinator never leases more than our credit, so this wait is only a guard.
            let Ok(_permit) = sessions.acquire_owned().await else {
                return;
            };
            let name = host.name.clone();
            let started = SystemTime::now();
            let clock = Instant::now();
            let facts = std::mem::take(&mut host.facts_json);
            let target = device_target(host, &context.profiles);
            let (outcome, attempts) = tokio::select! {
                _ = shutdown.cancelled() => return,
                done = collect_with_retries(&target, &facts, &job, &context) => done,
            };
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
        };
        spawner.tasks.spawn_on(session, spawner.runtime);
    }
}

/// Longest wait between two attempts, however many there were.
/// Starts one poll loop per host of a monitor job. They hold no session permit: a monitored host
/// is held for the job's whole life, and the coordinator never leases more than our credit.
fn start_monitoring(
    job: &proto::JobSpec,
    spec: proto::MonitorSpec,
    (lease_epoch, hosts): (u64, Vec<proto::HostTarget>),
    context: &Arc<JobContext>,
    spawner: &SessionSpawner<'_>,
    outbound: &mpsc::Sender<WorkerMessage>,
    shutdown: &CancellationToken,
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
        spawner
            .tasks
            .spawn_on(poller.run(shutdown.clone()), spawner.runtime);
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Runs the host, and again after a growing, jittered pause while the failure is one that may
/// go away by itself (refused, timeout, disconnected) and attempts remain. CLI jobs only read
/// from devices; an HTTP step that may change one (POST, PUT, ...) is never repeated once sent.
async fn collect_with_retries(
    target: &DeviceTarget,
    facts: &str,
    job: &proto::JobSpec,
    context: &JobContext,
) -> (HostOutcome, u32) {
    let facts = serde_json::from_str(facts).unwrap_or(serde_json::Value::Null);
    let mut attempts = 1;
    loop {
        context.pacer.wait_turn().await;
        let mut outcome = collect_once(target, &facts, job, context).await;
        let retryable = outcome.failure.as_ref().is_some_and(|f| f.kind.retryable());
        if retryable
            && attempts <= job.retries
            && let Some(method) = changing_step_reached(job, &outcome)
            && let Some(failure) = &mut outcome.failure
        {
            failure.message.push_str(&format!(
                " (not retried: the {method} request may have changed the device)"
            ));
            return (outcome, attempts);
        }
        if !retryable || attempts > job.retries {
            return (outcome, attempts);
        }
        let pause = backoff(Duration::from_millis(job.retry_backoff_ms), attempts);
        debug!(host = %target.name, attempt = attempts, pause_ms = pause.as_millis() as u64, "retrying");
        tokio::time::sleep(pause).await;
        attempts += 1;
    }
}

/// One attempt: the CLI commands over SSH (no session at all when there are none), then the HTTP
/// steps, which the host's deadline also bounds.
async fn collect_once(
    target: &DeviceTarget,
    facts: &serde_json::Value,
    job: &proto::JobSpec,
    context: &JobContext,
) -> HostOutcome {
    let options = &context.options;
    let mut outcome = if job.commands.is_empty() {
        HostOutcome::default()
    } else {
        session::collect(target, &job.commands, options).await
    };
    let http = match &context.http {
        _ if outcome.failure.is_some() => return outcome,
        None => return outcome,
        Some(Err(e)) => {
            outcome.failure = Some(SessionFailure {
                kind: FailureKind::Internal,
                message: e.clone(),
            });
            return outcome;
        }
        Some(Ok(http)) => http,
    };
    let steps = http.run(target, facts, &mut outcome);
    if options.host_timeout.is_zero() {
        steps.await;
    } else if tokio::time::timeout(options.host_timeout, steps)
        .await
        .is_err()
    {
        outcome.failure = Some(SessionFailure {
            kind: FailureKind::Timeout,
            message: format!(
                "the host took longer than {:?} (host timeout)",
                options.host_timeout
            ),
        });
    }
    outcome
}

/// The method of an HTTP step that may change the device and was reached before the host
/// failed (it or an earlier one may have taken effect), if there is one.
fn changing_step_reached<'a>(job: &'a proto::JobSpec, outcome: &HostOutcome) -> Option<&'a str> {
    let steps = &job.http.as_ref()?.steps;
    // Outputs past the CLI commands' are the HTTP steps that answered; the next one failed.
    let answered = outcome.outputs.len().checked_sub(job.commands.len())?;
    steps
        .iter()
        .take(answered + 1)
        .map(|step| step.method.as_str())
        .find(|method| !matches!(*method, "GET" | "HEAD" | "OPTIONS"))
}

/// `base * 2^(attempt-1)`, capped, times a random factor in [0.5, 1.5) so a fleet that failed
/// together does not retry together.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let doubled = base
        .saturating_mul(1u32 << (attempt - 1).min(16))
        .min(MAX_BACKOFF);
    doubled.mul_f64(rand::random_range(0.5..1.5))
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
            outputs: Vec::new(),
            failure: Some(failure),
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
            };
            if !send(outbound, worker_message::Body::Chunk(chunk)).await {
                return;
            }
        }
        commands.push(CommandStatus {
            command: output.command,
            output_bytes: output.output.len() as u64,
            duration_ms: output.duration.as_millis() as u64,
            rejected: output.rejected,
        });
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
    fn a_changing_http_step_once_reached_is_not_retried() {
        use crate::session::CommandOutput;
        let step = |method: &str| proto::HttpStep {
            method: method.into(),
            url: "/x".into(),
            ..Default::default()
        };
        let job = proto::JobSpec {
            commands: vec!["show version".into()],
            http: Some(proto::HttpJob {
                steps: vec![step("GET"), step("POST")],
                ..Default::default()
            }),
            ..Default::default()
        };
        let with_outputs = |n: usize| HostOutcome {
            outputs: vec![
                CommandOutput {
                    command: String::new(),
                    output: Vec::new(),
                    duration: Duration::ZERO,
                    rejected: false,
                };
                n
            ],
            failure: None,
        };
        assert_eq!(
            changing_step_reached(&job, &with_outputs(0)),
            None,
            "SSH failed"
        );
        assert_eq!(
            changing_step_reached(&job, &with_outputs(1)),
            None,
            "the GET failed"
        );
        assert_eq!(changing_step_reached(&job, &with_outputs(2)), Some("POST"));
        let cli_only = proto::JobSpec {
            http: None,
            ..job.clone()
        };
        assert_eq!(changing_step_reached(&cli_only, &with_outputs(1)), None);
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let base = Duration::from_millis(100);
        for _ in 0..100 {
            let first = backoff(base, 1);
            assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(150));
            let third = backoff(base, 3);
            assert!(third >= Duration::from_millis(200) && third < Duration::from_millis(600));
            assert!(backoff(base, 40) < MAX_BACKOFF.mul_f64(1.5));
        }
    }
}
