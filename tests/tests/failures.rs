//! Dead and misbehaving devices are results, not crashes: each fails with its own kind, the rest
//! of the fleet still succeeds, and the exit code says some host failed.

use fanout_devsim::{Fault, FleetConfig};
use fanout_tests::{Lab, closed_port, edit_inventory, fanout, json_lines};
use serde_yaml_ng::{Mapping, Value};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_silent_and_wrong_password_hosts_fail_with_their_kind() {
    let Lab {
        fleet,
        dir,
        inventory,
    } = Lab::start(FleetConfig {
        count: 12,
        port: 0,
        faults: HashMap::from([(3, Fault::Silent)]),
        ..FleetConfig::default()
    })
    .await;
    let silent = fleet.devices()[3].name.clone();
    let refused_port = closed_port();
    edit_inventory(&inventory, |doc| {
        let hosts = doc["hosts"].as_mapping_mut().unwrap();
        // Nothing listens there: the connection is refused.
        let mut refuser = Mapping::new();
        refuser.insert("hostname".into(), "127.0.0.1".into());
        refuser.insert("port".into(), Value::from(refused_port));
        hosts.insert("refuser".into(), Value::Mapping(refuser));
        // A real device, the wrong password.
        let r00005 = hosts.get_mut("r00005").unwrap().as_mapping_mut().unwrap();
        r00005.insert("password".into(), "not-the-password".into());
    });

    let out = dir.path().join("out");
    let run = fanout(
        &[
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "-c",
            "show version",
            "--workers",
            "2",
            "--connect-timeout",
            "2s",
            "--known-hosts",
            dir.path().join("known_hosts").to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        run.code,
        Some(1),
        "exit code 1 when a host failed:\n{}",
        run.stderr
    );

    let records = json_lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    assert_eq!(records.len(), 13, "every host has exactly one result");
    let kind_of: HashMap<&str, Option<&str>> = records
        .iter()
        .map(|r| (r["host"].as_str().unwrap(), r["failure"]["kind"].as_str()))
        .collect();
    assert_eq!(kind_of["refuser"], Some("refused"));
    assert_eq!(kind_of[silent.as_str()], Some("timeout"));
    assert_eq!(kind_of["r00005"], Some("auth_failed"));
    let ok = kind_of.values().filter(|k| k.is_none()).count();
    assert_eq!(ok, 10, "the healthy devices succeed: {kind_of:?}");

    // The failures are in the human report too, by host and kind.
    for (host, kind) in [("refuser", "refused"), ("r00005", "auth_failed")] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(host))
            .unwrap_or_default();
        assert!(
            line.contains(kind),
            "report line for {host}: {line:?}\n{}",
            run.stdout
        );
    }
    // The silent device was given up on at its deadline, not waited on forever.
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );
    fleet.shutdown().await;
}
