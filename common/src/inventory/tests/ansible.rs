//! Ansible inventories as Ansible's documentation writes them: YAML, INI, directories with
//! group_vars/ and host_vars/.

use super::*;

/// The YAML example of Ansible's "How to build your inventory", with network hosts.
const YAML: &str = "\
all:
  vars:
    ansible_user: ops
    ansible_password: \"{{ lookup('env', 'PATH') }}\"
  hosts:
    jump1.example.com:
      ansible_network_os: linux
  children:
    network:
      vars:
        ansible_connection: ansible.netcommon.network_cli
        site: ams
      children:
        ios:
          hosts:
            r1:
              ansible_host: 10.0.0.1
              ansible_become_password: enable-r1
            r2:2222:
              ansible_host: 10.0.0.2
          vars:
            ansible_network_os: cisco.ios.ios
            site: ams-ios
        eos:
          hosts:
            sw[01:02]:
          vars:
            ansible_network_os: arista.eos.eos
            ansible_port: 2200
    junos:
      hosts:
        fw1:
          ansible_host: 10.0.1.1
          ansible_network_os: junipernetworks.junos.junos
";

#[test]
fn yaml_inventory_with_children_and_vars() {
    let dir = dir_with(&[("inventory.yml", YAML)]);
    let inventory = Inventory::load(&dir.path().join("inventory.yml"), &builtin_options()).unwrap();
    let names: Vec<&str> = inventory.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        ["jump1.example.com", "r1", "r2", "sw01", "sw02", "fw1"]
    );

    let r1 = host(&inventory, "r1");
    assert_eq!((r1.hostname.as_str(), r1.port), ("10.0.0.1", 22));
    assert_eq!(r1.platform, "cisco_ios");
    assert_eq!(r1.username, "ops", "all:vars are the defaults");
    assert_eq!(r1.password.expose(), std::env::var("PATH").unwrap());
    assert_eq!(r1.secret.expose(), "enable-r1");
    assert_eq!(
        r1.data["site"], "ams-ios",
        "the child group beats its parent"
    );
    assert_eq!(
        r1.data["ansible_connection"],
        "ansible.netcommon.network_cli"
    );
    assert_eq!(r1.all_groups, ["ios", "network"]);
    assert!(
        !r1.data.contains_key("ansible_password"),
        "credentials never in data"
    );

    let r2 = host(&inventory, "r2");
    assert_eq!((r2.hostname.as_str(), r2.port), ("10.0.0.2", 2222));
    let sw = host(&inventory, "sw02");
    assert_eq!(
        (sw.hostname.as_str(), sw.platform.as_str(), sw.port),
        ("sw02", "arista_eos", 2200)
    );
    let fw = host(&inventory, "fw1");
    assert_eq!(fw.platform, "juniper_junos");
    assert_eq!(
        host(&inventory, "jump1.example.com").all_groups,
        ["ungrouped"]
    );

    // Filters work on Ansible's groups, children included.
    let select = |f: &str| -> Vec<String> {
        inventory
            .select(&[Filter::parse(f).unwrap()])
            .iter()
            .map(|h| h.name.clone())
            .collect()
    };
    assert_eq!(select("group=network"), ["r1", "r2", "sw01", "sw02"]);
    assert_eq!(select("group=eos"), ["sw01", "sw02"]);
}

const INI: &str = "\
# Ansible INI inventory
mail.example.com ansible_network_os=linux

[ios]
r1 ansible_host=10.0.0.1 ansible_port=2201 rack=7
r2 ansible_host=10.0.0.2 ansible_become_password='en able'
r[3:4]

[eos]
sw1 ansible_host=10.0.1.1

[ios:vars]
ansible_network_os=cisco.ios.ios
ntp_server = 10.9.9.9

[eos:vars]
ansible_network_os=eos

[routers:children]
ios
eos

[routers:vars]
ntp_server=10.8.8.8
site=ams

[all:vars]
ansible_user=netops
";

#[test]
fn ini_directory_with_group_vars_and_host_vars() {
    let dir = dir_with(&[
        ("inventory/hosts", INI),
        (
            "inventory/group_vars/all.yml",
            "ansible_password: all-pw\nowner: noc\n",
        ),
        ("inventory/group_vars/routers/main.yml", "site: ams-gv\n"),
        (
            "inventory/group_vars/ios.yaml",
            "---\nansible_become_password: ios-enable\n",
        ),
        (
            "inventory/host_vars/r1.yml",
            "ansible_host: 10.0.0.11\nrole: core\n",
        ),
        ("inventory/host_vars/unknown.yml", "ansible_host: 1.1.1.1\n"),
        ("inventory/ansible.cfg", "[defaults]\nx=1\n"),
    ]);
    let inventory = Inventory::load(&dir.path().join("inventory"), &builtin_options()).unwrap();
    assert_eq!(
        inventory.hosts().len(),
        6,
        "ansible.cfg is skipped as Ansible skips it"
    );

    let r1 = host(&inventory, "r1");
    assert_eq!(r1.hostname, "10.0.0.11", "host_vars beat the host line");
    assert_eq!((r1.port, r1.platform.as_str()), (2201, "cisco_ios"));
    assert_eq!(r1.data["rack"], 7, "host-line values are literals");
    assert_eq!(r1.data["role"], "core");
    assert_eq!(
        r1.data["ntp_server"], "10.9.9.9",
        "ios beats its parent routers"
    );
    assert_eq!(
        r1.data["site"], "ams-gv",
        "group_vars/routers/ beats [routers:vars]"
    );
    assert_eq!(r1.data["owner"], "noc");
    assert_eq!(r1.username, "netops");
    assert_eq!(r1.password.expose(), "all-pw");
    assert_eq!(r1.secret.expose(), "ios-enable");
    assert_eq!(
        host(&inventory, "r2").secret.expose(),
        "en able",
        "host line beats groups"
    );
    assert_eq!(host(&inventory, "r4").platform, "cisco_ios");
    let sw1 = host(&inventory, "sw1");
    assert_eq!(
        (sw1.platform.as_str(), sw1.data["ntp_server"].as_str()),
        ("arista_eos", Some("10.8.8.8"))
    );
    assert_eq!(host(&inventory, "mail.example.com").platform, "linux");
    let routers: Vec<&str> = inventory
        .select(&[Filter::parse("group=routers").unwrap()])
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(routers, ["r1", "r2", "r3", "r4", "sw1"]);
}

#[test]
fn ini_file_given_directly_finds_its_group_vars() {
    let dir = dir_with(&[
        ("hosts.ini", "[ios]\nr1\n"),
        (
            "group_vars/ios.yml",
            "ansible_network_os: ios\nansible_port: 830\n",
        ),
    ]);
    let inventory = Inventory::load(&dir.path().join("hosts.ini"), &builtin_options()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!((r1.platform.as_str(), r1.port), ("cisco_ios", 830));
}

#[test]
fn vault_values_are_refused_with_their_line() {
    let yaml = "\
all:
  hosts:
    r1:
      ansible_network_os: ios
      ansible_password: !vault |
        $ANSIBLE_VAULT;1.1;AES256
        62313365396662343061393464336163383764373764613633653634306231386433626436623361
";
    let dir = dir_with(&[("inv.yml", yaml)]);
    let message = Inventory::load(&dir.path().join("inv.yml"), &builtin_options())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("inv.yml:5:7: invalid `ansible_password`: encrypted with Ansible Vault"),
        "{message}"
    );
    assert!(!message.contains("6231336539"), "{message}");

    let dir = dir_with(&[
        ("hosts", "[ios]\nr1 ansible_network_os=ios\n"),
        (
            "group_vars/ios/vault.yml",
            "$ANSIBLE_VAULT;1.1;AES256\n3231\n",
        ),
    ]);
    let message = Inventory::load(&dir.path().join("hosts"), &builtin_options())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("vault.yml:1: invalid file: encrypted with Ansible Vault"),
        "{message}"
    );
}

#[test]
fn problems_keep_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "hosts",
            "[ios]\nr1 ansible_port=http\n",
            "hosts:2:4: host \"r1\": invalid `ansible_port`: expected a port number",
        ),
        (
            "hosts",
            "[ios]\nr1\n[ios:vars]\nansible_network_os=cisco.ios.iso\n",
            "hosts:4:1: host \"r1\": unknown platform \"iso\"",
        ),
        (
            "inv.yaml",
            "all:\n  children:\n    ios:\n      hosts:\n        r1:\n          ansible_host: \"{{ inventory_hostname }}.lab\"\n          ansible_network_os: ios\n",
            "inv.yaml:6:11: host \"r1\": invalid `ansible_host`: Jinja2 templates are not evaluated",
        ),
        (
            "inv.yaml",
            "all:\n  children:\n    ios:\n      host:\n        r1:\n",
            "inv.yaml:4:7: unknown group key `host` (did you mean `hosts`?)",
        ),
        (
            "hosts",
            "[a:children]\nb\n[b:children]\na\n",
            "group cycle: ",
        ),
    ];
    for (name, text, expected) in cases {
        let dir = dir_with(&[(name, text)]);
        let message = Inventory::load(&dir.path().join(name), &builtin_options())
            .unwrap_err()
            .to_string();
        let message = message.replace(&format!("{}/", dir.path().display()), "");
        assert!(message.contains(expected), "{message}\n  wanted {expected}");
    }
}

#[test]
fn script_output_saved_as_json() {
    let json = r#"{
  "ios": {"hosts": ["r1", "r2"], "vars": {"ansible_network_os": "cisco.ios.ios"}},
  "core": {"children": ["ios"], "vars": {"role": "core"}},
  "eos": ["sw1"],
  "_meta": {"hostvars": {
    "r1": {"ansible_host": "10.0.0.1", "ansible_user": "ops"},
    "sw1": {"ansible_network_os": "eos"}
  }}
}"#;
    let dir = dir_with(&[("list.json", json)]);
    let inventory = Inventory::load(&dir.path().join("list.json"), &builtin_options()).unwrap();
    let r1 = host(&inventory, "r1");
    assert_eq!(
        (r1.hostname.as_str(), r1.username.as_str()),
        ("10.0.0.1", "ops")
    );
    assert_eq!(
        (r1.platform.as_str(), r1.data["role"].as_str()),
        ("cisco_ios", Some("core"))
    );
    assert_eq!(host(&inventory, "sw1").platform, "arista_eos");
}

#[test]
fn a_bastion_in_ansibles_ssh_args_is_the_jump_host() {
    let dir = dir_with(&[
        (
            "hosts",
            "[ios]\nr1\nr2 ansible_ssh_common_args='-J ops@bastion2:2222'\n\
             [ios:vars]\nansible_network_os=ios\n",
        ),
        (
            "group_vars/ios.yml",
            "ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o \
             ProxyCommand=\"ssh -W %h:%p -q admin@bastion.example\"'\n",
        ),
    ]);
    let inventory = Inventory::load(&dir.path().join("hosts"), &builtin_options()).unwrap();
    let jump = |name: &str| host(&inventory, name).ssh.jump_host.clone();
    assert_eq!(jump("r1").as_deref(), Some("admin@bastion.example"));
    assert_eq!(
        jump("r2").as_deref(),
        Some("ops@bastion2:2222"),
        "the host's own wins"
    );

    // A proxy fanout cannot follow is refused where it is written, not skipped: the device
    // would be reached by another path than the inventory says.
    let dir = dir_with(&[(
        "hosts",
        "[ios]\nr1 ansible_network_os=ios \
         ansible_ssh_common_args='-o ProxyCommand=\"nc -x proxy:1080 %h %p\"'\n",
    )]);
    let message = Inventory::load(&dir.path().join("hosts"), &builtin_options())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("hosts:2") && message.contains("fanout runs no proxy commands"),
        "{message}"
    );
}
