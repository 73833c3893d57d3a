//! The gRPC side of the coordinator: authenticates attaching workers, feeds their messages to
//! the scheduler, sends out the assignments it hands back, and passes every accepted host
//! result on to its job's sink.

use crate::chunks::{Assembly, OutputBounds};
use crate::host_record::WorkerRef;
use crate::scheduler::{Labels, PlacedHost, Removed, Scheduler, Verdict, WorkerKey};
use fanout_common::Secret;
use fanout_common::proto::coordinator_server::{Coordinator, CoordinatorServer};
use fanout_common::proto::{
    Assignment, CancelJob, CoordinatorMessage, JobRecord, JobSpec, PollReport, Shutdown, Welcome,
    WorkerHello, WorkerInfo, WorkerMessage, coordinator_message, worker_message,
};
use fanout_common::wire::{self, MAX_MESSAGE_BYTES, check_token};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, warn};

/// Messages queued for one worker. Assignments are few (one per credit message at most), so a
/// small queue suffices; a full one means the worker stopped reading.
const TO_WORKER_QUEUE: usize = 256;
/// A worker that attaches but does not say hello in this time is dropped.
const HELLO_DEADLINE: Duration = Duration::from_secs(10);
/// The most of one host's session transcript kept: what workers keep, and room for the line
/// saying they cut it.
const MAX_TRANSCRIPT_BYTES: usize = wire::MAX_TRANSCRIPT_BYTES + 1024;

type ToWorker = mpsc::Sender<Result<CoordinatorMessage, Status>>;

/// How the coordinator treats its workers.
#[derive(Debug, Clone)]
pub struct ServerPolicy {
    /// `Bearer` token workers must present; `None` accepts anyone (only behind mTLS).
    pub token: Option<Secret>,
    /// The largest output of one command any job may have. A job is sent to workers with its own
    /// limit lowered to this (or set to it, when the job names none), so worker and coordinator
    /// hold it to one number; chunks beyond it fail the host instead of being dropped.
    pub max_output_bytes: u64,
    /// A worker silent this long (workers heartbeat every 2 s) is presumed dead: its leases are
    /// fenced and its hosts go to others.
    pub lease_timeout: Duration,
}

/// One attached worker.
struct Attached {
    tx: ToWorker,
    info: WorkerInfo,
}

/// State shared by every worker connection of one coordinator.
pub struct Shared {
    state: Mutex<State>,
    policy: ServerPolicy,
    /// Number of live worker streams, for whoever waits for workers to attach or leave.
    live_workers: watch::Sender<usize>,
    next_key: AtomicU64,
    /// Set once workers were told to stop: their streams ending is then expected, not news.
    closing: AtomicBool,
    /// Where monitor jobs' polls go; unset for one-shot jobs.
    polls: OnceLock<mpsc::Sender<PollReport>>,
}

struct State {
    scheduler: Scheduler,
    workers: HashMap<WorkerKey, Attached>,
    /// Where each job's accepted results go, by job id.
    sinks: HashMap<String, mpsc::Sender<JobRecord>>,
    /// What each job's outputs must fit, by job id, for checking the chunks workers send.
    bounds: HashMap<String, OutputBounds>,
}

impl Shared {
    pub fn new(policy: ServerPolicy) -> Arc<Self> {
        Self::with_scheduler(policy, Scheduler::new())
    }

    pub fn with_scheduler(policy: ServerPolicy, scheduler: Scheduler) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                scheduler,
                workers: HashMap::new(),
                sinks: HashMap::new(),
                bounds: HashMap::new(),
            }),
            policy,
            live_workers: watch::channel(0).0,
            next_key: AtomicU64::new(1),
            closing: AtomicBool::new(false),
            polls: OnceLock::new(),
        })
    }

    pub fn service(self: &Arc<Self>) -> CoordinatorServer<CoordinatorService> {
        CoordinatorServer::new(CoordinatorService {
            shared: self.clone(),
        })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// Adds a job whose accepted results go to `results`; its hosts wait for [`Shared::start`].
    /// The job's output limit becomes the one both ends hold to: what it asked for, at most
    /// the policy's, and the policy's when it asked for none.
    pub fn add_job(
        &self,
        mut spec: JobSpec,
        hosts: Vec<PlacedHost>,
        results: mpsc::Sender<JobRecord>,
    ) {
        let ceiling = self.policy.max_output_bytes;
        let asked = spec.max_output_bytes;
        spec.max_output_bytes = if asked == 0 {
            ceiling
        } else {
            asked.min(ceiling)
        };
        if asked > ceiling {
            info!(job = %spec.job_id, asked, limit = ceiling, "job's output limit lowered to the coordinator's");
        }
        let mut bounds = OutputBounds::of(&spec);
        // A push gives hosts their own commands (and abort commands after a rejection).
        let own = hosts
            .iter()
            .map(|h| h.target.commands.len() + h.target.abort_commands.len())
            .max()
            .unwrap_or(0);
        bounds.steps = bounds.steps.max(own);
        let job_id = spec.job_id.clone();
        let mut state = self.lock();
        state.scheduler.add_job(spec, hosts);
        state.sinks.insert(job_id.clone(), results);
        state.bounds.insert(job_id, bounds);
    }

    /// Sends every poll report from a current lease to `sink` (monitor jobs). Set once, before
    /// workers attach.
    pub fn route_polls(&self, sink: mpsc::Sender<PollReport>) {
        if self.polls.set(sink).is_err() {
            warn!("poll sink already set; keeping the first");
        }
    }

    pub fn watch_workers(&self) -> watch::Receiver<usize> {
        self.live_workers.subscribe()
    }

    /// Starts leasing the job's hosts to the attached workers.
    pub async fn start(&self, job: &str) {
        let out = self.lock().scheduler.start(job);
        self.deliver(out).await;
    }

    /// Stops leasing the job's hosts; leased ones may finish.
    pub fn stop_dispatching(&self, job: &str) {
        self.lock().scheduler.stop_dispatching(job);
    }

    pub fn reassigned(&self, job: &str) -> u64 {
        self.lock().scheduler.reassigned(job)
    }

    /// Hosts leased to a worker and not yet finished.
    pub fn in_flight(&self, job: &str) -> usize {
        self.lock().scheduler.in_flight(job)
    }

    /// Queued hosts that no attached worker may run.
    pub fn stranded(&self, job: &str) -> Vec<String> {
        self.lock().scheduler.stranded(job)
    }

    /// Where `host` of `job` is and what it runs: what records carry beside the worker's result.
    pub fn hostname_and_platform(&self, job: &str, host: &str) -> Option<(String, String)> {
        self.lock().scheduler.hostname_and_platform(job, host)
    }

    /// The labels `host` of `job` needs.
    pub fn placement_of(&self, job: &str, host: &str) -> Option<crate::scheduler::Placement> {
        self.lock().scheduler.placement_of(job, host)
    }

    /// Ends queued hosts without running them; the caller records why.
    pub fn give_up(&self, job: &str, hosts: &[String]) {
        self.lock().scheduler.give_up(job, hosts);
    }

    /// Takes the job off the scheduler; workers still running its hosts are told to stop them,
    /// and every worker that was sent its spec to forget it.
    pub async fn remove_job(&self, job: &str) -> Removed {
        let (removed, senders) = {
            let mut state = self.lock();
            state.sinks.remove(job);
            state.bounds.remove(job);
            let removed = state.scheduler.remove_job(job);
            let senders: Vec<ToWorker> = removed
                .knowing
                .iter()
                .filter_map(|k| state.workers.get(k).map(|a| a.tx.clone()))
                .collect();
            (removed, senders)
        };
        for tx in senders {
            let cancel = coordinator_message::Body::Cancel(CancelJob {
                job_id: job.to_string(),
            });
            let _ = tx.send(Ok(CoordinatorMessage { body: Some(cancel) })).await;
        }
        removed
    }

    /// The attached workers, for listings and metrics.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        let mut workers: Vec<WorkerInfo> = self
            .lock()
            .workers
            .values()
            .map(|a| a.info.clone())
            .collect();
        workers.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
        workers
    }

    /// Tells every attached worker to stop.
    pub async fn shutdown_workers(&self, reason: &str) {
        self.closing.store(true, Ordering::Relaxed);
        let senders: Vec<ToWorker> = self.lock().workers.values().map(|a| a.tx.clone()).collect();
        for tx in senders {
            let bye = coordinator_message::Body::Shutdown(Shutdown {
                reason: reason.to_string(),
            });
            let _ = tx.send(Ok(CoordinatorMessage { body: Some(bye) })).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, and if something did the bookkeeping would be
        // the least of our worries: keep going with what is there.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends assignments outside the lock; a worker that cannot take one is treated as gone.
    async fn deliver(&self, assignments: Vec<(WorkerKey, Assignment)>) {
        for (key, assignment) in assignments {
            let tx = self.lock().workers.get(&key).map(|a| a.tx.clone());
            let body = coordinator_message::Body::Assignment(assignment);
            let sent = match tx {
                Some(tx) => tx
                    .send(Ok(CoordinatorMessage { body: Some(body) }))
                    .await
                    .is_ok(),
                None => false,
            };
            if !sent {
                // Its connection task will detach it and re-queue the hosts.
                debug!(worker = key, "assignment to a departed worker");
            }
        }
    }
}

pub struct CoordinatorService {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Coordinator for CoordinatorService {
    type AttachStream = ReceiverStream<Result<CoordinatorMessage, Status>>;

    async fn attach(
        &self,
        request: Request<Streaming<WorkerMessage>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        check_token(self.shared.policy.token.as_ref(), request.metadata())?;
        let peer = request
            .remote_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let mut inbound = request.into_inner();
        let hello = match tokio::time::timeout(HELLO_DEADLINE, inbound.message()).await {
            Ok(Ok(Some(WorkerMessage {
                body: Some(worker_message::Body::Hello(hello)),
            }))) => hello,
            Ok(Err(status)) => return Err(status),
            Err(_) => return Err(Status::deadline_exceeded("no hello from the worker")),
            Ok(Ok(_)) => {
                return Err(Status::invalid_argument(
                    "the first message must be a hello",
                ));
            }
        };
        let ours = env!("CARGO_PKG_VERSION");
        if hello.version != ours {
            // The wire contract may differ; refusing is better than misreading each other.
            warn!(worker = %hello.worker_id, version = %hello.version, "worker of another version refused");
            return Err(Status::failed_precondition(format!(
                "worker version {} does not match coordinator version {ours}",
                hello.version
            )));
        }
        let (tx, rx) = mpsc::channel(TO_WORKER_QUEUE);
        let key = self.shared.next_key.fetch_add(1, Ordering::Relaxed);
        let worker = register(&self.shared, key, &hello, peer, tx.clone());
        let welcome = coordinator_message::Body::Welcome(Welcome {
            coordinator_version: env!("CARGO_PKG_VERSION").to_string(),
        });
        let _ = tx
            .send(Ok(CoordinatorMessage {
                body: Some(welcome),
            }))
            .await;
        tokio::spawn(serve_worker(self.shared.clone(), key, worker, inbound));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

fn register(
    shared: &Shared,
    key: WorkerKey,
    hello: &WorkerHello,
    peer: String,
    tx: ToWorker,
) -> WorkerRef {
    let worker = WorkerRef {
        id: hello.worker_id.clone(),
        pid: hello.pid,
    };
    info!(worker = %worker.id, pid = worker.pid, concurrency = hello.concurrency, labels = ?hello.labels, %peer, "worker attached");
    let info = WorkerInfo {
        worker_id: hello.worker_id.clone(),
        hostname: hello.hostname.clone(),
        pid: hello.pid,
        labels: hello.labels.clone(),
        concurrency: hello.concurrency,
        in_flight: 0,
        attached_unix_ms: unix_ms(SystemTime::now()),
        peer,
    };
    let labels: Labels = hello.labels.clone().into_iter().collect();
    let mut state = shared.lock();
    state.scheduler.attach(key, labels);
    let attached = Attached { tx, info };
    state.workers.insert(key, attached);
    shared.live_workers.send_replace(state.workers.len());
    worker
}

pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads one worker's stream until it ends, then returns its unfinished hosts to the queue.
async fn serve_worker(
    shared: Arc<Shared>,
    key: WorkerKey,
    worker: WorkerRef,
    mut inbound: Streaming<WorkerMessage>,
) {
    // Output chunks of hosts still running on this worker, by (host, epoch). Epochs are unique
    // across jobs, so the pair names one lease.
    let mut pending: HashMap<(String, u64), Assembly> = HashMap::new();
    // Session transcripts (`--session-log`) by host and lease, kept apart from the outputs.
    let mut transcripts: HashMap<(String, u64), Vec<u8>> = HashMap::new();
    loop {
        let next = tokio::time::timeout(shared.policy.lease_timeout, inbound.message()).await;
        let Ok(next) = next else {
            warn!(
                worker = %worker.id,
                pid = worker.pid,
                silent_for = ?shared.policy.lease_timeout,
                "worker stopped heartbeating: fencing its leases"
            );
            break;
        };
        let message = match next {
            Ok(Some(WorkerMessage { body: Some(body) })) => body,
            Ok(Some(WorkerMessage { body: None })) => continue,
            Ok(None) => break,
            Err(status) => {
                if !shared.closing.load(Ordering::Relaxed) {
                    warn!(worker = %worker.id, error = %status.message(), "worker stream broke");
                }
                break;
            }
        };
        match message {
            worker_message::Body::Credit(credit) => {
                let out = shared.lock().scheduler.add_credit(key, credit.hosts);
                shared.deliver(out).await;
            }
            worker_message::Body::Chunk(chunk) if chunk.transcript => {
                let transcript = transcripts
                    .entry((chunk.host, chunk.lease_epoch))
                    .or_default();
                // A diagnostic, bounded like the worker's own: a misbehaving worker cannot
                // make the coordinator hold more.
                if transcript.len() + chunk.data.len() <= MAX_TRANSCRIPT_BYTES {
                    transcript.extend_from_slice(&chunk.data);
                }
            }
            worker_message::Body::Chunk(chunk) => {
                // A job that is gone will not take the result either: nothing to keep.
                let Some(bounds) = shared.lock().bounds.get(&chunk.job_id).copied() else {
                    continue;
                };
                let lease = (chunk.host.clone(), chunk.lease_epoch);
                pending.entry(lease).or_default().add(chunk, bounds);
            }
            worker_message::Body::Result(mut result) => {
                let assembly = pending
                    .remove(&(result.host.clone(), result.lease_epoch))
                    .unwrap_or_default();
                let transcript = transcripts
                    .remove(&(result.host.clone(), result.lease_epoch))
                    .unwrap_or_default();
                let outputs = assembly.finish(&mut result);
                let accepted = {
                    let mut state = shared.lock();
                    let verdict = state.scheduler.complete(
                        key,
                        &result.job_id,
                        &result.host,
                        result.lease_epoch,
                    );
                    // The worker does not echo where the host is; the job's target says.
                    let reached = state
                        .scheduler
                        .hostname_and_platform(&result.job_id, &result.host);
                    let sink = state.sinks.get(&result.job_id);
                    (verdict == Verdict::Accepted)
                        .then(|| sink.cloned().zip(reached))
                        .flatten()
                };
                let Some((sink, (hostname, platform))) = accepted else {
                    debug!(worker = %worker.id, host = %result.host, "stale result dropped");
                    continue;
                };
                let record = JobRecord {
                    hostname,
                    platform,
                    result: Some(result),
                    outputs,
                    worker_id: worker.id.clone(),
                    worker_pid: worker.pid,
                    transcript,
                };
                // A job whose sink is gone was finished or cancelled meanwhile: nothing to do.
                let _ = sink.send(record).await;
            }
            worker_message::Body::Poll(report) => {
                let current = shared.lock().scheduler.holds(
                    key,
                    &report.job_id,
                    &report.host,
                    report.lease_epoch,
                );
                let Some(sink) = shared.polls.get().filter(|_| current) else {
                    debug!(worker = %worker.id, host = %report.host, "poll from a fenced lease dropped");
                    continue;
                };
                if sink.send(report).await.is_err() {
                    break;
                }
            }
            worker_message::Body::Heartbeat(beat) => {
                if let Some(attached) = shared.lock().workers.get_mut(&key) {
                    attached.info.in_flight = beat.in_flight;
                }
            }
            worker_message::Body::Hello(_) => {}
        }
    }
    let out = {
        let mut state = shared.lock();
        state.workers.remove(&key);
        shared.live_workers.send_replace(state.workers.len());
        state.scheduler.detach(key)
    };
    info!(worker = %worker.id, pid = worker.pid, "worker detached");
    shared.deliver(out).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::proto::HostTarget;

    /// The limit the job's workers are sent, for a job that asked for `asked` on a coordinator
    /// that allows `ceiling`.
    fn limit_sent(asked: u64, ceiling: u64) -> u64 {
        let shared = Shared::new(ServerPolicy {
            token: None,
            max_output_bytes: ceiling,
            lease_timeout: Duration::from_secs(10),
        });
        let spec = JobSpec {
            job_id: "j".into(),
            commands: vec!["show version".into()],
            max_output_bytes: asked,
            ..JobSpec::default()
        };
        let host = PlacedHost::anywhere(HostTarget {
            name: "r1".into(),
            ..HostTarget::default()
        });
        shared.add_job(spec, vec![host], mpsc::channel(1).0);
        let mut state = shared.lock();
        state.scheduler.attach(1, Labels::new());
        state.scheduler.add_credit(1, 1);
        let sent = state.scheduler.start("j");
        let spec = sent[0]
            .1
            .job
            .as_ref()
            .expect("an assignment carries its job");
        assert_eq!(state.bounds["j"].max_output_bytes, spec.max_output_bytes);
        spec.max_output_bytes
    }

    #[test]
    fn workers_are_sent_the_limit_the_coordinator_holds_them_to() {
        assert_eq!(limit_sent(4096, 256 << 20), 4096);
        // `serve --max-output 280KiB` with a client asking for the default 256 MiB.
        assert_eq!(limit_sent(256 << 20, 280 << 10), 280 << 10);
        // A job that names no limit gets the coordinator's, not the worker's own default.
        assert_eq!(limit_sent(0, 4096), 4096);
    }
}
