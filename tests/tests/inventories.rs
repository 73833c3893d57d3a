//! Inventories as users already have them (Ansible INI with group_vars, a dynamic inventory
//! script, a CSV), merged with several `-i`, driving a real run against the simulated fleet.

use fanout_devsim::FleetConfig;
use fanout_tests::{Lab, json_lines};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ansible_ini_script_and_csv_merge_and_run() {
    let lab = Lab::start(FleetConfig {
        count: 3,
        port: 0,
        password: "pw-ansible-shapes".into(),
        secret: "en-ansible-shapes".into(),
        ..FleetConfig::default()
    })
    .await;
    // What devsim wrote, as Nornir YAML: the addresses, port and credentials to re-express.
    let lab_yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&lab.inventory).unwrap()).unwrap();
    let port = lab_yaml["defaults"]["port"].as_u64().unwrap();
    let user = lab_yaml["defaults"]["username"]
        .as_str()
        .unwrap()
        .to_string();
    let hosts: Vec<(String, String)> = lab_yaml["hosts"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(name, host)| {
            let name = name.as_str().unwrap().to_string();
            (name, host["hostname"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(hosts.len(), 3);

    // Ansible INI with group_vars: the first two hosts (the second with a wrong address that
    // a later source corrects).
    let ansible = lab.dir.path().join("ansible");
    std::fs::create_dir_all(ansible.join("group_vars")).unwrap();
    std::fs::write(
        ansible.join("hosts"),
        format!(
            "[ios]\n{} ansible_host={}\n{} ansible_host=127.0.0.254\n[all:vars]\nansible_port={port}\n",
            hosts[0].0, hosts[0].1, hosts[1].0
        ),
    )
    .unwrap();
    std::fs::write(
        ansible.join("group_vars/all.yml"),
        format!(
            "ansible_user: {user}\nansible_password: \"{{{{ lookup('env', 'LAB_PW') }}}}\"\n\
             ansible_become_password: en-ansible-shapes\nansible_network_os: cisco.ios.ios\n"
        ),
    )
    .unwrap();
    // A script for the second host's real address.
    let script = lab.dir.path().join("cmdb.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat <<'JSON'\n{{\"lab\": {{\"hosts\": [\"{}\"]}}, \"_meta\": {{\"hostvars\": {{\"{}\": \
             {{\"ansible_host\": \"{}\", \"ansible_port\": {port}, \"ansible_user\": \"{user}\", \
             \"ansible_password\": \"pw-ansible-shapes\", \"ansible_network_os\": \"ios\"}}}}}}}}\nJSON\n",
            hosts[1].0, hosts[1].0, hosts[1].1
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A spreadsheet for the third.
    let csv = lab.dir.path().join("hosts.csv");
    std::fs::write(
        &csv,
        format!(
            "name,hostname,port,username,password_env,platform,data.site\n{},{},{port},{user},LAB_PW,cisco_ios_ssh,ams\n",
            hosts[2].0, hosts[2].1
        ),
    )
    .unwrap();

    let exec = format!("exec:{}", script.display());
    let command = fanout_tests::RunningFanout::start_with_env(
        &[
            "run",
            "-i",
            ansible.to_str().unwrap(),
            "-i",
            &exec,
            "-i",
            csv.to_str().unwrap(),
            "-c",
            "show version",
            "--format",
            "json",
        ],
        &[("LAB_PW", "pw-ansible-shapes")],
    );
    let run = command.finish(DEADLINE).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let records = json_lines(&run.stdout);
    assert_eq!(records.len(), 3, "{}", run.stdout);
    assert!(
        run.stderr
            .contains(&format!("host \"{}\" also in", hosts[1].0)),
        "the conflict is named: {}",
        run.stderr
    );
    assert!(!run.all_output().contains("pw-ansible-shapes"));

    // Filters select by Ansible group.
    let listed = fanout_tests::RunningFanout::start_with_env(
        &[
            "inventory",
            "-i",
            ansible.to_str().unwrap(),
            "--filter",
            "group=ios",
        ],
        &[("LAB_PW", "pw-ansible-shapes")],
    )
    .finish(DEADLINE)
    .await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert!(listed.stdout.contains(&hosts[0].0) && listed.stdout.contains(&hosts[1].0));
}
