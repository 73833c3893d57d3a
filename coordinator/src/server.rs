//! The gRPC side of the coordinator: authenticates attaching workers, feeds their messages to
//! the scheduler, sends out the assignments it hands back, and passes every accepted host
//! result on to the recorder.

use crate::record::{HostRecord, WorkerRef};
use crate::scheduler::{Scheduler, Verdict, WorkerKey};
use fanout_common::Secret;
use fanout_common::proto::coordinator_server::{Coordinator, CoordinatorServer};
use fanout_common::proto::{
    Assignment, CoordinatorMessage, PollReport, Shutdown, Welcome, WorkerHello, WorkerMessage,
    coordinator_message, worker_message,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, warn};

/// Messages queued for one worker. Assignments are few (one per credit message at most), so a
/// small queue suffices; a full one means the worker stopped reading.
const TO_WORKER_QUEUE: usize = 256;
/// A worker that attaches but does not say hello in this time is dropped.
const HELLO_DEADLINE: Duration = Duration::from_secs(10);
/// Largest message accepted from a worker (outputs arrive in 256 KiB chunks).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

type ToWorker = mpsc::Sender<Result<CoordinatorMessage, Status>>;

/// Where each host's record needs details the worker does not echo back.
#[derive(Debug, Clone)]
pub struct HostMeta {
    pub hostname: String,
    pub platform: String,
}

/// How the coordinator treats its workers.
#[derive(Debug, Clone)]
pub struct ServerPolicy {
    /// `Bearer` token workers must present; `None` accepts anyone (never for remote listeners).
    pub token: Option<Secret>,
    /// Bound on what one command's chunks may add up to, so a broken worker cannot exhaust memory.
    pub max_output_bytes: u64,
    /// A worker silent this long (workers heartbeat every 2 s) is presumed dead: its leases are
    /// fenced and its hosts go to others.
    pub lease_timeout: Duration,
}

/// State shared by every worker connection of one coordinator.
pub struct Shared {
    state: Mutex<State>,
    policy: ServerPolicy,
    /// Accepted results, in arrival order, for the recorder.
    results: mpsc::Sender<HostRecord>,
    /// Hostname and platform of each host, for the records.
    meta: HashMap<String, HostMeta>,
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
    workers: HashMap<WorkerKey, (WorkerRef, ToWorker)>,
}

impl Shared {
    pub fn new(
        scheduler: Scheduler,
        meta: HashMap<String, HostMeta>,
        policy: ServerPolicy,
        results: mpsc::Sender<HostRecord>,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                scheduler,
                workers: HashMap::new(),
            }),
            policy,
            results,
            meta,
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

    /// Starts leasing hosts to the attached workers.
    pub async fn start(&self) {
        let out = self.lock().scheduler.start();
        self.deliver(out).await;
    }

    /// Stops leasing new hosts; leased ones may finish.
    pub fn stop_dispatching(&self) {
        self.lock().scheduler.stop_dispatching();
    }

    pub fn reassigned(&self) -> u64 {
        self.lock().scheduler.reassigned()
    }

    /// Hosts leased to a worker and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.lock().scheduler.in_flight()
    }

    pub fn unfinished(&self) -> Vec<String> {
        self.lock().scheduler.unfinished()
    }

    /// Tells every attached worker to stop.
    pub async fn shutdown_workers(&self, reason: &str) {
        self.closing.store(true, Ordering::Relaxed);
        let senders: Vec<ToWorker> = self
            .lock()
            .workers
            .values()
            .map(|(_, tx)| tx.clone())
            .collect();
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
            let tx = self.lock().workers.get(&key).map(|(_, tx)| tx.clone());
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

    fn authorize(&self, request: &Request<Streaming<WorkerMessage>>) -> Result<(), Status> {
        let Some(expected) = &self.policy.token else {
            return Ok(());
        };
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
            Ok(())
        } else {
            Err(Status::unauthenticated("missing or wrong worker token"))
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
        self.shared.authorize(&request)?;
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
        let worker = register(&self.shared, key, &hello, tx.clone());
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

fn register(shared: &Shared, key: WorkerKey, hello: &WorkerHello, tx: ToWorker) -> WorkerRef {
    let worker = WorkerRef {
        id: hello.worker_id.clone(),
        pid: hello.pid,
    };
    info!(worker = %worker.id, pid = worker.pid, concurrency = hello.concurrency, "worker attached");
    let mut state = shared.lock();
    state.scheduler.attach(key);
    state.workers.insert(key, (worker.clone(), tx));
    shared.live_workers.send_replace(state.workers.len());
    worker
}

/// Reads one worker's stream until it ends, then returns its unfinished hosts to the queue.
async fn serve_worker(
    shared: Arc<Shared>,
    key: WorkerKey,
    worker: WorkerRef,
    mut inbound: Streaming<WorkerMessage>,
) {
    // Output chunks of hosts still running on this worker, by (host, epoch), one buffer per command.
    let mut pending: HashMap<(String, u64), Vec<Vec<u8>>> = HashMap::new();
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
            worker_message::Body::Chunk(chunk) => {
                let buffers = pending.entry((chunk.host, chunk.lease_epoch)).or_default();
                let index = chunk.command_index as usize;
                if index >= buffers.len() {
                    buffers.resize_with(index + 1, Vec::new);
                }
                let buffer = &mut buffers[index];
                if (buffer.len() + chunk.data.len()) as u64 <= shared.policy.max_output_bytes {
                    buffer.extend_from_slice(&chunk.data);
                }
            }
            worker_message::Body::Result(result) => {
                let outputs = pending
                    .remove(&(result.host.clone(), result.lease_epoch))
                    .unwrap_or_default();
                let verdict =
                    shared
                        .lock()
                        .scheduler
                        .complete(key, &result.host, result.lease_epoch);
                if verdict == Verdict::Stale {
                    debug!(worker = %worker.id, host = %result.host, "stale result dropped");
                    continue;
                }
                let meta = shared.meta.get(&result.host).cloned().unwrap_or(HostMeta {
                    hostname: String::new(),
                    platform: String::new(),
                });
                let record = HostRecord::from_result(
                    result,
                    outputs,
                    worker.clone(),
                    meta.hostname,
                    meta.platform,
                );
                if shared.results.send(record).await.is_err() {
                    break;
                }
            }
            worker_message::Body::Poll(report) => {
                let current = shared
                    .lock()
                    .scheduler
                    .holds(key, &report.host, report.lease_epoch);
                let Some(sink) = shared.polls.get().filter(|_| current) else {
                    debug!(worker = %worker.id, host = %report.host, "poll from a fenced lease dropped");
                    continue;
                };
                if sink.send(report).await.is_err() {
                    break;
                }
            }
            worker_message::Body::Heartbeat(_) | worker_message::Body::Hello(_) => {}
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
