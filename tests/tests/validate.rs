//! `fanout validate` end to end: 300 simulated devices, some drifted, three worker processes;
//! every report format names exactly the drifted devices and the rules they break.

use fanout_devsim::{Drift, DriftConfig, FleetConfig};
use fanout_tests::{Lab, closed_port, edit_inventory, fanout};
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const RULES: &str = r#"rules:
  - name: vlans present
    command: show vlan brief
    parse: textfsm
    expect:
      vlan_id: { includes: "{{ data.vlans }}" }
  - name: default route
    command: show ip route
    expect: { matches: '^S\*\s+0\.0\.0\.0/0' }
  - name: ntp configured
    command: show running-config
    expect:
      lines: ["ntp server 10.0.0.1"]
      section: { "interface Loopback0": ["ip address .*"] }
  - name: no telnet
    command: show running-config
    expect: { not_matches: 'transport input .*telnet' }
"#;

fn rule_broken_by(drift: &Drift) -> &'static str {
    match drift {
        Drift::MissingVlan(_) => "vlans present",
        Drift::NoDefaultRoute => "default route",
        Drift::TelnetEnabled => "no telnet",
        Drift::NtpMissing => "ntp configured",
    }
}

async fn validate(lab: &Lab, format: &str) -> fanout_tests::Finished {
    let rules = lab.path("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let (inventory, known_hosts) = (lab.inventory_arg(), lab.path("known_hosts"));
    fanout(
        &[
            "validate",
            "-i",
            &inventory,
            "-r",
            &rules,
            "--workers",
            "3",
            "--format",
            format,
            "--known-hosts",
            &known_hosts,
            "--connect-rate",
            "0",
            "--connect-timeout",
            "3s",
        ],
        Duration::from_secs(180),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_names_exactly_the_drifted_devices_and_rules() {
    let lab = Lab::start(FleetConfig {
        count: 300,
        port: 0,
        drift: Some(DriftConfig {
            percent: 10.0,
            seed: 3,
        }),
        ..FleetConfig::default()
    })
    .await;
    let expected: BTreeSet<(String, String)> = lab
        .fleet
        .devices()
        .iter()
        .flat_map(|d| {
            lab.fleet
                .drift_of(d.index)
                .iter()
                .map(|drift| (d.name.clone(), rule_broken_by(drift).to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let drifted: BTreeSet<&String> = expected.iter().map(|(h, _)| h).collect();
    assert!(
        (20..=40).contains(&drifted.len()),
        "about 10% drifted: {}",
        drifted.len()
    );
    let rules_broken: BTreeSet<&String> = expected.iter().map(|(_, r)| r).collect();
    assert_eq!(
        rules_broken.len(),
        4,
        "every kind of drift occurs: {expected:?}"
    );

    // JSON: the machine-readable truth.
    let run = validate(&lab, "json").await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let mut failed = BTreeSet::new();
    for host in doc["hosts"].as_array().unwrap() {
        assert_ne!(host["status"], "error", "no host is unreachable: {host}");
        for rule in host["rules"].as_array().unwrap() {
            if rule["passed"] == false {
                failed.insert((
                    host["host"].as_str().unwrap().to_string(),
                    rule["rule"].as_str().unwrap().to_string(),
                ));
                assert!(
                    rule["reason"].as_str().is_some_and(|r| !r.is_empty()),
                    "{rule}"
                );
            }
        }
    }
    assert_eq!(failed, expected);
    assert_eq!(doc["summary"]["hosts"], 300);
    assert_eq!(doc["summary"]["failed"], drifted.len());

    // JUnit: parses as XML; a <failure> exactly for each drifted (host, rule), no <error>.
    let run = validate(&lab, "junit").await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let xml = roxmltree::Document::parse(&run.stdout).expect("valid XML");
    let cases: Vec<roxmltree::Node> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 300 * 4, "one testcase per host and rule");
    let junit_failed: BTreeSet<(String, String)> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| {
            (
                c.attribute("name").unwrap().to_string(),
                c.attribute("classname").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(junit_failed, expected);
    assert!(!xml.descendants().any(|n| n.has_tag_name("error")));

    // Markdown and the human table: each failure on its own row.
    let markdown = validate(&lab, "markdown").await;
    let human = validate(&lab, "human").await;
    assert_eq!((markdown.code, human.code), (Some(1), Some(1)));
    for (host, rule) in &expected {
        assert!(
            markdown.stdout.contains(&format!("| {host} | {rule} |")),
            "markdown lacks {host} {rule}"
        );
        assert!(
            human.stdout.contains(&format!("  {host}  {rule}: ")),
            "human report lacks {host} {rule}"
        );
    }
    let failed_rows = human
        .stdout
        .lines()
        .filter(|l| l.starts_with("  r") && l.contains(": "))
        .count();
    assert_eq!(failed_rows, expected.len(), "{}", human.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_fleet_passes_and_unreachable_hosts_are_errors_not_failures() {
    let lab = Lab::start(FleetConfig {
        count: 30,
        port: 0,
        ..FleetConfig::default()
    })
    .await;
    let run = validate(&lab, "json").await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);

    let port = closed_port();
    edit_inventory(&lab.inventory, |doc| {
        let mut gone = Mapping::new();
        gone.insert("hostname".into(), "127.0.0.1".into());
        gone.insert("port".into(), Value::from(port));
        gone.insert(
            "data".into(),
            serde_yaml_ng::from_str("{vlans: [1]}").unwrap(),
        );
        doc["hosts"]
            .as_mapping_mut()
            .unwrap()
            .insert("gone".into(), Value::Mapping(gone));
    });
    let run = validate(&lab, "json").await;
    assert_eq!(
        run.code,
        Some(3),
        "only an unreachable host kept it from passing:\n{}",
        run.stderr
    );
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let gone = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "gone")
        .unwrap();
    assert_eq!(gone["status"], "error");
    assert!(
        gone["error"].as_str().unwrap().starts_with("refused"),
        "{gone}"
    );
    assert_eq!(doc["summary"]["failed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rules_file_stops_before_any_connection() {
    let lab = Lab::start(FleetConfig {
        count: 3,
        port: 0,
        ..FleetConfig::default()
    })
    .await;
    let rules = lab.path("bad.yaml");
    std::fs::write(
        &rules,
        "rules:\n  - name: x\n    command: show version\n    expect: { matchez: 'a(' }\n",
    )
    .unwrap();
    let inventory = lab.inventory_arg();
    let run = fanout(
        &["validate", "-i", &inventory, "-r", &rules],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.yaml:4"),
        "file and line: {}",
        run.stderr
    );
    assert!(run.stderr.contains("matchez"), "{}", run.stderr);
    assert_eq!(lab.fleet.connections_accepted(), 0);
}
