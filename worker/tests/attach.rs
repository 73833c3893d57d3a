//! How the worker reaches a coordinator: TLS and mTLS, reattaching after the coordinator went
//! away, giving up at once when refused, and stopping a cancelled job. The coordinator is a small
//! real gRPC server written here, on real TCP on 127.0.0.1, so the worker's side is tested
//! against exactly what it does on the wire.

use fanout_common::Secret;
use fanout_common::channel::Remote;
use fanout_common::proto::coordinator_server::{Coordinator, CoordinatorServer};
use fanout_common::proto::{
    Assignment, CancelJob, CoordinatorMessage, HostKeyPolicy, HostTarget, JobSpec, Welcome,
    WorkerHello, WorkerMessage, coordinator_message, worker_message,
};
use fanout_devsim::{Fleet, FleetConfig};
use fanout_worker::{WorkerConfig, WorkerError};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

const TOKEN: &str = "attach-test-token-0123456789abcdef";
/// Long enough for any step of these tests on a loaded machine; a hang fails instead of blocking.
const PATIENCE: Duration = Duration::from_secs(20);

// ---- the coordinator side ----

/// What the fake coordinator saw.
#[derive(Debug)]
enum Seen {
    /// A worker attached; `to_worker` sends it messages.
    Attached {
        hello: WorkerHello,
        authorization: Option<String>,
        client_certs: usize,
        to_worker: mpsc::Sender<Result<CoordinatorMessage, Status>>,
    },
    /// An attach call that was refused.
    Refused,
    /// A message on an attached stream after the hello.
    Message(worker_message::Body),
}

#[derive(Clone)]
struct FakeCoordinator {
    /// Refuse every attach with this code, as a coordinator does for a bad token.
    refuse: Option<tonic::Code>,
    seen: mpsc::UnboundedSender<Seen>,
}

#[tonic::async_trait]
impl Coordinator for FakeCoordinator {
    type AttachStream = ReceiverStream<Result<CoordinatorMessage, Status>>;

    async fn attach(
        &self,
        request: Request<Streaming<WorkerMessage>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        if let Some(code) = self.refuse {
            let _ = self.seen.send(Seen::Refused);
            return Err(Status::new(code, "missing or wrong worker token"));
        }
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let client_certs = request.peer_certs().map_or(0, |certs| certs.len());
        let mut inbound = request.into_inner();
        let Some(Ok(WorkerMessage {
            body: Some(worker_message::Body::Hello(hello)),
        })) = inbound.next().await
        else {
            return Err(Status::invalid_argument(
                "the first message must be a hello",
            ));
        };
        let (to_worker, rx) = mpsc::channel(64);
        let welcome = coordinator_message::Body::Welcome(Welcome {
            coordinator_version: "test".into(),
        });
        let _ = to_worker
            .send(Ok(CoordinatorMessage {
                body: Some(welcome),
            }))
            .await;
        let _ = self.seen.send(Seen::Attached {
            hello,
            authorization,
            client_certs,
            to_worker,
        });
        let seen = self.seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(WorkerMessage { body: Some(body) })) = inbound.next().await {
                let _ = seen.send(Seen::Message(body));
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// A fake coordinator on its own runtime, so stopping it drops every connection at once, the
/// way a killed process does.
struct Running {
    runtime: tokio::runtime::Runtime,
}

impl Running {
    fn kill(self) {
        self.runtime.shutdown_background();
    }
}

async fn serve(
    address: SocketAddr,
    tls: Option<ServerTlsConfig>,
    fake: FakeCoordinator,
) -> (Running, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // A killed server's socket may take a moment to go; the same port is what a restart uses.
    let started = Instant::now();
    let listener = loop {
        let bound = runtime
            .spawn(async move { tokio::net::TcpListener::bind(address).await })
            .await
            .unwrap();
        match bound {
            Ok(listener) => break listener,
            Err(e) if started.elapsed() < Duration::from_secs(5) => {
                eprintln!("bind {address}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot bind {address}: {e}"),
        }
    };
    let bound = listener.local_addr().unwrap();
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).unwrap();
    }
    let router = builder.add_service(CoordinatorServer::new(fake));
    runtime.spawn(async move {
        let _ = router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
    });
    (Running { runtime }, bound)
}

fn fake(refuse: Option<tonic::Code>) -> (FakeCoordinator, mpsc::UnboundedReceiver<Seen>) {
    let (seen, rx) = mpsc::unbounded_channel();
    (FakeCoordinator { refuse, seen }, rx)
}

async fn next_seen(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(PATIENCE, seen.recv())
        .await
        .expect("the fake coordinator saw nothing in time")
        .expect("fake coordinator gone")
}

/// Waits for the next attach, skipping stream messages (credit, heartbeats).
async fn next_attach(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    loop {
        match next_seen(seen).await {
            attached @ Seen::Attached { .. } => return attached,
            Seen::Refused => panic!("unexpected refusal"),
            Seen::Message(_) => {}
        }
    }
}

// ---- the worker side ----

fn config(remote: Remote) -> WorkerConfig {
    WorkerConfig {
        remote,
        concurrency: 5,
        labels: [("site".to_string(), "ams".to_string())].into(),
        worker_id: "remote-1".into(),
        reconnect: true,
    }
}

fn plain(address: SocketAddr) -> Remote {
    Remote {
        url: format!("http://{address}"),
        token: Some(Secret::new(TOKEN)),
        ..Default::default()
    }
}

struct Worker {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), WorkerError>>,
}

fn start_worker(config: WorkerConfig) -> Worker {
    let stop = CancellationToken::new();
    let task = tokio::spawn(fanout_worker::run(config, stop.clone()));
    Worker { stop, task }
}

impl Worker {
    async fn stop(self) -> Result<(), WorkerError> {
        self.stop.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("worker stops when told")
            .unwrap()
    }
}

/// A worker that should give up by itself: its error, within `PATIENCE`.
async fn gives_up(config: WorkerConfig) -> WorkerError {
    let worker = start_worker(config);
    tokio::time::timeout(PATIENCE, worker.task)
        .await
        .expect("the worker kept trying instead of giving up")
        .unwrap()
        .expect_err("the worker should fail")
}

// ---- certificates ----

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn server_tls(&self) -> ServerTlsConfig {
        ServerTlsConfig::new().identity(Identity::from_pem(
            self.read("coordinator.pem"),
            self.read("coordinator-key.pem"),
        ))
    }

    fn mtls_remote(&self, remote: Remote) -> Remote {
        Remote {
            client_cert: Some(self.path("client.pem")),
            client_key: Some(self.path("client-key.pem")),
            ..remote
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// ca.pem signing coordinator.pem (127.0.0.1, localhost) and client.pem; other-ca.pem unrelated.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_params = || {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
    };
    let ca = CertifiedIssuer::self_signed(ca_params(), KeyPair::generate().unwrap()).unwrap();
    let other = CertifiedIssuer::self_signed(ca_params(), KeyPair::generate().unwrap()).unwrap();
    write(dir.path(), "ca.pem", &ca.pem());
    write(dir.path(), "other-ca.pem", &other.pem());
    let leaf = |names: Vec<String>, usage, file: &str| {
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages.push(usage);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        write(dir.path(), &format!("{file}.pem"), &cert.pem());
        write(dir.path(), &format!("{file}-key.pem"), &key.serialize_pem());
    };
    leaf(
        vec!["127.0.0.1".into(), "localhost".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
        "coordinator",
    );
    leaf(
        vec!["worker.test".into()],
        ExtendedKeyUsagePurpose::ClientAuth,
        "client",
    );
    Pki { dir }
}

fn tls_remote(address: SocketAddr, pki: &Pki, ca: &str) -> Remote {
    Remote {
        url: format!("https://{address}"),
        ca_cert: Some(pki.path(ca)),
        token: Some(Secret::new(TOKEN)),
        ..Default::default()
    }
}

fn free_address(last: u8) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), 0))
}

// ---- tests ----

#[tokio::test]
async fn attaches_over_tls_with_the_right_ca_and_sends_the_token() {
    let pki = pki();
    let (fake, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), Some(pki.server_tls()), fake).await;
    let worker = start_worker(config(tls_remote(address, &pki, "ca.pem")));

    let Seen::Attached {
        hello,
        authorization,
        ..
    } = next_attach(&mut seen).await
    else {
        unreachable!()
    };
    assert_eq!(hello.worker_id, "remote-1");
    assert_eq!(hello.concurrency, 5);
    assert_eq!(hello.labels.get("site").map(String::as_str), Some("ams"));
    assert_eq!(authorization, Some(format!("Bearer {TOKEN}")));
    worker.stop().await.unwrap();
    server.kill();
}

#[tokio::test]
async fn a_coordinator_certificate_from_another_ca_is_refused_without_retrying() {
    let pki = pki();
    let (fake, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), Some(pki.server_tls()), fake).await;

    let error = gives_up(config(tls_remote(address, &pki, "other-ca.pem"))).await;
    let message = error.to_string();
    assert!(!error.is_transient(), "{message}");
    assert!(message.contains(&address.to_string()), "{message}");
    assert!(
        message.to_lowercase().contains("certificate"),
        "the message should say the certificate was the problem: {message}"
    );
    assert!(
        seen.try_recv().is_err(),
        "nothing may reach the coordinator"
    );
    server.kill();
}

#[tokio::test]
async fn the_expected_server_name_can_differ_from_the_url_host() {
    let pki = pki();
    let (fake, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), Some(pki.server_tls()), fake).await;
    let named = |name: &str| Remote {
        server_name: Some(name.into()),
        ..tls_remote(address, &pki, "ca.pem")
    };

    // The certificate names 127.0.0.1 and localhost: asking for another name must fail even
    // though the URL's address is in the certificate.
    let error = gives_up(config(named("elsewhere.test"))).await;
    let message = error.to_string();
    assert!(!error.is_transient(), "{message}");
    assert!(message.to_lowercase().contains("certificate"), "{message}");

    let worker = start_worker(config(named("localhost")));
    next_attach(&mut seen).await;
    worker.stop().await.unwrap();
    server.kill();
}

#[tokio::test]
async fn mtls_presents_the_client_certificate_and_fails_without_it() {
    let pki = pki();
    let (fake, mut seen) = fake(None);
    let tls = pki
        .server_tls()
        .client_ca_root(Certificate::from_pem(pki.read("ca.pem")));
    let (server, address) = serve(free_address(1), Some(tls), fake).await;

    let with_identity = pki.mtls_remote(tls_remote(address, &pki, "ca.pem"));
    let worker = start_worker(config(with_identity));
    let Seen::Attached { client_certs, .. } = next_attach(&mut seen).await else {
        unreachable!()
    };
    assert_eq!(client_certs, 1, "the server saw the worker's certificate");
    worker.stop().await.unwrap();

    // The coordinator drops the connection after the handshake (TLS 1.3 checks the client last);
    // that looks like any lost link, so a reconnecting worker would keep trying.
    let error = gives_up(WorkerConfig {
        reconnect: false,
        ..config(tls_remote(address, &pki, "ca.pem"))
    })
    .await;
    let message = error.to_string();
    assert!(
        message.contains("--client-cert"),
        "the message should say a certificate may be missing: {message}"
    );
    while let Ok(event) = seen.try_recv() {
        // Only the first worker's last messages may be left.
        assert!(matches!(event, Seen::Message(_)), "{event:?}");
    }
    server.kill();
}

#[tokio::test]
async fn reattaches_after_the_coordinator_restarts_with_backoff() {
    let (fake_a, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, fake_a.clone()).await;
    let worker = start_worker(config(plain(address)));
    next_attach(&mut seen).await;

    // Down for a while: the worker must keep trying, and not in a tight loop.
    let lost = Instant::now();
    server.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!worker.task.is_finished(), "the worker gave up");
    let (server, _) = serve(address, None, fake_a.clone()).await;
    next_attach(&mut seen).await;
    let took = lost.elapsed();
    // Back-offs of 0.5 s then 1 s then 2 s (each ±20 %) around a 1.5 s outage.
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "reattached after {took:?}"
    );

    // A welcomed attach resets the backoff: a short outage is bridged in about 0.5 s again.
    let lost = Instant::now();
    server.kill();
    let (server, _) = serve(address, None, fake_a).await;
    next_attach(&mut seen).await;
    let took = lost.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_millis(1500),
        "reattached after {took:?}"
    );

    worker.stop().await.unwrap();
    server.kill();
}

#[tokio::test]
async fn without_reconnect_a_lost_coordinator_ends_the_worker() {
    let (fake, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, fake).await;
    let worker = start_worker(WorkerConfig {
        reconnect: false,
        ..config(plain(address))
    });
    next_attach(&mut seen).await;
    server.kill();
    let ended = tokio::time::timeout(PATIENCE, worker.task)
        .await
        .expect("the worker outlived its coordinator")
        .unwrap();
    assert!(
        matches!(ended, Err(WorkerError::Lost(_))),
        "{:?}",
        ended.err()
    );
}

/// A TCP relay to `target` whose current connections can be frozen: bytes stop flowing both
/// ways but nothing is closed, like a cut cable or a NAT entry that vanished. Connections made
/// after the freeze flow normally (the link came back by another path).
async fn relay(target: SocketAddr) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Connections with a number below this are frozen.
    let frozen_below = Arc::new(AtomicU64::new(0));
    let frozen = frozen_below.clone();
    tokio::spawn(async move {
        for number in 0u64.. {
            let Ok((inbound, _)) = listener.accept().await else {
                return;
            };
            let outbound = tokio::net::TcpStream::connect(target).await.unwrap();
            let (in_read, in_write) = inbound.into_split();
            let (out_read, out_write) = outbound.into_split();
            for (mut from, mut to) in [
                (
                    Box::new(in_read) as Box<dyn AsyncRead + Send + Unpin>,
                    Box::new(out_write) as Box<dyn AsyncWrite + Send + Unpin>,
                ),
                (Box::new(out_read), Box::new(in_write)),
            ] {
                let frozen = frozen.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 16 * 1024];
                    loop {
                        let Ok(n @ 1..) = from.read(&mut buffer).await else {
                            return;
                        };
                        if number < frozen.load(Ordering::SeqCst) {
                            // Swallow everything, close nothing.
                            continue;
                        }
                        if to.write_all(&buffer[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    });
    (address, frozen_below)
}

#[tokio::test]
async fn a_link_that_goes_silent_is_noticed_and_the_worker_reattaches() {
    let (fake, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, fake).await;
    let (relayed, frozen_below) = relay(address).await;
    let worker = start_worker(config(plain(relayed)));
    next_attach(&mut seen).await;

    let cut = Instant::now();
    // Only the connection open now (the first) is cut; the reattach goes through a fresh one.
    frozen_below.store(1, Ordering::SeqCst);
    next_attach(&mut seen).await;
    let took = cut.elapsed();
    // HTTP/2 keepalive: a ping every 5 s, dead after 5 s without its answer; then ~0.5 s backoff.
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(16),
        "reattached {took:?} after the link went silent"
    );
    worker.stop().await.unwrap();
    server.kill();
}

#[tokio::test]
async fn a_refused_attach_ends_the_worker_at_once_with_the_reason() {
    let (fake, mut seen) = fake(Some(tonic::Code::Unauthenticated));
    let (server, address) = serve(free_address(1), None, fake).await;
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_fanout-worker"))
        .args(["--coordinator", &format!("http://{address}")])
        .env("FANOUT_WORKER_TOKEN", "wrong-token-0123456789abcdef0123456")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .expect("the refused worker kept trying")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused") && stderr.contains("missing or wrong worker token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`worker-token` from `fanout certs`"),
        "says which token a worker needs: {stderr}"
    );
    assert!(
        !stderr.contains("wrong-token-0123"),
        "the token leaked: {stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(next_seen(&mut seen).await, Seen::Refused));
    assert!(seen.try_recv().is_err(), "the worker tried again");
    server.kill();
}

#[tokio::test]
async fn a_token_under_128_bits_is_a_flag_error_before_any_connection() {
    let (coordinator, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, coordinator).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_fanout-worker"))
        .args(["--coordinator", &format!("http://{address}")])
        .env("FANOUT_WORKER_TOKEN", "guessable-token")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("15 characters") && stderr.contains("at least 128 bits"),
        "{stderr}"
    );
    assert!(!stderr.contains("guessable"), "the token leaked: {stderr}");
    assert!(seen.try_recv().is_err(), "nothing was sent");
    server.kill();
}

#[tokio::test]
async fn plaintext_to_another_host_is_a_flag_error_before_any_connection() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_fanout-worker"))
        .args(["--coordinator", "http://192.0.2.7:7443"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("use https://"), "{stderr}");
}

/// A worker attached to a fake coordinator, and a known_hosts file for its jobs.
struct Session {
    worker: Worker,
    server: Running,
    to_worker: mpsc::Sender<Result<CoordinatorMessage, Status>>,
    seen: mpsc::UnboundedReceiver<Seen>,
    known_hosts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Session {
    /// Sends the worker a message, as the coordinator does.
    async fn send(&self, message: Result<CoordinatorMessage, Status>) {
        self.to_worker.send(message).await.unwrap();
    }
}

/// `count` quick simulated devices from 127.1.`octet`.1 on.
async fn fleet_at(count: usize, octet: u8) -> Fleet {
    Fleet::start(FleetConfig {
        count,
        base: Ipv4Addr::new(127, 1, octet, 1),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn attached_worker() -> Session {
    let dir = tempfile::tempdir().unwrap();
    let (fake, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, fake).await;
    let worker = start_worker(config(plain(address)));
    let Seen::Attached { to_worker, .. } = next_attach(&mut seen).await else {
        unreachable!()
    };
    Session {
        worker,
        server,
        to_worker,
        seen,
        known_hosts: dir.path().join("known_hosts"),
        _dir: dir,
    }
}

fn job(id: &str, known_hosts: &Path) -> JobSpec {
    JobSpec {
        job_id: id.into(),
        commands: vec!["show version".into()],
        connect_timeout_ms: 5_000,
        command_timeout_ms: 60_000,
        host_timeout_ms: 120_000,
        host_key_policy: HostKeyPolicy::Off as i32,
        known_hosts: known_hosts.display().to_string(),
        max_output_bytes: 1024 * 1024,
        ..Default::default()
    }
}

fn host(fleet: &Fleet, index: usize) -> HostTarget {
    let device = &fleet.devices()[index];
    HostTarget {
        name: device.name.clone(),
        hostname: device.address.to_string(),
        port: u32::from(fleet.port()),
        username: "admin".into(),
        password: "admin".into(),
        secret: "enable".into(),
        platform: "cisco_ios".into(),
        ..Default::default()
    }
}

fn assignment(job: JobSpec, hosts: Vec<HostTarget>) -> Result<CoordinatorMessage, Status> {
    Ok(CoordinatorMessage {
        body: Some(coordinator_message::Body::Assignment(Assignment {
            job_id: job.job_id.clone(),
            job: Some(job),
            lease_epoch: 1,
            hosts,
            connect_rate: 0.0,
        })),
    })
}

/// A later lease of a job whose spec the worker was sent before: the job is named only.
fn named_assignment(
    job_id: &str,
    epoch: u64,
    hosts: Vec<HostTarget>,
) -> Result<CoordinatorMessage, Status> {
    Ok(CoordinatorMessage {
        body: Some(coordinator_message::Body::Assignment(Assignment {
            job: None,
            job_id: job_id.into(),
            lease_epoch: epoch,
            hosts,
            connect_rate: 0.0,
        })),
    })
}

/// The coordinator sends a job's spec once per stream: the worker runs later leases of the job
/// with the spec it kept, until the coordinator says the job is over; a lease naming a job
/// whose spec it does not hold fails its host as `internal` instead of running it blind.
#[tokio::test]
async fn a_jobs_spec_sent_once_serves_every_later_lease_until_the_job_ends() {
    let fleet = fleet_at(3, 68).await;
    let mut session = attached_worker().await;

    session
        .send(assignment(
            job("kept", &session.known_hosts),
            vec![host(&fleet, 0)],
        ))
        .await;
    let first = next_result(&mut session.seen, PATIENCE).await;
    assert!(first.ok, "{:?}", first.failure);
    session
        .send(named_assignment("kept", 2, vec![host(&fleet, 1)]))
        .await;
    let second = next_result(&mut session.seen, PATIENCE).await;
    assert_eq!(
        (second.host.as_str(), second.lease_epoch),
        (fleet.devices()[1].name.as_str(), 2)
    );
    assert!(second.ok, "the kept spec ran it: {:?}", second.failure);
    assert_eq!(second.commands[0].command, "show version");

    let over = coordinator_message::Body::Cancel(CancelJob {
        job_id: "kept".into(),
    });
    session
        .send(Ok(CoordinatorMessage { body: Some(over) }))
        .await;
    session
        .send(named_assignment("kept", 3, vec![host(&fleet, 2)]))
        .await;
    let blind = next_result(&mut session.seen, PATIENCE).await;
    let failure = blind.failure.expect("a host of a forgotten job cannot run");
    assert_eq!(failure.kind(), fanout_common::proto::FailureKind::Internal);
    assert!(
        failure.message.contains("without ever sending"),
        "{}",
        failure.message
    );
    assert_eq!(blind.attempts, 0, "nothing reached the device");

    session.worker.stop().await.unwrap();
    session.server.kill();
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_job_stops_at_once_gives_credit_back_and_sends_no_result() {
    let slow = Fleet::start(FleetConfig {
        count: 2,
        base: Ipv4Addr::new(127, 1, 60, 1),
        latency: Duration::from_secs(30),
        ..Default::default()
    })
    .await
    .unwrap();
    let fast = fleet_at(1, 61).await;
    let mut session = attached_worker().await;

    let slow_hosts = vec![host(&slow, 0), host(&slow, 1)];
    session
        .send(assignment(job("slow", &session.known_hosts), slow_hosts))
        .await;
    // Long enough for both sessions to be waiting on the device's 30 s answer.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cancelled = Instant::now();
    let cancel = coordinator_message::Body::Cancel(CancelJob {
        job_id: "slow".into(),
    });
    session
        .send(Ok(CoordinatorMessage { body: Some(cancel) }))
        .await;
    let credits_back = async {
        let mut credits = 0;
        while credits < 2 {
            match next_seen(&mut session.seen).await {
                // The attach's initial offer of full credit.
                Seen::Message(worker_message::Body::Credit(credit)) if credit.hosts == 5 => {}
                Seen::Message(worker_message::Body::Credit(credit)) => {
                    assert_eq!(credit.hosts, 1);
                    credits += 1;
                }
                Seen::Message(worker_message::Body::Result(result)) => {
                    panic!("a cancelled host sent a result: {result:?}")
                }
                Seen::Message(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    // Heartbeats keep arriving, so the wait for the credits needs a deadline of its own.
    tokio::time::timeout(Duration::from_secs(3), credits_back)
        .await
        .expect("no credit back within 3 s of the cancel");
    let took = cancelled.elapsed();
    eprintln!("credit back {took:?} after the cancel");

    // The cancel stopped one job, not the worker: another job still runs to its result.
    session
        .send(assignment(
            job("fast", &session.known_hosts),
            vec![host(&fast, 0)],
        ))
        .await;
    loop {
        match next_seen(&mut session.seen).await {
            Seen::Message(worker_message::Body::Result(result)) => {
                assert_eq!(result.job_id, "fast", "a cancelled host sent a result");
                assert!(result.ok, "{:?}", result.failure);
                break;
            }
            Seen::Message(worker_message::Body::Credit(credit)) => {
                panic!("credit before the fast host's result: {credit:?}")
            }
            Seen::Message(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    session.worker.stop().await.unwrap();
    session.server.kill();
    slow.shutdown().await;
    fast.shutdown().await;
}

/// The next result the worker sends, skipping credit and heartbeats.
async fn next_result(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    within: Duration,
) -> fanout_common::proto::HostResult {
    let result = async {
        loop {
            match next_seen(seen).await {
                Seen::Message(worker_message::Body::Result(result)) => return result,
                Seen::Message(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    tokio::time::timeout(within, result)
        .await
        .expect("no result in time: the worker is still retrying")
}

#[tokio::test]
async fn retries_of_a_device_that_resets_every_connection_stop_at_the_host_timeout() {
    let fleet = Fleet::start(FleetConfig {
        count: 1,
        base: Ipv4Addr::new(127, 1, 62, 1),
        faults: [(0, fanout_devsim::Fault::Refuse)].into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (fake, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, fake).await;
    let worker = start_worker(config(plain(address)));
    let Seen::Attached { to_worker, .. } = next_attach(&mut seen).await else {
        unreachable!()
    };

    // As the issue ran it: a million retries, no pause asked for (then a pause of 1 ms, whose
    // doubling alone never reaches a sensible wait), and a host timeout of a few seconds.
    let host_timeout = Duration::from_secs(3);
    for backoff_ms in [0, 1] {
        let before = fleet.connections_accepted();
        let job = JobSpec {
            retries: 1_000_000,
            retry_backoff_ms: backoff_ms,
            host_timeout_ms: host_timeout.as_millis() as u64,
            connect_rate: 0.0,
            ..job(
                &format!("backoff-{backoff_ms}"),
                &dir.path().join("known_hosts"),
            )
        };
        let started = Instant::now();
        to_worker
            .send(assignment(job, vec![host(&fleet, 0)]))
            .await
            .unwrap();
        let result = next_result(&mut seen, host_timeout + Duration::from_secs(5)).await;
        let took = started.elapsed();
        let connections = fleet.connections_accepted() - before;
        eprintln!(
            "backoff {backoff_ms} ms: {} attempts, {connections} connections in {took:?}",
            result.attempts
        );
        assert!(!result.ok);
        let failure = result.failure.as_ref().unwrap();
        assert!(failure.retryable, "{failure:?}");
        assert!(
            took < host_timeout + Duration::from_secs(2),
            "the host timeout bounds all attempts: {took:?}"
        );
        // Pauses of at least 100 ms, doubling: a handful of attempts in 3 s, not thousands.
        assert!(
            (2..=12).contains(&result.attempts),
            "{} attempts",
            result.attempts
        );
        assert_eq!(
            u64::from(result.attempts),
            connections,
            "the result counts the attempts really made"
        );
        assert!(
            failure.message.contains(&format!(
                "gave up after {} attempts: the host timeout of 3s",
                result.attempts
            )),
            "{}",
            failure.message
        );
    }
    worker.stop().await.unwrap();
    server.kill();
    fleet.shutdown().await;
}

/// `fanout-worker --concurrency 2000` under an open-file limit of `soft`:`hard`, attached to a
/// fake coordinator at `address`, logging to `log` (a file: a pipe nobody reads would fill).
fn worker_under_fd_limit(
    address: SocketAddr,
    (soft, hard): (u64, u64),
    log: &Path,
) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fanout-worker"));
    command
        .args(["--coordinator", &format!("http://{address}")])
        .args(["--concurrency", "2000", "--no-reconnect"])
        .env("FANOUT_WORKER_TOKEN", TOKEN)
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true);
    // SAFETY: setrlimit is one system call that allocates nothing, fine between fork and exec.
    unsafe {
        command.pre_exec(move || fanout_common::limits::set_fd_limit(soft, hard));
    }
    command.spawn().unwrap()
}

#[tokio::test]
async fn a_worker_raises_its_open_file_limit_and_runs_only_the_sessions_that_fit() {
    // Soft 256 under a hard 4096: raised, and 2000 sessions fit.
    let dir = tempfile::tempdir().unwrap();
    let (coordinator, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, coordinator).await;
    let _raised = worker_under_fd_limit(address, (256, 4096), &dir.path().join("raised.log"));
    let Seen::Attached { hello, .. } = next_attach(&mut seen).await else {
        unreachable!()
    };
    assert_eq!(
        hello.concurrency, 2000,
        "the soft limit was raised to the hard one"
    );
    server.kill();

    // Hard 256: the worker says so and holds no more sessions than fit, so none of 300 devices
    // fails for want of a descriptor (before, such hosts failed as `unreachable`).
    let fleet = Fleet::start(FleetConfig {
        count: 300,
        base: Ipv4Addr::new(127, 1, 64, 1),
        ..Default::default()
    })
    .await
    .unwrap();
    let (coordinator, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, coordinator).await;
    let log = dir.path().join("capped.log");
    let mut capped = worker_under_fd_limit(address, (256, 256), &log);
    let Seen::Attached {
        hello, to_worker, ..
    } = next_attach(&mut seen).await
    else {
        unreachable!()
    };
    let fits = 256 - fanout_common::limits::FD_RESERVE as u32;
    assert_eq!(hello.concurrency, fits);
    let job = JobSpec {
        connect_rate: 0.0,
        ..job("many", &dir.path().join("known_hosts"))
    };
    let hosts = (0..300).map(|i| host(&fleet, i)).collect();
    to_worker.send(assignment(job, hosts)).await.unwrap();
    let mut failed = Vec::new();
    for _ in 0..300 {
        let result = next_result(&mut seen, Duration::from_secs(120)).await;
        if !result.ok {
            failed.push(format!("{}: {:?}", result.host, result.failure));
        }
    }
    assert!(failed.is_empty(), "{} failed: {failed:#?}", failed.len());
    drop(to_worker);
    server.kill();
    let _ = capped.kill().await;
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("--concurrency 2000 does not fit the open-file limit of 256"),
        "{stderr}"
    );
    fleet.shutdown().await;
}

/// Runs the test `name` of this binary alone in a process of its own, for tests that do things
/// to the whole process (taking every file descriptor) that would upset tests running beside
/// them; fails with the child's output when it fails.
async fn in_own_process(name: &str) {
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FANOUT_ATTACH_TEST_CHILD", "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("the child test hung")
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{name} failed:\n{said}");
    assert!(said.contains("1 passed"), "{name} did not run:\n{said}");
}

#[tokio::test]
async fn a_worker_out_of_file_descriptors_waits_for_them_and_never_blames_the_device() {
    in_own_process("out_of_file_descriptors_in_this_process").await;
}

/// Every descriptor this process may still open, held until dropped.
fn take_every_descriptor() -> Vec<std::fs::File> {
    let mut held = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => held.push(file),
            Err(e) if fanout_common::limits::is_out_of_descriptors(&e) => return held,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Run by the test above in a process of its own: with every descriptor taken, a host's
/// attempt cannot even open its socket. It waits for one instead of failing as `unreachable`;
/// given none before its host timeout, it fails as `internal` naming the open-file limit.
#[tokio::test]
#[ignore = "run in a process of its own by a_worker_out_of_file_descriptors_..."]
async fn out_of_file_descriptors_in_this_process() {
    if std::env::var_os("FANOUT_ATTACH_TEST_CHILD").is_none() {
        // It takes every descriptor of its process: only its parent test runs it, alone.
        eprintln!("skipped: run by a_worker_out_of_file_descriptors_... in a process of its own");
        return;
    }
    let fleet = Fleet::start(FleetConfig {
        count: 2,
        base: Ipv4Addr::new(127, 1, 66, 1),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (coordinator, mut seen) = fake(None);
    let (server, address) = serve(free_address(1), None, coordinator).await;
    let worker = start_worker(config(plain(address)));
    let Seen::Attached { to_worker, .. } = next_attach(&mut seen).await else {
        unreachable!()
    };
    let job = |id: &str, host_timeout: Duration| JobSpec {
        host_timeout_ms: host_timeout.as_millis() as u64,
        connect_rate: 0.0,
        ..job(id, &dir.path().join("known_hosts"))
    };

    let held = take_every_descriptor();
    let job_a = job("short-of-descriptors", Duration::from_secs(30));
    to_worker
        .send(assignment(job_a, vec![host(&fleet, 0)]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        fleet.connections_accepted(),
        0,
        "nothing reached the device"
    );
    drop(held);
    let result = next_result(&mut seen, Duration::from_secs(10)).await;
    assert!(result.ok, "{:?}", result.failure);
    assert_eq!(
        result.attempts, 1,
        "waiting for descriptors is not an attempt"
    );

    // Once the first host's connection is closed on both ends, nothing frees a descriptor.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = take_every_descriptor();
    let job_b = job("out-of-descriptors", Duration::from_secs(2));
    to_worker
        .send(assignment(job_b, vec![host(&fleet, 1)]))
        .await
        .unwrap();
    let result = next_result(&mut seen, Duration::from_secs(10)).await;
    drop(held);
    let failure = result.failure.unwrap();
    assert_eq!(
        failure.kind(),
        fanout_common::proto::FailureKind::Internal,
        "{}",
        failure.message
    );
    assert!(
        failure
            .message
            .contains("ran out of file descriptors (open-file limit"),
        "{}",
        failure.message
    );
    assert_eq!(result.attempts, 0);
    worker.stop().await.unwrap();
    server.kill();
    fleet.shutdown().await;
}
