//! Inventories from programs and spreadsheets, and several merged.

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

fn script(dir: &TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    format!("exec:{}", path.display())
}

#[test]
fn exec_runs_the_program_with_list_and_reads_its_json() {
    let dir = dir_with(&[]);
    let spec = script(
        &dir,
        "cmdb",
        r#"[ "$2" = "--list" ] || { echo "called with $*" >&2; exit 3; }
cat <<'JSON'
{"ios": {"hosts": ["r1"], "vars": {"ansible_network_os": "cisco.ios.ios", "site": "$1"}},
 "_meta": {"hostvars": {"r1": {"ansible_host": "127.0.0.1", "ansible_port": 2201}}}}
JSON
"#,
    );
    let inventory =
        Inventory::load(&PathBuf::from(format!("{spec} ams")), &builtin_options()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!((r1.hostname.as_str(), r1.port), ("127.0.0.1", 2201));
    assert_eq!(r1.platform, "cisco_ios");
    assert_eq!(r1.all_groups, ["ios"]);
}

#[test]
fn exec_failures_show_stderr_and_time_out() {
    let dir = dir_with(&[]);
    let failing = script(
        &dir,
        "broken",
        "echo 'cannot reach CMDB at cmdb.example:443' >&2\nexit 2\n",
    );
    let message = Inventory::load(&PathBuf::from(&failing), &builtin_options())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("inventory script:")
            && message.contains("exit status: 2")
            && message.contains("stderr: cannot reach CMDB at cmdb.example:443"),
        "{message}"
    );

    let garbage = script(&dir, "garbage", "echo 'not json'\n");
    let message = Inventory::load(&PathBuf::from(&garbage), &builtin_options())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("did not print Ansible's inventory JSON"),
        "{message}"
    );

    let slow = script(&dir, "slow", "exec sleep 30\n");
    let options = LoadOptions {
        script_timeout: Some(Duration::from_millis(300)),
        ..builtin_options()
    };
    let started = std::time::Instant::now();
    let message = Inventory::load(&PathBuf::from(&slow), &options)
        .unwrap_err()
        .to_string();
    assert!(message.contains("did not finish within 300ms"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let missing = Inventory::load(&PathBuf::from("exec:/nonexistent/cmdb"), &builtin_options())
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("cannot start /nonexistent/cmdb"),
        "{missing}"
    );
}

#[test]
fn csv_with_header_data_columns_and_groups() {
    let dir = dir_with(&[(
        "hosts.csv",
        "\u{feff}name,hostname,port,platform,username,groups,data.site,data.asn,data.note\n\
             r1,10.0.0.1,2201,ios,ops,core;ams,ams,65001,\"rack 7, row 2\"\n\
             r2,10.0.0.2,,eos,ops,ams,ams,65002,\n\
             \n\
             r3,10.0.0.3,,linux,,,lon,,\"say \"\"hi\"\"\"\n",
    )]);
    let inventory = Inventory::load(&dir.path().join("hosts.csv"), &builtin_options()).unwrap();
    assert_eq!(inventory.hosts().len(), 3);
    let r1 = host(&inventory, "r1");
    assert_eq!(
        (r1.hostname.as_str(), r1.port, r1.platform.as_str()),
        ("10.0.0.1", 2201, "cisco_ios")
    );
    assert_eq!(r1.all_groups, ["core", "ams"]);
    assert_eq!(r1.data["asn"], 65001);
    assert_eq!(r1.data["note"], "rack 7, row 2");
    let r2 = host(&inventory, "r2");
    assert_eq!((r2.port, r2.platform.as_str()), (22, "arista_eos"));
    assert!(!r2.data.contains_key("note"), "an empty cell is unset");
    assert_eq!(host(&inventory, "r3").data["note"], "say \"hi\"");
    let ams: Vec<&str> = inventory
        .select(&[Filter::parse("group=ams").unwrap()])
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(ams, ["r1", "r2"]);
}

#[test]
fn csv_problems_name_line_and_column() {
    let cases = [
        (
            "name,hostnme\nr1,x\n",
            "hosts.csv:1:6: unknown column `hostnme` (did you mean `hostname`?)",
        ),
        (
            "name,port,platform\nr1,ssh,linux\n",
            "hosts.csv:2:4: invalid `port`",
        ),
        (
            "name,platform\nr1,iso\n",
            "hosts.csv:2:4: host \"r1\": unknown platform \"iso\"",
        ),
        (
            "hostname\n10.0.0.1\n",
            "hosts.csv:1:1: invalid header: a `name` column is required",
        ),
        (
            "name,platform\nr1,linux\nr1,linux\n",
            "hosts.csv:3:1: host \"r1\" is defined twice (first on line 2)",
        ),
    ];
    for (text, expected) in cases {
        let dir = dir_with(&[("hosts.csv", text)]);
        let message = Inventory::load(&dir.path().join("hosts.csv"), &builtin_options())
            .unwrap_err()
            .to_string()
            .replace(&format!("{}/", dir.path().display()), "");
        assert!(
            message.starts_with(expected),
            "{message}\n  wanted {expected}"
        );
    }
}

#[test]
fn several_inventories_merge_later_wins_and_conflicts_are_named() {
    let dir = dir_with(&[
        (
            "nornir/hosts.yaml",
            "r1: {hostname: 10.0.0.1, platform: ios}\nr2: {hostname: 10.0.0.2, platform: ios}\n",
        ),
        (
            "extra.csv",
            "name,hostname,platform\nr2,10.9.9.2,eos\nr3,10.0.0.3,linux\n",
        ),
        (
            "ansible.ini",
            "[lab]\nr3 ansible_host=10.7.7.3 ansible_network_os=junos\n",
        ),
    ]);
    let paths = [
        dir.path().join("nornir"),
        dir.path().join("extra.csv"),
        dir.path().join("ansible.ini"),
    ];
    let inventory = Inventory::load_all(&paths, &builtin_options()).unwrap();
    let summary: Vec<(&str, &str, &str)> = inventory
        .hosts()
        .iter()
        .map(|h| (h.name.as_str(), h.hostname.as_str(), h.platform.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("r1", "10.0.0.1", "cisco_ios"),
            ("r2", "10.9.9.2", "arista_eos"),
            ("r3", "10.7.7.3", "juniper_junos"),
        ]
    );
    let notes: Vec<String> = inventory
        .notes()
        .iter()
        .map(|n| n.replace(&format!("{}/", dir.path().display()), ""))
        .collect();
    assert_eq!(
        notes,
        [
            "extra.csv: host \"r2\" also in nornir; extra.csv's definition is used (the later -i wins)",
            "ansible.ini: host \"r3\" also in extra.csv; ansible.ini's definition is used (the later -i wins)",
        ]
    );
}
