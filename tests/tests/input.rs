//! Bad input stops before any connection, with the file, the line and the reason, and exit 2.

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, edit_inventory, fanout};
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
