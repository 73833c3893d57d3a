//! Notifiers against real receivers: a local webhook server, a real SMTP server process
//! (aiosmtpd), and programs run by the exec notifier. Each alert must arrive exactly once.

mod support;

use std::path::Path;

use fanout_common::snmp_names::Names;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fanout_monitor::notify::Notice;
use fanout_monitor::{DispatchSettings, EventKind, Monitor, MonitorConfig};
use serde_json::Value;
use support::*;
use tokio_util::sync::CancellationToken;

fn fast() -> DispatchSettings {
    DispatchSettings {
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        attempt_timeout: Duration::from_secs(5),
        ..DispatchSettings::default()
    }
}

fn config(alerts: &str) -> MonitorConfig {
    let text = format!(
        r#"checks:
  - name: interfaces
    command: show ip interface brief
    parse: textfsm
    track: {{ key: intf, field: status }}
  - name: cpu
    command: show processes cpu | include CPU
    extract: 'five seconds: (\d+)%'
    alert_when: {{ above: 80, for: 2 }}
alerts:
{alerts}"#
    );
    MonitorConfig::parse(&text, Path::new("monitor.yaml"), |_| None, Names::builtin())
        .expect("valid config")
}

/// A flap on r1 Gi0/1 and a CPU incident on r2, each with its recovery: four events.
fn script(m: &Monitor) {
    let mut events = Vec::new();
    for p in [
        intfs(0, "r1", &[("Gi0/1", "up"), ("Gi0/2", "up")]),
        cpu(0, "r2", 10.0),
        intfs(10, "r1", &[("Gi0/1", "down"), ("Gi0/2", "up")]),
        cpu(10, "r2", 95.0),
        intfs(20, "r1", &[("Gi0/1", "down"), ("Gi0/2", "up")]),
        cpu(20, "r2", 96.0),
        cpu(30, "r2", 97.0),
        intfs(30, "r1", &[("Gi0/1", "up"), ("Gi0/2", "up")]),
        cpu(40, "r2", 20.0),
    ] {
        events.extend(m.ingest(&p));
    }
    assert_eq!(events.len(), 4, "{events:?}");
}

const EXPECTED_TEXTS: [&str; 4] = [
    "ALERT: r1 Gi0/1 up -> down",
    "ALERT: r2 cpu is 96 (above 80 for 2 polls)",
    "RECOVERED: r1 Gi0/1 down -> up (recovered)",
    "RECOVERED: r2 cpu is 20 (recovered)",
];

#[tokio::test]
async fn webhooks_receive_each_alert_exactly_once() {
    let slack = Receiver::start(0).await;
    let json = Receiver::start(0).await;
    let cfg = config(&format!(
        "  - webhook: {{ url: \"{}\", format: slack }}\n  - webhook: {{ url: \"{}\", format: json }}\n",
        slack.url(),
        json.url()
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let m = Monitor::start(&cfg, &dir.path().join("alerts.jsonl"), fast(), stop.clone())
        .expect("start");
    script(&m);
    eventually(10, "4 slack + 4 json bodies", || {
        slack.bodies().len() >= 4 && json.bodies().len() >= 4
    })
    .await;
    // Give a duplicate time to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut texts: Vec<String> = slack
        .bodies()
        .iter()
        .map(|b| b["text"].as_str().expect("text").to_owned())
        .collect();
    texts.sort();
    assert_eq!(texts, EXPECTED_TEXTS);
    for b in slack.bodies() {
        let blocks = b["blocks"].as_array().expect("blocks");
        assert_eq!(blocks[0]["type"], "section");
        assert!(blocks[1]["fields"].to_string().contains("*host*"), "{b}");
    }

    let mut incidents: Vec<(String, String)> = json
        .bodies()
        .iter()
        .map(|b| {
            assert_eq!(b["type"], "event", "{b}");
            (
                b["kind"].as_str().expect("kind").into(),
                b["incident"].as_str().expect("id").into(),
            )
        })
        .collect();
    incidents.sort();
    assert_eq!(
        incidents,
        [
            ("alert".to_string(), "r1/interfaces/Gi0/1".to_string()),
            ("alert".into(), "r2/cpu".into()),
            ("recovery".into(), "r1/interfaces/Gi0/1".into()),
            ("recovery".into(), "r2/cpu".into()),
        ]
    );
    let metrics = m.metrics_text();
    assert!(
        metrics.contains("fanout_monitor_notifications_sent_total{notifier=\"webhook-1\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fanout_monitor_notifications_sent_total{notifier=\"webhook-2\"} 4"),
        "{metrics}"
    );
    stop.cancel();
}

#[tokio::test]
async fn a_failing_webhook_is_retried_and_delivers_once() {
    let rx = Receiver::start(2).await;
    let cfg = config(&format!(
        "  - webhook: {{ url: \"{}\", format: json }}\n",
        rx.url()
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let m = Monitor::start(&cfg, &dir.path().join("alerts.jsonl"), fast(), stop.clone())
        .expect("start");
    m.ingest(&intfs(0, "r1", &[("Gi0/1", "up")]));
    m.ingest(&intfs(10, "r1", &[("Gi0/1", "down")]));
    eventually(10, "the retried delivery", || rx.bodies().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.bodies().len(), 1);
    assert_eq!(
        rx.requests.load(Ordering::SeqCst),
        3,
        "two 500s, then success"
    );
    let stats = &m.notifiers()[0].stats;
    assert_eq!(stats.attempt_failures.load(Ordering::SeqCst), 2);
    assert_eq!(stats.failed.load(Ordering::SeqCst), 0);
    stop.cancel();
}

#[tokio::test]
async fn an_unreachable_webhook_is_given_up_on_without_stopping_the_engine() {
    // A port that was free a moment ago: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let cfg = config(&format!(
        "  - webhook: {{ url: \"http://127.0.0.1:{port}/x\" }}\n"
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let settings = DispatchSettings {
        max_attempts: 3,
        ..fast()
    };
    let m = Monitor::start(
        &cfg,
        &dir.path().join("alerts.jsonl"),
        settings,
        stop.clone(),
    )
    .expect("start");
    let started = std::time::Instant::now();
    script(&m);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "ingest waited on a notifier"
    );
    let stats = m.notifiers()[0].stats.clone();
    eventually(10, "all four given up", || {
        stats.failed.load(Ordering::SeqCst) == 4
    })
    .await;
    assert_eq!(stats.attempt_failures.load(Ordering::SeqCst), 12);
    assert_eq!(stats.sent.load(Ordering::SeqCst), 0);
    let metrics = m.metrics_text();
    assert!(
        metrics.contains("fanout_monitor_notifier_failures_total{notifier=\"webhook\"} 4"),
        "{metrics}"
    );
    // The record is complete even though nothing was delivered.
    assert_eq!(jsonl(&dir.path().join("alerts.jsonl")).len(), 4);
    stop.cancel();
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_once_per_alert() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let cfg = config(&format!(
        "  - email: {{ smtp: \"127.0.0.1:{}\", from: monitor@example.net, to: [noc@example.net, oncall@example.net], starttls: false }}\n",
        smtp.port
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let m = Monitor::start(&cfg, &dir.path().join("alerts.jsonl"), fast(), stop.clone())
        .expect("start");
    script(&m);
    eventually(20, "four mails", || smtp.messages().len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = smtp.messages();
    let mut subjects: Vec<String> = mails
        .iter()
        .map(|mail| {
            assert!(mail.contains("From: monitor@example.net"), "{mail}");
            assert!(
                mail.contains("To: noc@example.net, oncall@example.net"),
                "{mail}"
            );
            assert!(
                mail.contains("\"incident\""),
                "the body carries the JSON: {mail}"
            );
            mail.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .expect("subject")
                .to_owned()
        })
        .collect();
    subjects.sort();
    let expected: Vec<String> = EXPECTED_TEXTS
        .iter()
        .map(|t| format!("[fanout] {t}"))
        .collect();
    assert_eq!(subjects, expected);
    stop.cancel();
}

#[tokio::test]
async fn starttls_is_never_skipped_when_asked_for() {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    // aiosmtpd here offers no STARTTLS: the mail must not go out in plaintext.
    let cfg = config(&format!(
        "  - email: {{ smtp: \"127.0.0.1:{}\", from: monitor@example.net, to: [noc@example.net], starttls: true }}\n",
        smtp.port
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let settings = DispatchSettings {
        max_attempts: 2,
        ..fast()
    };
    let m = Monitor::start(
        &cfg,
        &dir.path().join("alerts.jsonl"),
        settings,
        stop.clone(),
    )
    .expect("start");
    m.ingest(&intfs(0, "r1", &[("Gi0/1", "up")]));
    m.ingest(&intfs(10, "r1", &[("Gi0/1", "down")]));
    let stats = m.notifiers()[0].stats.clone();
    eventually(20, "the mail given up", || {
        stats.failed.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(smtp.messages().is_empty());
    stop.cancel();
}

#[tokio::test]
async fn exec_gets_each_alert_as_json_on_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.jsonl");
    let cfg = config(&format!(
        "  - exec: [\"sh\", \"-c\", \"cat >> '{}'\"]\n",
        out.display()
    ));
    let stop = CancellationToken::new();
    let m = Monitor::start(&cfg, &dir.path().join("alerts.jsonl"), fast(), stop.clone())
        .expect("start");
    script(&m);
    eventually(10, "four exec runs", || jsonl(&out).len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let runs = jsonl(&out);
    assert_eq!(runs.len(), 4);
    let alerts = runs.iter().filter(|r| r["kind"] == "alert").count();
    assert_eq!(alerts, 2);
    assert!(runs.iter().all(|r| r["type"] == "event"));
    stop.cancel();
}

#[tokio::test]
async fn exec_failures_and_hangs_are_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config("  - exec: [\"sh\", \"-c\", \"exit 3\"]\n  - exec: [\"sleep\", \"30\"]\n");
    let stop = CancellationToken::new();
    let settings = DispatchSettings {
        max_attempts: 2,
        attempt_timeout: Duration::from_millis(300),
        ..fast()
    };
    let m = Monitor::start(
        &cfg,
        &dir.path().join("alerts.jsonl"),
        settings,
        stop.clone(),
    )
    .expect("start");
    m.ingest(&intfs(0, "r1", &[("Gi0/1", "up")]));
    m.ingest(&intfs(10, "r1", &[("Gi0/1", "down")]));
    let exits = m.notifiers()[0].stats.clone();
    let hangs = m.notifiers()[1].stats.clone();
    eventually(10, "both given up", || {
        exits.failed.load(Ordering::SeqCst) == 1 && hangs.failed.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(exits.attempt_failures.load(Ordering::SeqCst), 2);
    assert_eq!(hangs.attempt_failures.load(Ordering::SeqCst), 2);
    stop.cancel();
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_and_counts_it() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let rec = Arc::new(Recorder {
        gate: Some(gate.clone()),
        ..Recorder::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let settings = DispatchSettings {
        queue_capacity: 3,
        max_per_window: 1000,
        ..fast()
    };
    let engine = fanout_monitor::Engine::new(&config(""));
    let m = Monitor::with_notifiers(
        engine,
        &dir.path().join("alerts.jsonl"),
        vec![("rec".into(), rec.clone() as _)],
        settings,
        stop.clone(),
    )
    .expect("start");
    // Eight hosts each lose Gi0/1: eight alerts. The first is taken into the (held) send at
    // once; of the seven left, the queue keeps the newest three.
    for i in 0..8 {
        m.ingest(&intfs(0, &format!("r{i}"), &[("Gi0/1", "up")]));
    }
    m.ingest(&intfs(10, "r0", &[("Gi0/1", "down")]));
    eventually(5, "the first send to start", || {
        m.notifiers()[0].queued() == 0
    })
    .await;
    for i in 1..8 {
        m.ingest(&intfs(10, &format!("r{i}"), &[("Gi0/1", "down")]));
    }
    let stats = m.notifiers()[0].stats.clone();
    assert_eq!(stats.dropped.load(Ordering::SeqCst), 4);
    gate.add_permits(100);
    eventually(5, "four delivered", || rec.notices().len() == 4).await;
    let hosts: Vec<String> = rec
        .notices()
        .iter()
        .map(|n| match n {
            Notice::Event(e) => e.host.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(hosts, ["r0", "r5", "r6", "r7"]);
    assert!(
        m.metrics_text()
            .contains("fanout_monitor_notifications_dropped_total{notifier=\"rec\"} 4")
    );
    stop.cancel();
}

#[tokio::test]
async fn excess_alerts_are_summarised_in_one_message() {
    let rec = Arc::new(Recorder::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let settings = DispatchSettings {
        max_per_window: 2,
        rate_window: Duration::from_millis(400),
        ..fast()
    };
    let engine = fanout_monitor::Engine::new(&config(""));
    let m = Monitor::with_notifiers(
        engine,
        &dir.path().join("alerts.jsonl"),
        vec![("rec".into(), rec.clone() as _)],
        settings,
        stop.clone(),
    )
    .expect("start");
    for i in 0..7 {
        m.ingest(&intfs(0, &format!("r{i}"), &[("Gi0/1", "up")]));
    }
    for i in 0..7 {
        m.ingest(&intfs(10, &format!("r{i}"), &[("Gi0/1", "down")]));
    }
    eventually(5, "two alerts and the summary", || rec.notices().len() == 3).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let notices = rec.notices();
    assert_eq!(notices.len(), 3, "{notices:?}");
    assert!(matches!(&notices[0], Notice::Event(e) if e.kind == EventKind::Alert));
    assert!(matches!(&notices[1], Notice::Event(e) if e.kind == EventKind::Alert));
    assert_eq!(notices[2], Notice::Suppressed { count: 5 });
    assert_eq!(notices[2].text(), "5 more alerts suppressed");
    // All seven are still in the record.
    assert_eq!(jsonl(&dir.path().join("alerts.jsonl")).len(), 7);
    stop.cancel();
}

#[tokio::test]
async fn every_event_is_journalled_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("alerts.jsonl");
    let stop = CancellationToken::new();
    let m = Monitor::start(&config(""), &journal, fast(), stop.clone()).expect("start");
    script(&m);
    let lines: Vec<Value> = jsonl(&journal);
    let kinds: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap_or(""),
                l["incident"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("alert", "r1/interfaces/Gi0/1"),
            ("alert", "r2/cpu"),
            ("recovery", "r1/interfaces/Gi0/1"),
            ("recovery", "r2/cpu"),
        ]
    );
    assert_eq!(lines[0]["at"], "2023-11-14T22:13:30.000Z");
    assert_eq!(lines[0]["from"], "up");
    // A restarted monitor appends.
    drop(m);
    let m = Monitor::start(&config(""), &journal, fast(), stop.clone()).expect("restart");
    script(&m);
    assert_eq!(jsonl(&journal).len(), 8);
    let metrics = m.metrics_text();
    assert!(
        metrics.contains("fanout_monitor_polls_total 9\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fanout_monitor_alerts_total 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fanout_monitor_open_alerts 0\n"),
        "{metrics}"
    );
    stop.cancel();
}
