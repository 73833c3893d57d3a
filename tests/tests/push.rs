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
        // Time for the gate's job to start and pass before the timer ends, even on a loaded
        // machine (500 ms was not).
        confirm_minute: Duration::from_secs(3),
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
    tokio::time::sleep(Duration::from_millis(3500)).await;
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
async fn ctrl_c_stops_after_the_hosts_in_flight_leaves_nothing_in_config_mode_and_exits_130() {
    // IOS and Junos alternate. Every command takes 150 ms, so a host's change takes a second
    // or two; a `commit confirmed 1` lasts 4 seconds.
    let lab = Lab::start(FleetConfig {
        count: 12,
        port: 0,
        password: PASSWORD.into(),
        secret: SECRET.into(),
        platforms: vec![Platform::CiscoIos, Platform::JuniperJunos],
        latency: Duration::from_millis(150),
        confirm_minute: Duration::from_secs(4),
        ..FleetConfig::default()
    })
    .await;
    let template = "{% if platform == 'juniper_junos' %}set vlans INTERRUPTED vlan-id 42\n\
                    {% else %}vlan 42\n name INTERRUPTED\n{% endif %}";
    std::fs::write(lab.path("change.j2"), template).unwrap();
    let before: Vec<String> = (0..12).map(|i| lab.fleet.running_config(i)).collect();
    // Canary r00001-2, wave 1 r00003-6, wave 2 r00007-12; two hosts at a time.
    let args = push_args(
        &lab,
        &[
            "--template",
            &lab.path("change.j2"),
            "--commit",
            "--canary",
            "2",
            "--waves",
            "50%,100%",
            "--concurrency",
            "1",
            "--confirm-minutes",
            "1",
            "--report",
            &lab.path("report.json"),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let fanout = RunningFanout::start(&args);
    // Ctrl-C while a host of wave 1 is in configuration mode.
    let mid_wave = wait_until(Duration::from_secs(90), || {
        (2..6).any(|i| lab.fleet.config_state(i).in_config > 0)
    })
    .await;
    assert!(mid_wave, "wave 1 never entered configuration mode");
    let in_flight: Vec<usize> = (2..6)
        .filter(|&i| lab.fleet.config_state(i).in_config > 0)
        .collect();
    fanout.signal(nix::sys::signal::Signal::SIGINT);
    let run = fanout.finish(Duration::from_secs(90)).await;
    assert_eq!(run.code, Some(130), "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stdout.contains("STOPPED: interrupted during wave 1"),
        "{}",
        run.stdout
    );
    no_secrets(&run, &lab);
    // Nothing is left in configuration mode, and no session was ever cut off there.
    let closed = wait_until(Duration::from_secs(10), || {
        (0..12).all(|i| lab.fleet.config_state(i).in_config == 0)
    })
    .await;
    assert!(closed, "a device is still in configuration mode");
    for i in 0..12 {
        let state = lab.fleet.config_state(i);
        assert_eq!(
            state.left_in_config, 0,
            "host {i} was cut off in config mode"
        );
        assert!(state.open_sessions.is_empty(), "host {i}: {state:?}");
    }
    let report = report(&lab);
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 12);
    // The canaries were confirmed and keep the change.
    for (i, host) in hosts.iter().enumerate().take(2) {
        assert_eq!(host["status"]["state"], "applied", "{host}");
        assert!(lab.fleet.running_config(i).contains("INTERRUPTED"));
    }
    // The hosts in flight finished their change; at least one host of wave 1 never started.
    let mut waiting = Vec::new();
    for i in 2..6 {
        let state = hosts[i]["status"]["state"].as_str().unwrap();
        match state {
            "applied" => assert!(lab.fleet.running_config(i).contains("INTERRUPTED")),
            "awaiting_confirm" => waiting.push(i),
            "not_reached" => assert!(lab.fleet.running_config(i) == before[i], "host {i}"),
            other => panic!("host {i}: {other}: {}", hosts[i]),
        }
    }
    for i in &in_flight {
        assert_ne!(hosts[*i]["status"]["state"], "not_reached", "host {i}");
    }
    assert!(
        (2..6).any(|i| hosts[i]["status"]["state"] == "not_reached"),
        "every host of wave 1 ran: {report}"
    );
    // The later wave was never touched.
    for i in 6..12 {
        assert!(lab.fleet.running_config(i) == before[i], "host {i} changed");
        assert_eq!(hosts[i]["status"]["state"], "not_reached");
    }
    // Junos hosts of wave 1 committed with a timer nobody will confirm: the report says they
    // roll back by themselves, and they do.
    if !waiting.is_empty() {
        assert!(
            run.stdout.contains("roll back by themselves"),
            "{}",
            run.stdout
        );
    }
    let undone = wait_until(Duration::from_secs(15), || {
        (0..12).all(|i| !lab.fleet.config_state(i).awaiting_confirm)
    })
    .await;
    assert!(undone, "a commit confirmed is still waiting");
    for i in waiting {
        assert!(lab.fleet.running_config(i) == before[i], "host {i} kept it");
        assert_eq!(lab.fleet.unconfirmed_rollbacks(i), 1);
    }
    assert_eq!(
        lab.fleet.unconfirmed_rollbacks(1),
        0,
        "the canary was confirmed"
    );
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

/// What a candidate platform's tests change and check: the template, a gate that passes on
/// `OK-` hosts, and what the device's own diff shows for host `r00001`.
struct CandidateCase {
    platform: Platform,
    template: &'static str,
    rules: &'static str,
    diff_shows: &'static [&'static str],
    /// The running configuration of a host that took the change has this.
    changed: &'static str,
}

const EOS: CandidateCase = CandidateCase {
    platform: Platform::AristaEos,
    template: "vlan 42\n   name {{ data.vlan_name }}\n",
    rules: "rules:\n  - name: vlan\n    command: show running-config\n    expect: { matches: '^   name OK-' }\n",
    diff_shows: &[
        "--- system:/running-config",
        "\n+vlan 42\n+   name OK-R00001\n",
    ],
    changed: "\nvlan 42\n   name OK-",
};

const XR: CandidateCase = CandidateCase {
    platform: Platform::CiscoXr,
    template: "{% if data.vlan_name == 'WRONG' %}ntp server 198.51.100.9\
               {% else %}ntp server 192.0.2.42{% endif %}\n",
    rules: "rules:\n  - name: ntp\n    command: show running-config\n    expect: { contains: 'server 192.0.2.42' }\n",
    diff_shows: &["!! IOS XR Configuration", "\n+  server 192.0.2.42\n"],
    changed: "\n server 192.0.2.42\n",
};

/// A dry run on a candidate platform: the device's own diff, nothing changed, no session or
/// candidate left behind.
async fn candidate_dry_run(case: &CandidateCase) {
    let lab = lab(3, vec![case.platform], Duration::from_secs(60)).await;
    std::fs::write(lab.path("change.j2"), case.template).unwrap();
    let before: Vec<String> = (0..3).map(|i| lab.fleet.running_config(i)).collect();
    let run = push(
        &lab,
        &[
            "--template",
            &lab.path("change.j2"),
            "--report",
            &lab.path("report.json"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stderr, run.stdout);
    no_secrets(&run, &lab);
    let report = report(&lab);
    let host = &report["hosts"][0];
    assert_eq!(host["status"]["state"], "planned", "{host}");
    assert_eq!(host["diff_by"], "device");
    let diff = host["diff"].as_str().unwrap();
    for shown in case.diff_shows {
        assert!(diff.contains(shown), "{shown:?} not in {diff}");
    }
    assert!(
        run.stdout.contains("the device's own diff"),
        "{}",
        run.stdout
    );
    for (i, config) in before.iter().enumerate() {
        assert!(&lab.fleet.running_config(i) == config, "host {i} changed");
        assert_eq!(
            lab.fleet.config_state(i),
            fanout_devsim::ConfigState::default(),
            "host {i}"
        );
    }
    lab.fleet.shutdown().await;
}

/// A commit on a candidate platform: the canary passes its gate and is confirmed (and stays
/// past its timer); wave 1 fails its gate on r00003 and is undone at once, not left to the
/// timer.
async fn candidate_commit(case: &CandidateCase) -> serde_json::Value {
    // A minute lasts 4 seconds: time for the gate's job to start and pass before the canary's
    // timer ends, even on a loaded machine.
    let lab = lab(4, vec![case.platform], Duration::from_secs(4)).await;
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["r00003"]["data"]["vlan_name"] = "WRONG".into();
    });
    std::fs::write(lab.path("change.j2"), case.template).unwrap();
    std::fs::write(lab.path("rules.yaml"), case.rules).unwrap();
    let before: Vec<String> = (0..4).map(|i| lab.fleet.running_config(i)).collect();
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
            "--rollback-on-failure",
            "--report",
            &lab.path("report.json"),
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stdout
            .contains("STOPPED: wave 1: the gate failed on 1 host"),
        "{}",
        run.stdout
    );
    no_secrets(&run, &lab);
    let report = report(&lab);
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts[0]["status"]["state"], "applied", "{}", hosts[0]);
    assert_eq!(hosts[0]["diff_by"], "device");
    for (i, config) in before.iter().enumerate().skip(1) {
        assert_eq!(hosts[i]["status"]["state"], "rolled_back", "{}", hosts[i]);
        assert!(
            &lab.fleet.running_config(i) == config,
            "host {i} not rolled back"
        );
    }
    // Well past the confirm timer: the confirmed canary keeps its change, and nothing was
    // left to a timer.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert!(
        lab.fleet.running_config(0).contains(case.changed),
        "{}",
        lab.fleet.running_config(0)
    );
    for i in 0..4 {
        assert_eq!(lab.fleet.unconfirmed_rollbacks(i), 0, "host {i}");
        assert_eq!(
            lab.fleet.config_state(i),
            fanout_devsim::ConfigState::default(),
            "host {i}"
        );
    }
    lab.fleet.shutdown().await;
    report
}

/// The commands of one step of one host, from the report.
fn step_commands<'r>(host: &'r serde_json::Value, step: &str) -> Vec<&'r str> {
    host["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["step"] == step)
        .map(|r| r["command"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_dry_run_shows_the_session_diff_and_leaves_no_session() {
    candidate_dry_run(&EOS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_commits_with_a_session_timer_confirms_and_aborts_a_failed_wave() {
    let report = candidate_commit(&EOS).await;
    let canary = &report["hosts"][0];
    let apply = step_commands(canary, "apply");
    assert!(
        apply[0].starts_with("configure session fanout-"),
        "{apply:?}"
    );
    assert_eq!(apply.last(), Some(&"commit timer 00:01:00"), "{apply:?}");
    let confirm = step_commands(canary, "confirm");
    assert_eq!(confirm, [format!("{} commit", apply[0])]);
    let rollback = step_commands(&report["hosts"][1], "rollback");
    assert_eq!(
        rollback,
        [format!(
            "{} abort",
            step_commands(&report["hosts"][1], "apply")[0]
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ios_xr_dry_run_shows_the_commit_diff_and_discards_the_target() {
    candidate_dry_run(&XR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ios_xr_commits_confirmed_confirms_and_rolls_back_a_failed_wave() {
    let report = candidate_commit(&XR).await;
    let canary = &report["hosts"][0];
    let apply = step_commands(canary, "apply");
    assert_eq!(
        apply,
        [
            "configure terminal",
            "ntp server 192.0.2.42",
            "show commit changes diff",
            "commit confirmed 60",
            "end"
        ]
    );
    assert_eq!(
        step_commands(canary, "confirm"),
        ["configure terminal", "commit", "end"]
    );
    assert_eq!(
        step_commands(&report["hosts"][1], "rollback"),
        ["rollback configuration last 1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_through_a_coordinator_runs_every_step_on_its_workers() {
    use fanout_tests::daemon::Daemon;
    let lab = lab(6, Vec::new(), Duration::from_secs(60)).await;
    let before: Vec<String> = (0..6).map(|i| lab.fleet.running_config(i)).collect();
    let token = lab.path("token");
    std::fs::write(&token, format!("{}\n", "c1".repeat(32))).unwrap();
    let worker_token = lab.path("worker-token");
    std::fs::write(&worker_token, format!("{}\n", "a7".repeat(32))).unwrap();
    let listen = format!("127.0.0.1:{}", fanout_tests::closed_port());
    let mut serve = tokio::process::Command::new(fanout_tests::binary("fanout"));
    serve.args([
        "serve",
        "--listen",
        &listen,
        "--token-file",
        &token,
        "--worker-token-file",
        &worker_token,
        "--state-dir",
        &lab.path("state"),
    ]);
    let serve = Daemon::spawn("fanout serve", serve);
    serve
        .wait_for_line("serving on", Duration::from_secs(20))
        .await;
    let url = format!("http://{listen}");
    let mut worker = tokio::process::Command::new(fanout_tests::binary("fanout-worker"));
    worker.args([
        "--coordinator",
        &url,
        "--token-file",
        &worker_token,
        "--worker-id",
        "w-push",
        "--concurrency",
        "4",
    ]);
    let worker = Daemon::spawn("fanout-worker", worker);
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
            "--report",
            &lab.path("report.json"),
            "--coordinator",
            &url,
            "--token-file",
            &token,
        ],
    )
    .await;
    assert_eq!(
        run.code,
        Some(0),
        "{}\n{}\ncoordinator:\n{}\nworker:\n{}",
        run.stderr,
        run.stdout,
        serve.output(),
        worker.output()
    );
    no_secrets(&run, &lab);
    for text in [serve.output(), worker.output()] {
        assert!(!text.contains(PASSWORD) && !text.contains(SECRET));
    }
    // Canary, its gate, wave 1, its gate: four jobs submitted to the coordinator.
    assert_eq!(
        run.stderr.matches("submitted to").count(),
        4,
        "{}",
        run.stderr
    );
    let report = report(&lab);
    for (i, host) in report["hosts"].as_array().unwrap().iter().enumerate() {
        assert_eq!(host["status"]["state"], "applied", "{host}");
        assert_eq!(host["gate"]["passed"], true, "{host}");
        assert_ne!(lab.fleet.running_config(i), before[i]);
        let wanted = format!("OK-R{:05}", i + 1);
        assert_eq!(vlan_42(&lab, i).as_deref(), Some(wanted.as_str()));
    }
    lab.fleet.shutdown().await;
}
