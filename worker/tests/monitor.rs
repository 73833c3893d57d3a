//! A monitor poll loop against the device simulator: one handshake serves many polls, and when
//! the device goes away and comes back the loop reports it unreachable, then reconnects.

use fanout_common::Secret;
use fanout_common::proto::{
    HostKeyPolicy, MonitorCheck, MonitorSpec, PollReport, WorkerMessage, worker_message,
};
use fanout_devsim::{Fleet, FleetConfig};
use fanout_worker::monitor::HostPoller;
use fanout_worker::pacer::Pacer;
use fanout_worker::session::{DeviceTarget, SessionOptions};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 6, 0, 1);

async fn start_fleet(port: u16) -> Fleet {
    Fleet::start(FleetConfig {
        count: 1,
        base: ADDRESS,
        port,
        seed: 3,
        ..FleetConfig::default()
    })
    .await
    .expect("fleet starts")
}

async fn next_report(rx: &mut mpsc::Receiver<WorkerMessage>) -> PollReport {
    let message = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a poll report within 20s")
        .expect("the poller is running");
    match message.body {
        Some(worker_message::Body::Poll(report)) => report,
        other => panic!("expected a poll report, got {other:?}"),
    }
}

#[tokio::test]
async fn one_session_serves_many_polls_and_a_lost_one_is_reopened() {
    let fleet = start_fleet(0).await;
    let port = fleet.port();
    let (outbound, mut rx) = mpsc::channel(64);
    let poller = HostPoller {
        target: DeviceTarget {
            name: "r00001".into(),
            hostname: ADDRESS.to_string(),
            port,
            username: "admin".into(),
            password: Secret::new("admin"),
            secret: Secret::new("enable"),
            platform: "cisco_ios".into(),
            ..Default::default()
        },
        job_id: "job".into(),
        lease_epoch: 7,
        spec: Arc::new(MonitorSpec {
            interval_ms: 200,
            checks: vec![MonitorCheck {
                name: "cpu".into(),
                command: "show processes cpu | include CPU".into(),
                snmp: Vec::new(),
            }],
        }),
        options: SessionOptions {
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(2),
            host_timeout: Duration::from_secs(5),
            host_key_policy: HostKeyPolicy::Off,
            known_hosts: "/nonexistent/known_hosts".into(),
            max_output_bytes: 0,
            session_log: false,
        },
        pacer: Arc::new(Pacer::new(0.0)),
        snmp: None,
        outbound,
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(poller.run(stop.clone()));

    for n in 0..5 {
        let report = next_report(&mut rx).await;
        assert_eq!((report.host.as_str(), report.lease_epoch), ("r00001", 7));
        assert!(report.failure.is_none(), "{report:?}");
        assert_eq!(report.reconnected, n == 0, "poll {n}");
        assert!(
            String::from_utf8_lossy(&report.output)
                .starts_with("CPU utilization for five seconds: 3%/0%"),
            "{report:?}"
        );
    }
    assert_eq!(
        fleet.connections_accepted(),
        1,
        "five polls, one connection"
    );

    // The device goes away: polls say so instead of going quiet.
    fleet.shutdown().await;
    let mut failed = next_report(&mut rx).await;
    while failed.failure.is_none() {
        failed = next_report(&mut rx).await;
    }
    assert!(failed.output.is_empty());

    // It comes back on the same address: the loop reconnects by itself.
    let fleet = start_fleet(port).await;
    let mut back = next_report(&mut rx).await;
    while back.failure.is_some() {
        back = next_report(&mut rx).await;
    }
    assert!(back.reconnected, "{back:?}");
    assert_eq!(fleet.connections_accepted(), 1);

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the poller stops when told")
        .unwrap();
    fleet.shutdown().await;
}
