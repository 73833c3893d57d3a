//! Nornir inventories in the shapes Nornir's documentation and its own test data use:
//! `connection_options` with Nornir's precedence, NAPALM and Netmiko platform names.

use super::*;

/// Shaped like Nornir's `tests/inventory_data`: explicit nulls, plugins fanout does not use,
/// options at every level.
const HOSTS: &str = "\
---
dev1.group_1:
  port: 65020
  hostname: localhost
  username: root
  password: a_password
  platform: eos
  data:
    my_var: comes_from_dev1.group_1
  groups:
    - group_1
  connection_options:
    paramiko:
      port: 65020
      hostname:
      username: root
      password: a_password
      platform: linux
      extras: {}
    netmiko:
      hostname:
      port:
      username: netmiko-user
      password:
      platform:
      extras:
dev2.group_1:
  port: 65021
  hostname: localhost
  platform: junos
  groups: [group_1]
dev3.group_2:
  hostname: 10.0.0.3
  username: plain-user
  password: plain-pw
  groups: [group_2]
  connection_options:
    napalm:
      platform: ios
      extras:
        optional_args:
          secret: napalm-enable
          global_delay_factor: 2
dev4.ungrouped:
  hostname: 10.0.0.4
  platform: nxos_ssh
";

const GROUPS: &str = "\
---
parent_group:
  connection_options:
    netmiko:
      port: 2022
      extras:
        secret: parent-enable
        global_delay_factor: 3
group_1:
  password: from_group1
  groups: [parent_group]
  connection_options:
    netmiko:
      hostname: netmiko.from.group_1
      password: netmiko-pw
      extras: null
group_2:
  platform: cisco_ios
  port: 2200
";

const DEFAULTS: &str = "\
---
username: default-user
password: default-pw
platform: linux
data:
  my_var: comes_from_defaults
connection_options:
  netmiko:
    platform: cisco_ios
    extras:
      secret: default-enable
";

fn nornir() -> Inventory {
    let dir = dir_with(&[
        ("hosts.yaml", HOSTS),
        ("groups.yaml", GROUPS),
        ("defaults.yaml", DEFAULTS),
    ]);
    Inventory::load(dir.path(), &builtin_options()).unwrap()
}

#[test]
fn netmiko_options_beat_plain_attributes_at_any_level() {
    let inventory = nornir();
    let dev1 = host(&inventory, "dev1.group_1");
    // Each netmiko option resolves host → groups → defaults before the plain attribute is
    // looked at: the group's netmiko hostname beats the host's own `hostname`.
    assert_eq!(dev1.hostname, "netmiko.from.group_1");
    assert_eq!(dev1.port, 2022, "the parent group's netmiko port");
    assert_eq!(dev1.username, "netmiko-user", "the host's netmiko username");
    assert_eq!(dev1.password.expose(), "netmiko-pw");
    assert_eq!(
        dev1.platform, "cisco_ios",
        "the defaults' netmiko platform beats the host's `eos`"
    );
    assert_eq!(
        dev1.secret.expose(),
        "parent-enable",
        "extras null at host and group_1: the parent group's extras, whole"
    );

    let dev2 = host(&inventory, "dev2.group_1");
    assert_eq!(dev2.hostname, "netmiko.from.group_1");
    assert_eq!(
        dev2.username, "default-user",
        "no netmiko username anywhere"
    );
    assert_eq!(dev2.platform, "cisco_ios");
}

#[test]
fn napalm_options_apply_when_no_level_has_netmiko_or_scrapli() {
    let inventory = nornir();
    let dev3 = host(&inventory, "dev3.group_2");
    // The defaults carry netmiko options, so netmiko is the plugin; napalm's are not read.
    assert_eq!(dev3.platform, "cisco_ios");
    assert_eq!(dev3.secret.expose(), "default-enable");
    assert_eq!((dev3.port, dev3.username.as_str()), (2200, "plain-user"));

    let dir = dir_with(&[(
        "hosts.yaml",
        "\
r1:
  hostname: 10.0.0.1
  platform: cisco_ios
  connection_options:
    napalm:
      platform: eos
      port: 8022
      extras:
        optional_args: {secret: napalm-enable, use_keys: true, key_file: id_r1, allow_agent: true}
",
    )]);
    fs::write(
        dir.path().join("id_r1"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap();
    let inventory = Inventory::load(dir.path(), &builtin_options()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!((r1.platform.as_str(), r1.port), ("arista_eos", 8022));
    assert_eq!(r1.secret.expose(), "napalm-enable");
    assert_eq!(r1.ssh.key_file, Some(dir.path().join("id_r1")));
    assert!(r1.ssh.agent);
}

#[test]
fn napalm_and_netmiko_platform_names_resolve_to_profiles() {
    let inventory = nornir();
    assert_eq!(host(&inventory, "dev4.ungrouped").platform, "cisco_ios");
    let dir = dir_with(&[(
        "hosts.yaml",
        "\
a: {platform: ios}
b: {platform: eos}
c: {platform: junos}
d: {platform: nxos}
e: {platform: nxos_ssh}
f: {platform: iosxr}
g: {platform: cisco_ios_ssh}
h: {platform: juniper_junos}
i: {platform: cisco_iosxe}
j: {platform: cisco_iosxr}
",
    )]);
    let inventory = Inventory::load(dir.path(), &builtin_options()).unwrap();
    let platforms: Vec<&str> = inventory
        .hosts()
        .iter()
        .map(|h| h.platform.as_str())
        .collect();
    assert_eq!(
        platforms,
        [
            "cisco_ios",
            "arista_eos",
            "juniper_junos",
            "cisco_nxos",
            "cisco_nxos",
            "cisco_xr",
            "cisco_ios",
            "juniper_junos",
            "cisco_xe",
            "cisco_xr",
        ]
    );
}

#[test]
fn the_issue_example_loads() {
    let dir = dir_with(&[(
        "hosts.yaml",
        "\
hosts:
  r1:
    hostname: 10.0.0.1
    platform: ios                     # NAPALM's name, what most Nornir inventories use
    connection_options:
      netmiko: { platform: cisco_ios, extras: { secret: enable } }
",
    )]);
    let path = dir.path().join("hosts.yaml");
    let inventory = Inventory::load(&path, &builtin_options()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!(r1.platform, "cisco_ios");
    assert_eq!(r1.secret.expose(), "enable");
}

#[test]
fn ignored_extras_are_noted_once_with_their_line() {
    let inventory = nornir();
    let notes = inventory.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("groups.yaml:8:9:")
            && notes[0].contains("group \"parent_group\"")
            && notes[0]
                .contains("`connection_options.netmiko.extras.global_delay_factor` is ignored"),
        "{}",
        notes[0]
    );
    // dev3's napalm extras are not read at all (netmiko is the plugin): no note about them.
    assert!(!notes.iter().any(|n| n.contains("napalm")));
}

#[test]
fn use_keys_false_turns_key_files_off() {
    let dir = dir_with(&[
        (
            "hosts.yaml",
            "\
r1:
  groups: [keyed]
  connection_options:
    netmiko: {extras: {use_keys: false, allow_agent: false}}
r2:
  groups: [keyed]
r3:
  connection_options:
    scrapli:
      extras: {auth_secondary: scrapli-enable, auth_private_key: keys/r3, auth_strict_key: false}
",
        ),
        (
            "groups.yaml",
            "keyed:\n  ssh_key_file: keys/group\n  ssh_agent: true\n",
        ),
        ("defaults.yaml", "platform: linux\n"),
        ("keys/group", "group key\n"),
        ("keys/r3", "r3 key\n"),
    ]);
    let inventory = Inventory::load(dir.path(), &builtin_options()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!((r1.ssh.key_file.as_ref(), r1.ssh.agent), (None, false));
    let r2 = host(&inventory, "r2");
    assert_eq!(r2.ssh.key_file, Some(dir.path().join("keys/group")));
    assert!(r2.ssh.agent);
    let r3 = host(&inventory, "r3");
    assert_eq!(r3.secret.expose(), "scrapli-enable");
    assert_eq!(r3.ssh.key.expose(), "r3 key", "line end trimmed");
    assert!(
        inventory
            .notes()
            .iter()
            .any(|n| n.contains("hosts.yaml:10:75: host \"r3\"")
                && n.contains("auth_strict_key` is ignored: host keys are checked")),
        "{:?}",
        inventory.notes()
    );
}

#[test]
fn bad_connection_options_name_file_and_line() {
    let cases = [
        (
            "r1:\n  platform: linux\n  connection_options:\n    netmiko:\n      hostnme: x\n",
            "hosts.yaml:5:7: host \"r1\": unknown connection option `hostnme` (did you mean `hostname`?)",
        ),
        (
            "r1:\n  platform: linux\n  connection_options:\n    netmiko: {port: ssh}\n",
            "hosts.yaml:4:21: host \"r1\": invalid `port`",
        ),
        (
            "r1:\n  platform: linux\n  connection_options:\n    netmiko:\n      extras:\n        use_keys: \"yes\"\n",
            "hosts.yaml:6:9: host \"r1\": invalid `use_keys`: expected true or false",
        ),
        (
            "r1:\n  connection_options:\n    napalm:\n      platform: iso\n",
            "hosts.yaml:4:7: host \"r1\": unknown platform \"iso\" (did you mean \"ios\"?)",
        ),
    ];
    for (hosts, expected) in cases {
        let dir = dir_with(&[("hosts.yaml", hosts)]);
        let error = Inventory::load(dir.path(), &builtin_options()).unwrap_err();
        let message = error.to_string();
        let file = dir.path().join("hosts.yaml").display().to_string();
        let message = message.replace(&file, "hosts.yaml");
        assert!(
            message.starts_with(expected),
            "{message}\n  wanted {expected}"
        );
    }
}

#[test]
fn nornir_yaml_points_at_the_files() {
    let dir = dir_with(&[
        (
            "nornir.yaml",
            "\
---
inventory:
  plugin: SimpleInventory
  options:
    host_file: \"inventory/hosts.yaml\"
    group_file: \"inventory/groups.yaml\"
    defaults_file: \"inventory/defaults.yaml\"
runner:
  plugin: threaded
  options:
    num_workers: 100
",
        ),
        ("inventory/hosts.yaml", HOSTS),
        ("inventory/groups.yaml", GROUPS),
        ("inventory/defaults.yaml", DEFAULTS),
    ]);
    let inventory = Inventory::load(&dir.path().join("nornir.yaml"), &builtin_options()).unwrap();
    assert_eq!(inventory.hosts().len(), 4);
    assert_eq!(host(&inventory, "dev1.group_1").port, 2022);

    // Without options, Nornir's defaults: hosts.yaml (and groups/defaults if present) beside it.
    let dir = dir_with(&[
        (
            "config.yaml",
            "core:\n  raise_on_error: true\ninventory:\n  plugin: SimpleInventory\n",
        ),
        ("hosts.yaml", "r1: {groups: [g]}\n"),
        ("groups.yaml", "g: {platform: ios}\n"),
    ]);
    let inventory = Inventory::load(&dir.path().join("config.yaml"), &builtin_options()).unwrap();
    assert_eq!(host(&inventory, "r1").platform, "cisco_ios");
}

#[test]
fn nornir_yaml_refuses_what_fanout_cannot_do_as_nornir_would() {
    let cases = [
        (
            "inventory:\n  plugin: NetBoxInventory2\n",
            "nornir.yaml:2:3: invalid `inventory.plugin`: fanout reads SimpleInventory's files",
        ),
        (
            "inventory:\n  plugin: SimpleInventory\n  transform_function: my.module.adapt\n",
            "nornir.yaml:3:3: invalid `inventory.transform_function`",
        ),
        (
            "inventory:\n  options:\n    hosts_file: h.yaml\n",
            "nornir.yaml:3:5: unknown SimpleInventory option `hosts_file` (did you mean `host_file`?)",
        ),
        (
            "inventory:\n  options:\n    host_file: missing.yaml\n",
            "missing.yaml: cannot read",
        ),
    ];
    for (config, expected) in cases {
        let dir = dir_with(&[("nornir.yaml", config)]);
        let error = Inventory::load(&dir.path().join("nornir.yaml"), &builtin_options())
            .unwrap_err()
            .to_string();
        let prefix = format!("{}/", dir.path().display());
        let message = error.replace(&prefix, "");
        assert!(
            message.starts_with(expected),
            "{message}\n  wanted {expected}"
        );
    }
}
