//! The peer benchmark (bench/peers) keeps working: at 20 devices every tool, fanout included,
//! collects and verifies every device's config from the asyncssh fleet. Its timings are the
//! benchmark's business; here only "no failures, every tool ran" is checked.

use fanout_tests::{binary, cannot_run, closed_port};
use std::path::Path;
use std::process::Command;

#[test]
fn the_peer_benchmark_runs_every_tool_without_failures() {
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/peers");
    let python = peers.join(".venv/bin/python");
    if !python.is_file() {
        return cannot_run("bench/peers/.venv is missing: run bench/peers/setup.sh");
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("peers.json");
    let run = Command::new(&python)
        .arg(peers.join("peers.py"))
        .args([
            "--devices",
            "20",
            "--latency",
            "0.2",
            "--fanout-workers",
            "2",
        ])
        .args(["--port", &closed_port().to_string()])
        .arg("--fanout")
        .arg(binary("fanout"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let tools: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["tool"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        ["fanout", "asyncssh", "scrapli", "netmiko", "nornir"]
    );
    for row in rows.as_array().unwrap() {
        assert_eq!(row["failed"], 0, "{row}");
        assert_eq!(row["devices"], 20, "{row}");
        assert!(
            row["client_cpu_ms_per_device"].as_f64().unwrap() > 0.0,
            "{row}"
        );
    }
}
