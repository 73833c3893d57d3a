//! The SSH device-session driver against the device simulator over real TCP and SSH on loopback.
//!
//! Each test starts its own fleet on its own loopback address (single-device fleets bind their
//! device's address), so tests run in parallel without sharing a port, and uses its own
//! known_hosts in a temp dir.

use fanout_common::FailureKind;
use fanout_common::Secret;
use fanout_common::proto::HostKeyPolicy;
use fanout_devsim::{Fault, Fleet, FleetConfig, running_config};
use fanout_worker::session::{DeviceTarget, HostOutcome, SessionOptions, collect};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const SEED: u64 = 7;

async fn fleet_at(base: Ipv4Addr, port: u16, seed: u64, faults: HashMap<usize, Fault>) -> Fleet {
    let count = faults.keys().max().map_or(1, |i| i + 1);
    Fleet::start(FleetConfig {
        count,
        base,
        port,
        seed,
        faults,
        ..Default::default()
    })
    .await
    .expect("fleet starts")
}

fn target(fleet: &Fleet, index: usize) -> DeviceTarget {
    let device = &fleet.devices()[index];
    DeviceTarget {
        name: device.name.clone(),
        hostname: device.address.to_string(),
        port: fleet.port(),
        username: "admin".into(),
        password: Secret::new("admin"),
        secret: Secret::new("enable"),
        platform: "cisco_ios".into(),
        ..Default::default()
    }
}

fn options(known_hosts: &Path, policy: HostKeyPolicy) -> SessionOptions {
    SessionOptions {
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(10),
        host_timeout: Duration::from_secs(30),
        host_key_policy: policy,
        known_hosts: known_hosts.to_path_buf(),
        max_output_bytes: 1024 * 1024,
        session_log: false,
    }
}

fn commands(list: &[&str]) -> Vec<String> {
    list.iter().map(|c| c.to_string()).collect()
}

fn failure_kind(outcome: &HostOutcome) -> Option<FailureKind> {
    outcome.failure.as_ref().map(|f| f.kind)
}

#[tokio::test]
async fn collects_running_config_byte_for_byte() {
    let fleet = fleet_at(Ipv4Addr::new(127, 1, 10, 1), 0, SEED, HashMap::new()).await;
    let dir = TempDir::new().unwrap();
    let known_hosts = dir.path().join("state").join("known_hosts");
    let target = target(&fleet, 0);

    let outcome = collect(
        &target,
        &commands(&["show running-config", "show version"]),
        &options(&known_hosts, HostKeyPolicy::AcceptNew),
    )
    .await;

    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.outputs.len(), 2);
    let config = &outcome.outputs[0];
    assert_eq!(config.command, "show running-config");
    assert!(!config.rejected());
    let expected = running_config(&target.name, SEED);
    assert_eq!(
        String::from_utf8_lossy(&config.output),
        expected,
        "running-config differs"
    );
    let version = String::from_utf8(outcome.outputs[1].output.clone()).unwrap();
    assert!(!outcome.outputs[1].rejected());
    assert!(version.contains("Cisco IOS"), "{version}");
    assert!(!version.contains(&format!("{}#", target.name)), "{version}");
    assert!(!version.contains('\r'));

    // The first contact pinned the device's key as `[address]:port`.
    let pinned = std::fs::read_to_string(&known_hosts).unwrap();
    let key = fleet.host_public_key(0).unwrap().to_openssh().unwrap();
    assert_eq!(
        pinned,
        format!("[{}]:{} {key}\n", target.hostname, target.port)
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn strict_accepts_a_pinned_key_and_refuses_an_unknown_host() {
    let fleet = fleet_at(Ipv4Addr::new(127, 1, 11, 1), 0, SEED, HashMap::new()).await;
    let dir = TempDir::new().unwrap();
    let target = target(&fleet, 0);

    let empty = dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let outcome = collect(
        &target,
        &commands(&["show version"]),
        &options(&empty, HostKeyPolicy::Strict),
    )
    .await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::HostkeyMismatch));
    let message = &outcome.failure.as_ref().unwrap().message;
    assert!(message.contains("not in known_hosts"), "{message}");
    assert!(outcome.outputs.is_empty());
    // Strict never writes.
    assert_eq!(std::fs::read_to_string(&empty).unwrap(), "");

    let pinned = dir.path().join("fleet_known_hosts");
    std::fs::write(&pinned, fleet.known_hosts()).unwrap();
    let outcome = collect(
        &target,
        &commands(&["show version"]),
        &options(&pinned, HostKeyPolicy::Strict),
    )
    .await;
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.outputs.len(), 1);
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_changed_host_key_is_a_mismatch_and_no_credentials_are_sent() {
    let address = Ipv4Addr::new(127, 1, 12, 1);
    let dir = TempDir::new().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let accept_new = options(&known_hosts, HostKeyPolicy::AcceptNew);

    let first = fleet_at(address, 0, SEED, HashMap::new()).await;
    let port = first.port();
    let target = target(&first, 0);
    let outcome = collect(&target, &commands(&["show version"]), &accept_new).await;
    assert_eq!(outcome.failure, None);
    first.shutdown().await;
    let pinned = std::fs::read_to_string(&known_hosts).unwrap();

    // Same address and port, another seed: another host key. The wrong password shows that
    // the session stopped before authentication (it would otherwise be auth_failed).
    let impostor = fleet_at(address, port, SEED + 1, HashMap::new()).await;
    let mut wrong_password = target.clone();
    wrong_password.password = Secret::new("not-the-password");
    let outcome = collect(&wrong_password, &commands(&["show version"]), &accept_new).await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::HostkeyMismatch));
    let message = &outcome.failure.as_ref().unwrap().message;
    assert!(message.contains("does not match"), "{message}");
    assert!(message.contains("no credentials were sent"), "{message}");
    assert!(!message.contains("not-the-password"));
    // The pin was kept, not replaced.
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), pinned);
    impostor.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_auth_failed() {
    let fleet = fleet_at(Ipv4Addr::new(127, 1, 13, 1), 0, SEED, HashMap::new()).await;
    let dir = TempDir::new().unwrap();
    let mut target = target(&fleet, 0);
    target.password = Secret::new("hunter2");
    let outcome = collect(
        &target,
        &commands(&["show version"]),
        &options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew),
    )
    .await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::AuthFailed));
    let failure = outcome.failure.unwrap();
    assert!(!failure.kind.retryable());
    assert!(!failure.message.contains("hunter2"), "{}", failure.message);
    assert!(failure.message.contains("admin"), "{}", failure.message);
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_wrong_enable_secret_is_enable_failed() {
    let fleet = fleet_at(Ipv4Addr::new(127, 1, 14, 1), 0, SEED, HashMap::new()).await;
    let dir = TempDir::new().unwrap();
    let mut target = target(&fleet, 0);
    target.secret = Secret::new("s3cret-wrong");
    let outcome = collect(
        &target,
        &commands(&["show running-config"]),
        &options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew),
    )
    .await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::EnableFailed));
    assert!(!outcome.failure.unwrap().message.contains("s3cret-wrong"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_invalid_command_is_a_command_error_with_its_output() {
    let fleet = fleet_at(Ipv4Addr::new(127, 1, 15, 1), 0, SEED, HashMap::new()).await;
    let dir = TempDir::new().unwrap();
    let outcome = collect(
        &target(&fleet, 0),
        &commands(&["show version", "show verison", "show running-config"]),
        &options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew),
    )
    .await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::CommandError));
    assert!(
        outcome
            .failure
            .as_ref()
            .unwrap()
            .message
            .contains("show verison")
    );
    // Stopped at the rejected command: its output is the last one.
    assert_eq!(outcome.outputs.len(), 2);
    assert!(!outcome.outputs[0].rejected());
    let rejected = &outcome.outputs[1];
    assert!(rejected.rejected());
    assert_eq!(rejected.command, "show verison");
    let text = String::from_utf8_lossy(&rejected.output);
    assert!(text.contains("% Invalid input detected"), "{text}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = TempDir::new().unwrap();
    let target = DeviceTarget {
        name: "closed".into(),
        hostname: "127.0.0.1".into(),
        port,
        username: "admin".into(),
        password: Secret::new("admin"),
        secret: Secret::default(),
        platform: "cisco_ios".into(),
        ..Default::default()
    };
    let outcome = collect(
        &target,
        &commands(&["show version"]),
        &options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew),
    )
    .await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Refused));
    assert!(outcome.failure.unwrap().kind.retryable());
}

#[tokio::test]
async fn a_listener_that_never_speaks_times_out_within_the_connect_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold connections without ever writing a byte.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let dir = TempDir::new().unwrap();
    let target = DeviceTarget {
        name: "mute".into(),
        hostname: "127.0.0.1".into(),
        port,
        username: "admin".into(),
        password: Secret::new("admin"),
        secret: Secret::default(),
        platform: "cisco_ios".into(),
        ..Default::default()
    };
    let mut options = options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew);
    options.connect_timeout = Duration::from_millis(500);
    let started = Instant::now();
    let outcome = collect(&target, &commands(&["show version"]), &options).await;
    let took = started.elapsed();
    assert_eq!(failure_kind(&outcome), Some(FailureKind::Timeout));
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    let message = outcome.failure.unwrap().message;
    assert!(message.contains("banner"), "{message}");
    holder.abort();
}

#[tokio::test]
async fn device_faults_become_failure_kinds() {
    let faults = HashMap::from([
        (1, Fault::Silent),
        (2, Fault::RejectAuth),
        (3, Fault::DropMidOutput),
    ]);
    let fleet = fleet_at(Ipv4Addr::new(127, 1, 16, 1), 0, SEED, faults).await;
    let dir = TempDir::new().unwrap();
    let mut options = options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew);
    options.connect_timeout = Duration::from_secs(1);
    let cmds = commands(&["show running-config"]);
    let targets: Vec<DeviceTarget> = (0..4).map(|i| target(&fleet, i)).collect();
    let outcomes =
        futures::future::join_all(targets.iter().map(|t| collect(t, &cmds, &options))).await;
    assert_eq!(failure_kind(&outcomes[0]), None);
    assert_eq!(failure_kind(&outcomes[1]), Some(FailureKind::Timeout));
    assert_eq!(failure_kind(&outcomes[2]), Some(FailureKind::AuthFailed));
    assert_eq!(failure_kind(&outcomes[3]), Some(FailureKind::Disconnected));
    assert!(outcomes[3].outputs.is_empty());
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sessions_at_once_each_get_their_own_config() {
    let count = 60;
    let fleet = Fleet::start(FleetConfig {
        count,
        base: Ipv4Addr::new(127, 1, 17, 1),
        seed: SEED,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = TempDir::new().unwrap();
    let options = options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew);
    let cmds = commands(&["show running-config"]);
    let mut tasks = Vec::new();
    for index in 0..count {
        let target = target(&fleet, index);
        let (cmds, options) = (cmds.clone(), options.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = collect(&target, &cmds, &options).await;
            (target.name, outcome)
        }));
    }
    for task in tasks {
        let (name, outcome) = task.await.unwrap();
        assert_eq!(outcome.failure, None, "{name}");
        assert_eq!(
            String::from_utf8_lossy(&outcome.outputs[0].output),
            running_config(&name, SEED),
            "{name}"
        );
    }
    let pinned = std::fs::read_to_string(dir.path().join("known_hosts")).unwrap();
    assert_eq!(pinned.lines().count(), count);
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_command_with_a_line_break_is_never_typed() {
    let fleet = fleet_at(Ipv4Addr::new(127, 1, 10, 41), 0, SEED, HashMap::new()).await;
    let dir = TempDir::new().unwrap();
    let mut options = options(&dir.path().join("known_hosts"), HostKeyPolicy::AcceptNew);
    options.session_log = true;
    let outcome = collect(
        &target(&fleet, 0),
        &commands(&["show version", "show running-config\nreload"]),
        &options,
    )
    .await;
    assert_eq!(failure_kind(&outcome), Some(FailureKind::CommandError));
    let message = &outcome.failure.as_ref().unwrap().message;
    assert!(
        message.contains("line break") && message.contains("not sent"),
        "{message}"
    );
    // The first command ran; nothing of the second reached the device.
    assert_eq!(outcome.outputs.len(), 1);
    let transcript = String::from_utf8(outcome.transcript.unwrap()).unwrap();
    let sent: Vec<&str> = transcript
        .lines()
        .filter_map(|l| l.split_once("] > ").map(|(_, s)| s))
        .collect();
    assert!(
        sent.iter().all(|s| !s.contains("running-config")),
        "{transcript}"
    );
    assert!(transcript.contains(r#"> "show version\n""#), "{transcript}");
}
