//! Attaching to the coordinator and staying attached: the attach loop with its backoff, and the
//! attach protocol (hello, credit, heartbeats, and the coordinator's messages handed on to
//! [`crate::dispatch`]).

use crate::WorkerConfig;
use crate::dispatch::{Dispatcher, SessionSpawner};
use crate::report::{Outbound, send};
use fanout_common::Backoff;
use fanout_common::channel::{self, ChannelError, Remote};
use fanout_common::proto::{
    CoordinatorMessage, Credit, Heartbeat, WorkerHello, WorkerMessage,
    coordinator_client::CoordinatorClient, coordinator_message, worker_message,
};
use fanout_common::wire::{Bearer, MAX_MESSAGE_BYTES};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// How often an idle worker tells the coordinator it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Messages waiting to go to the coordinator; senders wait when it is full, which slows the
/// sessions down instead of buffering without bound.
const OUTBOUND_QUEUE: usize = 1024;
/// Pauses between attach attempts: 0.5 s doubling to 30 s.
const RECONNECT_FIRST: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

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
        let attach = Attach {
            config: &config,
            cancel: shutdown.child_token(),
            runtime: session_runtime.handle(),
            attempt: backoff.pauses() + 1,
        };
        let mut welcomed = false;
        let ended = attach.run(&mut welcomed).await;
        attach.cancel.cancel();
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

/// One attach: a stream to the coordinator and everything that lives as long as it.
struct Attach<'a> {
    config: &'a WorkerConfig,
    /// Cancelled when this attach ends, whatever ended it; every session of the attach stops.
    cancel: CancellationToken,
    /// Where device sessions run.
    runtime: &'a tokio::runtime::Handle,
    /// Attempts since the last welcome, for the log.
    attempt: u32,
}

impl Attach<'_> {
    /// Connects, says hello, offers full credit, and serves assignments until the stream ends.
    /// `Ok` means stop for good (the coordinator said so, or the attach was cancelled from
    /// outside); sets `welcomed` once the coordinator accepted us.
    async fn run(&self, welcomed: &mut bool) -> Result<(), WorkerError> {
        let config = self.config;
        let auth = channel::authorization(&config.remote)?;
        let channel = tokio::select! {
            _ = self.cancel.cancelled() => return Ok(()),
            channel = channel::connect(&config.remote) => channel?,
        };
        let mut client = CoordinatorClient::with_interceptor(channel, Bearer::new(auth))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);

        let (outbound, outbound_rx) = mpsc::channel(OUTBOUND_QUEUE);
        // Queued before the call so the coordinator sees who we are in the stream's first message.
        send(&outbound, hello(config)).await;
        let credit = Credit {
            hosts: config.concurrency,
        };
        send(&outbound, worker_message::Body::Credit(credit)).await;
        let attached = tokio::select! {
            _ = self.cancel.cancelled() => return Ok(()),
            attached = client.attach(ReceiverStream::new(outbound_rx)) => attached,
        };
        let mut inbound = attached
            .map_err(|status| attach_failed(&config.remote, status))?
            .into_inner();
        info!(worker = %config.worker_id, coordinator = %config.remote.url, attempt = self.attempt, "attached");

        let sessions = Arc::new(Semaphore::new(config.concurrency as usize));
        let tasks = TaskTracker::new();
        let mut dispatcher = Dispatcher::new(
            SessionSpawner {
                limit: sessions.clone(),
                tasks: tasks.clone(),
                runtime: self.runtime.clone(),
            },
            outbound.clone(),
            self.cancel.clone(),
        );
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        let outcome = loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break Ok(()),
                _ = heartbeat.tick() => {
                    let in_flight = config.concurrency - sessions.available_permits() as u32;
                    beat(&outbound, in_flight);
                }
                message = inbound.next() => match message {
                    None => break Err(WorkerError::Lost("the coordinator closed the stream".into())),
                    Some(Err(status)) => break Err(WorkerError::Lost(channel::error_chain(&status))),
                    Some(Ok(CoordinatorMessage { body })) => match body {
                        Some(coordinator_message::Body::Assignment(assignment)) => {
                            dispatcher.assign(assignment);
                        }
                        Some(coordinator_message::Body::Welcome(welcome)) => {
                            *welcomed = true;
                            info!(coordinator_version = %welcome.coordinator_version, "welcomed");
                        }
                        Some(coordinator_message::Body::Cancel(cancel)) => dispatcher.end_job(&cancel.job_id),
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
        self.cancel.cancel();
        tasks.close();
        tasks.wait().await;
        outcome
    }
}

/// Never waits: with the queue full the coordinator is hearing from us anyway, and the attach
/// loop must stay free to notice a broken stream.
fn beat(outbound: &Outbound, in_flight: u32) {
    let beat = worker_message::Body::Heartbeat(Heartbeat { in_flight });
    let _ = outbound.try_send(WorkerMessage { body: Some(beat) });
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

/// Each pause ±20 % so a fleet that lost its coordinator together does not come back in one
/// burst.
fn reconnect_backoff() -> Backoff {
    Backoff::new(RECONNECT_FIRST, RECONNECT_FIRST.mul_f64(0.8), RECONNECT_MAX).with_jitter(0.8, 1.2)
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
