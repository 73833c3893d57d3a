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

/// `fanout bench --snmp` on a small fleet: net-snmp's `snmpbulkwalk` (through `xargs -P`), the
/// Prometheus `snmp_exporter` (scraped per device) and fanout (through one and two worker
/// processes) read ifTable and ifXTable of every device, the same number of varbinds (series)
/// each, none lost or twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snmp_bench_reads_the_same_varbinds_with_both_tools() {
    snmp_bench("2c").await;
}

/// The same over SNMPv3 authPriv (SHA-256, AES-128): devsim as the agent, net-snmp and the
/// exporter configured for the bench's made-up user, fanout from the inventory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snmp_bench_over_v3_auth_priv_reads_the_same_varbinds() {
    snmp_bench("3").await;
}

async fn snmp_bench(version: &str) {
    if !on_path("snmpbulkwalk") {
        fanout_tests::cannot_run("net-snmp is not installed (apt-get install snmp)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let run = fanout(
        &[
            "bench",
            "--snmp",
            "--devices",
            "20",
            "--processes",
            "1,2",
            "--xargs-parallel",
            "10",
            "--repeat",
            "2",
            "--snmp-version",
            version,
            "--json",
            json.to_str().unwrap(),
        ],
        Duration::from_secs(240),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let tools: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tool"].as_str().unwrap())
        .collect();
    let exporter = on_path("prometheus-snmp-exporter") || on_path("snmp_exporter");
    let mut expected = vec!["snmpbulkwalk, xargs -P 10"];
    if exporter {
        // Scraped for every device with a module mapping every column to a metric: one series
        // per varbind, the same count as the other tools.
        expected.push("snmp_exporter, 10 scrapes");
    } else {
        fanout_tests::cannot_run(
            "snmp_exporter is not installed (apt-get install prometheus-snmp-exporter); \
             its row is not checked",
        );
    }
    expected.extend(["fanout, processes x 1", "fanout, processes x 2"]);
    assert_eq!(tools, expected);
    let varbinds = results[0]["varbinds"].as_u64().unwrap();
    // 20 devices, each with interfaces in both tables.
    assert!(varbinds > 20 * 2 * 10, "{results}");
    for r in results.as_array().unwrap() {
        assert_eq!(r["devices"], 20, "{r}");
        assert_eq!(r["failures"], 0, "{r}");
        assert_eq!(r["mismatched"], 0, "{r}");
        assert_eq!(r["duplicated_varbinds"], 0, "{r}");
        assert_eq!(r["varbinds"].as_u64(), Some(varbinds), "{r}");
        assert!(r["client_cpu_ms_per_device"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["runs"], 2, "{r}");
        // The fleet runs in its own process: its CPU during each tool's run is shown.
        assert!(r["fleet_cpu_percent"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert!(run.stdout.contains("medians of 2 rounds"), "{}", run.stdout);
    // The community or passwords the fleet answers to are the bench's own; never printed.
    assert!(!run.stdout.contains("fanout-bench-"), "{}", run.stdout);
    assert!(!run.stderr.contains("fanout-bench-"), "{}", run.stderr);
    let header = match version {
        "3" => "SNMPv3 authPriv",
        _ => "SNMPv2c",
    };
    assert!(run.stdout.contains(header), "{}", run.stdout);
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()))
}
