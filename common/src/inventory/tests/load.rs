//! What loads, and what it resolves to.

use super::*;
use serde_json::json;

#[test]
fn host_wins_then_groups_in_order_depth_first_then_defaults() {
    // r1's groups are [edge, core]; edge's parent is site. Depth-first means site (edge's parent)
    // comes before core, so site's port beats core's.
    let inventory = load_dir(&[
        (
            "hosts.yaml",
            "\
r1:
  hostname: 10.0.0.1
  groups: [edge, core]
  data:
    role: host-role
r2:
  groups: [core]
bare: {}
",
        ),
        (
            "groups.yaml",
            "\
site:
  port: 2201
  data:
    site: ams
    tier: site-tier
edge:
  groups: [site]
  username: edge-user
  data:
    role: edge-role
core:
  groups: [site]
  port: 2202
  username: core-user
  platform: cisco_xe
  data:
    tier: core-tier
    vendor: cisco
",
        ),
        (
            "defaults.yaml",
            "\
platform: linux
username: default-user
port: 2222
data:
  site: default-site
  owner: noc
",
        ),
    ])
    .unwrap();

    let r1 = host(&inventory, "r1");
    assert_eq!(r1.hostname, "10.0.0.1");
    assert_eq!(r1.port, 2201, "edge's parent site comes before core");
    assert_eq!(r1.username, "edge-user", "first listed group wins");
    assert_eq!(r1.platform, "cisco_xe", "a later group beats the defaults");
    assert_eq!(r1.groups, ["edge", "core"]);
    assert_eq!(r1.all_groups, ["edge", "site", "core"], "site once");
    assert_eq!(
        serde_json::Value::Object(r1.data.clone()),
        json!({
            "role": "host-role",
            "site": "ams",
            "tier": "site-tier",
            "vendor": "cisco",
            "owner": "noc",
        })
    );

    let r2 = host(&inventory, "r2");
    assert_eq!((r2.port, r2.username.as_str()), (2202, "core-user"));
    assert_eq!(r2.all_groups, ["core", "site"]);
    assert_eq!(r2.data["tier"], "core-tier");

    let bare = host(&inventory, "bare");
    assert_eq!(bare.hostname, "bare", "hostname defaults to the name");
    assert_eq!((bare.port, bare.platform.as_str()), (2222, "linux"));
    assert_eq!(bare.data["site"], "default-site");
    assert!(bare.groups.is_empty() && bare.all_groups.is_empty());
}

#[test]
fn unset_fields_take_nornir_defaults() {
    let inventory = load_dir(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\nr2:\n  platform: linux\n  port: null\n",
    )])
    .unwrap();
    for h in inventory.hosts() {
        assert_eq!(h.port, 22);
        assert_eq!(h.username, "");
        assert!(h.password.is_empty() && h.secret.is_empty());
        assert_eq!(h.hostname, h.name);
    }
}

#[test]
fn hosts_keep_file_order() {
    let names = ["zeta", "alpha", "m10", "m9", "beta"];
    let text: String = names
        .iter()
        .map(|n| format!("{n}:\n  platform: linux\n"))
        .collect();
    let inventory = load_dir(&[("hosts.yaml", &text)]).unwrap();
    let loaded: Vec<&str> = inventory.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(loaded, names);
}

/// An inventory as Nornir's own docs and users write it, including connection_options.
const NORNIR_HOSTS: &str = "\
---
host1.cmh:
    hostname: 127.0.0.1
    port: 2201
    username: vagrant
    password: vagrant
    platform: linux
    groups:
        - cmh
    data:
        site: cmh
        role: host
        type: host
        nested_data:
            a_dict:
                a: 1
                b: 2
            a_list: [1, 2]
            a_string: asdasd

spine00.cmh:
    hostname: 127.0.0.1
    username: vagrant
    password: vagrant
    port: 12444
    platform: cisco_ios
    groups:
        - cmh
    data:
        site: cmh
        role: spine
        type: network_device
    connection_options:
        netmiko:
            extras:
                secret: spine-enable

leaf00.cmh:
    hostname: 127.0.0.1
    port: 12443
    groups:
        - cmh
        - ios
    data:
        asn: 65100
";

const NORNIR_GROUPS: &str = "\
---
global:
    data:
        domain: global.local
        asd: 1

cmh:
    port: 22
    data:
        site: cmh
        domain: cmh.local
    groups:
        - global

ios:
    platform: cisco_ios
    connection_options:
        napalm:
            platform: ios
            extras:
                optional_args:
                    global_delay_factor: 5
        netmiko:
            extras:
                secret: group-enable
";

const NORNIR_DEFAULTS: &str = "\
---
username: admin
password: admin-pw
data:
    my_var: comes_from_defaults
connection_options:
    scrapli:
        extras:
            auth_secondary: default-enable
";

#[test]
fn nornir_directory_loads_unchanged() {
    let inventory = load_dir(&[
        ("hosts.yaml", NORNIR_HOSTS),
        ("groups.yaml", NORNIR_GROUPS),
        ("defaults.yaml", NORNIR_DEFAULTS),
    ])
    .unwrap();
    assert_eq!(inventory.hosts().len(), 3);

    let h1 = host(&inventory, "host1.cmh");
    assert_eq!((h1.hostname.as_str(), h1.port), ("127.0.0.1", 2201));
    assert_eq!(h1.password.expose(), "vagrant");
    assert_eq!(
        h1.secret.expose(),
        "default-enable",
        "scrapli auth_secondary from defaults"
    );
    assert_eq!(h1.all_groups, ["cmh", "global"]);
    assert_eq!(h1.data["nested_data"]["a_dict"]["b"], 2);
    assert_eq!(
        h1.data["domain"], "cmh.local",
        "cmh before its parent global"
    );
    assert_eq!(h1.data["asd"], 1);
    assert_eq!(h1.data["my_var"], "comes_from_defaults");

    let spine = host(&inventory, "spine00.cmh");
    assert_eq!(
        spine.secret.expose(),
        "spine-enable",
        "host's netmiko secret"
    );

    let leaf = host(&inventory, "leaf00.cmh");
    assert_eq!(leaf.platform, "cisco_ios");
    assert_eq!(
        (leaf.username.as_str(), leaf.password.expose()),
        ("admin", "admin-pw")
    );
    assert_eq!(
        leaf.secret.expose(),
        "group-enable",
        "group ios's netmiko secret"
    );
    assert_eq!(leaf.port, 12443);
    assert_eq!(leaf.data["asn"], 65100);
}

#[test]
fn yml_extension_and_missing_optional_files() {
    let inventory = load_dir(&[
        ("hosts.yml", "r1:\n  groups: [g]\n"),
        ("groups.yml", "g:\n  platform: linux\n"),
    ])
    .unwrap();
    assert_eq!(inventory.hosts()[0].platform, "linux");
}

#[test]
fn single_file_form() {
    let dir = dir_with(&[(
        "inventory.yaml",
        "\
defaults:
  platform: linux
  username: ops
hosts:
  r1:
    groups: [core]
  r2:
    platform: cisco_ios
groups:
  core:
    port: 830
    data: {site: ams}
",
    )]);
    let inventory =
        Inventory::load(&dir.path().join("inventory.yaml"), &LoadOptions::default()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!(
        (r1.platform.as_str(), r1.port, r1.username.as_str()),
        ("linux", 830, "ops")
    );
    assert_eq!(r1.data["site"], "ams");
    let r2 = host(&inventory, "r2");
    assert_eq!((r2.platform.as_str(), r2.port), ("cisco_ios", 22));
}

#[test]
fn empty_files_mean_no_hosts() {
    for hosts in ["", "# nothing yet\n", "---\n"] {
        let inventory = load_dir(&[
            ("hosts.yaml", hosts),
            ("groups.yaml", ""),
            ("defaults.yaml", "# empty\n"),
        ])
        .unwrap();
        assert!(inventory.hosts().is_empty(), "{hosts:?}");
    }
    let dir = dir_with(&[("inventory.yaml", "hosts:\n")]);
    let inventory =
        Inventory::load(&dir.path().join("inventory.yaml"), &LoadOptions::default()).unwrap();
    assert!(inventory.hosts().is_empty());
}

#[test]
fn credentials_from_environment_and_files() {
    // PATH is set wherever tests run, and reading it needs no unsafe set_var.
    let path_value = std::env::var("PATH").expect("PATH is set");
    let dir = dir_with(&[
        (
            "hosts.yaml",
            "\
r1:
  password_env: PATH
  secret_file: secrets/r1.enable
r2:
  groups: [core]
r3:
  groups: [core]
  secret: own-enable
",
        ),
        (
            "groups.yaml",
            "core:\n  password_file: secrets/core.pw\n  secret_env: PATH\n",
        ),
        ("defaults.yaml", "platform: linux\n"),
        ("secrets/r1.enable", "en-able\n"),
        ("secrets/core.pw", "core pw with spaces \r\n"),
    ]);
    let inventory = Inventory::load(dir.path(), &LoadOptions::default()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!(r1.password.expose(), path_value);
    assert_eq!(r1.secret.expose(), "en-able", "trailing newline trimmed");
    let r2 = host(&inventory, "r2");
    assert_eq!(
        r2.password.expose(),
        "core pw with spaces ",
        "only line endings trimmed"
    );
    assert_eq!(r2.secret.expose(), path_value);
    assert_eq!(host(&inventory, "r3").secret.expose(), "own-enable");
}

#[test]
fn null_entries_numbers_and_merge_keys() {
    let inventory = load_dir(&[
        (
            "hosts.yaml",
            "\
r1:
1234:
  username: 4321
  password: 987654
with_base:
  <<: &base
    port: 830
    username: base-user
    data: {site: ams, rack: 1}
  username: own-user
  data:
    <<: {rack: 2, row: 7}
    site: lon
",
        ),
        ("defaults.yaml", "platform: linux\n"),
    ])
    .unwrap();
    assert_eq!(host(&inventory, "r1").platform, "linux");
    let numeric = host(&inventory, "1234");
    assert_eq!(
        (numeric.username.as_str(), numeric.password.expose()),
        ("4321", "987654")
    );
    let merged = host(&inventory, "with_base");
    assert_eq!((merged.port, merged.username.as_str()), (830, "own-user"));
    assert_eq!(
        serde_json::Value::Object(merged.data.clone()),
        json!({"site": "lon", "rack": 2, "row": 7})
    );
}

#[test]
fn describe_shows_everything_but_credential_values() {
    let inventory = load_dir(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  username: ops\n  password: hunter2\n  data: {site: ams}\n",
    )])
    .unwrap();
    let described = inventory.hosts()[0].describe();
    assert_eq!(described["password_set"], true);
    assert_eq!(described["secret_set"], false);
    assert_eq!(described["username"], "ops");
    assert_eq!(described["port"], 22);
    assert_eq!(described["data"]["site"], "ams");
    let text = described.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{:?}", inventory.hosts()[0]).contains("hunter2"));
}

#[test]
fn ten_thousand_hosts_in_one_pass() {
    let mut hosts = String::new();
    for i in 0..10_000 {
        hosts.push_str(&format!(
            "r{i:05}:\n  hostname: 10.{}.{}.1\n  groups: [site{}]\n",
            i / 256,
            i % 256,
            i % 50
        ));
    }
    let mut groups = String::from("all:\n  platform: cisco_ios\n  password_env: PATH\n");
    for s in 0..50 {
        groups.push_str(&format!(
            "site{s}:\n  groups: [all]\n  data: {{site: s{s}}}\n"
        ));
    }
    let inventory = load_dir(&[("hosts.yaml", &hosts), ("groups.yaml", &groups)]).unwrap();
    assert_eq!(inventory.hosts().len(), 10_000);
    let last = &inventory.hosts()[9_999];
    assert_eq!(last.name, "r09999");
    assert_eq!(last.data["site"], "s49");
    assert_eq!(last.all_groups, ["site49", "all"]);
    assert!(!last.password.is_empty());
}

#[test]
fn ssh_options_inherit_one_by_one_and_keys_are_read_relative_to_their_file() {
    let dir = dir_with(&[
        (
            "hosts.yaml",
            "\
old1:
  groups: [legacy]
  ssh_agent: false
new1:
  platform: linux
",
        ),
        (
            "groups.yaml",
            "\
legacy:
  platform: cisco_ios
  ssh_kex: [diffie-hellman-group14-sha1]
  ssh_ciphers: [aes128-cbc, aes256-ctr]
  ssh_host_key_algorithms: [ssh-rsa]
  jump_host: ops@bastion:2222
",
        ),
        (
            "defaults.yaml",
            "\
ssh_key_file: keys/id_fleet
ssh_key_passphrase_env: FANOUT_TEST_INVENTORY_PASSPHRASE
ssh_agent: true
",
        ),
        (
            "keys/id_fleet",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n",
        ),
    ]);
    // SAFETY: no other test reads or writes this variable.
    unsafe { std::env::set_var("FANOUT_TEST_INVENTORY_PASSPHRASE", "pp") };
    let inventory = Inventory::load(dir.path(), &LoadOptions::default()).unwrap();

    let old = host(&inventory, "old1");
    assert_eq!(old.ssh.key_file, Some(dir.path().join("keys/id_fleet")));
    assert!(
        old.ssh
            .key
            .expose()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
    );
    assert_eq!(old.ssh.key_passphrase.expose(), "pp");
    assert!(
        !old.ssh.agent,
        "the host's own `false` beats the defaults' `true`"
    );
    assert_eq!(old.ssh.kex, ["diffie-hellman-group14-sha1"]);
    assert_eq!(old.ssh.ciphers, ["aes128-cbc", "aes256-ctr"]);
    assert_eq!(old.ssh.host_key_algorithms, ["ssh-rsa"]);
    assert_eq!(old.ssh.jump_host.as_deref(), Some("ops@bastion:2222"));

    let new = host(&inventory, "new1");
    assert!(new.ssh.agent);
    assert!(new.ssh.kex.is_empty() && new.ssh.jump_host.is_none());

    // What `fanout inventory` shows: where the key is, never the key or the passphrase.
    let described = old.describe().to_string();
    assert!(
        described.contains("id_fleet") && described.contains("\"ssh_key_passphrase_set\":true")
    );
    assert!(!described.contains("not a real key") && !described.contains("\"pp\""));
}

#[test]
fn a_platform_written_as_an_alias_resolves_to_the_platform() {
    let dir = dir_with(&[(
        "hosts.yaml",
        "r1:\n  platform: ios\nr2:\n  platform: cisco_ios\n",
    )]);
    let options = LoadOptions {
        known_platforms: vec!["cisco_ios".into()],
        platform_aliases: [("ios".to_string(), "cisco_ios".to_string())].into(),
        ..Default::default()
    };
    let inventory = Inventory::load(dir.path(), &options).unwrap();
    assert_eq!(host(&inventory, "r1").platform, "cisco_ios");
    assert_eq!(host(&inventory, "r2").platform, "cisco_ios");
}
