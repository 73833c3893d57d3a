//! `fanout run` end to end: real worker processes, real SSH to a simulated fleet, real files.

use fanout_devsim::{FleetConfig, running_config};
use fanout_tests::{Lab, fanout, json_lines};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

const SEED: u64 = 7;
const PASSWORD: &str = "pw-Zq81-never-printed";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_collect_every_running_config_byte_for_byte() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = Lab::start(FleetConfig {
        count: 100,
        port: 0,
        latency: Duration::from_millis(20),
        seed: SEED,
        password: PASSWORD.into(),
        ..FleetConfig::default()
    })
    .await;
    let out = dir.path().join("out");
    let known_hosts = dir.path().join("known_hosts");

    let run = fanout(
        &[
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "-c",
            "show running-config",
            "-c",
            "show version",
            "--workers",
            "2",
            "--output",
            out.to_str().unwrap(),
            "--known-hosts",
            known_hosts.to_str().unwrap(),
            "--format",
            "json",
        ],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, Some(0), "fanout failed:\n{}", run.stderr);

    // Every host exactly once, every host ok, in results.jsonl and on stdout alike.
    let recorded = json_lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    let printed = json_lines(&run.stdout);
    let expected: BTreeSet<String> = fleet.devices().iter().map(|d| d.name.clone()).collect();
    for lines in [&recorded, &printed] {
        let hosts: Vec<&str> = lines.iter().map(|r| r["host"].as_str().unwrap()).collect();
        assert_eq!(hosts.len(), 100, "one result per host");
        assert_eq!(
            hosts.iter().map(|h| h.to_string()).collect::<BTreeSet<_>>(),
            expected
        );
        assert!(
            lines.iter().all(|r| r["ok"] == true),
            "a host failed: {lines:?}"
        );
    }

    // What the device printed, and nothing else: compared with what the simulator generated.
    for device in fleet.devices() {
        let file = out.join(&device.name).join("show_running-config.txt");
        let collected = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            collected,
            running_config(&device.name, SEED),
            "{} differs from the simulated config",
            device.name
        );
        assert!(out.join(&device.name).join("show_version.txt").is_file());
    }
    let on_stdout: HashMap<&str, &str> = printed
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap(),
                r["commands"][0]["output"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(on_stdout["r00042"], running_config("r00042", SEED));

    // Both worker processes did real work, and neither is this test process.
    let mut per_pid: HashMap<u64, usize> = HashMap::new();
    for r in &recorded {
        *per_pid
            .entry(r["worker"]["pid"].as_u64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(per_pid.len(), 2, "hosts per worker pid: {per_pid:?}");
    assert!(!per_pid.contains_key(&u64::from(std::process::id())));

    // Host keys were pinned on first contact.
    let pinned = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(pinned.lines().filter(|l| !l.trim().is_empty()).count(), 100);

    // The password never shows up in anything the run printed or wrote.
    assert!(!run.all_output().contains(PASSWORD));
    for entry in walk(&out) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !text.contains(PASSWORD),
            "password leaked into {}",
            entry.display()
        );
    }
    fleet.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// `cargo run --bin fanout` on a fresh clone builds only `fanout`: with no `fanout-worker` next
/// to it, fanout starts copies of itself as workers, still separate processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fanout_worker_installed_fanout_runs_itself_as_the_worker() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = Lab::start(FleetConfig {
        count: 8,
        port: 0,
        ..FleetConfig::default()
    })
    .await;
    let lonely = dir.path().join("fanout");
    std::fs::copy(fanout_tests::binary("fanout"), &lonely).unwrap();
    let output = tokio::process::Command::new(&lonely)
        .args([
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "-c",
            "show version",
        ])
        .args(["--workers", "2", "--format", "json", "--known-hosts"])
        .arg(dir.path().join("known_hosts"))
        .env_remove("FANOUT_WORKER_BIN")
        .output()
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = json_lines(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(records.len(), 8);
    let pids: BTreeSet<u64> = records
        .iter()
        .map(|r| r["worker"]["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "two worker processes ran hosts: {pids:?}");
    fleet.shutdown().await;
}

/// A profile from `--platforms` travels inside the job: workers drive a platform they have
/// never heard of exactly as the coordinator loaded it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_profile_from_a_directory_reaches_the_workers() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = Lab::start(FleetConfig {
        count: 6,
        port: 0,
        seed: SEED,
        ..FleetConfig::default()
    })
    .await;
    let fanout_bin = fanout_tests::binary("fanout");
    let ios = std::process::Command::new(&fanout_bin)
        .args(["platforms", "cisco_ios"])
        .output()
        .unwrap();
    let acme = String::from_utf8(ios.stdout)
        .unwrap()
        .replace("name: cisco_ios", "name: acme_os");
    let platforms = dir.path().join("platforms");
    std::fs::create_dir(&platforms).unwrap();
    std::fs::write(platforms.join("acme.yaml"), acme).unwrap();
    fanout_tests::edit_inventory(&inventory, |doc| {
        doc["defaults"]["platform"] = "acme_os".into();
        for (_, host) in doc["hosts"].as_mapping_mut().unwrap() {
            if let Some(host) = host.as_mapping_mut() {
                host.remove("platform");
            }
        }
    });
    let args = |with_platforms: bool| {
        let mut args = vec![
            "run".to_string(),
            "-i".into(),
            inventory.to_string_lossy().into_owned(),
            "-c".into(),
            "show running-config".into(),
            "--format".into(),
            "json".into(),
            "--known-hosts".into(),
            dir.path()
                .join("known_hosts")
                .to_string_lossy()
                .into_owned(),
        ];
        if with_platforms {
            args.push("--platforms".into());
            args.push(platforms.to_string_lossy().into_owned());
        }
        args
    };

    let unknown = args(false);
    let refused = fanout(
        &unknown.iter().map(String::as_str).collect::<Vec<_>>(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(refused.code, Some(2), "{}", refused.all_output());
    assert!(refused.stderr.contains("acme_os"), "{}", refused.stderr);

    let known = args(true);
    let run = fanout(
        &known.iter().map(String::as_str).collect::<Vec<_>>(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.all_output());
    for record in json_lines(&run.stdout) {
        let host = record["host"].as_str().unwrap();
        assert_eq!(
            record["commands"][0]["output"].as_str().unwrap(),
            running_config(host, SEED)
        );
    }
    fleet.shutdown().await;
}
