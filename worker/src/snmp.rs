//! SNMP requests: each host's GETs and GETBULK walks through a few UDP sockets the whole job
//! shares in this worker (async-snmp matches answers to requests by request id, or by message
//! id for v3), their varbinds recorded like CLI outputs: one JSON object per line, with the
//! value typed (`counter64`, `octet_string`, `no_such_instance`...).
//!
//! Failures map to the kinds SSH uses: no answer is `timeout` (an SNMPv2c agent ignores a
//! wrong community, so that too is silence, and the message says so), an SNMPv3 report of an
//! unknown user or a wrong digest is `auth_failed`.

use crate::outcome::{CommandOutput, HostOutcome, SessionFailure};
use crate::session::{DeviceTarget, SessionOptions};
use async_snmp::transport::{UdpHandle, UdpTransport};
use async_snmp::{
    Auth, AuthProtocol, Client, EngineCache, ErrorKind, MasterKeys, PrivProtocol, Retry, UsmConfig,
    Value, VarBind,
};
use fanout_common::proto::{SnmpJob, SnmpOp, SnmpRequest, SnmpTarget};
use fanout_common::snmp_names::Names;
use fanout_common::wire::DEFAULT_MAX_OUTPUT_BYTES;
use fanout_common::{FailureKind, Secret};
use futures::StreamExt;
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;
use tracing::{debug, instrument};

/// UDP sockets per address family per job in a worker: enough to spread the kernel's per-socket
/// receive work, few enough that ten thousand devices cost no descriptors.
const SOCKETS: usize = 4;
/// Receive buffer asked for each socket: a burst of answers from thousands of agents must not
/// overflow it (the kernel caps it at `net.core.rmem_max`).
const RECV_BUFFER: usize = 4 << 20;
pub const DEFAULT_MAX_REPETITIONS: u32 = 25;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_RETRIES: u32 = 1;
pub const DEFAULT_IN_FLIGHT: u32 = 4;

/// A host's SNMP credentials as the worker keeps them: secrets in the redacting type.
#[derive(Clone, Debug, Default)]
pub struct SnmpCredentials {
    pub v3: bool,
    pub port: u16,
    pub community: Secret,
    pub user: String,
    pub auth: String,
    pub auth_password: Secret,
    pub privacy: String,
    pub priv_password: Secret,
}

impl From<SnmpTarget> for SnmpCredentials {
    fn from(t: SnmpTarget) -> Self {
        Self {
            v3: t.version == "3",
            port: u16::try_from(t.port)
                .ok()
                .filter(|p| *p != 0)
                .unwrap_or(161),
            community: Secret::new(t.community),
            user: t.user,
            auth: t.auth,
            auth_password: Secret::new(t.auth_password),
            privacy: t.privacy,
            priv_password: Secret::new(t.priv_password),
        }
    }
}

/// A job's SNMP requests and what its hosts share in this worker: the sockets, the SNMPv3
/// engines discovered (boots, time) and the USM keys derived from each password (deriving one
/// hashes a megabyte, so it is done once per password, not once per host).
pub struct SnmpRunner {
    job: SnmpJob,
    /// The job's names from MIB files beside the built-in table, to name what comes back.
    names: Names,
    v4: OnceCell<Vec<UdpTransport>>,
    v6: OnceCell<Vec<UdpTransport>>,
    next_socket: AtomicUsize,
    engines: Arc<EngineCache>,
    usm: std::sync::Mutex<HashMap<UsmKey, UsmConfig>>,
    timeout: Duration,
    retries: u32,
    max_repetitions: u32,
    in_flight: usize,
    max_output_bytes: u64,
}

/// What a derived USM configuration depends on. Held only in memory, never shown.
#[derive(Hash, PartialEq, Eq)]
struct UsmKey {
    user: String,
    auth: String,
    auth_password: String,
    privacy: String,
    priv_password: String,
}

/// Why one request failed.
type Failed = SessionFailure;

impl SnmpRunner {
    pub fn new(mut job: SnmpJob, options: &SessionOptions) -> Self {
        let or = |v: u64, d: u64| if v == 0 { d } else { v };
        // The names are kept once, as the lookup table, not also in the job.
        let names = Names::for_naming(std::mem::take(&mut job.names));
        Self {
            names,
            v4: OnceCell::new(),
            v6: OnceCell::new(),
            next_socket: AtomicUsize::new(0),
            engines: Arc::new(EngineCache::new()),
            usm: std::sync::Mutex::new(HashMap::new()),
            timeout: Duration::from_millis(or(job.timeout_ms, DEFAULT_TIMEOUT.as_millis() as u64)),
            retries: job.retries,
            max_repetitions: or(job.max_repetitions.into(), DEFAULT_MAX_REPETITIONS.into()) as u32,
            in_flight: or(job.max_in_flight.into(), DEFAULT_IN_FLIGHT.into()) as usize,
            max_output_bytes: match options.max_output_bytes {
                0 => DEFAULT_MAX_OUTPUT_BYTES,
                n => n,
            },
            job,
        }
    }

    /// Runs every request on one host, at most `in_flight` at once, appending the outputs to
    /// `outcome` in request order; the first failure ends the host.
    #[instrument(skip_all, fields(host = %target.name))]
    pub async fn run(&self, target: &DeviceTarget, outcome: &mut HostOutcome) {
        let outputs = &mut outcome.outputs;
        let result = self
            .run_requests(target, &self.job.requests, |request, duration, output| {
                outputs.push(CommandOutput {
                    command: request.label.clone(),
                    output,
                    duration,
                    rejection: None,
                });
            })
            .await;
        if let Err(failure) = result {
            outcome.failure = Some(failure);
        }
    }

    /// One monitor poll: `requests` (an SNMP check's walks) on one host, their varbinds
    /// concatenated as one output.
    pub async fn poll(
        &self,
        target: &DeviceTarget,
        requests: &[SnmpRequest],
    ) -> Result<Vec<u8>, SessionFailure> {
        let mut all = Vec::new();
        self.run_requests(target, requests, |_, _, output| all.extend(output))
            .await?;
        Ok(all)
    }

    /// Runs `requests` on one host, at most `in_flight` at once, handing each output to `each`
    /// in request order; the first failure ends it.
    async fn run_requests(
        &self,
        target: &DeviceTarget,
        requests: &[SnmpRequest],
        mut each: impl FnMut(&SnmpRequest, Duration, Vec<u8>),
    ) -> Result<(), SessionFailure> {
        let Some(credentials) = &target.snmp else {
            return Err(SessionFailure {
                kind: FailureKind::Internal,
                message: "the host has no `snmp:` settings in the inventory".into(),
            });
        };
        let client = self.client(target, credentials).await?;
        // By index: a closure over `&SnmpRequest` would have to be general over its lifetime,
        // which the spawned host task cannot prove.
        let client = &client;
        let mut results = futures::stream::iter(0..requests.len())
            .map(|i| {
                let request = &requests[i];
                async move {
                    let started = Instant::now();
                    let result = match request.op() {
                        SnmpOp::Get => self.get(client, request).await,
                        SnmpOp::Walk => self.walk(client, request).await,
                    };
                    (request, started.elapsed(), result)
                }
            })
            .buffered(self.in_flight);
        while let Some((request, duration, result)) = results.next().await {
            match result {
                Ok(output) => each(request, duration, output),
                Err(mut failure) => {
                    if failure.kind == FailureKind::Timeout
                        && credentials.v3
                        && !credentials.auth.is_empty()
                        && let Some(refused) = self.probe_refusal(target, credentials).await
                    {
                        failure = refused;
                    }
                    failure.message = format!("{}: {}", request.label, failure.message);
                    if failure.kind == FailureKind::Timeout && !credentials.v3 {
                        failure.message.push_str(
                            " (an SNMPv2c agent ignores a request with a wrong community, so \
                             a wrong community looks like this silence too)",
                        );
                    }
                    debug!(kind = %failure.kind, "snmp request failed");
                    return Err(failure);
                }
            }
        }
        Ok(())
    }

    async fn client(
        &self,
        target: &DeviceTarget,
        credentials: &SnmpCredentials,
    ) -> Result<Client<UdpHandle>, Failed> {
        let address = resolve(&target.hostname, credentials.port).await?;
        let auth = if credentials.v3 {
            Auth::from(self.usm(credentials)?)
        } else {
            Auth::v2c(credentials.community.expose().as_bytes().to_vec())
        };
        let transport = self.transport(address.ip()).await?;
        let retry = Retry::fixed(self.retries, Duration::ZERO).map_err(|e| internal(&e))?;
        Client::builder(address, auth)
            .request_timeout(self.timeout)
            .retry(retry)
            .engine_cache(self.engines.clone())
            .build_with(transport)
            .await
            .map_err(|e| classify(&e))
    }

    /// Why an authenticated SNMPv3 request went unanswered, when the agent is there: an agent
    /// reports a wrong digest or an unknown user without authentication, and the client drops
    /// such reports (anyone could forge them), so a wrong password first shows as silence.
    /// One unauthenticated request by the same user tells the cases apart: any answer means
    /// the agent is up and knows or names the user, so the silence was a refusal.
    async fn probe_refusal(
        &self,
        target: &DeviceTarget,
        credentials: &SnmpCredentials,
    ) -> Option<SessionFailure> {
        let address = resolve(&target.hostname, credentials.port).await.ok()?;
        let transport = self.transport(address.ip()).await.ok()?;
        let auth = Auth::from(UsmConfig::new(credentials.user.as_bytes().to_vec()));
        let probe = Client::builder(address, auth)
            .request_timeout(self.timeout)
            .retry(Retry::none())
            .build_with(transport)
            .await
            .ok()?;
        let sys_uptime = async_snmp::Oid::parse("1.3.6.1.2.1.1.3.0").ok()?;
        let why = match probe.get(&sys_uptime).await {
            Ok(_) => "the agent answers this user unauthenticated",
            Err(e) => match e.kind() {
                ErrorKind::Report
                    if matches!(
                        &*e,
                        async_snmp::Error::Report { status, .. }
                            if matches!(**status, async_snmp::v3::ReportStatus::UnknownUserName { .. })
                    ) =>
                {
                    return Some(SessionFailure {
                        kind: FailureKind::AuthFailed,
                        message: format!(
                            "the agent does not know SNMPv3 user {:?}",
                            credentials.user
                        ),
                    });
                }
                ErrorKind::Report | ErrorKind::Snmp | ErrorKind::Auth => {
                    "the agent refuses this user unauthenticated"
                }
                _ => return None,
            },
        };
        Some(SessionFailure {
            kind: FailureKind::AuthFailed,
            message: format!(
                "no answer to authenticated requests while {why}: the auth or priv password \
                 (or protocol) is wrong"
            ),
        })
    }

    /// The job's USM configuration for these credentials, keys derived once.
    fn usm(&self, c: &SnmpCredentials) -> Result<UsmConfig, Failed> {
        let key = UsmKey {
            user: c.user.clone(),
            auth: c.auth.clone(),
            auth_password: c.auth_password.expose().to_string(),
            privacy: c.privacy.clone(),
            priv_password: c.priv_password.expose().to_string(),
        };
        let mut cache = self.usm.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(config) = cache.get(&key) {
            return Ok(config.clone());
        }
        let user = UsmConfig::new(c.user.as_bytes().to_vec());
        // Master keys (a megabyte of hashing each) derived here, once per password; the
        // client only localises them per engine.
        let config = match (auth_protocol(&c.auth)?, c.privacy.as_str()) {
            (None, _) => user,
            (Some(auth), privacy) => {
                let keys = MasterKeys::new(auth, c.auth_password.expose().as_bytes())
                    .map_err(|e| internal(&e))?;
                let keys = match privacy {
                    "" => keys,
                    "aes128" => keys
                        .with_privacy(PrivProtocol::Aes128, c.priv_password.expose().as_bytes())
                        .map_err(|e| internal(&e))?,
                    other => {
                        return Err(SessionFailure {
                            kind: FailureKind::Internal,
                            message: format!("unknown SNMP privacy protocol {other:?}"),
                        });
                    }
                };
                user.with_master_keys(keys).map_err(|e| internal(&e))?
            }
        };
        cache.insert(key, config.clone());
        Ok(config)
    }

    /// One of the job's shared sockets for the address's family, bound on first use, handed
    /// out in turn.
    async fn transport(&self, ip: IpAddr) -> Result<&UdpTransport, Failed> {
        let (cell, any) = match ip {
            IpAddr::V4(_) => (&self.v4, "0.0.0.0:0"),
            IpAddr::V6(_) => (&self.v6, "[::]:0"),
        };
        let sockets = cell
            .get_or_try_init(|| async {
                let mut sockets = Vec::with_capacity(SOCKETS);
                for _ in 0..SOCKETS {
                    let socket = UdpTransport::builder()
                        .bind(any)
                        .recv_buffer_size(RECV_BUFFER)
                        .build()
                        .await
                        .map_err(|e| internal(&e))?;
                    sockets.push(socket);
                }
                Ok::<_, Failed>(sockets)
            })
            .await?;
        let turn = self.next_socket.fetch_add(1, Ordering::Relaxed);
        Ok(&sockets[turn % sockets.len()])
    }

    async fn get(
        &self,
        client: &Client<UdpHandle>,
        request: &SnmpRequest,
    ) -> Result<Vec<u8>, Failed> {
        let oid = parse_oid(&request.oid)?;
        let response = client.get(&oid).await.map_err(|e| classify(&e))?;
        let mut out = Vec::new();
        for varbind in &response.varbinds {
            push_line(&mut out, varbind, &self.names);
        }
        Ok(out)
    }

    /// GETBULK through the subtree; what came before a failure is dropped with the host's
    /// failure, as a CLI command's partial output is.
    async fn walk(
        &self,
        client: &Client<UdpHandle>,
        request: &SnmpRequest,
    ) -> Result<Vec<u8>, Failed> {
        let oid = parse_oid(&request.oid)?;
        let mut walk = client
            .bulk_walk(oid, self.max_repetitions)
            .map_err(|e| classify(&e))?;
        let mut out = Vec::new();
        while let Some(varbind) = walk.next().await {
            let varbind = varbind.map_err(|e| classify(&e))?;
            push_line(&mut out, &varbind, &self.names);
            if out.len() as u64 > self.max_output_bytes {
                return Err(SessionFailure {
                    kind: FailureKind::OutputTooLarge,
                    message: format!("the walk exceeds {} bytes", self.max_output_bytes),
                });
            }
        }
        Ok(out)
    }
}

async fn resolve(hostname: &str, port: u16) -> Result<SocketAddr, Failed> {
    if let Ok(ip) = hostname.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let unreachable = |why: String| SessionFailure {
        kind: FailureKind::Unreachable,
        message: format!("cannot resolve {hostname}: {why}"),
    };
    tokio::net::lookup_host((hostname, port))
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable("no address".into()))
}

fn auth_protocol(name: &str) -> Result<Option<AuthProtocol>, Failed> {
    Ok(Some(match name {
        "" => return Ok(None),
        "md5" => AuthProtocol::Md5,
        "sha" | "sha1" => AuthProtocol::Sha1,
        "sha224" => AuthProtocol::Sha224,
        "sha256" => AuthProtocol::Sha256,
        "sha384" => AuthProtocol::Sha384,
        "sha512" => AuthProtocol::Sha512,
        other => {
            return Err(SessionFailure {
                kind: FailureKind::Internal,
                message: format!("unknown SNMP authentication protocol {other:?}"),
            });
        }
    }))
}

fn parse_oid(text: &str) -> Result<async_snmp::Oid, Failed> {
    async_snmp::Oid::parse(text).map_err(|e| internal(&e))
}

fn internal(error: &dyn std::fmt::Display) -> SessionFailure {
    SessionFailure {
        kind: FailureKind::Internal,
        message: error.to_string(),
    }
}

/// The failure kind of an async-snmp error. Its messages name the agent's address and the
/// SNMP status, never a community or password.
fn classify(error: &async_snmp::Error) -> SessionFailure {
    let kind = match error.kind() {
        ErrorKind::Timeout | ErrorKind::ConstructionTimeout => FailureKind::Timeout,
        ErrorKind::Auth | ErrorKind::Report => FailureKind::AuthFailed,
        ErrorKind::Network => FailureKind::Unreachable,
        ErrorKind::Snmp => FailureKind::CommandError,
        ErrorKind::Decode
        | ErrorKind::MalformedResponse
        | ErrorKind::ResponseShape
        | ErrorKind::WalkAborted => FailureKind::Protocol,
        _ => FailureKind::Internal,
    };
    SessionFailure {
        kind,
        message: error.to_string(),
    }
}

/// One varbind as a JSON line: `{"oid", "name", "type", "value"}`; octet strings that are not
/// printable text come as `"hex"` instead of `"value"`, and the exceptions (`no_such_object`,
/// `no_such_instance`, `end_of_mib_view`) have no value.
fn push_line(out: &mut Vec<u8>, varbind: &VarBind, names: &Names) {
    // Written field by field in the order a JSON object with sorted keys would have them
    // (`hex` < `name` < `oid` < `type` < `value`): building a `serde_json::Map` per varbind
    // was a fifth of a worker's CPU in `fanout bench --snmp`.
    let oid = oid_text(&varbind.oid);
    let (key, value) = typed(&varbind.value);
    let string = |out: &mut Vec<u8>, text: &str| {
        serde_json::to_writer(&mut *out, text).expect("JSON to memory");
    };
    out.push(b'{');
    if key == "hex"
        && let Some(value) = &value
    {
        out.extend_from_slice(b"\"hex\":");
        serde_json::to_writer(&mut *out, value).expect("JSON to memory");
        out.push(b',');
    }
    out.extend_from_slice(b"\"name\":");
    match names.name_of(&oid) {
        Some(name) => string(out, &name),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"oid\":");
    string(out, &oid);
    out.extend_from_slice(b",\"type\":");
    string(out, varbind.value.kind().as_str());
    if key == "value"
        && let Some(value) = &value
    {
        out.extend_from_slice(b",\"value\":");
        serde_json::to_writer(&mut *out, value).expect("JSON to memory");
    }
    out.extend_from_slice(b"}\n");
}

/// The OID in dotted decimal, as its `Display` writes it, without a formatter call per arc
/// (those were a sixth of a worker's CPU in `fanout bench --snmp`).
fn oid_text(oid: &async_snmp::Oid) -> String {
    let mut text = String::with_capacity(oid.len() * 4);
    let mut digits = itoa::Buffer::new();
    for (i, &arc) in oid.arcs().iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        text.push_str(digits.format(arc));
    }
    text
}

fn typed(value: &Value) -> (&'static str, Option<Json>) {
    let hex = |bytes: &[u8]| {
        let text: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        ("hex", Some(json!(text.join(":"))))
    };
    match value {
        Value::Integer(n) => ("value", Some(json!(n))),
        Value::Counter32(n) | Value::Gauge32(n) | Value::UInteger32(n) | Value::TimeTicks(n) => {
            ("value", Some(json!(n)))
        }
        Value::Counter64(n) => ("value", Some(json!(n))),
        Value::OctetString(bytes) => match std::str::from_utf8(bytes) {
            Ok(text)
                if text
                    .chars()
                    .all(|c| !c.is_control() || "\t\r\n".contains(c)) =>
            {
                ("value", Some(json!(text)))
            }
            _ => hex(bytes),
        },
        Value::ObjectIdentifier(oid) => ("value", Some(json!(oid.to_string()))),
        Value::IpAddress(ip) => (
            "value",
            Some(json!(std::net::Ipv4Addr::from(*ip).to_string())),
        ),
        Value::Null => ("value", Some(Json::Null)),
        Value::Opaque(bytes) | Value::Nsap(bytes) | Value::Unknown { data: bytes, .. } => {
            hex(bytes)
        }
        _ => ("value", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(oid: &str, value: Value) -> String {
        let mut out = Vec::new();
        push_line(
            &mut out,
            &VarBind::new(async_snmp::Oid::parse(oid).unwrap(), value),
            Names::builtin(),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn oids_are_written_as_display_writes_them() {
        for text in ["1.3.6.1.2.1.1.5.0", "0.0", "1.3.4294967295.10.0.100", "1"] {
            let oid = async_snmp::Oid::parse(text).unwrap();
            assert_eq!(oid_text(&oid), oid.to_string());
        }
    }

    #[test]
    fn values_are_typed_and_named() {
        assert_eq!(
            line("1.3.6.1.2.1.31.1.1.1.6.2", Value::Counter64(u64::MAX)),
            "{\"name\":\"IF-MIB::ifHCInOctets.2\",\"oid\":\"1.3.6.1.2.1.31.1.1.1.6.2\",\
             \"type\":\"counter64\",\"value\":18446744073709551615}\n"
        );
        assert!(
            line("1.3.6.1.2.1.1.1.0", Value::OctetString("Cisco IOS".into()))
                .contains("\"type\":\"octet_string\",\"value\":\"Cisco IOS\"")
        );
        assert!(
            line(
                "1.3.6.1.2.1.2.2.1.6.1",
                Value::OctetString(vec![0, 0x1a, 0xff].into())
            )
            .contains("\"hex\":\"00:1a:ff\"")
        );
        // Keys in sorted order, as a serde_json object writes them.
        assert_eq!(
            line(
                "1.3.6.1.2.1.2.2.1.6.1",
                Value::OctetString(vec![0, 0x1a, 0xff].into())
            ),
            "{\"hex\":\"00:1a:ff\",\"name\":\"IF-MIB::ifPhysAddress.1\",\
             \"oid\":\"1.3.6.1.2.1.2.2.1.6.1\",\"type\":\"octet_string\"}\n"
        );
        assert_eq!(
            line("1.3.6.1.4.1.99999.1", Value::Integer(-3)),
            "{\"name\":null,\"oid\":\"1.3.6.1.4.1.99999.1\",\"type\":\"integer\",\"value\":-3}\n"
        );
        assert!(
            line("1.3.6.1.2.1.4.20.1.1.1", Value::IpAddress([10, 0, 0, 1]))
                .contains("\"10.0.0.1\"")
        );
        let missing = line("1.3.6.1.2.1.1.99.0", Value::NoSuchObject);
        assert!(
            missing.ends_with("\"type\":\"no_such_object\"}\n"),
            "{missing}"
        );
        assert!(line("1.3.6.1.2.1.1.1.0", Value::EndOfMibView).contains("end_of_mib_view"));
    }
}
