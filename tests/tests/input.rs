//! Bad input stops before any connection, with the file, the line and the reason, and exit 2.

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, RunningFanout, edit_inventory, fanout};
use nix::sys::signal::Signal;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

async fn small_fleet() -> Lab {
    Lab::start(FleetConfig {
        count: 6,
        port: 0,
        password: "pw-inventory-listing".into(),
        ..FleetConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_platform_stops_the_run_before_any_connection() {
    let Lab {
        fleet,
        dir: _dir,
        inventory,
    } = small_fleet().await;
    edit_inventory(&inventory, |doc| {
        doc["hosts"]["r00002"]["platform"] = "cisco_iosxx".into();
    });
    let run = fanout(
        &[
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "-c",
            "show version",
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("lab.yaml:"),
        "names the file: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cisco_iosxx"),
        "names the platform: {}",
        run.stderr
    );
    assert_eq!(fleet.connections_accepted(), 0, "nothing was contacted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_field_is_reported_with_its_line() {
    let Lab { fleet, dir, .. } = small_fleet().await;
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "hosts:\n  r1:\n    hostname: 127.0.0.1\n    platform: cisco_ios\n    hostnme: typo\n",
    )
    .unwrap();
    let run = fanout(
        &["run", "-i", broken.to_str().unwrap(), "-c", "show version"],
        DEADLINE,
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("broken.yaml:5"),
        "file and line: {}",
        run.stderr
    );
    assert!(run.stderr.contains("hostnme"), "the field: {}", run.stderr);
    assert_eq!(fleet.connections_accepted(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_that_selects_nothing_is_an_error_not_a_success() {
    let Lab {
        fleet: _fleet,
        dir: _dir,
        inventory,
    } = small_fleet().await;
    let run = fanout(
        &[
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "--filter",
            "site=atlantis",
            "-c",
            "show version",
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("site=atlantis"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_lists_what_a_filter_selects_without_secrets() {
    let Lab {
        fleet,
        dir: _dir,
        inventory,
    } = small_fleet().await;
    let core: Vec<String> = {
        let text = std::fs::read_to_string(&inventory).unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        doc["hosts"]
            .as_mapping()
            .unwrap()
            .iter()
            .filter(|(_, h)| h["data"]["role"] == "core")
            .map(|(name, _)| name.as_str().unwrap().to_string())
            .collect()
    };
    assert!(!core.is_empty(), "the simulated fleet has core devices");
    let listed = fanout(
        &[
            "inventory",
            "-i",
            inventory.to_str().unwrap(),
            "--filter",
            "role=core",
            "--format",
            "json",
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let hosts: Vec<String> = fanout_tests::json_lines(&listed.stdout)
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(hosts, core);
    assert!(!listed.all_output().contains("pw-inventory-listing"));
    assert_eq!(fleet.connections_accepted(), 0);
}

/// A command with a control character is bad input wherever it is written: `-c`, a rules file,
/// a monitor checks file. Nothing is contacted, and the message shows the character escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_with_a_control_character_is_refused_everywhere() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = small_fleet().await;
    let inventory = inventory.to_str().unwrap();
    for (command, shown) in [
        ("echo first\nreload", "a line break (\\n) at character 11"),
        ("show version\r", "a carriage return (\\r)"),
        ("show run\x03", "Ctrl-C"),
        ("conf t\x1a", "Ctrl-Z"),
    ] {
        let run = fanout(&["run", "-i", inventory, "-c", command], DEADLINE).await;
        assert_eq!(run.code, Some(2), "{command:?}: {}", run.stderr);
        assert!(run.stderr.contains(shown), "{command:?}: {}", run.stderr);
        assert!(
            !run.stderr.contains(command),
            "the command is shown escaped: {}",
            run.stderr
        );
    }

    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  - name: v\n    command: \"show version\\nreload\"\n    expect: { contains: IOS }\n",
    )
    .unwrap();
    let validate = fanout(
        &["validate", "-i", inventory, "-r", rules.to_str().unwrap()],
        DEADLINE,
    )
    .await;
    assert_eq!(validate.code, Some(2), "{}", validate.stderr);
    assert!(
        validate.stderr.contains("rules.yaml:3: rule `v`: command")
            && validate.stderr.contains("a line break"),
        "{}",
        validate.stderr
    );

    let checks = dir.path().join("monitor.yaml");
    std::fs::write(
        &checks,
        "checks:\n  - name: cpu\n    command: \"show cpu\\nreload\"\n    extract: '(\\d+)%'\n",
    )
    .unwrap();
    let monitor = fanout(
        &[
            "monitor",
            "-i",
            inventory,
            "--checks",
            checks.to_str().unwrap(),
            "--journal",
            dir.path().join("alerts.jsonl").to_str().unwrap(),
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(monitor.code, Some(2), "{}", monitor.stderr);
    assert!(
        monitor
            .stderr
            .contains("monitor.yaml:2: check `cpu`: command")
            && monitor.stderr.contains("a line break"),
        "{}",
        monitor.stderr
    );
    assert_eq!(fleet.connections_accepted(), 0, "nothing was contacted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_file_without_rules_is_bad_input() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = small_fleet().await;
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "rules: []\n").unwrap();
    let run = fanout(
        &[
            "validate",
            "-i",
            inventory.to_str().unwrap(),
            "-r",
            rules.to_str().unwrap(),
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("rules.yaml:1: no rules"),
        "{}",
        run.stderr
    );
    assert_eq!(fleet.connections_accepted(), 0);
}

/// What is not a regular file is not read: a FIFO would block the load forever, /dev/zero would
/// be read until memory ran out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("hosts.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo works");
    for (path, what) in [
        (fifo.clone(), "is a named pipe (FIFO), not a regular file"),
        // A directory inventory whose hosts.yaml is the FIFO.
        (dir.path().to_path_buf(), "is a named pipe (FIFO)"),
        (
            "/dev/zero".into(),
            "is a character device, not a regular file",
        ),
    ] {
        let run = fanout(
            &["run", "-i", path.to_str().unwrap(), "-c", "show version"],
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(run.code, Some(2), "{}: {}", path.display(), run.stderr);
        assert!(
            run.stderr.contains(what),
            "{}: {}",
            path.display(),
            run.stderr
        );
    }
}

/// 1 MB of `[[[[...` took over five minutes at full CPU; now it is refused at once, with the
/// line and column where the nesting went too deep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_inventory_is_refused_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.yaml");
    let mut text = String::from("hosts:\n  r1:\n    hostname: 127.0.0.1\n    data:\n      x: ");
    text.push_str(&"[".repeat(1 << 20));
    std::fs::write(&path, text).unwrap();
    let run = fanout(
        &["run", "-i", path.to_str().unwrap(), "-c", "show version"],
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("hosts.yaml:5:")
            && run.stderr.contains("nested more than 64 levels deep"),
        "{}",
        run.stderr
    );
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

/// Ctrl-C while a large inventory is still loading stops at once: nothing ran, exit 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_while_loading_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.yaml");
    let mut text = String::from("hosts:\n");
    for i in 0..100_000u32 {
        text.push_str(&format!(
            "  r{i}:\n    hostname: 10.{}.{}.{}\n    platform: cisco_ios\n    data: {{ site: ams }}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    std::fs::write(&path, text).unwrap();
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let run =
            RunningFanout::start(&["run", "-i", path.to_str().unwrap(), "-c", "show version"]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        run.signal(signal);
        let signalled = std::time::Instant::now();
        let finished = run.finish(Duration::from_secs(60)).await;
        assert_eq!(finished.code, Some(130), "{signal}: {}", finished.stderr);
        assert!(
            finished.stderr.contains("interrupted while loading"),
            "{}",
            finished.stderr
        );
        assert!(
            signalled.elapsed() < Duration::from_secs(3),
            "{signal}: took {:?} after the signal",
            signalled.elapsed()
        );
    }
}

/// Values that cannot work are refused by name, before anything starts; a worker count no
/// machine can use is clamped, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_values_are_refused_or_clamped_with_a_message() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = small_fleet().await;
    let inventory = inventory.to_str().unwrap();
    for (flag, value) in [
        ("--lease-timeout", "0s"),
        ("--connect-timeout", "0s"),
        ("--command-timeout", "0s"),
        ("--host-timeout", "0s"),
        ("--concurrency", "0"),
        ("--workers", "0"),
        ("--connect-rate", "-5"),
    ] {
        let option = format!("{flag}={value}");
        let run = fanout(
            &["run", "-i", inventory, "-c", "show version", &option],
            DEADLINE,
        )
        .await;
        assert_eq!(run.code, Some(2), "{flag} {value}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{flag} {value}: {}", run.stderr);
    }
    assert_eq!(fleet.connections_accepted(), 0);

    let known_hosts = dir.path().join("known_hosts");
    let run = fanout(
        &[
            "run",
            "-i",
            inventory,
            "-c",
            "show version",
            "--workers",
            "10000",
            "--known-hosts",
            known_hosts.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("--workers 10000 is more than"),
        "{}",
        run.stderr
    );
    let workers_line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("workers"))
        .unwrap_or_default();
    // Six hosts: never more processes than hosts, let alone 10,000.
    assert!(
        workers_line.contains("processes") && !workers_line.contains("10000"),
        "{workers_line}"
    );
}

/// A monitor that could only fail once running is refused at start: a tracked column the
/// template does not have, a notifier program that does not exist, a dashboard without
/// authentication on a non-loopback address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_that_cannot_work_is_refused_at_start() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = small_fleet().await;
    let checks = dir.path().join("monitor.yaml");
    let journal = dir.path().join("alerts.jsonl");
    let monitor = |config: &str, extra: &[&str]| {
        std::fs::write(&checks, config).unwrap();
        let mut args = vec![
            "monitor",
            "-i",
            inventory.to_str().unwrap(),
            "--checks",
            checks.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
            "--duration",
            "1s",
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            fanout(&args, DEADLINE).await
        }
    };
    const TRACK: &str = "checks:\n  - name: interfaces\n    command: show ip interface brief\n    parse: textfsm\n    track: { key: port, field: status }\n";
    let run = monitor(TRACK, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("track.key `port` is not a column"),
        "{}",
        run.stderr
    );

    let exec = "checks:\n  - name: cpu\n    command: show processes cpu\n    extract: '(\\d+)%'\nalerts:\n  - exec: [\"./no-such-notifier.sh\"]\n";
    let run = monitor(exec, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("exec program \"./no-such-notifier.sh\" does not exist"),
        "{}",
        run.stderr
    );

    let fine = "checks:\n  - name: cpu\n    command: show processes cpu\n    extract: '(\\d+)%'\n";
    let run = monitor(fine, &["--dashboard", "0.0.0.0:0"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("--dashboard-allow-remote"),
        "{}",
        run.stderr
    );
    assert_eq!(fleet.connections_accepted(), 0, "nothing was contacted");
}
