//! The `snmp:` section: inheritance key by key, secrets from every source, and every bad
//! combination reported at the line of the key that makes it so.

use super::*;

fn fail(files: &[(&str, &str)]) -> String {
    let dir = dir_with(files);
    let error = Inventory::load(dir.path(), &LoadOptions::default()).expect_err("load must fail");
    let message = error.to_string();
    let prefix = format!("{}/", dir.path().display());
    message
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{message}"))
        .to_string()
}

fn assert_has(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

#[test]
fn keys_inherit_one_by_one_and_secrets_stay_hidden() {
    let dir = dir_with(&[
        (
            "hosts.yaml",
            "r1:\n  platform: linux\n  snmp: {port: 1161}\n\
             r2:\n  platform: linux\n  groups: [v3]\n\
             r3:\n  platform: linux\n  snmp: {community_file: community.txt}\n",
        ),
        (
            "groups.yaml",
            "v3:\n  snmp:\n    version: 3\n    user: poller\n    auth: sha256\n    \
             auth_password: auth-pass-1\n    priv: aes128\n    priv_password_env: FANOUT_T_SNMP_PRIV\n",
        ),
        (
            "defaults.yaml",
            "snmp:\n  version: 2c\n  community: s3cret-community\n",
        ),
        ("community.txt", "from-a-file\n"),
    ]);
    // SAFETY: only this test reads the variable.
    unsafe { std::env::set_var("FANOUT_T_SNMP_PRIV", "priv-pass-1") };
    let inventory = Inventory::load(dir.path(), &LoadOptions::default()).unwrap();
    let r1 = host(&inventory, "r1").snmp.clone().unwrap();
    assert_eq!((r1.version, r1.port), (SnmpVersion::V2c, 1161));
    assert_eq!(r1.community.expose(), "s3cret-community");
    let r2 = host(&inventory, "r2").snmp.clone().unwrap();
    assert_eq!(r2.version, SnmpVersion::V3);
    assert_eq!(r2.port, DEFAULT_SNMP_PORT);
    assert_eq!(
        (r2.user.as_str(), r2.auth, r2.privacy),
        ("poller", Some(SnmpAuth::Sha256), Some(SnmpPriv::Aes128))
    );
    assert_eq!(r2.auth_password.expose(), "auth-pass-1");
    assert_eq!(r2.priv_password.expose(), "priv-pass-1");
    assert_eq!(
        host(&inventory, "r3")
            .snmp
            .as_ref()
            .unwrap()
            .community
            .expose(),
        "from-a-file"
    );
    let shown = format!(
        "{:?} {}",
        inventory.hosts(),
        serde_json::to_string(&host(&inventory, "r2").describe()).unwrap()
    );
    for secret in [
        "s3cret-community",
        "auth-pass-1",
        "priv-pass-1",
        "from-a-file",
    ] {
        assert!(!shown.contains(secret), "{secret} shown in {shown}");
    }
    assert!(shown.contains("\"auth\":\"sha256\""), "{shown}");
}

#[test]
fn hosts_without_a_section_have_no_snmp() {
    let dir = dir_with(&[("hosts.yaml", "r1:\n  platform: linux\n")]);
    let inventory = Inventory::load(dir.path(), &LoadOptions::default()).unwrap();
    assert!(host(&inventory, "r1").snmp.is_none());
}

#[test]
fn bad_combinations_name_the_file_line_and_key() {
    let cases: &[(&str, &[&str])] = &[
        (
            "r1:\n  platform: linux\n  snmp:\n    community: x\n",
            &["hosts.yaml:3:3: host \"r1\"", "`version` is required"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 1\n    community: x\n",
            &["hosts.yaml:4:5", "SNMPv1 is not supported"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 2c\n    community: x\n    user: u\n",
            &["hosts.yaml:6:5", "snmp `user`", "only for `version: 3`"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 2c\n",
            &["hosts.yaml:3:3", "needs `community`"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 3\n    user: u\n    auth: sha\n    \
             auth_password: longenough\n    priv: aes128\n",
            &["hosts.yaml:8:5", "`priv` needs `priv_password`"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 3\n    user: u\n    \
             priv: aes128\n    priv_password: longenough\n",
            &["hosts.yaml:6:5", "privacy needs authentication"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 3\n    user: u\n    auth: sha\n    \
             auth_password: short\n",
            &["hosts.yaml:7:5", "shorter than 8 characters"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 3\n    user: u\n    auth: sha1024\n    \
             auth_password: longenough\n",
            &["hosts.yaml:6:5", "\"sha1024\"; expected one of md5, sha"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 3\n    user: u\n    community: x\n",
            &["hosts.yaml:6:5", "only for `version: 2c`"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 2c\n    comunity: x\n",
            &[
                "hosts.yaml:5:5",
                "unknown snmp field `comunity` (did you mean `community`?)",
            ],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 2c\n    community: x\n    \
             community_env: X\n",
            &["hosts.yaml:6:5", "set only one of `community`"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 2c\n    port: 70000\n    \
             community: x\n",
            &["hosts.yaml:5:5", "not a port"],
        ),
        (
            "r1:\n  platform: linux\n  snmp:\n    version: 2c\n    \
             community_env: FANOUT_T_SNMP_UNSET\n",
            &["hosts.yaml:5:5", "`FANOUT_T_SNMP_UNSET`", "is not set"],
        ),
    ];
    for (hosts, parts) in cases {
        let message = fail(&[("hosts.yaml", hosts)]);
        assert_has(&message, parts);
    }
}

#[test]
fn an_error_points_at_the_level_that_wrote_the_key() {
    let message = fail(&[
        ("hosts.yaml", "r1:\n  platform: linux\n  groups: [g]\n"),
        ("groups.yaml", "g:\n  snmp:\n    user: u\n"),
        ("defaults.yaml", "snmp:\n  version: 2c\n  community: c\n"),
    ]);
    assert_has(
        &message,
        &["groups.yaml:3:5", "snmp `user`", "only for `version: 3`"],
    );
}

#[test]
fn a_level_that_sets_the_version_drops_the_other_versions_inherited_keys() {
    let dir = dir_with(&[
        (
            "hosts.yaml",
            "r1:\n  platform: linux\n  snmp: {version: 2c, community: c}\n",
        ),
        (
            "defaults.yaml",
            "snmp:\n  version: 3\n  user: u\n  auth: sha\n  auth_password: longenough\n",
        ),
    ]);
    let inventory = Inventory::load(dir.path(), &LoadOptions::default()).unwrap();
    let snmp = host(&inventory, "r1").snmp.clone().unwrap();
    assert_eq!(
        (snmp.version, snmp.user.as_str(), snmp.auth),
        (SnmpVersion::V2c, "", None)
    );
}

#[test]
fn secrets_never_appear_in_messages() {
    let message = fail(&[(
        "hosts.yaml",
        "r1:\n  platform: linux\n  snmp:\n    version: 3\n    user: u\n    auth: sha\n    \
         auth_password: sevench\n",
    )]);
    assert!(!message.contains("sevench"), "{message}");
}
