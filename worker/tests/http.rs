//! The HTTP step runner against devsim's per-device HTTP API over real TCP: byte-exact bodies,
//! pretty JSON, and every failure mapped to the kind SSH would give it.

use fanout_common::http::parse_step;
use fanout_common::proto::{HostKeyPolicy, HttpAuth, HttpJob};
use fanout_common::{FailureKind, Secret};
use fanout_devsim::{Fault, Fleet, FleetConfig, device_interfaces_json, device_log};
use fanout_worker::http::HttpRunner;
use fanout_worker::session::{DeviceTarget, HostOutcome, SessionOptions};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

const SEED: u64 = 7;
const PASSWORD: &str = "http-s3cret-pw";

async fn fleet() -> Fleet {
    Fleet::start(FleetConfig {
        count: 4,
        seed: SEED,
        password: PASSWORD.into(),
        faults: HashMap::from([
            (1, Fault::RejectAuth),
            (2, Fault::Refuse),
            (3, Fault::Silent),
        ]),
        ..FleetConfig::default()
    })
    .await
    .expect("fleet starts")
}

fn target(fleet: &Fleet, index: usize) -> (DeviceTarget, Value) {
    let device = &fleet.devices()[index];
    let target = DeviceTarget {
        name: device.name.clone(),
        hostname: device.address.to_string(),
        port: fleet.port(),
        username: "admin".into(),
        password: Secret::new(PASSWORD),
        platform: "cisco_ios".into(),
        ..Default::default()
    };
    let facts = json!({
        "name": device.name, "hostname": device.address.to_string(), "port": fleet.port(),
        "username": "admin", "platform": "cisco_ios",
        "data": {"http_port": fleet.http_port(), "http_scheme": "http"},
    });
    (target, facts)
}

fn job(steps: &[&str]) -> HttpJob {
    HttpJob {
        steps: steps.iter().map(|s| parse_step(s).unwrap()).collect(),
        ..HttpJob::default()
    }
}

fn options() -> SessionOptions {
    SessionOptions {
        connect_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_millis(500),
        host_timeout: Duration::from_secs(10),
        max_output_bytes: 1024 * 1024,
        host_key_policy: HostKeyPolicy::Strict,
        known_hosts: "/nonexistent/known_hosts".into(),
        session_log: false,
    }
}

async fn run(fleet: &Fleet, index: usize, job: &HttpJob) -> HostOutcome {
    let runner = HttpRunner::new(job, &options()).expect("client builds");
    let (target, facts) = target(fleet, index);
    let mut outcome = HostOutcome::default();
    runner.run(&target, &facts, &mut outcome).await;
    let everything = format!("{outcome:?}");
    assert!(
        !everything.contains(PASSWORD),
        "password leaked: {everything}"
    );
    outcome
}

fn kind(outcome: &HostOutcome) -> Option<FailureKind> {
    outcome.failure.as_ref().map(|f| f.kind)
}

#[tokio::test]
async fn collects_the_log_byte_exact_and_json_pretty() {
    let fleet = fleet().await;
    let both = job(&["GET:/log", "GET:/restconf/data/interfaces"]);
    let outcome = run(&fleet, 0, &both).await;
    assert_eq!(kind(&outcome), None, "{outcome:?}");
    assert_eq!(outcome.outputs.len(), 2);
    assert_eq!(outcome.outputs[0].command, "GET /log");
    assert_eq!(
        outcome.outputs[0].output,
        device_log("r00001", SEED).as_bytes()
    );
    let compact: Value = serde_json::from_str(&device_interfaces_json("r00001", SEED)).unwrap();
    let mut pretty = serde_json::to_vec_pretty(&compact).unwrap();
    pretty.push(b'\n');
    assert_eq!(outcome.outputs[1].output, pretty);

    let bearer = HttpJob {
        auth: HttpAuth::Bearer as i32,
        ..job(&["GET:/log"])
    };
    assert_eq!(kind(&run(&fleet, 0, &bearer).await), None);
    fleet.shutdown().await;
}

#[tokio::test]
async fn failures_have_the_ssh_kinds() {
    let fleet = fleet().await;
    let log = job(&["GET:/log"]);
    let rejected = run(&fleet, 1, &log).await;
    assert_eq!(
        kind(&rejected),
        Some(FailureKind::AuthFailed),
        "{rejected:?}"
    );
    assert!(rejected.outputs.is_empty());
    let anonymous = HttpJob {
        auth: HttpAuth::None as i32,
        ..job(&["GET:/log"])
    };
    assert_eq!(
        kind(&run(&fleet, 0, &anonymous).await),
        Some(FailureKind::AuthFailed)
    );

    let missing = run(&fleet, 0, &job(&["GET:/log", "GET:/nope", "GET:/log"])).await;
    assert_eq!(
        kind(&missing),
        Some(FailureKind::CommandError),
        "{missing:?}"
    );
    assert_eq!(missing.outputs.len(), 2, "stops at the failed step");
    assert!(missing.outputs[1].rejected());
    assert!(
        missing.failure.unwrap().message.contains("404"),
        "the message names the status"
    );
    let mut created = job(&["POST:/log"]);
    created.steps[0].expect_status = 201;
    created.steps[0].json_body = r#"{"a":1}"#.into();
    let wrong = run(&fleet, 0, &created).await;
    assert_eq!(kind(&wrong), Some(FailureKind::CommandError), "{wrong:?}");

    let refused = run(&fleet, 2, &log).await;
    assert_eq!(kind(&refused), Some(FailureKind::Refused), "{refused:?}");
    let silent = run(&fleet, 3, &log).await;
    assert_eq!(kind(&silent), Some(FailureKind::Timeout), "{silent:?}");

    let tls_to_plain = HttpJob {
        base_url: "https://{hostname}:{data.http_port}".into(),
        ..job(&["GET:/log"])
    };
    let tls = run(&fleet, 0, &tls_to_plain).await;
    assert_eq!(kind(&tls), Some(FailureKind::Protocol), "{tls:?}");
    fleet.shutdown().await;
}

#[test]
fn a_ca_file_without_certificates_is_an_error() {
    let bad = HttpJob {
        ca_pem: "not a certificate".into(),
        ..job(&["GET:/log"])
    };
    assert!(HttpRunner::new(&bad, &options()).is_err());
}

/// The test CA, the certificate it signed for 127.0.0.1 (and its key), and an unrelated CA;
/// made once with openssl, valid for a century.
const TEST_CA: &str = include_str!("tls/ca.pem");
const OTHER_CA: &str = include_str!("tls/other-ca.pem");
const DEVICE_CERT: &[u8] = include_bytes!("tls/device.pem");
const DEVICE_KEY: &[u8] = include_bytes!("tls/device-key.pem");
const TLS_BODY: &str = "served over TLS\n";

/// An HTTPS device on 127.0.0.1 with a certificate from the test CA, answering every request
/// with [`TLS_BODY`]. Its threads end with the test process.
fn https_device() -> u16 {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(DEVICE_CERT)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(DEVICE_KEY).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{TLS_BODY}",
                    TLS_BODY.len()
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

async fn fetch_over_tls(port: u16, ca_pem: &str, insecure: bool) -> HostOutcome {
    let job = HttpJob {
        base_url: format!("https://{{hostname}}:{port}"),
        ca_pem: ca_pem.into(),
        insecure,
        ..job(&["GET:/log"])
    };
    let runner = HttpRunner::new(&job, &options()).expect("client builds");
    let target = DeviceTarget {
        name: "tls1".into(),
        hostname: "127.0.0.1".into(),
        username: "admin".into(),
        password: Secret::new(PASSWORD),
        ..Default::default()
    };
    let facts = json!({"name": "tls1", "hostname": "127.0.0.1", "data": {}});
    let mut outcome = HostOutcome::default();
    runner.run(&target, &facts, &mut outcome).await;
    outcome
}

#[tokio::test]
async fn tls_is_verified_against_the_given_ca_unless_insecure_is_asked_for() {
    let port = https_device();
    let trusted = fetch_over_tls(port, TEST_CA, false).await;
    assert_eq!(kind(&trusted), None, "{trusted:?}");
    assert_eq!(trusted.outputs[0].output, TLS_BODY.as_bytes());

    let system_roots = fetch_over_tls(port, "", false).await;
    assert_eq!(
        kind(&system_roots),
        Some(FailureKind::Protocol),
        "{system_roots:?}"
    );
    let wrong_ca = fetch_over_tls(port, OTHER_CA, false).await;
    assert_eq!(kind(&wrong_ca), Some(FailureKind::Protocol), "{wrong_ca:?}");

    let insecure = fetch_over_tls(port, "", true).await;
    assert_eq!(kind(&insecure), None, "{insecure:?}");
}
