//! The running fleet: one listener for every device, the accept loop that tells devices apart by
//! the local address a client connected to, and shutdown.

use crate::config_store::ConfigStore;
use crate::device::{plan_devices, plan_faults};
use crate::drift::{self, plan_drift};
use crate::inventory::{self, Access};
use crate::keys::host_key;
use crate::session::DeviceSession;
use crate::{Device, DevsimError, Drift, Dynamics, Fault, FleetConfig};
use russh::keys::PublicKey;
use russh::server;
use russh::{Disconnect, MethodKind, MethodSet, SshId};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument as _, debug, debug_span, info, warn};

/// Pending-connection queue of the listener. A benchmark opening thousands of sessions at once
/// would otherwise overflow the default and see 1-second SYN retransmits instead of the device
/// latency it asked for. The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;
/// What a device stuck in key exchange announces before going quiet (Cisco IOS's banner).
const STALLED_SERVER_ID: &str = "SSH-2.0-Cisco-1.25";
/// How long [`Fleet::shutdown`] waits for sessions to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// State every session of the fleet reads; immutable after start except the lazy parts.
pub(crate) struct FleetShared {
    pub(crate) devices: Vec<Device>,
    /// Device index by address, for the accept loop.
    by_address: HashMap<Ipv4Addr, usize>,
    /// Each device's russh config (its host key), built on first connection: deriving 10,000
    /// keys up front would make start-up take seconds for devices a test may never touch.
    server_configs: Vec<OnceLock<Arc<server::Config>>>,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) secret: String,
    pub(crate) latency: Duration,
    pub(crate) jitter: Duration,
    pub(crate) seed: u64,
    /// Prompt-detection traps every device sets.
    pub(crate) quirks: crate::Quirks,
    /// Each device's fault mode, by index: explicit faults and the seeded mix resolved once.
    faults: Vec<Option<Fault>>,
    /// Each device's drift from its intended configuration, by index; empty for most.
    drift: Vec<Vec<Drift>>,
    /// Connections accepted for fleet devices, for tests and benchmarks to check their retries.
    connections: AtomicU64,
    /// Devices with [`Fault::RefuseFirst`] that have already turned one connection away.
    refused_once: Vec<AtomicBool>,
    /// Flapping interfaces and CPU load, scheduled or forced through the control API.
    pub(crate) dynamics: Arc<Dynamics>,
    /// The configuration pushed to each device since the fleet started.
    pub(crate) config: Arc<ConfigStore>,
    /// The SNMP agent's community and users and its UDP port, once [`Fleet::serve_snmp_with`]
    /// started it.
    snmp: OnceLock<(crate::SnmpConfig, u16)>,
}

impl FleetShared {
    pub(crate) fn drift(&self, index: usize) -> &[Drift] {
        self.drift.get(index).map_or(&[], Vec::as_slice)
    }

    /// The device whose address a connection reached, if it is one of the fleet's.
    pub(crate) fn device_at(&self, local: Option<SocketAddr>) -> Option<usize> {
        match local {
            Some(SocketAddr::V4(local)) => self.by_address.get(local.ip()).copied(),
            _ => None,
        }
    }

    pub(crate) fn fault(&self, index: usize) -> Option<Fault> {
        self.faults.get(index).copied().flatten()
    }

    fn server_config(&self, index: usize) -> Arc<server::Config> {
        self.server_configs[index]
            .get_or_init(|| {
                let device = &self.devices[index];
                let key = host_key(self.seed, &device.name);
                Arc::new(server_config(key, device.platform.persona().ssh_id))
            })
            .clone()
    }
}

/// `ssh_id` is what the device's vendor announces, so clients that sniff the banner are not
/// surprised.
fn server_config(key: russh::keys::PrivateKey, ssh_id: &str) -> server::Config {
    server::Config {
        server_id: SshId::Standard(ssh_id.to_string().into()),
        methods: MethodSet::from(&[MethodKind::Password, MethodKind::KeyboardInteractive][..]),
        // Clients probe with `none` first; answering it at once keeps logins fast. Real
        // rejections are delayed a little, not the default full second, so the RejectAuth fault
        // does not dominate test run times.
        auth_rejection_time: Duration::from_millis(100),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        inactivity_timeout: Some(Duration::from_secs(600)),
        nodelay: true,
        ..Default::default()
    }
}

/// A running fleet of simulated devices. Stops on [`Fleet::shutdown`] or when dropped.
pub struct Fleet {
    shared: Arc<FleetShared>,
    /// The port every device listens on (the OS's choice when the config said 0).
    port: u16,
    /// The port every device serves HTTP on (see [`crate::http`]).
    http_port: u16,
    /// Stops the accept loop and every session.
    cancel: CancellationToken,
    /// Every task of the fleet, so shutdown can wait for them.
    tracker: TaskTracker,
}

impl Fleet {
    /// Binds the listener and starts serving. Fails before opening anything if the configuration
    /// is invalid (no devices, addresses outside 127.0.0.0/8, faults for absent devices).
    ///
    /// A one-device fleet binds its own address; larger fleets bind `0.0.0.0` and serve each
    /// connection as the device whose address it reached, closing any other at once.
    pub async fn start(cfg: FleetConfig) -> Result<Fleet, DevsimError> {
        let devices = plan_devices(&cfg)?;
        let faults = plan_faults(&cfg);
        let drift = plan_drift(&devices, cfg.drift.as_ref(), cfg.seed)?;
        let bind_ip = match devices.as_slice() {
            [only] => only.address,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let address = SocketAddr::from((bind_ip, cfg.port));
        let listener = listen(address).map_err(|reason| DevsimError::Listen { address, reason })?;
        let port = listener
            .local_addr()
            .map_err(|reason| DevsimError::Listen { address, reason })?
            .port();
        let (http_listener, http_port) =
            crate::http::bind(SocketAddr::from((bind_ip, cfg.http_port)))?;

        let dynamics = Arc::new(Dynamics::new(
            &devices,
            cfg.dynamics.clone(),
            cfg.seed,
            drift.clone(),
        )?);
        let config = Arc::new(ConfigStore::new(devices.len(), cfg.confirm_minute));
        let by_address = devices.iter().map(|d| (d.address, d.index)).collect();
        let server_configs = devices.iter().map(|_| OnceLock::new()).collect();
        let shared = Arc::new(FleetShared {
            devices,
            by_address,
            server_configs,
            username: cfg.username,
            password: cfg.password,
            secret: cfg.secret,
            latency: cfg.latency,
            jitter: cfg.jitter,
            seed: cfg.seed,
            quirks: cfg.quirks,
            refused_once: (0..faults.len()).map(|_| AtomicBool::new(false)).collect(),
            faults,
            drift,
            connections: AtomicU64::new(0),
            dynamics,
            config: config.clone(),
            snmp: OnceLock::new(),
        });
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(accept_loop(
            listener,
            shared.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
        tracker.spawn(sweep_confirmations(config, cancel.clone()));
        tracker.spawn(crate::http::serve(
            http_listener,
            shared.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
        info!(
            devices = shared.devices.len(),
            bind = %bind_ip,
            port,
            http_port,
            latency = ?cfg.latency,
            "fleet started"
        );
        Ok(Fleet {
            shared,
            port,
            http_port,
            cancel,
            tracker,
        })
    }

    /// The TCP port every device answers on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TCP port every device serves HTTP on (`GET /log`, `GET /restconf/data/interfaces`).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The devices, in index order.
    pub fn devices(&self) -> &[Device] {
        &self.shared.devices
    }

    /// The fault mode device `index` runs with (explicit or from the seeded mix), `None` for a
    /// healthy device or an index outside the fleet.
    pub fn fault_of(&self, index: usize) -> Option<Fault> {
        self.shared.fault(index)
    }

    /// How device `index` drifts from its intended configuration; empty for a clean device (and
    /// an index outside the fleet). [`crate::device_running_config`] gives its running-config.
    pub fn drift_of(&self, index: usize) -> &[Drift] {
        self.shared.drift(index)
    }

    /// The drifted devices as JSON, `{"r00003": ["missing_vlan:30", "ntp_missing"], ...}`.
    pub fn drift_report(&self) -> String {
        drift::report(&self.shared.devices, &self.shared.drift)
    }

    /// The public host key device `index` presents, for tests that pin or check keys.
    pub fn host_public_key(&self, index: usize) -> Option<PublicKey> {
        let device = self.shared.devices.get(index)?;
        Some(
            host_key(self.shared.seed, &device.name)
                .public_key()
                .clone(),
        )
    }

    /// An OpenSSH `known_hosts` file listing every device's key (`[127.1.0.1]:2222 ssh-ed25519
    /// ...`), for clients run with strict host-key checking.
    pub fn known_hosts(&self) -> String {
        let mut out = String::new();
        for device in &self.shared.devices {
            let key = host_key(self.shared.seed, &device.name);
            if let Ok(line) = key.public_key().to_openssh() {
                out.push_str(&format!("[{}]:{} {line}\n", device.address, self.port));
            }
        }
        out
    }

    /// The fleet as a Nornir SimpleInventory YAML document (defaults, one group per site, hosts).
    pub fn inventory_yaml(&self) -> String {
        inventory::render(
            &self.shared.devices,
            &Access {
                port: self.port,
                http_port: self.http_port,
                username: &self.shared.username,
                password: &self.shared.password,
                secret: &self.shared.secret,
                snmp: self.shared.snmp.get().map(|(c, p)| (c, *p)),
            },
        )
    }

    /// Starts answering SNMPv2c with `community` for every device (see [`crate::snmp`]) on one
    /// UDP socket, on the fleet's SSH port number when that is free as a UDP port, else on one
    /// the OS picks; returns the port. From then on the inventory carries an `snmp:` section.
    /// Calling it again returns the port of the agent already running.
    pub fn serve_snmp(&self, community: &str) -> Result<u16, DevsimError> {
        self.serve_snmp_with(crate::SnmpConfig::v2c(community))
    }

    /// [`Fleet::serve_snmp`] for v2c and/or SNMPv3 users (USM, see [`crate::usm`]), all on the
    /// one socket. The inventory names the first v3 user when there is one, else the community.
    /// A v3 password under 8 characters is invalid configuration (the error names the user).
    pub fn serve_snmp_with(&self, config: crate::SnmpConfig) -> Result<u16, DevsimError> {
        if let Some((_, port)) = self.shared.snmp.get() {
            return Ok(*port);
        }
        if config.community.is_none() && config.users.is_empty() {
            return Err(DevsimError::InvalidConfig {
                reason: "SNMP needs a v2c community or a v3 user".into(),
            });
        }
        let agent = crate::snmp::SnmpAgent::new(&config, self.shared.devices.len())
            .map_err(|reason| DevsimError::InvalidConfig { reason })?;
        let ip = match self.shared.devices.as_slice() {
            [only] => only.address,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let wanted = SocketAddr::from((ip, self.port));
        let socket = crate::snmp::bind(wanted)
            .or_else(|_| crate::snmp::bind(SocketAddr::from((ip, 0))))
            .map_err(|reason| DevsimError::Listen {
                address: wanted,
                reason,
            })?;
        let port = socket
            .local_addr()
            .map_err(|reason| DevsimError::Listen {
                address: wanted,
                reason,
            })?
            .port();
        let _ = self.shared.snmp.set((config, port));
        let agent = Arc::new(agent);
        self.tracker.spawn(crate::snmp::serve(
            Arc::new(socket),
            agent,
            self.shared.clone(),
            self.cancel.clone(),
        ));
        info!(port, "snmp agent started");
        Ok(port)
    }

    /// Writes [`Fleet::inventory_yaml`] to `path`.
    pub fn write_inventory(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.inventory_yaml())
    }

    /// The device's running configuration now, as its persona prints it, with every change
    /// pushed to it (and any unconfirmed `commit confirmed` whose time is up rolled back).
    pub fn running_config(&self, index: usize) -> String {
        let device = &self.shared.devices[index];
        let changes = self.shared.config.device(index).changes.clone();
        let mut model = crate::model::DeviceModel::generate(&device.name, self.shared.seed)
            .drifted(self.shared.drift(index));
        crate::config_store::apply(&mut model, &changes);
        (device.platform.persona().running_config)(&model)
    }

    /// How many `commit confirmed` the device rolled back because nobody confirmed them.
    pub fn unconfirmed_rollbacks(&self, index: usize) -> u32 {
        self.shared.config.device(index).rolled_back
    }

    /// What an interrupted change may have left on the device: sessions in configuration mode
    /// (now, or when they ended), uncommitted EOS sessions, a commit awaiting confirmation.
    pub fn config_state(&self, index: usize) -> crate::config_store::ConfigState {
        self.shared.config.device(index).state()
    }

    /// The fleet's live state: force a flap or a CPU spike on a device from in-process tests.
    pub fn dynamics(&self) -> &Arc<Dynamics> {
        &self.shared.dynamics
    }

    /// Starts the control API (see [`crate::dynamics::control`]) on `address`, a loopback address
    /// (port 0 lets the OS choose), and returns the address it listens on. It stops with the
    /// fleet.
    pub async fn serve_control(&self, address: SocketAddr) -> Result<SocketAddr, DevsimError> {
        match address.ip() {
            std::net::IpAddr::V4(ip) if ip.is_loopback() => {}
            _ => {
                return Err(DevsimError::InvalidConfig {
                    reason: format!(
                        "control address {address} is not on 127.0.0.0/8; devsim serves loopback only"
                    ),
                });
            }
        }
        let listener = TcpListener::bind(address)
            .await
            .map_err(|reason| DevsimError::Listen { address, reason })?;
        let bound = listener
            .local_addr()
            .map_err(|reason| DevsimError::Listen { address, reason })?;
        self.tracker.spawn(crate::dynamics::control::serve(
            listener,
            self.shared.dynamics.clone(),
            self.cancel.clone(),
        ));
        Ok(bound)
    }

    /// TCP connections accepted for fleet devices so far (faulty devices included, connections
    /// to addresses outside the fleet not).
    pub fn connections_accepted(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Stops accepting, disconnects every session and waits (a few seconds at most) for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            warn!(
                tasks = self.tracker.len(),
                "fleet tasks still running after the shutdown grace period"
            );
        }
        info!("fleet stopped");
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub(crate) fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<FleetShared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Usually EMFILE: back off instead of spinning until a session ends.
                warn!(error = %e, "accept failed");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let Some(index) = shared.device_at(stream.local_addr().ok()) else {
            debug!(%peer, local = ?stream.local_addr().ok(), "closing connection to an address outside the fleet");
            continue;
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let span = debug_span!("device", device = %shared.devices[index].name, %peer);
        tracker.spawn(
            serve(
                stream,
                index,
                shared.clone(),
                cancel.clone(),
                tracker.clone(),
            )
            .instrument(span),
        );
    }
}

/// Serves one accepted connection as device `index`, honouring its fault mode.
async fn serve(
    stream: TcpStream,
    index: usize,
    shared: Arc<FleetShared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let name = shared.devices[index].name.clone();
    let fault = match shared.fault(index) {
        Some(Fault::RefuseFirst) if shared.refused_once[index].swap(true, Ordering::Relaxed) => {
            None
        }
        Some(Fault::RefuseFirst) => Some(Fault::Refuse),
        other => other,
    };
    match fault {
        Some(Fault::Refuse) => {
            // Dropping with a zero linger sends RST instead of FIN: the client's first read fails
            // with ECONNRESET, as near to a refused connection as an accepted one can get.
            if let Err(e) = stream.set_zero_linger() {
                debug!(device = %name, error = %e, "cannot set SO_LINGER 0");
            }
            return;
        }
        Some(Fault::Silent) => {
            hold_silent(stream, &cancel).await;
            return;
        }
        Some(Fault::StallKex) => {
            stall_kex(stream, &cancel).await;
            return;
        }
        _ => {}
    }
    if let Err(e) = stream.set_nodelay(true) {
        debug!(device = %name, error = %e, "cannot disable nagle");
    }
    let config = shared.server_config(index);
    let handler = DeviceSession::new(shared, index, tracker, cancel.clone());
    let started = tokio::select! {
        _ = cancel.cancelled() => return,
        started = server::run_stream(config, stream, handler) => started,
    };
    let mut session = match started {
        Ok(session) => session,
        Err(e) => {
            debug!(device = %name, error = %e, "ssh handshake failed");
            return;
        }
    };
    let handle = session.handle();
    tokio::select! {
        ended = &mut session => {
            if let Err(e) = ended {
                debug!(device = %name, error = %e, "session ended with an error");
            }
        }
        _ = cancel.cancelled() => {
            let _ = handle
                .disconnect(Disconnect::ByApplication, "device shutting down".into(), "en".into())
                .await;
            let _ = tokio::time::timeout(Duration::from_secs(1), session).await;
        }
    }
}

/// The `StallKex` fault: the banner a real device sends, then nothing while the client's key
/// exchange waits for an answer that never comes.
async fn stall_kex(mut stream: TcpStream, cancel: &CancellationToken) {
    let banner = format!("{STALLED_SERVER_ID}\r\n");
    if stream.write_all(banner.as_bytes()).await.is_err() {
        return;
    }
    hold_silent(stream, cancel).await;
}

/// The `Silent` fault: keep the socket open and say nothing, reading (and discarding) whatever
/// the client sends so its close is noticed.
async fn hold_silent(mut stream: TcpStream, cancel: &CancellationToken) {
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
        }
    }
}

/// Rolls back expired `commit confirmed`s a few times per `commit confirmed` minute, so a
/// device undoes an unconfirmed commit on its own, whether or not anyone looks at it.
async fn sweep_confirmations(config: Arc<ConfigStore>, cancel: CancellationToken) {
    let every = (config.minute / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => config.sweep(),
        }
    }
}
