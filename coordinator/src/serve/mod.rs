//! `fanout serve`: a long-lived coordinator. Workers attach from any host (TLS, token or client
//! certificate), clients submit and watch jobs through the Jobs API, jobs survive restarts in
//! the state directory, and `/metrics` + `/healthz` serve the deployment's scrapers and probes.

pub mod api;
pub mod hub;
pub mod log;
pub mod metrics;
pub mod retention;
pub mod store;

use crate::scheduler::Scheduler;
use crate::worker_service::{ServerPolicy, Shared};
use fanout_common::Secret;
use fanout_common::channel::check_token_strength;
use fanout_common::proto::jobs_server::JobsServer;
use fanout_common::wire::{MAX_MESSAGE_BYTES, check_token};
use hub::{Hub, HubSettings};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tracing::{info, warn};

/// HTTP/2 pings on idle connections: a worker behind a cut link is noticed and its stream
/// closed, instead of holding a connection forever.
const KEEPALIVE: Duration = Duration::from_secs(10);
/// How long unary calls in progress get to finish when the coordinator stops.
const STOP_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Certificate chain and key; `None` serves plaintext, which only loopback may do.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Require client certificates signed by this CA.
    pub client_ca: Option<PathBuf>,
    /// What clients (the Jobs API) must present; without it, their certificate (mTLS) is all.
    pub client_token: Option<Secret>,
    /// What workers must present to attach. Workers receive every job's device credentials,
    /// so this is never the clients' token: a client cannot pose as a worker.
    pub worker_token: Option<Secret>,
    pub state_dir: Option<PathBuf>,
    pub metrics_listen: Option<SocketAddr>,
    pub lease_timeout: Duration,
    pub max_output_bytes: u64,
    pub hub: HubSettings,
    /// `--backup-repo`: backups this coordinator runs on its own schedule.
    pub backup: Option<std::sync::Arc<crate::backup::scheduled::ScheduledBackups>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve without TLS on {0}: workers and clients would send credentials in clear text; give --tls-cert and --tls-key, or listen on a loopback address"
    )]
    PlaintextOffLoopback(SocketAddr),
    #[error("no way to authenticate clients: give --token-file, --client-ca, or both")]
    NoClientAuthentication,
    #[error(
        "no worker token: give --worker-token-file (workers receive the jobs' device credentials, \
         so they prove themselves with a token of their own; `fanout certs` writes worker-token)"
    )]
    NoWorkerToken,
    #[error(
        "--token-file and --worker-token-file hold the same token: any client could attach as a \
         worker and receive other users' jobs with their credentials; give workers a token of \
         their own"
    )]
    SharedToken,
    #[error("{flag}: {source}")]
    WeakToken {
        flag: &'static str,
        source: fanout_common::channel::ChannelError,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(tonic::transport::Error),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("the gRPC server failed: {0}")]
    Server(tonic::transport::Error),
}

impl ServeConfig {
    /// Refuses configurations that would leak credentials or let anyone in.
    pub fn check(&self) -> Result<(), ServeError> {
        if self.tls.is_none() && !self.listen.ip().is_loopback() {
            return Err(ServeError::PlaintextOffLoopback(self.listen));
        }
        if self.client_token.is_none() && self.client_ca.is_none() {
            return Err(ServeError::NoClientAuthentication);
        }
        let Some(worker_token) = &self.worker_token else {
            return Err(ServeError::NoWorkerToken);
        };
        let tokens = [
            ("--token-file", self.client_token.as_ref()),
            ("--worker-token-file", Some(worker_token)),
        ];
        for (flag, token) in tokens {
            if let Some(token) = token {
                check_token_strength(token)
                    .map_err(|source| ServeError::WeakToken { flag, source })?;
            }
        }
        if self
            .client_token
            .as_ref()
            .is_some_and(|client| same_token(client, worker_token))
        {
            return Err(ServeError::SharedToken);
        }
        Ok(())
    }
}

/// Whether two tokens are the same, in constant time.
fn same_token(a: &Secret, b: &Secret) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.expose().as_bytes().ct_eq(b.expose().as_bytes()))
}

/// A Jobs API call must carry the client token (when there is one; otherwise the TLS layer
/// has checked the client's certificate), and never the worker token: a worker's credential
/// is for attaching, not for submitting or watching jobs.
fn check_client(
    (client, worker): &(Option<Secret>, Option<Secret>),
    metadata: &tonic::metadata::MetadataMap,
) -> Result<(), tonic::Status> {
    if let Some(worker) = worker
        && check_token(Some(worker), metadata).is_ok()
    {
        return Err(tonic::Status::permission_denied(
            "that is the worker token; clients present the client token",
        ));
    }
    check_token(client.as_ref(), metadata)
}

fn read(path: &Path) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|source| ServeError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn tls_config(config: &ServeConfig) -> Result<Option<ServerTlsConfig>, ServeError> {
    let Some((cert, key)) = &config.tls else {
        return Ok(None);
    };
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
    if let Some(ca) = &config.client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
    }
    Ok(Some(tls))
}

/// Serves until `stop` is cancelled. Running jobs stay in the state directory and resume when
/// the coordinator starts again; workers reconnect on their own.
pub async fn serve(config: ServeConfig, stop: CancellationToken) -> Result<(), ServeError> {
    config.check()?;
    let tls = tls_config(&config)?;
    let store = config.state_dir.as_deref().map(Store::open).transpose()?;
    if store.is_none() {
        warn!("no --state-dir: jobs are kept in memory only and lost on restart");
    }
    let policy = ServerPolicy {
        token: config.worker_token.clone(),
        max_output_bytes: config.max_output_bytes,
        lease_timeout: config.lease_timeout,
    };
    let scheduler = Scheduler::with_affinity_keys(config.hub.affinity_keys.clone());
    let shared = Shared::with_scheduler(policy, scheduler);
    let hub = Hub::new(shared.clone(), store.clone(), config.hub.clone());

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| ServeError::Listen {
        address: config.listen,
        source,
    })?;
    let metrics = match config.metrics_listen {
        Some(at) => {
            let backups = config.backup.as_ref().map(|b| b.runs.clone());
            Some(start_metrics(at, hub.clone(), backups, stop.clone()).await?)
        }
        None => None,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<fanout_common::proto::coordinator_server::CoordinatorServer<
            crate::worker_service::CoordinatorService,
        >>()
        .await;
    health.set_serving::<JobsServer<api::JobsApi>>().await;
    let tokens = (config.client_token.clone(), config.worker_token.clone());
    let jobs = JobsServer::new(api::JobsApi { hub: hub.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let jobs = tonic::service::interceptor::InterceptedService::new(
        jobs,
        move |request: tonic::Request<()>| {
            check_client(&tokens, request.metadata())?;
            Ok(request)
        },
    );
    let mut builder = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(KEEPALIVE))
        .http2_keepalive_timeout(Some(KEEPALIVE));
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).map_err(ServeError::Tls)?;
    }
    let router = builder
        .add_service(health_service)
        .add_service(shared.service())
        .add_service(jobs);

    if let Some(store) = &store {
        hub.resume(store.load()?).await;
    }
    tokio::spawn(hub.clone().prune_until(stop.clone()));
    if let Some(backup) = &config.backup {
        tokio::spawn(backup.clone().run(hub.clone(), stop.clone()));
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    info!(%address, %scheme, metrics = ?metrics, "coordinator serving");
    eprintln!("fanout: serving on {scheme}://{address}");
    let server = router.serve_with_incoming_shutdown(
        TcpListenerStream::new(listener),
        stop.clone().cancelled_owned(),
    );
    // Worker streams and watches never end by themselves: after a short grace the server is
    // dropped with them. Their jobs stay in the state directory and resume on the next start;
    // workers and watching clients reconnect.
    let grace = async {
        stop.cancelled().await;
        tokio::time::sleep(STOP_GRACE).await;
    };
    tokio::select! {
        served = server => served.map_err(ServeError::Server)?,
        _ = grace => {}
    }
    info!("coordinator stopped");
    Ok(())
}

async fn start_metrics(
    at: SocketAddr,
    hub: std::sync::Arc<Hub>,
    backups: Option<std::sync::Arc<crate::backup::scheduled::BackupRuns>>,
    stop: CancellationToken,
) -> Result<SocketAddr, ServeError> {
    let listener = TcpListener::bind(at)
        .await
        .map_err(|source| ServeError::Listen {
            address: at,
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| ServeError::Listen {
        address: at,
        source,
    })?;
    tokio::spawn(async move {
        let app = metrics::router(hub, backups);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            warn!(error = %e, "the metrics listener failed");
        }
    });
    eprintln!("fanout: metrics on http://{bound}/metrics");
    Ok(bound)
}
