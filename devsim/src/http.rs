//! Each device's HTTP API: `GET /log` (recent syslog lines) and a RESTCONF-like
//! `GET /restconf/data/interfaces` (JSON), behind basic or bearer auth.
//!
//! Like SSH, one listener serves every device and tells them apart by the local address a client
//! connected to. The listener also plays the connection-level faults (`refuse`, `silent`) so an
//! HTTP client meets the same failures an SSH client would.

use crate::dynamics::InterfaceState;
use crate::fleet::FleetShared;
use crate::model::{self, DeviceModel, Port, Rng};
use crate::{DevsimError, Fault};
use axum::Router;
use axum::extract::Request;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::{IncomingStream, Listener};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// Syslog lines `GET /log` returns.
const LOG_LINES: usize = 40;
/// Stream of [`Rng`] the log is drawn from, apart from the ones the configuration uses.
const LOG_STREAM: u64 = 21;
/// Realm named in the 401 challenge.
const REALM: &str = "devsim";

/// The device a connection reached, handed to every request on it.
#[derive(Debug, Clone, Copy)]
struct DeviceConn {
    index: usize,
}

impl Connected<IncomingStream<'_, DeviceListener>> for DeviceConn {
    fn connect_info(stream: IncomingStream<'_, DeviceListener>) -> Self {
        *stream.remote_addr()
    }
}

/// A TCP listener that yields only connections for fleet devices without a connection-level
/// fault, playing those faults itself.
struct DeviceListener {
    inner: TcpListener,
    shared: Arc<FleetShared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Listener for DeviceListener {
    type Io = TcpStream;
    type Addr = DeviceConn;

    async fn accept(&mut self) -> (TcpStream, DeviceConn) {
        loop {
            let stream = match self.inner.accept().await {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning until a connection ends.
                    warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(index) = self.shared.device_at(stream.local_addr().ok()) else {
                debug!(local = ?stream.local_addr().ok(), "closing http connection to an address outside the fleet");
                continue;
            };
            match self.shared.fault(index) {
                Some(Fault::Refuse) => {
                    // A zero linger sends RST: as near to a refused connection as an accepted one gets.
                    let _ = stream.set_zero_linger();
                }
                Some(Fault::Silent) => {
                    let cancel = self.cancel.clone();
                    self.tracker.spawn(hold_silent(stream, cancel));
                }
                _ => {
                    let _ = stream.set_nodelay(true);
                    return (stream, DeviceConn { index });
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<DeviceConn> {
        // axum asks only for logging; a device index has no meaning for the shared listener.
        Err(std::io::Error::other(
            "the fleet http listener serves many devices",
        ))
    }
}

/// Reads and discards until the client goes away: a device that accepted and hung.
async fn hold_silent(mut stream: TcpStream, cancel: CancellationToken) {
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            read = stream.read(&mut buf) => if matches!(read, Ok(0) | Err(_)) { return },
        }
    }
}

/// Binds the fleet's HTTP listener (before anything is spawned, so a bad port fails `start`).
pub(crate) fn bind(address: SocketAddr) -> Result<(TcpListener, u16), DevsimError> {
    let listener =
        crate::fleet::listen(address).map_err(|reason| DevsimError::Listen { address, reason })?;
    let port = listener
        .local_addr()
        .map_err(|reason| DevsimError::Listen { address, reason })?
        .port();
    Ok((listener, port))
}

/// Serves HTTP for every device until `cancel`.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<FleetShared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let app = Router::new()
        .route("/log", get(log))
        .route("/restconf/data/interfaces", get(interfaces))
        // On every request, routed or not: a device checks credentials before it looks at the
        // path, so a wrong path with wrong credentials is a 401, not a 404.
        .layer(middleware::from_fn_with_state(shared.clone(), admit))
        .with_state(shared.clone());
    let listener = DeviceListener {
        inner: listener,
        shared,
        cancel: cancel.clone(),
        tracker,
    };
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<DeviceConn>(),
    )
    .with_graceful_shutdown(cancel.cancelled_owned())
    .await;
    if let Err(e) = served {
        warn!(error = %e, "http server stopped");
    }
}

type Shared = State<Arc<FleetShared>>;

async fn log(State(shared): Shared, ConnectInfo(conn): ConnectInfo<DeviceConn>) -> Response {
    let device = &shared.devices[conn.index];
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        device_log(&device.name, shared.seed),
    )
        .into_response()
}

async fn interfaces(State(shared): Shared, ConnectInfo(conn): ConnectInfo<DeviceConn>) -> Response {
    let device = &shared.devices[conn.index];
    (
        [(header::CONTENT_TYPE, "application/yang-data+json")],
        // Links the monitor's flap schedule or control API took down show here as in the CLI.
        interfaces_document(
            &device.name,
            shared.seed,
            shared.dynamics.interfaces(conn.index).ok().as_deref(),
        ),
    )
        .into_response()
}

/// Waits the device's thinking time, then checks the credentials: basic auth with the fleet's
/// user and password, or a bearer token equal to the password. A `reject-auth` device refuses all.
async fn admit(
    State(shared): Shared,
    ConnectInfo(conn): ConnectInfo<DeviceConn>,
    request: Request,
    next: Next,
) -> Response {
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let accepted = presented
        .is_some_and(|value| credentials_match(value, &shared.username, &shared.password))
        && shared.fault(conn.index) != Some(Fault::RejectAuth);
    if accepted {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, format!("Basic realm=\"{REALM}\""))],
        "authentication required\n",
    )
        .into_response()
}

fn credentials_match(authorization: &str, username: &str, password: &str) -> bool {
    let Some((scheme, value)) = authorization.trim().split_once(' ') else {
        return false;
    };
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return value == password;
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = data_encoding::BASE64.decode(value.as_bytes()) else {
        return false;
    };
    let expected = format!("{username}:{password}");
    decoded == expected.as_bytes()
}

/// The body of device `hostname`'s `GET /log`: recent syslog lines, deterministic in
/// `(hostname, seed)` so tests can compare what a client collected byte for byte.
pub fn device_log(hostname: &str, seed: u64) -> String {
    let model = DeviceModel::generate(hostname, seed);
    let mut rng = Rng::new(hostname, seed, LOG_STREAM);
    let physical: Vec<&str> = model
        .interfaces
        .iter()
        .filter(|i| i.physical)
        .map(|i| i.name.as_str())
        .collect();
    let users = ["admin", "netops", "backup"];
    let mut seconds = rng.below(3600);
    let mut out = String::new();
    for seq in 1..=LOG_LINES {
        seconds += 1 + rng.below(90);
        let stamp = format!(
            "*Mar  1 {:02}:{:02}:{:02}.{:03}",
            (seconds / 3600) % 24,
            (seconds / 60) % 60,
            seconds % 60,
            rng.below(1000)
        );
        let interface = if physical.is_empty() {
            "Loopback0"
        } else {
            rng.pick(&physical)
        };
        let message = match rng.below(5) {
            0 => {
                let state = if rng.chance(50) { "up" } else { "down" };
                format!("%LINK-3-UPDOWN: Interface {interface}, changed state to {state}")
            }
            1 => {
                let state = if rng.chance(50) { "up" } else { "down" };
                format!(
                    "%LINEPROTO-5-UPDOWN: Line protocol on Interface {interface}, changed state to {state}"
                )
            }
            2 => format!(
                "%SYS-5-CONFIG_I: Configured from console by {} on vty0 ({})",
                rng.pick(&users),
                model::LOG_HOST
            ),
            3 => format!(
                "%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: {}] [Source: 10.0.0.{}] [localport: 22]",
                rng.pick(&users),
                1 + rng.below(250)
            ),
            _ => format!(
                "%NTP-6-PEERSYNC: NTP synced to peer {}",
                rng.pick(&model::NTP_SERVERS)
            ),
        };
        out.push_str(&format!("{seq:06}: {stamp}: {message}\n"));
    }
    out
}

/// The body of device `hostname`'s `GET /restconf/data/interfaces`, compact JSON shaped like
/// ietf-interfaces, deterministic in `(hostname, seed)` while no link was flapped or forced.
pub fn device_interfaces_json(hostname: &str, seed: u64) -> String {
    interfaces_document(hostname, seed, None)
}

/// The interfaces document, with the live link states (by interface name) when given.
fn interfaces_document(hostname: &str, seed: u64, live: Option<&[InterfaceState]>) -> String {
    let model = DeviceModel::generate(hostname, seed);
    let live_up = |name: &str| {
        live?
            .iter()
            .find(|state| state.name == name)
            .map(|state| state.status == "up")
    };
    let interfaces: Vec<_> = model
        .interfaces
        .iter()
        .map(|i| {
            let mut entry = json!({
                "name": i.name,
                "type": if i.physical { "iana-if-type:ethernetCsmacd" } else { "iana-if-type:other" },
                "enabled": !i.shutdown,
                "oper-status": if live_up(&i.name).unwrap_or(i.is_up()) { "up" } else { "down" },
            });
            if let Some(description) = &i.description {
                entry["description"] = json!(description);
            }
            if let Port::Routed {
                address: Some((ip, prefix)),
            } = i.port
            {
                entry["ietf-ip:ipv4"] =
                    json!({ "address": [{ "ip": ip.to_string(), "prefix-length": prefix }] });
            }
            entry
        })
        .collect();
    json!({ "ietf-interfaces:interfaces": { "interface": interfaces } }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer_credentials() {
        let basic = format!("Basic {}", data_encoding::BASE64.encode(b"admin:pw"));
        assert!(credentials_match(&basic, "admin", "pw"));
        assert!(!credentials_match(&basic, "admin", "other"));
        assert!(credentials_match("Bearer pw", "admin", "pw"));
        assert!(credentials_match("bearer  pw ", "admin", "pw"));
        assert!(!credentials_match("Bearer nope", "admin", "pw"));
        assert!(!credentials_match("Basic !!!", "admin", "pw"));
        assert!(!credentials_match("Digest pw", "admin", "pw"));
    }

    #[test]
    fn log_is_deterministic_and_per_device() {
        let a = device_log("r00001", 1);
        assert_eq!(a, device_log("r00001", 1));
        assert_ne!(a, device_log("r00002", 1));
        assert_ne!(a, device_log("r00001", 2));
        assert_eq!(a.lines().count(), LOG_LINES);
        assert!(a.starts_with("000001: *Mar  1 "), "{a}");
    }

    #[test]
    fn interfaces_are_json() {
        let text = device_interfaces_json("r00003", 1);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let list = value["ietf-interfaces:interfaces"]["interface"]
            .as_array()
            .unwrap();
        assert!(!list.is_empty());
        assert!(list.iter().all(|i| i["name"].is_string()));
    }
}
