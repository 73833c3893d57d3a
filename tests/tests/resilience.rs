//! Workers die, stall and crash; the user presses Ctrl-C; the coordinator itself is killed.
//! Every host still ends with exactly one result, and no process is left behind.

use fanout_devsim::FleetConfig;
use fanout_tests::{
    Lab, RunningFanout, json_lines, process_alive, results_so_far, send_signal, wait_until,
};
use nix::sys::signal::Signal;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

async fn lab(count: usize, latency: Duration) -> Lab {
    Lab::start(FleetConfig {
        count,
        port: 0,
        latency,
        ..FleetConfig::default()
    })
    .await
}

fn out(lab: &Lab) -> PathBuf {
    lab.dir.path().join("out")
}

/// `fanout run` with the lab's inventory and scratch files, plus `extra` flags.
fn start(lab: &Lab, extra: &[&str]) -> RunningFanout {
    let (inventory, known_hosts, out) = (
        lab.inventory_arg(),
        lab.path("known_hosts"),
        lab.path("out"),
    );
    let mut args = vec![
        "run",
        "-i",
        &inventory,
        "-c",
        "show version",
        "--known-hosts",
        &known_hosts,
        "--output",
        &out,
    ];
    args.extend_from_slice(extra);
    RunningFanout::start(&args)
}

fn device_names(lab: &Lab) -> BTreeSet<String> {
    lab.fleet.devices().iter().map(|d| d.name.clone()).collect()
}

fn hosts_of(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["host"].as_str().unwrap().to_string())
        .collect()
}

fn assert_one_result_per_host(records: &[serde_json::Value], expected: &BTreeSet<String>) {
    let hosts = hosts_of(records);
    let unique: BTreeSet<String> = hosts.iter().cloned().collect();
    assert_eq!(hosts.len(), unique.len(), "a host has two results");
    assert_eq!(&unique, expected, "every host has a result");
}

async fn wait_for_results(path: &Path, at_least: usize) {
    let reached = wait_until(Duration::from_secs(30), || {
        results_so_far(path).len() >= at_least
    })
    .await;
    assert!(reached, "fewer than {at_least} results arrived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_hosts_run_on_the_other_worker() {
    let lab = lab(120, Duration::from_millis(150)).await;
    let run = start(&lab, &["--workers", "2", "--concurrency", "10"]);
    wait_for_results(&out(&lab).join("results.jsonl"), 10).await;
    let workers = run.workers();
    assert_eq!(workers.len(), 2, "two worker processes: {workers:?}");
    send_signal(workers[0], Signal::SIGKILL);

    let done = run.finish(Duration::from_secs(90)).await;
    assert_eq!(
        done.code,
        Some(0),
        "the surviving worker ran everything:\n{}",
        done.stderr
    );
    let records = json_lines(&std::fs::read_to_string(out(&lab).join("results.jsonl")).unwrap());
    assert_one_result_per_host(&records, &device_names(&lab));
    assert!(records.iter().all(|r| r["ok"] == true));
    assert!(done.stdout.contains("1 workers lost"), "{}", done.stdout);
    let pids: BTreeSet<u64> = records
        .iter()
        .map(|r| r["worker"]["pid"].as_u64().unwrap())
        .collect();
    assert!(
        pids.contains(&u64::from(workers[1])),
        "the survivor ran hosts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_worker_is_fenced_and_its_late_results_do_not_count() {
    let lab = lab(100, Duration::from_millis(150)).await;
    let run = start(
        &lab,
        &[
            "--workers",
            "2",
            "--concurrency",
            "10",
            "--lease-timeout",
            "2s",
        ],
    );
    let results = out(&lab).join("results.jsonl");
    wait_for_results(&results, 10).await;
    let workers = run.workers();
    assert_eq!(workers.len(), 2);
    send_signal(workers[0], Signal::SIGSTOP);
    // Past the lease timeout its hosts move; then it wakes up with results for hosts it lost.
    tokio::time::sleep(Duration::from_secs(4)).await;
    send_signal(workers[0], Signal::SIGCONT);

    let done = run.finish(Duration::from_secs(90)).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let records = json_lines(&std::fs::read_to_string(&results).unwrap());
    assert_one_result_per_host(&records, &device_names(&lab));
    assert!(
        done.stderr.contains("stopped heartbeating"),
        "{}",
        done.stderr
    );
    assert!(done.stdout.contains("hosts reassigned"), "{}", done.stdout);
    assert!(
        wait_until(Duration::from_secs(10), || !workers
            .iter()
            .any(|p| process_alive(*p)))
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_finishes_hosts_in_flight_and_lists_the_rest() {
    let lab = lab(60, Duration::from_millis(400)).await;
    let run = start(&lab, &["--workers", "1", "--concurrency", "5"]);
    let results = out(&lab).join("results.jsonl");
    wait_for_results(&results, 5).await;
    let workers = run.workers();
    run.signal(Signal::SIGINT);

    let done = run.finish(Duration::from_secs(60)).await;
    assert_eq!(
        done.code,
        Some(1),
        "an interrupted run is not a success:\n{}",
        done.stderr
    );
    let records = json_lines(&std::fs::read_to_string(&results).unwrap());
    assert!(
        records.iter().all(|r| r["ok"] == true),
        "in-flight hosts finished cleanly"
    );
    assert!(records.len() < 60, "the run stopped early");
    let never_ran = done
        .stdout
        .lines()
        .filter(|l| l.starts_with('r') && l.ends_with("never ran"))
        .count();
    assert_eq!(
        never_ran,
        60 - records.len(),
        "one line per host never run:\n{}",
        done.stdout
    );
    assert!(done.stdout.contains("interrupted"), "{}", done.stdout);
    assert!(
        !workers.iter().any(|p| process_alive(*p)),
        "a worker was left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_coordinator_leaves_only_complete_lines_and_no_workers() {
    let lab = lab(80, Duration::from_millis(300)).await;
    let run = start(&lab, &["--workers", "2", "--concurrency", "5"]);
    let results = out(&lab).join("results.jsonl");
    wait_for_results(&results, 5).await;
    let workers = run.workers();
    run.signal(Signal::SIGKILL);
    let _ = run.finish(Duration::from_secs(10)).await;

    // Every line is whole JSON for a real host (json_lines panics on a torn line).
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(text.ends_with('\n'));
    let records = json_lines(&text);
    let names = device_names(&lab);
    assert!(
        records
            .iter()
            .all(|r| names.contains(r["host"].as_str().unwrap()))
    );
    // Orphaned workers notice the coordinator is gone and exit by themselves.
    let gone = wait_until(Duration::from_secs(15), || {
        !workers.iter().any(|p| process_alive(*p))
    })
    .await;
    assert!(gone, "workers outlived their coordinator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_crashes_at_start_is_reported_with_its_stderr() {
    let lab = lab(3, Duration::ZERO).await;
    let fake = lab.dir.path().join("broken-worker.sh");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'fanout-worker: unknown flag --frobnicate' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let inventory = lab.inventory.to_str().unwrap();
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new(fanout_tests::binary("fanout"))
        .args([
            "run",
            "-i",
            inventory,
            "-c",
            "show version",
            "--workers",
            "2",
        ])
        .env("FANOUT_WORKER_BIN", &fake)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown flag --frobnicate"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "reported, not waited out"
    );
    assert_eq!(lab.fleet.connections_accepted(), 0);
}
