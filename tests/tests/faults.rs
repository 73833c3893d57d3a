//! Every way a device misbehaves ends as a result with its own kind, within its deadline, while
//! the rest of the fleet finishes normally; with workers dying and stalling on top, every host
//! still ends with exactly one result.

use fanout_devsim::{Fault, FaultMix, FleetConfig};
use fanout_tests::{
    Lab, RunningFanout, json_lines, process_alive, results_so_far, send_signal, wait_until,
};
use nix::sys::signal::Signal;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// What fanout reports for each fault mode, and whether trying again could help.
fn expected(fault: Fault) -> (Option<&'static str>, bool) {
    match fault {
        // Without --retries the second connection that would have worked never comes.
        Fault::Refuse | Fault::RefuseFirst => (Some("refused"), true),
        Fault::Silent | Fault::StallKex | Fault::Slow | Fault::NoPrompt | Fault::Garbage => {
            (Some("timeout"), true)
        }
        Fault::RejectAuth => (Some("auth_failed"), false),
        Fault::RejectEnable => (Some("enable_failed"), false),
        Fault::DropMidOutput => (Some("disconnected"), true),
        Fault::Huge => (Some("output_too_large"), false),
        // Holding the session open after `exit` is the device's problem, not the job's.
        Fault::HoldOpen => (None, false),
        // Only configuration lines set it off.
        Fault::DropMidConfig => (None, false),
    }
}

/// Deadlines short enough for a test, long enough for a loaded 2-core machine.
const DEADLINES: [&str; 8] = [
    "--connect-timeout",
    "3s",
    "--command-timeout",
    "4s",
    "--host-timeout",
    "15s",
    "--max-output",
    "8MiB",
];

/// `fanout run` with (inventory, known_hosts, output dir), the deadlines, no connection pacing.
fn run_args<'a>(owned: &'a [String; 3], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "-i",
        &owned[0],
        "-c",
        "show running-config",
        "--known-hosts",
        &owned[1],
        "--output",
        &owned[2],
        "--connect-rate",
        "0",
    ];
    args.extend_from_slice(&DEADLINES);
    args.extend_from_slice(extra);
    args
}

/// Checks each host's result against its fault. With `releases` (workers died, their hosts
/// were leased again) a refuse-first device may have been reached on its second connection.
fn check_kinds(lab: &Lab, records: &[serde_json::Value], releases: bool) {
    let by_host: HashMap<&str, &serde_json::Value> = records
        .iter()
        .map(|r| (r["host"].as_str().unwrap(), r))
        .collect();
    let mut wrong = BTreeMap::new();
    for device in lab.fleet.devices() {
        let record = by_host[device.name.as_str()];
        let kind = record["failure"]["kind"].as_str();
        let (want, retryable) = match lab.fleet.fault_of(device.index) {
            Some(fault) => expected(fault),
            None => (None, false),
        };
        let retryable_seen = record["failure"]["retryable"].as_bool().unwrap_or(false);
        let second_chance = releases
            && kind.is_none()
            && lab.fleet.fault_of(device.index) == Some(Fault::RefuseFirst);
        if second_chance {
            continue;
        }
        if kind != want || (want.is_some() && retryable_seen != retryable) {
            wrong.insert(
                device.name.clone(),
                format!(
                    "fault {:?}: got {kind:?} retryable={retryable_seen}, want {want:?} retryable={retryable} ({})",
                    lab.fleet.fault_of(device.index),
                    record["failure"]["message"]
                ),
            );
        }
    }
    assert!(wrong.is_empty(), "hosts with the wrong outcome: {wrong:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_mode_ends_as_its_own_kind_within_its_deadline() {
    let faults: HashMap<usize, Fault> = Fault::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| (i * 2, *f))
        .collect();
    let lab = Lab::start(FleetConfig {
        count: Fault::ALL.len() * 2,
        port: 0,
        faults,
        ..FleetConfig::default()
    })
    .await;
    let owned = [
        lab.inventory_arg(),
        lab.path("known_hosts"),
        lab.path("out"),
    ];
    let run = RunningFanout::start(&run_args(&owned, &["--workers", "2"]));
    let done = run.finish(Duration::from_secs(90)).await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let records =
        json_lines(&std::fs::read_to_string(lab.dir.path().join("out/results.jsonl")).unwrap());
    assert_eq!(
        records.len(),
        lab.fleet.devices().len(),
        "one result per host"
    );
    check_kinds(&lab, &records, false);
    // Every deadline held: nothing waited beyond the host budget plus start-up.
    assert!(
        done.elapsed < Duration::from_secs(30),
        "took {:?}",
        done.elapsed
    );
    // A 100 MB output was cut at the cap, not buffered whole.
    let huge = &lab.fleet.devices()[Fault::ALL.iter().position(|f| *f == Fault::Huge).unwrap() * 2];
    let file = lab
        .dir
        .path()
        .join("out")
        .join(&huge.name)
        .join("show_running-config.txt");
    assert!(std::fs::metadata(&file).map_or(0, |m| m.len()) <= 8 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_devices_with_mixed_faults_survive_a_killed_and_a_stalled_worker() {
    let lab = Lab::start(FleetConfig {
        count: 1000,
        port: 0,
        latency: Duration::from_millis(300),
        fault_mix: Some(FaultMix {
            percent: 10.0,
            seed: 7,
            modes: Vec::new(),
        }),
        ..FleetConfig::default()
    })
    .await;
    let owned = [
        lab.inventory_arg(),
        lab.path("known_hosts"),
        lab.path("out"),
    ];
    let extra = [
        "--workers",
        "4",
        "--concurrency",
        "100",
        "--lease-timeout",
        "3s",
    ];
    let run = RunningFanout::start(&run_args(&owned, &extra));
    let results = lab.dir.path().join("out/results.jsonl");
    assert!(
        wait_until(Duration::from_secs(60), || results_so_far(&results).len()
            >= 100)
        .await
    );
    let workers = run.workers();
    assert_eq!(workers.len(), 4, "{workers:?}");
    send_signal(workers[0], Signal::SIGKILL);
    send_signal(workers[1], Signal::SIGSTOP);

    let done = run.finish(Duration::from_secs(240)).await;
    // Stopped or not, fanout leaves no worker behind.
    assert!(
        wait_until(Duration::from_secs(5), || !workers
            .iter()
            .any(|pid| process_alive(*pid)))
        .await,
        "workers outlived fanout: {workers:?}"
    );
    assert_eq!(
        done.code,
        Some(1),
        "faulty devices failed:\n{}",
        done.stderr
    );
    let records = json_lines(&std::fs::read_to_string(&results).unwrap());
    let hosts: Vec<&str> = records
        .iter()
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = hosts.iter().copied().collect();
    assert_eq!(hosts.len(), 1000, "exactly one result per host");
    assert_eq!(unique.len(), 1000);
    check_kinds(&lab, &records, true);
    let faulty = (0..1000)
        .filter(|i| lab.fleet.fault_of(*i).is_some())
        .count();
    assert!((90..=110).contains(&faulty), "about 10% faulty: {faulty}");
    assert!(done.stdout.contains("hosts reassigned"), "{}", done.stdout);
    // Bound from the deadlines: a host budget (15 s) for the first leases, the lease timeout
    // (3 s), another host budget for what was re-leased, and start-up and ramp for 1,000 hosts.
    assert!(
        done.elapsed < Duration::from_secs(90),
        "took {:?}",
        done.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_rescue_a_device_that_refused_once_and_spare_the_ones_that_cannot_pass() {
    let faults = HashMap::from([
        (0, Fault::RefuseFirst),
        (1, Fault::Refuse),
        (2, Fault::RejectAuth),
    ]);
    let lab = Lab::start(FleetConfig {
        count: 4,
        port: 0,
        faults,
        ..FleetConfig::default()
    })
    .await;
    let owned = [
        lab.inventory_arg(),
        lab.path("known_hosts"),
        lab.path("out"),
    ];
    let extra = [
        "--workers",
        "1",
        "--retries",
        "2",
        "--retry-backoff",
        "50ms",
    ];
    let done = RunningFanout::start(&run_args(&owned, &extra))
        .finish(Duration::from_secs(60))
        .await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let records =
        json_lines(&std::fs::read_to_string(lab.dir.path().join("out/results.jsonl")).unwrap());
    let outcome: BTreeMap<&str, (Option<&str>, u64)> = records
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap(),
                (
                    r["failure"]["kind"].as_str(),
                    r["attempts"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let names: Vec<&str> = lab
        .fleet
        .devices()
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(outcome[names[0]], (None, 2), "refused once, then collected");
    assert_eq!(outcome[names[1]], (Some("refused"), 3), "tried 1 + 2 times");
    assert_eq!(
        outcome[names[2]],
        (Some("auth_failed"), 1),
        "a wrong password is not retried"
    );
    assert_eq!(outcome[names[3]], (None, 1));
    assert_eq!(
        lab.fleet.connections_accepted(),
        2 + 3 + 1 + 1,
        "no connection beyond the retries"
    );
    // The failure table shows the attempts, and the summary counts the retries.
    let refused_row = done
        .stdout
        .lines()
        .find(|l| l.starts_with(names[1]))
        .unwrap_or_else(|| panic!("no row for {}:\n{}", names[1], done.stdout));
    assert!(
        refused_row.split_whitespace().nth(2) == Some("3"),
        "{refused_row}"
    );
    assert!(done.stdout.contains("3 retries"), "{}", done.stdout);
}
