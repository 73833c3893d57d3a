//! Bad input: each message names the file, the line (and column where it matters), the entry
//! and what is wrong.

use super::*;

/// Loads a directory inventory that must fail; returns the message and the error.
fn fail_dir(files: &[(&str, &str)], options: &LoadOptions) -> (String, InventoryError) {
    let dir = dir_with(files);
    let error = Inventory::load(dir.path(), options).expect_err("load must fail");
    let message = error.to_string();
    // Messages show the path as given, so they start with the temp dir.
    let prefix = format!("{}/", dir.path().display());
    assert!(message.starts_with(&prefix), "{message}");
    (message[prefix.len()..].to_string(), error)
}

fn fail(files: &[(&str, &str)]) -> String {
    fail_dir(files, &LoadOptions::default()).0
}

fn platforms() -> LoadOptions {
    LoadOptions {
        known_platforms: vec!["cisco_ios".into(), "cisco_xe".into(), "linux".into()],
        platform_aliases: [("ios", "cisco_ios")]
            .into_iter()
            .map(|(a, p)| (a.to_string(), p.to_string()))
            .collect(),
        ..Default::default()
    }
}

fn assert_has(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

#[test]
fn unknown_field_with_suggestion() {
    let message = fail(&[(
        "hosts.yaml",
        "r0:\n  platform: linux\nr1:\n  hostnme: 10.0.0.1\n",
    )]);
    assert!(
        message.starts_with(
            "hosts.yaml:4:3: host \"r1\": unknown field `hostnme` (did you mean `hostname`?), \
             expected one of `hostname`, `port`"
        ),
        "{message}"
    );

    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        ("groups.yaml", "g:\n  vendor: x\n"),
    ]);
    assert!(
        message.starts_with("groups.yaml:2:3: group \"g\": unknown field `vendor`, expected"),
        "{message}"
    );
    assert!(!message.contains("did you mean"), "{message}");

    // Nornir's defaults have no groups.
    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        ("defaults.yaml", "platform: linux\ngroups: [a]\n"),
    ]);
    assert_has(
        &message,
        &["defaults.yaml:2:1: defaults: unknown field `groups`"],
    );
}

#[test]
fn wrong_types_and_ranges() {
    let cases = [
        (
            "r1:\n  port: \"abc\"\n",
            "hosts.yaml:2:9: host \"r1\": invalid `port`: expected a port number from 1 to 65535, found \"abc\"",
        ),
        (
            "r1:\n  port: 70000\n",
            "hosts.yaml:2:9: host \"r1\": invalid `port`: expected a port number from 1 to 65535, found `70000`",
        ),
        ("r1:\n  port: 0\n", "found `0`"),
        (
            "r1:\n  groups: core\n",
            "hosts.yaml:2:11: host \"r1\": invalid `groups`: expected a list of group names",
        ),
        (
            "r1:\n  groups: [core, [x]]\n",
            "hosts.yaml:2:18: host \"r1\": invalid group name: expected a non-empty group name, found a list",
        ),
        (
            "r1:\n  data: [1, 2]\n",
            "hosts.yaml:2:9: host \"r1\": invalid `data`: expected a mapping, found a list",
        ),
        (
            "r1:\n  hostname: {a: 1}\n",
            "hosts.yaml:2:13: host \"r1\": invalid `hostname`: expected a string, found a mapping",
        ),
        (
            "r1:\n  username: true\n",
            "invalid `username`: expected a string, found `true` (quote it",
        ),
        (
            "r1:\n  password_env: \"\"\n",
            "hosts.yaml:2:17: host \"r1\": invalid `password_env`",
        ),
        (
            "r1: [a]\n",
            "hosts.yaml:1:5: host \"r1\": invalid host entry: expected a mapping of fields, found a list",
        ),
        (
            "- r1\n- r2\n",
            "hosts.yaml:1:1: invalid hosts: expected a mapping of host names to hosts, found a list",
        ),
        (
            "r1:\n  password: !vault abc\n",
            "hosts.yaml:2:13: host \"r1\": invalid `password`: YAML tags",
        ),
    ];
    for (hosts, expected) in cases {
        let message = fail(&[("hosts.yaml", hosts)]);
        assert!(message.contains(expected), "{hosts:?}: {message:?}");
    }
}

#[test]
fn credential_values_never_appear_in_messages() {
    for hosts in ["r1:\n  password: 31.337\n", "r1:\n  secret: true\n"] {
        let message = fail(&[("hosts.yaml", hosts)]);
        assert_has(&message, &["hosts.yaml:2:", "expected a string"]);
        assert!(
            !message.contains("31.337") && !message.contains("true"),
            "{message}"
        );
    }
}

#[test]
fn duplicates() {
    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\nr2: {}\nr1:\n  platform: linux\n",
    )]);
    assert_eq!(
        message,
        "hosts.yaml:4:1: host \"r1\" is defined twice (first on line 1)"
    );

    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        ("groups.yaml", "g: {}\nh: {}\ng: {}\n"),
    ]);
    assert_eq!(
        message,
        "groups.yaml:3:1: group \"g\" is defined twice (first on line 1)"
    );

    let message = fail(&[("hosts.yaml", "r1:\n  port: 22\n  username: a\n  port: 23\n")]);
    assert_eq!(message, "hosts.yaml:4:3: host \"r1\": duplicate key `port`");

    let message = fail(&[("hosts.yaml", "r1:\n  data:\n    site: a\n    site: b\n")]);
    assert_eq!(message, "hosts.yaml:4:5: host \"r1\": duplicate key `site`");
}

#[test]
fn duplicates_in_a_single_file_point_at_its_sections() {
    let dir = dir_with(&[("inv.yaml", "groups:\n  g: {}\nhosts:\n  r1: {}\n  r1: {}\n")]);
    let error = Inventory::load(&dir.path().join("inv.yaml"), &LoadOptions::default()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.ends_with("inv.yaml:5:3: host \"r1\" is defined twice (first on line 4)"),
        "{message}"
    );
    assert!(matches!(
        error.kind(),
        InventoryErrorKind::DuplicateHost {
            first_line: Some(4),
            ..
        }
    ));
}

#[test]
fn conflicting_credential_sources() {
    let message = fail(&[("hosts.yaml", "r1:\n  password: a\n  password_env: B\n")]);
    assert_eq!(
        message,
        "hosts.yaml:3:3: host \"r1\": `password_env` and `password` are both set; \
         set only one of `password`, `password_env`, `password_file`"
    );
    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        ("defaults.yaml", "secret_file: a\nsecret: b\n"),
    ]);
    assert_has(
        &message,
        &["defaults.yaml:2:1: defaults: `secret` and `secret_file` are both set"],
    );
}

#[test]
fn yaml_syntax_errors_carry_line_and_column() {
    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  data: {site: ams\nr2: {}\n",
    )]);
    assert!(message.starts_with("hosts.yaml:4:3: "), "{message}");
    assert_has(
        &message,
        &[
            "did not find expected ',' or '}'",
            "flow mapping at line 3 column 9",
        ],
    );
    assert!(
        !message.contains("line 4 column 3"),
        "position given once: {message}"
    );

    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        ("groups.yaml", "g:\n  port: 1\n port: 2\n"),
    ]);
    assert!(message.starts_with("groups.yaml:3:"), "{message}");
}

#[test]
fn missing_and_unknown_platforms() {
    let (message, error) = fail_dir(
        &[("hosts.yaml", "r1:\n  platform: linux\nr2:\n  port: 22\n")],
        &platforms(),
    );
    assert_eq!(
        message,
        "hosts.yaml:3:1: host \"r2\": no platform set on the host, its groups or the defaults"
    );
    assert!(matches!(error.kind(), InventoryErrorKind::MissingPlatform));

    // Set in a group: the line is the group's.
    let (message, _) = fail_dir(
        &[
            ("hosts.yaml", "r1:\n  groups: [g]\n"),
            ("groups.yaml", "g:\n  port: 22\n  platform: cisco_iso\n"),
        ],
        &platforms(),
    );
    assert_eq!(
        message,
        "groups.yaml:3:3: host \"r1\": unknown platform \"cisco_iso\" (did you mean \"cisco_ios\"?); \
         known platforms: cisco_ios, cisco_xe, linux"
    );

    // Set on the host itself.
    let (message, _) = fail_dir(
        &[(
            "hosts.yaml",
            "r0:\n  platform: linux\nr1:\n  platform: junos\n",
        )],
        &platforms(),
    );
    assert!(
        message.starts_with(
            "hosts.yaml:4:3: host \"r1\": unknown platform \"junos\"; known platforms:"
        ),
        "{message}"
    );

    // Without a known list any platform goes.
    load_dir(&[("hosts.yaml", "r1:\n  platform: junos\n")]).unwrap();
}

#[test]
fn unknown_groups_and_cycles() {
    let message = fail(&[
        ("hosts.yaml", "r1:\n  groups:\n    - core\n    - edg\n"),
        ("groups.yaml", "core: {}\nedge: {}\n"),
    ]);
    assert_eq!(
        message,
        "hosts.yaml:4:7: host \"r1\": unknown group \"edg\" (did you mean \"edge\"?)"
    );

    let message = fail(&[("hosts.yaml", "r1:\n  groups: [core]\n")]);
    assert_eq!(
        message,
        "hosts.yaml:2:12: host \"r1\": unknown group \"core\""
    );

    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        (
            "groups.yaml",
            "core:\n  groups: [global]\nglobal:\n  groups: [wan]\n",
        ),
    ]);
    assert_eq!(
        message,
        "groups.yaml:4:12: group \"global\": unknown group \"wan\""
    );

    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        (
            "groups.yaml",
            "a:\n  groups: [b]\nb:\n  groups: [x, c]\nc:\n  groups: [a]\nx: {}\n",
        ),
    ]);
    assert_eq!(
        message,
        "groups.yaml:6:12: group \"c\": group cycle: a -> b -> c -> a"
    );

    let message = fail(&[
        ("hosts.yaml", "r1: {}\n"),
        ("groups.yaml", "solo:\n  groups: [solo]\n"),
    ]);
    assert_eq!(
        message,
        "groups.yaml:2:12: group \"solo\": group cycle: solo -> solo"
    );
}

#[test]
fn unreadable_credentials_name_host_reference_and_line() {
    let var = "FANOUT_TEST_INVENTORY_SURELY_UNSET_VAR";
    assert!(std::env::var_os(var).is_none());
    let (message, error) = fail_dir(
        &[
            ("hosts.yaml", "r1:\n  groups: [g]\n"),
            (
                "groups.yaml",
                format!("g:\n  platform: linux\n  secret_env: {var}\n").as_str(),
            ),
        ],
        &LoadOptions::default(),
    );
    assert_eq!(
        message,
        format!(
            "groups.yaml:3:3: host \"r1\": environment variable `{var}` (from `secret_env`) is not set"
        )
    );
    assert_eq!(error.subject(), Some("host \"r1\""));

    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  password_file: pw/r1.txt\n",
    )]);
    assert!(
        message.starts_with("hosts.yaml:3:3: host \"r1\": cannot read `password_file` "),
        "{message}"
    );
    assert_has(&message, &["pw/r1.txt: "]);

    // A named pipe would block the load forever: refused without opening it.
    let dir = dir_with(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  password_file: pw.fifo\n",
    )]);
    let fifo = dir.path().join("pw.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let message = Inventory::load(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert_has(
        &message,
        &["cannot read `password_file`", "named pipe (FIFO)"],
    );
}

#[test]
fn missing_files_and_paths() {
    let dir = dir_with(&[("groups.yaml", "g: {}\n")]);
    let error = Inventory::load(dir.path(), &LoadOptions::default()).unwrap_err();
    let expected = format!(
        "{}: no hosts.yaml (or hosts.yml) in this directory",
        dir.path().display()
    );
    assert_eq!(error.to_string(), expected);
    assert!(matches!(error.kind(), InventoryErrorKind::MissingHostsFile));

    let dir = dir_with(&[("hosts.yaml", "r1: {}\n"), ("hosts.yml", "r1: {}\n")]);
    let error = Inventory::load(dir.path(), &LoadOptions::default()).unwrap_err();
    let expected = format!(
        "{}: both hosts.yaml and hosts.yml exist; keep one",
        dir.path().display()
    );
    assert_eq!(error.to_string(), expected);

    let dir = dir_with(&[]);
    let missing = dir.path().join("nope.yaml");
    let message = Inventory::load(&missing, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with(&format!("{}: cannot read: ", missing.display())),
        "{message}"
    );
}

#[test]
fn single_file_sections_are_checked() {
    let dir = dir_with(&[("inv.yaml", "hosts:\n  r1: {}\nhost_groups: {}\n")]);
    let message = Inventory::load(&dir.path().join("inv.yaml"), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.ends_with("inv.yaml:3:1: unknown section `host_groups`, expected one of `hosts`, `groups`, `defaults`"),
        "{message}"
    );

    let dir = dir_with(&[("inv.yaml", "defaults:\n  platfrom: linux\n")]);
    let message = Inventory::load(&dir.path().join("inv.yaml"), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(message.ends_with("inv.yaml:2:3: defaults: unknown field `platfrom` (did you mean `platform`?), expected one of `hostname`, `port`, `username`, `password`, `password_env`, `password_file`, `secret`, `secret_env`, `secret_file`, `platform`, `data`, `connection_options`, `ssh_key_file`, `ssh_key_passphrase`, `ssh_key_passphrase_env`, `ssh_key_passphrase_file`, `ssh_agent`, `ssh_kex`, `ssh_ciphers`, `ssh_host_key_algorithms`, `jump_host`, `snmp`"), "{message}");
}

#[test]
fn ssh_options_are_checked_where_they_are_written() {
    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  ssh_key_file: keys/missing\n",
    )]);
    assert!(
        message.starts_with("hosts.yaml:3:3: host \"r1\": cannot read `ssh_key_file` "),
        "{message}"
    );
    assert_has(&message, &["keys/missing: "]);

    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  ssh_agent: yes please\n",
    )]);
    assert_has(
        &message,
        &["hosts.yaml:3:14", "`ssh_agent`", "true or false"],
    );

    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  ssh_kex: curve25519-sha256\n",
    )]);
    assert_has(
        &message,
        &["hosts.yaml:3:12", "`ssh_kex`", "a list of names"],
    );

    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  ssh_key_passphrase: x\n  ssh_key_passphrase_env: X\n",
    )]);
    assert_has(
        &message,
        &["hosts.yaml:4:3", "set only one of `ssh_key_passphrase`"],
    );
    assert!(
        !message.contains(": x"),
        "the passphrase is not echoed: {message}"
    );
}
