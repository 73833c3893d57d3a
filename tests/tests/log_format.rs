//! `--log-format json`: every log line on stderr, the local workers' too, is one JSON object.

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, RunningFanout, closed_port, edit_inventory};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_from_the_coordinator_and_its_workers() {
    let lab = Lab::start(FleetConfig {
        count: 2,
        port: 0,
        ..FleetConfig::default()
    })
    .await;
    // A host that refuses: its session failure is logged by a worker.
    let port = closed_port();
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["dead"] =
            serde_yaml_ng::from_str(&format!("{{hostname: 127.0.0.1, port: {port}}}")).unwrap();
    });
    let run = RunningFanout::start_with_env(
        &[
            "--log-format",
            "json",
            "run",
            "-i",
            &lab.inventory_arg(),
            "-c",
            "show version",
            "--format",
            "json",
        ],
        &[("FANOUT_LOG", "info")],
    )
    .finish(Duration::from_secs(60))
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let logs: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!run.stderr.contains("[worker "), "{}", run.stderr);
    assert!(
        logs.iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
    let from_workers: Vec<&serde_json::Value> =
        logs.iter().filter(|l| l["worker_pid"].is_u64()).collect();
    assert!(
        from_workers
            .iter()
            .any(|l| l["fields"]["kind"] == "refused" || l.to_string().contains("refused")),
        "{}",
        run.stderr
    );
}
