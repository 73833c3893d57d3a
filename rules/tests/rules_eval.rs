//! Rules files loaded and evaluated against real devsim output (tests/fixtures/devsim).

use fanout_rules::{RuleError, RuleOutcome, Rules, TemplateIndex, check_references, evaluate};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/devsim")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

const RULES: &str = r#"# rules.yaml as in the issue
rules:
  - name: vlans present
    command: show vlan brief
    parse: textfsm
    expect:
      vlan_id: { includes: "{{ data.vlans }}" }
  - name: default route
    command: show  ip route
    expect: { matches: '^S\*\s+0\.0\.0\.0/0' }
  - name: ntp configured
    command: show running-config
    expect:
      lines: ["ntp server 10.0.0.1"]
      section: { "interface Loopback0": ["ip address .*"] }
  - name: no telnet
    command: show running-config
    expect: { not_matches: 'transport input .*telnet' }
  - name: enough routes
    command: show ip route
    parse: textfsm
    expect:
      count: { ge: 10 }
      protocol: { includes: ["S*", "C"], excludes: "B" }
  - name: loopback named
    command: show running-config
    expect: { contains: "hostname {{ name }}" }
"#;

fn outputs(host: &str) -> HashMap<String, String> {
    HashMap::from([
        (
            "show vlan brief".to_string(),
            fixture(&format!("cisco_ios_show_vlan_brief__{host}.raw")),
        ),
        (
            "show ip route".to_string(),
            fixture(&format!("cisco_ios_show_ip_route__{host}.raw")),
        ),
        (
            "show running-config".to_string(),
            fixture(&format!("{host}.running_config.txt")),
        ),
    ])
}

fn run(
    rules: &Rules,
    host: serde_json::Value,
    outputs: &HashMap<String, String>,
) -> Vec<RuleOutcome> {
    evaluate(
        rules,
        &host,
        "cisco_ios",
        outputs,
        &TemplateIndex::bundled(),
    )
}

fn failures(outcomes: &[RuleOutcome]) -> Vec<(&str, &str)> {
    outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| (o.rule.as_str(), o.reason.as_deref().unwrap_or("")))
        .collect()
}

#[test]
fn the_issue_example_passes_on_a_healthy_device() {
    let rules = Rules::parse("rules.yaml", RULES).unwrap();
    assert_eq!(
        rules.commands(),
        ["show vlan brief", "show ip route", "show running-config"]
    );
    rules
        .check_templates(&TemplateIndex::bundled(), &["cisco_ios"])
        .unwrap();
    let host = json!({"name": "r00007", "data": {"vlans": [10, 60, 99]}});
    check_references(&rules, std::slice::from_ref(&host)).unwrap();
    let outcomes = run(&rules, host, &outputs("r00007"));
    assert_eq!(outcomes.len(), 6);
    assert_eq!(failures(&outcomes), Vec::<(&str, &str)>::new());
    // Round-trips as JSON, as it travels from worker to coordinator.
    let back: Vec<RuleOutcome> =
        serde_json::from_str(&serde_json::to_string(&outcomes).unwrap()).unwrap();
    assert_eq!(back, outcomes);
}

#[test]
fn drifted_outputs_fail_with_useful_reasons() {
    let rules = Rules::parse("rules.yaml", RULES).unwrap();
    let mut out = outputs("r00007");
    // Drift: VLAN 99 gone, default route gone, telnet enabled, NTP server gone, Loopback0
    // without an address.
    let vlans =
        out["show vlan brief"].replace("99   MGMT                             active\n", "");
    out.insert("show vlan brief".into(), vlans);
    let route = out["show ip route"].replace("S*    0.0.0.0/0 [1/0] via 10.64.0.57\n", "");
    out.insert("show ip route".into(), route);
    let config = out["show running-config"]
        .replacen(" transport input ssh\n", " transport input telnet ssh\n", 1)
        .replace("ntp server 10.0.0.1\n", "")
        .replace(" ip address 10.255.0.8 255.255.255.255\n", "");
    out.insert("show running-config".into(), config);
    let host = json!({"name": "r00007", "data": {"vlans": [10, 30, 99]}});
    let outcomes = run(&rules, host, &out);
    let f = failures(&outcomes);
    assert_eq!(
        f,
        [
            (
                "vlans present",
                "vlan_id 30, 99 missing from show vlan brief (found 1, 10, 60, 999, 1002, 1003, 1004, 1005)"
            ),
            (
                "default route",
                r"no line of `show ip route` matches `^S\*\s+0\.0\.0\.0/0`"
            ),
            (
                "ntp configured",
                "line `ntp server 10.0.0.1` missing from `show running-config`"
            ),
            (
                "no telnet",
                "line `transport input telnet ssh` matches forbidden `transport input .*telnet`"
            ),
            (
                "enough routes",
                "protocol S* missing from show ip route (found S, C, L)"
            ),
        ]
    );
    let telnet = outcomes.iter().find(|o| o.rule == "no telnet").unwrap();
    assert_eq!(
        telnet.offending_line.as_deref(),
        Some(" transport input telnet ssh")
    );

    // The section check on its own.
    let mut out = outputs("r00007");
    let config = out["show running-config"].replace(" ip address 10.255.0.8 255.255.255.255\n", "");
    out.insert("show running-config".into(), config);
    let host = json!({"name": "r00007", "data": {"vlans": [10]}});
    let f = failures(&run(&rules, host, &out))
        .into_iter()
        .map(|(_, r)| r.to_string())
        .collect::<Vec<_>>();
    assert_eq!(
        f,
        [
            "no line under `interface Loopback0` matches `ip address .*` (found description router-id)"
        ]
    );
}

#[test]
fn table_checks_compare_counts_and_sets() {
    let text = r#"rules:
  - name: few
    command: show vlan brief
    parse: textfsm
    expect: { count: { lt: 5 } }
  - name: exact
    command: show vlan brief
    parse: textfsm
    expect: { status: { equals: active } }
  - name: set
    command: show vlan brief
    parse: textfsm
    expect: { NAME: { equals: [default, USERS, CAMERAS, MGMT, PARKING] } }
  - name: ports
    command: show vlan brief
    parse: textfsm
    expect: { interfaces: { includes: Gi1/0/47, excludes: [Gi1/0/9, Gi1/0/16] } }
"#;
    let rules = Rules::parse("r.yaml", text).unwrap();
    let outcomes = run(&rules, json!({"name": "r00007"}), &outputs("r00007"));
    assert_eq!(
        failures(&outcomes),
        [
            ("few", "show vlan brief has 9 rows, expected < 5"),
            (
                "exact",
                "status in show vlan brief is active, act/unsup, expected active"
            ),
            (
                "set",
                "NAME in show vlan brief is default, USERS, CAMERAS, MGMT, PARKING, fddi-default, token-ring-default, fddinet-default, trnet-default, expected default, USERS, CAMERAS, MGMT, PARKING"
            ),
            (
                "ports",
                "interfaces Gi1/0/16 present in show vlan brief (forbidden)"
            ),
        ]
    );
    let ports = outcomes.iter().find(|o| o.rule == "ports").unwrap();
    assert!(
        ports
            .offending_line
            .as_deref()
            .unwrap()
            .starts_with("999 PARKING active")
    );
}

#[test]
fn a_missing_output_or_unparsable_output_fails_the_rule() {
    let rules = Rules::parse("rules.yaml", RULES).unwrap();
    let mut out = outputs("r00007");
    out.remove("show ip route");
    out.insert(
        "show vlan brief".into(),
        "% Invalid input detected at '^' marker.\n".into(),
    );
    let host = json!({"name": "r00007", "data": {"vlans": [10]}});
    let outcomes = run(&rules, host, &out);
    let f = failures(&outcomes);
    assert_eq!(f[0].0, "vlans present");
    assert!(
        f[0].1.starts_with(
            "cannot parse `show vlan brief`: <bundled>/cisco_ios_show_vlan_brief.textfsm:"
        ),
        "{}",
        f[0].1
    );
    assert_eq!(f[1], ("default route", "no output for `show ip route`"));
}

fn load_error(text: &str) -> (usize, String) {
    match Rules::parse("rules.yaml", text) {
        Err(RuleError::Invalid {
            file,
            line,
            message,
        }) => {
            assert_eq!(file, "rules.yaml");
            (line, message)
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn bad_rules_files_fail_with_file_and_line() {
    let (line, msg) = load_error("rules:\n  - name: a\n    command: x\n    expct: {}\n");
    assert_eq!(line, 4, "{msg}");
    assert!(msg.contains("unknown field `expct`"), "{msg}");

    let (line, msg) = load_error(
        "rules:\n  - name: a\n    command: x\n    expect: { contains: a }\n  - name: b\n    command: y\n    expect: { containz: b }\n",
    );
    assert_eq!(line, 7, "the line of the bad check: {msg}");
    assert!(msg.contains("unknown check `containz`"), "{msg}");
    assert!(msg.contains("did you mean `contains`?"), "{msg}");

    let (line, msg) = load_error(
        "rules:\n  - name: a\n    command: x\n    expect: { contains: a }\n\n  - name: b\n    command: y\n    expect: { matches: 'ip (route' }\n",
    );
    assert_eq!(line, 8);
    assert!(msg.contains("bad regex `ip (route`"), "{msg}");

    let (line, msg) = load_error(
        "rules:\n  - name: a\n    command: x\n    expect: { section: { parent: ['(x'] } }\n",
    );
    assert_eq!((line, msg.contains("bad regex")), (4, true), "{msg}");

    let (line, msg) =
        load_error("rules:\n  - name: a\n    command: x\n    expect: { count: { ge: 1 } }\n");
    assert_eq!(
        (line, msg.contains("needs `parse: textfsm`")),
        (4, true),
        "{msg}"
    );

    let (line, msg) = load_error(
        "rules:\n  - name: a\n    command: x\n    parse: textfsm\n    expect: { count: { about: 1 } }\n",
    );
    assert_eq!(
        (line, msg.contains("unknown comparison `about`")),
        (5, true),
        "{msg}"
    );

    let (line, msg) = load_error(
        "rules:\n  - name: a\n    command: x\n    parse: textfsm\n    expect: { vlan_id: { has: 1 } }\n",
    );
    assert_eq!(
        (line, msg.contains("unknown check `has`")),
        (5, true),
        "{msg}"
    );

    let (line, msg) = load_error(
        "rules:\n  - name: a\n    command: x\n    parse: regex\n    expect: { contains: a }\n",
    );
    assert_eq!(line, 4, "{msg}");

    let (line, msg) = load_error(
        "rules:\n  - name: a\n    command: x\n    expect: { contains: a }\n  - name: a\n    command: x\n    expect: { contains: b }\n",
    );
    assert_eq!(
        (line, msg.contains("duplicate rule name")),
        (5, true),
        "{msg}"
    );
}

#[test]
fn template_problems_are_load_errors_with_the_rule_line() {
    let text = "rules:\n  - name: a\n    command: show vlan brief\n    parse: textfsm\n    expect: { vlan_id: { includes: 1 } }\n  - name: b\n    command: show clock\n    parse: textfsm\n    expect: { time: { includes: 1 } }\n";
    let rules = Rules::parse("rules.yaml", text).unwrap();
    let err = rules
        .check_templates(&TemplateIndex::bundled(), &["cisco_ios"])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("rules.yaml:6: rule `b`: no TextFSM template for platform `cisco_ios` and command `show clock`"), "{err}");

    let text = "rules:\n  - name: a\n    command: show vlan brief\n    parse: textfsm\n    expect: { vlan: { includes: 1 } }\n";
    let rules = Rules::parse("rules.yaml", text).unwrap();
    let err = rules
        .check_templates(&TemplateIndex::bundled(), &["cisco_ios"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("rules.yaml:2: rule `a`: unknown check or field `vlan`"),
        "{err}"
    );
}

/// Workers get only the templates the parsed rules use: of a directory with a broken
/// template no rule needs, neither that nor the template of an unparsed command travels (nor is
/// compiled), and the bundle parses on its own as the directory does.
#[test]
fn the_template_bundle_holds_only_what_parsed_rules_use() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "index",
        "Template, Hostname, Platform, Command\n\
         vlans.textfsm, .*, cisco_ios, sh[[ow]] vl[[an]] br[[ief]]\n\
         broken.textfsm, .*, cisco_ios, sh[[ow]] clo[[ck]]\n\
         routes.textfsm, .*, cisco_ios, sh[[ow]] ip ro[[ute]]\n",
    );
    write(
        "vlans.textfsm",
        "Value VLAN_ID (\\d+)\n\nStart\n  ^${VLAN_ID}\\s -> Record\n",
    );
    write("broken.textfsm", "Value A (\\d+\n\nStart\n");
    write(
        "routes.textfsm",
        "Value R (\\S+)\n\nStart\n  ^${R} -> Record\n",
    );
    let rules = Rules::parse(
        "rules.yaml",
        "rules:\n  - name: vlans\n    command: show vlan brief\n    parse: textfsm\n    expect: { vlan_id: { includes: '10' } }\n  - name: routes\n    command: show ip route\n    expect: { contains: 'S*' }\n",
    )
    .unwrap();
    let index = TemplateIndex::load(Some(dir.path())).unwrap();
    rules.check_templates(&index, &["cisco_ios"]).unwrap();
    let bundle = rules
        .template_bundle(&index, &["cisco_ios"])
        .unwrap()
        .unwrap();
    let names: Vec<&str> = bundle.files().map(|(name, _)| name).collect();
    assert_eq!(names, ["index", "0-vlans.textfsm"]);

    let files = bundle.files().map(|(n, t)| (n.to_string(), t.to_string()));
    let worker =
        TemplateIndex::from_bundle(&fanout_rules::TemplateBundle::from_files(files).unwrap())
            .unwrap();
    let outcomes = evaluate(
        &rules,
        &json!({}),
        "cisco_ios",
        &HashMap::from([
            ("show vlan brief".to_string(), "10 users\n".to_string()),
            ("show ip route".to_string(), "S* 0.0.0.0/0\n".to_string()),
        ]),
        &worker,
    );
    assert!(outcomes.iter().all(|o| o.passed), "{outcomes:?}");

    let unparsed = Rules::parse(
        "rules.yaml",
        "rules:\n  - name: routes\n    command: show ip route\n    expect: { contains: 'S*' }\n",
    )
    .unwrap();
    assert_eq!(
        unparsed.template_bundle(&index, &["cisco_ios"]).unwrap(),
        None
    );
}

#[test]
fn references_are_checked_against_every_host() {
    let rules = Rules::parse("rules.yaml", RULES).unwrap();
    let hosts = [
        json!({"name": "r1", "data": {"vlans": [10]}}),
        json!({"name": "r2", "data": {}}),
    ];
    let err = check_references(&rules, &hosts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules.yaml:3: rule `vlans present`, host `r2`: reference `{{ data.vlans }}`: the host has no `vlans`"
    );
    let text =
        "rules:\n  - name: a\n    command: x\n    expect: { matches: '{{ data.pattern }}' }\n";
    let rules = Rules::parse("rules.yaml", text).unwrap();
    let err =
        check_references(&rules, &[json!({"name": "r3", "data": {"pattern": "a("}})]).unwrap_err();
    assert!(
        matches!(&err, RuleError::Host { host, line: 2, .. } if host == "r3"),
        "{err}"
    );
    assert!(err.to_string().contains("bad regex `a(`"), "{err}");
}
