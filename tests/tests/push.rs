//! `fanout push` end to end: real worker processes, real SSH to a simulated fleet whose devices
//! really change, every assertion made on the devices' own running configurations.

use fanout_devsim::{FleetConfig, Platform};
use fanout_tests::{Lab, RunningFanout, edit_inventory, fanout, wait_until};
use std::time::Duration;

const PASSWORD: &str = "pw-Push-7c1d-never-printed";
const SECRET: &str = "en-Push-99ab-never-printed";

/// VLAN 42 named after each host: every device gets its own lines.
const TEMPLATE: &str = "vlan 42\n name {{ data.vlan_name }}\nexit\n";

/// The gate: VLAN 42 carries the name the change meant (`OK-...`).
const RULES: &str = r#"rules:
  - name: vlan 42 in service
    command: show vlan brief
    expect: { matches: '^42\s+OK-' }
"#;

async fn lab(count: usize, platforms: Vec<Platform>, confirm_minute: Duration) -> Lab {
    let lab = Lab::start(FleetConfig {
        count,
        port: 0,
        password: PASSWORD.into(),
        secret: SECRET.into(),
        platforms,
        confirm_minute,
        ..FleetConfig::default()
    })
    .await;
    edit_inventory(&lab.inventory, |doc| {
        let hosts = doc["hosts"].as_mapping_mut().expect("hosts");
        for (name, host) in hosts.iter_mut() {
            let name = name.as_str().unwrap().to_uppercase();
            host["data"]["vlan_name"] = format!("OK-{name}").into();
        }
    });
    std::fs::write(lab.path("change.j2"), TEMPLATE).unwrap();
    std::fs::write(lab.path("rules.yaml"), RULES).unwrap();
    lab
}

fn push_args<'a>(lab: &'a Lab, extra: &[&'a str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "push".into(),
        "-i".into(),
        lab.inventory_arg(),
        "--known-hosts".into(),
        lab.path("known_hosts"),
        "--workers".into(),
        "2".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

async fn push(lab: &Lab, extra: &[&str]) -> fanout_tests::Finished {
    let args = push_args(lab, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fanout(&args, Duration::from_secs(180)).await
}

/// What the device's running config says VLAN 42 is called, if it has one.
fn vlan_42(lab: &Lab, index: usize) -> Option<String> {
    let config = lab.fleet.running_config(index);
    let at = config.find("\nvlan 42\n")?;
    let rest = &config[at + "\nvlan 42\n".len()..];
    Some(
        rest.lines()
            .next()?
            .trim()
            .trim_start_matches("name ")
            .to_string(),
    )
}

fn report(lab: &Lab) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(lab.path("report.json")).unwrap()).unwrap()
}

fn no_secrets(run: &fanout_tests::Finished, lab: &Lab) {
    let report = std::fs::read_to_string(lab.path("report.json")).unwrap_or_default();
    for text in [run.all_output(), report] {
        assert!(!text.contains(PASSWORD), "password printed");
        assert!(!text.contains(SECRET), "enable secret printed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vlan_change_goes_through_canary_and_three_gated_waves_on_300_devices() {
    let lab = lab(300, Vec::new(), Duration::from_secs(60)).await;
    let before: Vec<String> = (0..300).map(|i| lab.fleet.running_config(i)).collect();
    let run = push(
        &lab,
        &[
            "--template",
            &lab.path("change.j2"),
            "--commit",
            "--canary",
            "5",
            "--waves",
            "10%,50%,100%",
            "--validate",
            &lab.path("rules.yaml"),
            "--report",
            &lab.path("report.json"),
            "--format",
            "json",
        ],
    )
    .await;
    assert_eq!(
        run.code,
        Some(0),
        "{}\n{}",
        run.stderr,
        &run.stdout[..run.stdout.len().min(4000)]
    );
    no_secrets(&run, &lab);
    let report = report(&lab);
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 300);
    let waves: Vec<&str> = hosts.iter().map(|h| h["wave"].as_str().unwrap()).collect();
    assert_eq!(waves.iter().filter(|w| **w == "canary").count(), 5);
    assert_eq!(waves.iter().filter(|w| **w == "wave 1").count(), 25);
    assert_eq!(waves.iter().filter(|w| **w == "wave 2").count(), 120);
    assert_eq!(waves.iter().filter(|w| **w == "wave 3").count(), 150);
    for (i, device) in lab.fleet.devices().iter().enumerate() {
        let host = &hosts[i];
        assert_eq!(host["status"]["state"], "applied", "{host}");
        assert_eq!(host["gate"]["passed"], true, "{host}");
        let wanted = format!("OK-{}", device.name.to_uppercase());
        assert_eq!(
            vlan_42(&lab, i).as_deref(),
            Some(wanted.as_str()),
            "{}",
            device.name
        );
        // Exactly as rendered: the running config gained these lines and nothing else.
        let after = lab.fleet.running_config(i);
        let added: Vec<&str> = after
            .lines()
            .filter(|l| !before[i].lines().any(|b| b == *l))
            // IOS counts the configuration's bytes in its header.
            .filter(|l| !l.starts_with("Current configuration : "))
            .collect();
        assert!(
            added
                .iter()
                .all(|l| *l == "vlan 42" || *l == format!(" name {wanted}")),
            "{}: {added:?}",
            device.name
        );
        // The diff fanout computed names what it added.
        let diff = host["diff"].as_str().unwrap();
        assert!(diff.contains("+ vlan 42"), "{diff}");
        assert_eq!(host["diff_by"], "fanout");
    }
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_failing_in_wave_2_stops_and_rolls_back_wave_2_while_wave_1_stays() {
    let lab = lab(20, Vec::new(), Duration::from_secs(60)).await;
    // One host of wave 2 (hosts 7..=10) gets a name the gate refuses.
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["r00008"]["data"]["vlan_name"] = "WRONG".into();
    });
    let before: Vec<String> = (0..20).map(|i| lab.fleet.running_config(i)).collect();
    let run = push(
        &lab,
        &[
            "--template",
            &lab.path("change.j2"),
            "--commit",
            "--canary",
            "2",
            "--waves",
            "30%,50%,100%",
            "--validate",
            &lab.path("rules.yaml"),
            "--rollback-on-failure",
            "--report",
            &lab.path("report.json"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stdout
            .contains("STOPPED: wave 2: the gate failed on 1 host"),
        "{}",
        run.stdout
    );
    no_secrets(&run, &lab);
    let report = report(&lab);
    let hosts = report["hosts"].as_array().unwrap();
    // Canary r00001-2 and wave 1 r00003-6 keep the change.
    for (i, host) in hosts.iter().enumerate().take(6) {
        assert!(
            vlan_42(&lab, i).is_some_and(|n| n.starts_with("OK-")),
            "host {i}"
        );
        assert_eq!(host["status"]["state"], "applied");
    }
    // Wave 2 (r00007-10) is back to exactly what it was.
    for i in 6..10 {
        assert!(
            lab.fleet.running_config(i) == before[i],
            "host {i} not rolled back"
        );
        assert_eq!(hosts[i]["status"]["state"], "rolled_back", "{}", hosts[i]);
    }
    assert_eq!(hosts[7]["gate"]["passed"], false);
    // Wave 3 was never touched.
    for i in 10..20 {
        assert!(lab.fleet.running_config(i) == before[i], "host {i} touched");
        assert_eq!(hosts[i]["status"]["state"], "not_reached");
    }
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_confirmed_nobody_confirms_rolls_back_by_itself() {
    // A `commit confirmed 1` lasts 2 seconds; a slow device keeps the gate from confirming
    // before the test kills fanout.
    let lab = Lab::start(FleetConfig {
        count: 1,
        port: 0,
        password: PASSWORD.into(),
        secret: SECRET.into(),
        platforms: vec![Platform::JuniperJunos],
        confirm_minute: Duration::from_secs(2),
        latency: Duration::from_millis(400),
        ..FleetConfig::default()
    })
    .await;
    std::fs::write(lab.path("change.set"), "set vlans PUSHED vlan-id 42\n").unwrap();
    std::fs::write(
        lab.path("rules.yaml"),
        "rules:\n  - name: vlan\n    command: show configuration\n    expect: { contains: PUSHED }\n",
    )
    .unwrap();
    let before = lab.fleet.running_config(0);
    let args = push_args(
        &lab,
        &[
            "--lines",
            &lab.path("change.set"),
            "--commit",
            "--confirm-minutes",
            "1",
            "--validate",
            &lab.path("rules.yaml"),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let fanout = RunningFanout::start(&args);
    let committed = wait_until(Duration::from_secs(60), || {
        lab.fleet.running_config(0).contains("PUSHED")
    })
    .await;
    assert!(committed, "the commit confirmed never happened");
    let workers = fanout.workers();
    fanout.signal(nix::sys::signal::Signal::SIGKILL);
    for pid in workers {
        fanout_tests::send_signal(pid, nix::sys::signal::Signal::SIGKILL);
    }
    drop(fanout.finish(Duration::from_secs(10)).await);
    assert!(
        lab.fleet.running_config(0).contains("PUSHED"),
        "still committed"
    );
    let rolled_back = wait_until(Duration::from_secs(10), || {
        lab.fleet.unconfirmed_rollbacks(0) == 1
    })
    .await;
    assert!(rolled_back, "the device did not roll back by itself");
    assert!(lab.fleet.running_config(0) == before, "not back as before");
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undefined_variable_stops_everything_before_any_connection() {
    let lab = lab(5, Vec::new(), Duration::from_secs(60)).await;
    std::fs::write(lab.path("bad.j2"), "vlan 42\n name {{ data.vlan_nmae }}\n").unwrap();
    let run = push(&lab, &["--template", &lab.path("bad.j2"), "--commit"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.j2:2: host \"r00001\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("undefined"), "{}", run.stderr);
    assert_eq!(lab.fleet.connections_accepted(), 0, "nothing connected");
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_lines_and_diffs_and_changes_nothing() {
    let lab = lab(
        4,
        vec![Platform::CiscoIos, Platform::JuniperJunos],
        Duration::from_secs(60),
    )
    .await;
    let template = "{% if platform == 'juniper_junos' %}set vlans {{ data.vlan_name }} vlan-id 42\n\
                    {% else %}vlan 42\n name {{ data.vlan_name }}\n{% endif %}";
    std::fs::write(lab.path("mixed.j2"), template).unwrap();
    let before: Vec<String> = (0..4).map(|i| lab.fleet.running_config(i)).collect();
    let run = push(
        &lab,
        &[
            "--template",
            &lab.path("mixed.j2"),
            "--report",
            &lab.path("report.json"),
            "--session-log",
            &lab.path("sessions"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stderr, run.stdout);
    no_secrets(&run, &lab);
    for (i, config) in before.iter().enumerate() {
        assert!(&lab.fleet.running_config(i) == config, "host {i} changed");
    }
    let report = report(&lab);
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts[0]["status"]["state"], "planned");
    assert_eq!(hosts[0]["diff_by"], "fanout");
    assert!(hosts[0]["diff"].as_str().unwrap().contains("+ vlan 42"));
    // Junos diffs its own candidate, then throws it away.
    assert_eq!(hosts[1]["diff_by"], "device");
    let diff = hosts[1]["diff"].as_str().unwrap();
    assert!(diff.contains("+ ") && diff.contains("OK-R00002"), "{diff}");
    assert!(
        run.stdout.contains("fanout's computed diff"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("the device's own diff"),
        "{}",
        run.stdout
    );
    // Each step's transcripts, secrets masked.
    let transcript =
        std::fs::read_to_string(lab.dir.path().join("sessions/01-push-dry-run/r00002.log"))
            .unwrap();
    assert!(transcript.contains("show | compare"), "{transcript}");
    assert!(!transcript.contains(PASSWORD) && !transcript.contains(SECRET));
    // The IOS host typed its enable secret: the transcript shows it masked.
    let ios = std::fs::read_to_string(lab.dir.path().join("sessions/01-push-dry-run/r00001.log"))
        .unwrap();
    assert!(ios.contains("enable"), "{ios}");
    assert!(!ios.contains(PASSWORD) && !ios.contains(SECRET), "{ios}");
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_line_aborts_the_host_and_leaves_config_mode() {
    let lab = lab(2, Vec::new(), Duration::from_secs(60)).await;
    std::fs::write(
        lab.path("bad.txt"),
        "vlan 43\nfrobnicate everything\nvlan 44\n",
    )
    .unwrap();
    let run = push(
        &lab,
        &[
            "--lines",
            &lab.path("bad.txt"),
            "--commit",
            "--max-failures",
            "5",
            "--report",
            &lab.path("report.json"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stderr, run.stdout);
    let report = report(&lab);
    let host = &report["hosts"][0];
    assert_eq!(host["status"]["state"], "partially_applied", "{host}");
    let responses = host["responses"].as_array().unwrap();
    let rejected: Vec<&str> = responses
        .iter()
        .filter(|r| r["rejected"] == true)
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(rejected, ["frobnicate everything"]);
    // `end` was typed after the rejection, and the line after it never was.
    let typed: Vec<&str> = responses
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(typed.last(), Some(&"end"), "{typed:?}");
    assert!(!typed.contains(&"vlan 44"));
    let config = lab.fleet.running_config(0);
    assert!(config.contains("\nvlan 43\n") && !config.contains("\nvlan 44\n"));
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junos_commits_are_confirmed_after_the_gate_and_stay() {
    let lab = Lab::start(FleetConfig {
        count: 2,
        port: 0,
        password: PASSWORD.into(),
        secret: SECRET.into(),
        platforms: vec![Platform::JuniperJunos],
        confirm_minute: Duration::from_millis(500),
        ..FleetConfig::default()
    })
    .await;
    std::fs::write(
        lab.path("change.j2"),
        "set vlans PUSH-{{ name | upper }} vlan-id 42\n",
    )
    .unwrap();
    std::fs::write(
        lab.path("rules.yaml"),
        "rules:\n  - name: vlan\n    command: show configuration\n    expect: { contains: PUSH- }\n",
    )
    .unwrap();
    let run = push(
        &lab,
        &[
            "--template",
            &lab.path("change.j2"),
            "--commit",
            "--canary",
            "1",
            "--confirm-minutes",
            "1",
            "--validate",
            &lab.path("rules.yaml"),
            "--report",
            &lab.path("report.json"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stderr, run.stdout);
    let report = report(&lab);
    for host in report["hosts"].as_array().unwrap() {
        assert_eq!(host["status"]["state"], "applied", "{host}");
        assert_eq!(host["diff_by"], "device");
        let step: Vec<&str> = host["responses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["step"] == "confirm")
            .map(|r| r["command"].as_str().unwrap())
            .collect();
        assert_eq!(step, ["configure", "commit", "exit configuration-mode"]);
    }
    // Well past the confirm timer: confirmed commits stay.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for i in 0..2 {
        assert!(
            lab.fleet.running_config(i).contains("PUSH-R0000"),
            "host {i}"
        );
        assert_eq!(lab.fleet.unconfirmed_rollbacks(i), 0);
    }
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_rollout_after_the_hosts_in_flight() {
    let lab = Lab::start(FleetConfig {
        count: 12,
        port: 0,
        password: PASSWORD.into(),
        secret: SECRET.into(),
        latency: Duration::from_millis(150),
        ..FleetConfig::default()
    })
    .await;
    std::fs::write(lab.path("change.txt"), "vlan 42\n name INTERRUPTED\n").unwrap();
    let before: Vec<String> = (0..12).map(|i| lab.fleet.running_config(i)).collect();
    let args = push_args(
        &lab,
        &[
            "--lines",
            &lab.path("change.txt"),
            "--commit",
            "--canary",
            "1",
            "--waves",
            "50%,100%",
            "--report",
            &lab.path("report.json"),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let fanout = RunningFanout::start(&args);
    let canary_done = wait_until(Duration::from_secs(60), || {
        lab.fleet.running_config(0).contains("INTERRUPTED")
    })
    .await;
    assert!(canary_done, "the canary never changed");
    fanout.signal(nix::sys::signal::Signal::SIGINT);
    let run = fanout.finish(Duration::from_secs(60)).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stdout.contains("STOPPED: interrupted"),
        "{}",
        run.stdout
    );
    // The last wave never started, and the report says where every host stands.
    for (i, config) in before.iter().enumerate().skip(6) {
        assert!(&lab.fleet.running_config(i) == config, "host {i} changed");
    }
    let report = report(&lab);
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 12);
    assert_eq!(hosts[11]["status"]["state"], "not_reached");
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_lost_mid_change_is_reported_unknown_and_not_retried() {
    let lab = Lab::start(FleetConfig {
        count: 2,
        port: 0,
        password: PASSWORD.into(),
        secret: SECRET.into(),
        faults: [(0, fanout_devsim::Fault::DropMidConfig)].into(),
        ..FleetConfig::default()
    })
    .await;
    std::fs::write(lab.path("change.txt"), "vlan 42\nvlan 43\n").unwrap();
    let run = push(
        &lab,
        &[
            "--lines",
            &lab.path("change.txt"),
            "--commit",
            "--max-failures",
            "1",
            // Asked for, and still not used: a change is never retried.
            "--retries",
            "3",
            "--report",
            &lab.path("report.json"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stderr, run.stdout);
    let report = report(&lab);
    let lost = &report["hosts"][0];
    assert_eq!(lost["status"]["state"], "unknown", "{lost}");
    assert!(run.stdout.contains("UNKNOWN state"), "{}", run.stdout);
    // The first line took effect, the second never came: one connection, no retry.
    let config = lab.fleet.running_config(0);
    assert!(config.contains("\nvlan 42\n") && !config.contains("\nvlan 43\n"));
    assert_eq!(report["hosts"][1]["status"]["state"], "applied");
    // r00001 once (no retry), r00002 once.
    assert_eq!(lab.fleet.connections_accepted(), 2);
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_junos_wave_is_rolled_back_by_rollback_1_and_commit() {
    let lab = lab(4, vec![Platform::JuniperJunos], Duration::from_secs(60)).await;
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["r00003"]["data"]["vlan_name"] = "WRONG".into();
    });
    std::fs::write(
        lab.path("change.j2"),
        "set vlans {{ data.vlan_name }} vlan-id 42\n",
    )
    .unwrap();
    std::fs::write(
        lab.path("rules.yaml"),
        "rules:\n  - name: vlan\n    command: show configuration\n    expect: { contains: OK- }\n",
    )
    .unwrap();
    let before: Vec<String> = (0..4).map(|i| lab.fleet.running_config(i)).collect();
    let run = push(
        &lab,
        &[
            "--template",
            &lab.path("change.j2"),
            "--commit",
            "--canary",
            "1",
            "--validate",
            &lab.path("rules.yaml"),
            "--rollback-on-failure",
            "--report",
            &lab.path("report.json"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stderr, run.stdout);
    let report = report(&lab);
    let hosts = report["hosts"].as_array().unwrap();
    // The canary passed its gate and was confirmed; wave 1 failed its gate on r00003 and
    // every host of it was rolled back at once, not left to the timer.
    assert_eq!(hosts[0]["status"]["state"], "applied");
    assert!(lab.fleet.running_config(0).contains("OK-R00001"));
    for (i, config) in before.iter().enumerate().skip(1) {
        assert_eq!(hosts[i]["status"]["state"], "rolled_back", "{}", hosts[i]);
        assert!(
            &lab.fleet.running_config(i) == config,
            "host {i} not rolled back"
        );
        assert_eq!(lab.fleet.unconfirmed_rollbacks(i), 0);
    }
    lab.fleet.shutdown().await;
}
