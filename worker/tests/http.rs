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
    assert!(missing.outputs[1].rejected);
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
