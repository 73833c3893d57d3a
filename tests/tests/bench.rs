//! The benchmark runs end to end in CI: every style completes with no failures. Timings are the
//! benchmark's business, not the test's: this machine is shared and noisy.

use fanout_tests::fanout;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_bench_runs_every_style_without_failures() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let run = fanout(
        &[
            "bench",
            "--devices",
            "200",
            "--latency",
            "0",
            "--repeat",
            "1",
            "--processes",
            "1,2",
            "--json",
            json.to_str().unwrap(),
        ],
        Duration::from_secs(240),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let styles: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["style"].as_str().unwrap())
        .collect();
    assert_eq!(
        styles,
        [
            "sequential",
            "bounded pool (20)",
            "async, one process",
            "processes x 1",
            "processes x 2"
        ]
    );
    for r in results.as_array().unwrap() {
        assert_eq!(r["failures"], 0, "{r}");
        assert_eq!(r["devices"], 200);
        assert!(r["wall_seconds_median"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["client_cpu_ms_per_device"].as_f64().unwrap() > 0.0, "{r}");
    }
    // Extrapolated styles say so.
    assert_eq!(results[0]["extrapolated"], true);
    assert_eq!(results[2]["extrapolated"], false);
    assert!(run.stdout.contains("extrapolated from 5 of 200 devices"));
}
