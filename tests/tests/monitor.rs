//! `fanout monitor` end to end: 200 simulated devices through 2 real worker processes, a flap
//! and a CPU spike forced through devsim's control API, and exactly the expected alerts and
//! recoveries at a local webhook receiver and a real SMTP server process, with no duplicates;
//! a killed worker's hosts keep being polled, and Ctrl-C leaves no worker behind.

#[path = "../../monitor/tests/support/mod.rs"]
mod support;

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, RunningFanout, http, process_alive, wait_until};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use support::{Receiver, SmtpServer};

const FLAPPED: &str = "r00017";
const SPIKED: &str = "r00142";

/// `host → last_poll` from the dashboard's JSON view; empty while it is not answering.
async fn last_polls(dashboard: SocketAddr) -> BTreeMap<String, String> {
    let (status, body) = http(dashboard, "GET", "/api/hosts", "").await;
    if status != 200 {
        return BTreeMap::new();
    }
    let hosts: Value = serde_json::from_str(&body).expect("/api/hosts is JSON");
    let list = hosts
        .as_array()
        .or_else(|| hosts.get("hosts").and_then(Value::as_array))
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter_map(|h| {
            let name = h.get("host")?.as_str()?.to_string();
            let at = h.get("last_poll")?.as_str()?.to_string();
            Some((name, at))
        })
        .collect()
}

async fn wait_for_polls(
    dashboard: SocketAddr,
    hosts: usize,
    newer_than: &BTreeMap<String, String>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let polls = last_polls(dashboard).await;
        let fresh = polls
            .iter()
            .filter(|(h, at)| newer_than.get(*h).is_none_or(|before| at > &before))
            .count();
        if fresh == hosts {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {fresh} of {hosts} hosts polled (again) within 60s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `(kind, incident)` of each notice a webhook received, in arrival order.
fn webhook_events(receiver: &Receiver) -> Vec<(String, String)> {
    receiver
        .bodies()
        .iter()
        .map(|b| {
            let field = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
            (field("kind"), field("incident"))
        })
        .collect()
}

fn subjects(smtp: &SmtpServer) -> Vec<String> {
    let mut subjects: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        })
        .collect();
    subjects.sort();
    subjects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flap_and_cpu_spike_alert_and_recover_exactly_once_through_two_workers() {
    let lab = Lab::start(FleetConfig {
        count: 200,
        seed: 8,
        ..FleetConfig::default()
    })
    .await;
    let control = lab
        .fleet
        .serve_control("127.0.0.1:0".parse().unwrap())
        .await
        .expect("control api");
    let webhook = Receiver::start(0).await;
    let smtp = SmtpServer::start();
    let mut alerts = format!(
        "  - webhook: {{ url: \"{}\", format: json }}\n",
        webhook.url()
    );
    if let Some(smtp) = &smtp {
        alerts.push_str(&format!(
            "  - email: {{ smtp: \"127.0.0.1:{}\", from: monitor@example.net, to: [noc@example.net], starttls: false }}\n",
            smtp.port
        ));
    }
    let checks = format!(
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
    std::fs::write(lab.path("monitor.yaml"), checks).unwrap();
    let dashboard: SocketAddr = format!("127.0.0.1:{}", fanout_tests::closed_port())
        .parse()
        .unwrap();
    let journal = lab.path("alerts.jsonl");
    let fanout = RunningFanout::start(&[
        "monitor",
        "-i",
        &lab.inventory_arg(),
        "--checks",
        &lab.path("monitor.yaml"),
        "--every",
        "1s",
        "--workers",
        "2",
        "--lease-timeout",
        "3s",
        "--host-key-policy",
        "off",
        "--journal",
        &journal,
        "--dashboard",
        &dashboard.to_string(),
    ]);
    let coordinator = fanout.pid();
    assert!(
        wait_until(Duration::from_secs(30), || fanout.workers().len() == 2).await,
        "two workers should start"
    );
    let workers = fanout.workers();

    // Every host polled once: its baseline is known, so a change from now on is an incident.
    wait_for_polls(dashboard, 200, &BTreeMap::new()).await;

    let (code, body) = http(
        control,
        "POST",
        &format!("/devices/{FLAPPED}/link"),
        r#"{"interface": "Loopback0", "up": false}"#,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = http(
        control,
        "POST",
        &format!("/devices/{SPIKED}/cpu"),
        r#"{"percent": 97}"#,
    )
    .await;
    assert_eq!(code, 200, "{body}");

    let flap = format!("{FLAPPED}/interfaces/Loopback0");
    let spike = format!("{SPIKED}/cpu");
    support::eventually(30, "both alerts at the webhook", || {
        webhook_events(&webhook).len() >= 2
    })
    .await;

    // Lose a worker while the incidents are open: its hosts go to the survivor, and nothing
    // about that is an alert.
    let before = last_polls(dashboard).await;
    fanout_tests::send_signal(workers[0], Signal::SIGKILL);
    wait_for_polls(dashboard, 200, &before).await;

    // Several polls with the incidents still open: still exactly one alert each.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for path in [
        format!("/devices/{FLAPPED}/clear"),
        format!("/devices/{SPIKED}/clear"),
    ] {
        let (code, body) = http(control, "POST", &path, "").await;
        assert_eq!(code, 200, "{body}");
    }
    support::eventually(30, "both recoveries at the webhook", || {
        webhook_events(&webhook).len() >= 4
    })
    .await;
    if let Some(smtp) = &smtp {
        support::eventually(30, "four mails", || smtp.messages().len() >= 4).await;
    }
    // A few more polls: nothing else may arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut got = webhook_events(&webhook);
    got.sort();
    let mut expected = vec![
        ("alert".to_string(), flap.clone()),
        ("alert".to_string(), spike.clone()),
        ("recovery".to_string(), flap.clone()),
        ("recovery".to_string(), spike.clone()),
    ];
    expected.sort();
    assert_eq!(got, expected, "webhook notices: {:#?}", webhook.bodies());
    if let Some(smtp) = &smtp {
        let mut expected = vec![
            format!("[fanout] ALERT: {FLAPPED} Loopback0 up -> down"),
            format!("[fanout] RECOVERED: {FLAPPED} Loopback0 down -> up (recovered)"),
        ];
        let spikes: Vec<String> = subjects(smtp)
            .into_iter()
            .filter(|s| s.contains(SPIKED))
            .collect();
        assert_eq!(spikes.len(), 2, "{spikes:?}");
        assert!(spikes.iter().any(|s| s.starts_with("[fanout] ALERT: ")));
        assert!(spikes.iter().any(|s| s.starts_with("[fanout] RECOVERED: ")));
        expected.extend(spikes);
        expected.sort();
        assert_eq!(subjects(smtp), expected);
    }

    // Ctrl-C: the monitor stops by itself and takes its workers with it.
    fanout.signal(Signal::SIGINT);
    let finished = fanout.finish(Duration::from_secs(30)).await;
    assert_eq!(finished.code, Some(0), "{}", finished.all_output());
    assert!(
        finished
            .stdout
            .contains("monitoring 200 hosts every 1s through 2 workers"),
        "{}",
        finished.stdout
    );
    assert!(
        finished.stdout.contains("1 workers lost"),
        "{}",
        finished.stdout
    );
    for pid in workers {
        assert!(!process_alive(pid), "worker {pid} outlived the monitor");
    }
    assert!(!process_alive(coordinator));
    let journal = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(journal.lines().count(), 4, "{journal}");
}

/// `fanout monitor | head -0`: the reader of stdout is gone before the first line. Monitoring
/// is not about stdout (alerts go out on their own channels), so the process must keep
/// polling and stop cleanly, not panic on the first line it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_does_not_stop_the_monitor() {
    let lab = Lab::start(FleetConfig {
        count: 3,
        seed: 13,
        ..FleetConfig::default()
    })
    .await;
    std::fs::write(
        lab.path("monitor.yaml"),
        "checks:\n  - name: cpu\n    command: show processes cpu | include CPU\n    extract: 'five seconds: (\\d+)%'\n",
    )
    .unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = tokio::process::Command::new(fanout_tests::binary("fanout"))
        .args([
            "monitor",
            "-i",
            &lab.inventory_arg(),
            "--checks",
            &lab.path("monitor.yaml"),
            "--every",
            "1s",
            "--duration",
            "2s",
            "--workers",
            "1",
            "--host-key-policy",
            "off",
            "--journal",
            &lab.path("alerts.jsonl"),
        ])
        .env("FANOUT_WORKER_BIN", fanout_tests::binary("fanout-worker"))
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        // Not `output()`: tokio's would replace the closed pipe with one of its own.
        .spawn()
        .expect("fanout starts")
        .wait_with_output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("the monitor stops after --duration")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const SNMP_COMMUNITY: &str = "devsim-monitor-Ro-never-printed";

/// `IF-MIB::ifName` as devsim answers it: IOS's short interface names.
fn if_name(full: &str) -> String {
    for (long, short) in [
        ("TenGigabitEthernet", "Te"),
        ("GigabitEthernet", "Gi"),
        ("FastEthernet", "Fa"),
    ] {
        if let Some(rest) = full.strip_prefix(long) {
            return format!("{short}{rest}");
        }
    }
    full.to_string()
}

/// SNMP checks through the same machinery: an interface forced down on one device is an
/// `ifOperStatus` alert and its return a recovery; extra traffic forced through an interface
/// of another turns its `ifHCInOctets` rate into a utilisation alert, which clears when the
/// traffic stops. Both through real worker processes polling devsim's SNMP agent, to a
/// webhook, exactly once each, and the per-interface gauges in `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmp_link_and_utilisation_checks_alert_and_clear_through_workers() {
    const FLAPPED: usize = 2;
    const LOADED: usize = 4;
    let lab = Lab::start(FleetConfig {
        count: 20,
        seed: 15,
        ..FleetConfig::default()
    })
    .await;
    lab.fleet.serve_snmp(SNMP_COMMUNITY).expect("snmp agent");
    lab.fleet.write_inventory(&lab.inventory).unwrap();
    let control = lab
        .fleet
        .serve_control("127.0.0.1:0".parse().unwrap())
        .await
        .expect("control api");
    let up_interface = |index: usize| {
        lab.fleet
            .dynamics()
            .interfaces(index)
            .unwrap()
            .into_iter()
            .find(|s| s.status == "up")
            .expect("an interface that is up")
            .name
    };
    let (flapped, loaded) = (up_interface(FLAPPED), up_interface(LOADED));
    let names = |index: usize| lab.fleet.devices()[index].name.clone();
    let (flapped_host, loaded_host) = (names(FLAPPED), names(LOADED));

    let webhook = Receiver::start(0).await;
    let checks = format!(
        r#"checks:
  - name: links
    snmp: {{ walk: IF-MIB::ifOperStatus, index_by: IF-MIB::ifName }}
    track: true
  - name: in_util
    snmp: {{ walk: ifHCInOctets, index_by: ifName, utilisation_of: ifHighSpeed }}
    alert_when: {{ above: 60, for: 2 }}
alerts:
  - webhook: {{ url: "{}", format: json }}
"#,
        webhook.url()
    );
    std::fs::write(lab.path("monitor.yaml"), checks).unwrap();
    let dashboard: SocketAddr = format!("127.0.0.1:{}", fanout_tests::closed_port())
        .parse()
        .unwrap();
    let journal = lab.path("alerts.jsonl");
    let fanout = RunningFanout::start(&[
        "monitor",
        "-i",
        &lab.inventory_arg(),
        "--checks",
        &lab.path("monitor.yaml"),
        "--every",
        "1s",
        "--workers",
        "2",
        // A loaded CI machine answers slowly; silence is not what this test is about.
        "--snmp-timeout",
        "3s",
        "--snmp-retries",
        "2",
        "--snmp-max-repetitions",
        "10",
        "--journal",
        &journal,
        "--dashboard",
        &dashboard.to_string(),
    ]);
    assert!(
        wait_until(Duration::from_secs(30), || fanout.workers().len() == 2).await,
        "two workers should start"
    );
    wait_for_polls(dashboard, 20, &BTreeMap::new()).await;
    // Every host's utilisation shows once two readings of its counters are apart (devsim's
    // agent, like real ones, refreshes them every few seconds).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = http(dashboard, "GET", "/api/hosts", "").await;
        let hosts: Value = serde_json::from_str(&body).unwrap();
        let with_util = hosts
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["cells"]["in_util"]["value"].is_string())
            .count();
        if with_util == 20 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "utilisation for {with_util} of 20 hosts: {body}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(webhook.bodies().is_empty(), "{:#?}", webhook.bodies());

    let (code, body) = http(
        control,
        "POST",
        &format!("/devices/{flapped_host}/link"),
        &format!(r#"{{"interface": "{flapped}", "up": false}}"#),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = http(
        control,
        "POST",
        &format!("/devices/{loaded_host}/traffic"),
        &format!(r#"{{"interface": "{loaded}", "percent": 90}}"#),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let flap = format!("{flapped_host}/links/{}", if_name(&flapped));
    let load = format!("{loaded_host}/in_util/{}", if_name(&loaded));
    support::eventually(40, "both alerts at the webhook", || {
        webhook_events(&webhook).len() >= 2
    })
    .await;

    // While open: the gauges show both, per host and interface.
    let (code, metrics) = http(dashboard, "GET", "/metrics", "").await;
    assert_eq!(code, 200);
    let down = format!(
        "fanout_monitor_up{{host=\"{flapped_host}\",check=\"links\",key=\"{}\"}} 0",
        if_name(&flapped)
    );
    assert!(metrics.contains(&down), "{down} not in\n{metrics}");
    let util = format!(
        "fanout_monitor_value{{host=\"{loaded_host}\",check=\"in_util\",key=\"{}\"}} ",
        if_name(&loaded)
    );
    let value: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(util.as_str()))
        .unwrap_or_else(|| panic!("{util} not in\n{metrics}"))
        .parse()
        .unwrap();
    assert!(value > 60.0, "{value}");
    assert!(
        metrics.contains("fanout_monitor_series_dropped 0"),
        "{metrics}"
    );

    for host in [&flapped_host, &loaded_host] {
        let (code, body) = http(control, "POST", &format!("/devices/{host}/clear"), "").await;
        assert_eq!(code, 200, "{body}");
    }
    support::eventually(40, "both recoveries at the webhook", || {
        webhook_events(&webhook).len() >= 4
    })
    .await;
    // More polls: nothing else may arrive.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut got = webhook_events(&webhook);
    got.sort();
    let mut expected = vec![
        ("alert".to_string(), flap.clone()),
        ("alert".to_string(), load.clone()),
        ("recovery".to_string(), flap),
        ("recovery".to_string(), load),
    ];
    expected.sort();
    assert_eq!(got, expected, "webhook notices: {:#?}", webhook.bodies());

    fanout.signal(Signal::SIGINT);
    let finished = fanout.finish(Duration::from_secs(30)).await;
    assert_eq!(finished.code, Some(0), "{}", finished.all_output());
    assert!(
        finished.stdout.contains("(0 unreadable)"),
        "{}",
        finished.stdout
    );
    let journal = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(journal.lines().count(), 4, "{journal}");
    assert!(!finished.all_output().contains(SNMP_COMMUNITY));
    assert!(!journal.contains(SNMP_COMMUNITY));
    lab.fleet.shutdown().await;
}

/// A misspelt object name is bad input with the file's line, and so is an SNMP check on hosts
/// the inventory gives no `snmp:` settings: exit 2 before any worker starts.
#[tokio::test]
async fn bad_snmp_checks_are_exit_2_with_file_and_line() {
    let lab = Lab::start(FleetConfig {
        count: 2,
        seed: 16,
        ..FleetConfig::default()
    })
    .await;
    let monitor = async |checks: &str| {
        std::fs::write(lab.path("monitor.yaml"), checks).unwrap();
        let (inventory, file, journal) = (
            lab.inventory_arg(),
            lab.path("monitor.yaml"),
            lab.path("alerts.jsonl"),
        );
        fanout_tests::fanout(
            &[
                "monitor",
                "-i",
                &inventory,
                "--checks",
                &file,
                "--duration",
                "1s",
                "--journal",
                &journal,
            ],
            Duration::from_secs(30),
        )
        .await
    };
    let run = monitor(
        "checks:\n  - name: links\n    snmp: { walk: IF-MIB::ifOperStatsu, index_by: ifName }\n    track: true\n",
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.all_output());
    assert!(
        run.stderr.contains("monitor.yaml:3:") && run.stderr.contains("did you mean ifOperStatus"),
        "{}",
        run.stderr
    );
    // The fleet serves no SNMP, so its inventory has no `snmp:` section.
    let run = monitor(
        "checks:\n  - name: links\n    snmp: { walk: IF-MIB::ifOperStatus, index_by: ifName }\n    track: true\n",
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.all_output());
    assert!(
        run.stderr.contains("no `snmp:` section for r00001, r00002"),
        "{}",
        run.stderr
    );
}
