//! Every built-in CLI profile against a devsim device with its vendor's persona, through the real
//! `fanout` binary and workers: the same commands on each, every output byte-exact to what the
//! persona prints, and each vendor's error wording turned into a `command_error` that quotes
//! the device's line. The persona's quirks (prompt traps, terminal habits) are switched on one
//! at a time and all together; and each profile is run once more with its session setup taken
//! out, so the device pages and fanout must answer the vendor's own pager.

use fanout_devsim::{FleetConfig, Platform, Quirks, command_output, session_outputs};
use fanout_tests::{Lab, edit_inventory, fanout, json_lines};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const SEED: u64 = 11;

/// Every persona. ProCurve's VT100 screen (the echo painted by cursor address, Enter scrolling
/// instead of sending a line end) used to be a worker gap; `hp_procurve_conformance` keeps a
/// row of its own so a regression there names the platform.
fn covered() -> Vec<Platform> {
    Platform::ALL.to_vec()
}

/// Two devices per persona, so each profile also meets a second hostname.
async fn lab(quirks: Quirks) -> Lab {
    Lab::start(FleetConfig {
        count: 2 * Platform::ALL.len(),
        latency: Duration::from_millis(5),
        seed: SEED,
        platforms: Platform::ALL.to_vec(),
        quirks,
        ..FleetConfig::default()
    })
    .await
}

/// `platforms` grouped by the commands `commands` gives them: one run sends the same
/// commands to every host it selects.
fn grouped<T: PartialEq>(
    platforms: &[Platform],
    commands: impl Fn(Platform) -> T,
) -> Vec<(T, Vec<Platform>)> {
    let mut groups: Vec<(T, Vec<Platform>)> = Vec::new();
    for &platform in platforms {
        let key = commands(platform);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, platforms)) => platforms.push(platform),
            None => groups.push((key, vec![platform])),
        }
    }
    groups
}

/// `--filter`s that select exactly `platforms`.
fn only(platforms: &[Platform]) -> Vec<String> {
    Platform::ALL
        .iter()
        .filter(|p| !platforms.contains(p))
        .map(|p| format!("platform!={p}"))
        .collect()
}

/// One `fanout run`: `commands` on the hosts `filters` select, with profiles from
/// `platforms_dir` if given. Returns each host's result record.
async fn run(
    lab: &Lab,
    name: &str,
    filters: &[String],
    platforms_dir: Option<&Path>,
    commands: &[&str],
) -> HashMap<String, serde_json::Value> {
    let out = lab.path(name);
    let known_hosts = lab.path("known_hosts");
    let inventory = lab.inventory_arg();
    let platforms_dir = platforms_dir.map(|d| d.to_string_lossy().into_owned());
    let mut args = vec![
        "run",
        "-i",
        &inventory,
        "--workers",
        "2",
        "--output",
        &out,
        "--known-hosts",
        &known_hosts,
        "--command-timeout",
        "10s",
        "--format",
        "json",
    ];
    if let Some(dir) = &platforms_dir {
        args.extend(["--platforms", dir]);
    }
    for filter in filters {
        args.extend(["--filter", filter]);
    }
    for command in commands {
        args.extend(["-c", command]);
    }
    let run = fanout(&args, Duration::from_secs(120)).await;
    assert!(
        matches!(run.code, Some(0 | 1)),
        "fanout crashed ({:?}):\n{}",
        run.code,
        run.stderr
    );
    let text = std::fs::read_to_string(Path::new(&out).join("results.jsonl"))
        .unwrap_or_else(|e| panic!("no results.jsonl ({e}); stderr:\n{}", run.stderr));
    json_lines(&text)
        .into_iter()
        .map(|r| (r["host"].as_str().unwrap().to_string(), r))
        .collect()
}

/// What the run recorded for `command` on the host of `record`, from the file the record names.
fn collected(lab: &Lab, run: &str, record: &serde_json::Value, command: &str) -> String {
    let file = record["commands"]
        .as_array()
        .and_then(|done| done.iter().find(|c| c["command"] == command))
        .and_then(|c| c["file"].as_str())
        .unwrap_or_else(|| panic!("no output recorded for {command:?}: {record}"));
    let path = Path::new(&lab.path(run)).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The line of an error output that says what is wrong: neither blank nor the `^` marker.
fn error_line(output: &str) -> &str {
    output
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && *line != "^")
        .unwrap_or_else(|| panic!("no error line in {output:?}"))
}

/// A bogus command on each of `platforms` fails the host with `command_error`, its message
/// quoting the device's own error line, and what the device said is kept exactly.
async fn assert_every_error_is_a_command_error(quirks: Quirks, platforms: &[Platform]) {
    let lab = lab(quirks).await;
    let command = "show bogus-command";
    let results = run(&lab, "bogus", &only(platforms), None, &[command]).await;
    let devices = lab.fleet.devices().iter();
    for device in devices.filter(|d| platforms.contains(&d.platform)) {
        let (name, platform) = (&device.name, device.platform);
        let record = &results[name];
        assert_eq!(
            record["failure"]["kind"].as_str(),
            Some("command_error"),
            "{name} ({platform}) did not fail the command: {record}"
        );
        let plain = command_output(platform, Quirks::default(), name, SEED, command);
        let said = error_line(&plain);
        let message = record["failure"]["message"].as_str().unwrap_or_default();
        // The worker quotes the line as the device printed it; only quotes and backslashes
        // (and control characters, which error lines do not have) are escaped.
        let quoted = format!("\"{}\"", said.replace('\\', "\\\\").replace('"', "\\\""));
        assert!(
            message.contains(&quoted),
            "{name} ({platform}): the message does not quote {said:?}: {message}"
        );
        assert_eq!(
            collected(&lab, "bogus", record, command),
            command_output(platform, quirks, name, SEED, command),
            "{name} ({platform})"
        );
    }
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendors_error_wording_is_a_command_error() {
    assert_every_error_is_a_command_error(Quirks::default(), &covered()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_wordings_are_command_errors_through_every_quirk() {
    assert_every_error_is_a_command_error(Quirks::ALL, &covered()).await;
}

/// Collects the version and the configuration from each of `platforms` and checks each output
/// byte for byte against what the persona printed. `platforms_dir` replaces built-in profiles.
async fn assert_every_output_exact(
    lab: &Lab,
    quirks: Quirks,
    platforms_dir: Option<&Path>,
    platforms: &[Platform],
) {
    let devices = lab.fleet.devices().to_vec();
    let groups = grouped(platforms, |p| [p.version_command(), p.config_command()]);
    for (group, (commands, platforms)) in groups.into_iter().enumerate() {
        let run_name = format!("run{group}");
        let config = commands[1];
        let results = run(lab, &run_name, &only(&platforms), platforms_dir, &commands).await;
        let selected: Vec<_> = devices
            .iter()
            .filter(|d| platforms.contains(&d.platform))
            .collect();
        assert_eq!(results.len(), selected.len(), "{config}: {platforms:?}");
        for device in selected {
            let record = &results[&device.name];
            let (name, platform) = (&device.name, device.platform);
            assert_eq!(record["ok"], true, "{name} ({platform}): {record}");
            let expected = session_outputs(platform, quirks, name, SEED, &commands);
            assert!(expected[1].len() > 1000, "{platform}: {}", expected[1]);
            for (command, expected) in commands.iter().zip(&expected) {
                assert_eq!(
                    &collected(lab, &run_name, record, command),
                    expected,
                    "{name} ({platform}): {command} differs"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_collects_its_personas_output_byte_for_byte() {
    let lab = lab(Quirks::default()).await;
    assert_every_output_exact(&lab, Quirks::default(), None, &covered()).await;
    lab.fleet.shutdown().await;
}

/// A banner full of `#` and `>`, timestamp lines, output lines that are exactly the prompt,
/// output sent in pieces cut right after each `#` and `>`, a line editor that ignores
/// backspace, messages with the prompt on their line, `\n\r` line ends and painted prompts:
/// all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_stay_exact_with_every_quirk_on() {
    let lab = lab(Quirks::ALL).await;
    assert_every_output_exact(&lab, Quirks::ALL, None, &covered()).await;
    lab.fleet.shutdown().await;
}

/// Each quirk alone: all of them together could hide one behind another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_stay_exact_through_each_quirk_alone() {
    for (name, quirks) in Quirks::each() {
        eprintln!("quirk {name}");
        let lab = lab(quirks).await;
        assert_every_output_exact(&lab, quirks, None, &covered()).await;
        lab.fleet.shutdown().await;
    }
}

/// Every built-in profile with its session setup taken out, into a directory for
/// `--platforms`: the device keeps paging, and fanout must answer its pager.
fn profiles_without_setup(dir: &Path) {
    let registry = fanout_common::platform::PlatformRegistry::builtin();
    for platform in Platform::ALL {
        let loaded = registry
            .get(platform.name())
            .expect("a profile per persona");
        let mut yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&loaded.yaml).unwrap();
        yaml["session_setup"] = serde_yaml_ng::Value::Sequence(Vec::new());
        let file = dir.join(format!("{platform}.yaml"));
        std::fs::write(&file, serde_yaml_ng::to_string(&yaml).unwrap()).unwrap();
    }
}

/// With paging left on, every vendor's pager marker is answered and its erasure dropped: the
/// outputs are the same bytes as unpaged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_answers_its_personas_pager() {
    for quirks in [Quirks::default(), Quirks::ALL] {
        let lab = lab(quirks).await;
        let dir = Path::new(&lab.path("paging-on")).to_path_buf();
        std::fs::create_dir(&dir).unwrap();
        profiles_without_setup(&dir);
        assert_every_output_exact(&lab, quirks, Some(&dir), &covered()).await;
        lab.fleet.shutdown().await;
    }
}

/// ProCurve's conformance row: errors, outputs with paging off and on, through a screen painted
/// by cursor address where Enter sends no line end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hp_procurve_conformance() {
    let procurve = [Platform::HpProcurve];
    assert_every_error_is_a_command_error(Quirks::default(), &procurve).await;
    let unpaged = lab(Quirks::default()).await;
    assert_every_output_exact(&unpaged, Quirks::default(), None, &procurve).await;
    unpaged.fleet.shutdown().await;
    // A lab of its own: the runs' output directories are named after their groups.
    let paging = lab(Quirks::default()).await;
    let dir = Path::new(&paging.path("paging-on")).to_path_buf();
    std::fs::create_dir(&dir).unwrap();
    profiles_without_setup(&dir);
    assert_every_output_exact(&paging, Quirks::default(), Some(&dir), &procurve).await;
    paging.fleet.shutdown().await;
}

/// RouterOS's terminal options ride on the login name. With Netmiko's (`admin+ct511w4098h`)
/// in the inventory, the device neither colours nor pages, and the outputs are the same bytes
/// as when fanout strips the colours and answers the pager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routeros_login_options_from_the_inventory_are_honoured() {
    let lab = lab(Quirks::default()).await;
    let routeros: Vec<String> = lab
        .fleet
        .devices()
        .iter()
        .filter(|d| d.platform == Platform::MikrotikRouteros)
        .map(|d| d.name.clone())
        .collect();
    edit_inventory(&lab.inventory, |doc| {
        for name in &routeros {
            doc["hosts"][name.as_str()]["username"] = "admin+ct511w4098h".into();
        }
    });
    let routeros_only = [Platform::MikrotikRouteros];
    assert_every_output_exact(&lab, Quirks::default(), None, &routeros_only).await;
    lab.fleet.shutdown().await;
}

/// A walk through configuration mode and out again, in the vendor's words, ending with a
/// command whose output is long enough to be worth comparing.
fn config_walk(platform: Platform) -> Vec<&'static str> {
    let mut walk = match platform {
        Platform::JuniperJunos | Platform::PaloaltoPanos => {
            vec!["configure", "set system host-name x", "exit"]
        }
        Platform::HuaweiVrp => vec![
            "system-view",
            "interface Vlanif10",
            "description x",
            "quit",
            "interface GigabitEthernet0/0/1",
            "vlan 10",
            "return",
        ],
        Platform::HpComware => vec![
            "system-view",
            "interface Vlan-interface10",
            "description x",
            "quit",
            "line vty 0 63",
            "return",
        ],
        Platform::DellOs10 => vec![
            "configure terminal",
            "interface vlan 10",
            "description x",
            "end",
        ],
        Platform::DellOs6 => vec!["configure", "interface Gi1/0/1", "description x", "end"],
        Platform::BrocadeFastiron => vec![
            "configure terminal",
            "interface ethernet 1/1/1",
            "port-name x",
            "end",
        ],
        Platform::MikrotikRouteros => vec!["/interface", "/"],
        Platform::Fortinet => vec![
            "config system interface",
            "edit port1",
            "set description x",
            "next",
            "end",
        ],
        _ => vec![
            "configure terminal",
            "interface Loopback9",
            "description x",
            "end",
        ],
    };
    walk.push(platform.version_command());
    walk
}

/// Configuration sub-modes change the prompt (`r1(config-if)#`, Junos `[edit]`) mid-job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_of_configuration_modes_end_commands_too() {
    let quirks = Quirks {
        split_writes: true,
        ..Quirks::default()
    };
    let lab = lab(quirks).await;
    for (group, (commands, platforms)) in grouped(&covered(), config_walk).into_iter().enumerate() {
        let run_name = format!("modes{group}");
        let results = run(&lab, &run_name, &only(&platforms), None, &commands).await;
        assert_eq!(results.len(), 2 * platforms.len(), "{platforms:?}");
        for (name, record) in &results {
            assert_eq!(record["ok"], true, "{name}: {record}");
            let device = lab
                .fleet
                .devices()
                .iter()
                .find(|d| &d.name == name)
                .unwrap();
            let expected = session_outputs(device.platform, quirks, name, SEED, &commands);
            for (command, expected) in commands.iter().zip(&expected) {
                assert_eq!(
                    &collected(&lab, &run_name, record, command),
                    expected,
                    "{name} ({}): {command} differs",
                    device.platform
                );
            }
        }
    }
    lab.fleet.shutdown().await;
}

/// The `host` group of each new profile's prompt patterns captures the device's name alone,
/// whatever mode or view the prompt shows: the worker ends a command only at a prompt whose
/// `host` equals the name learned from the first prompt. Names with `-` are the hard case
/// for views named `name-view`.
#[test]
fn prompt_patterns_capture_the_device_name_alone() {
    use fanout_common::platform::{PlatformRegistry, line_pattern};
    let registry = PlatformRegistry::builtin();
    for (platform, line, host) in [
        ("cisco_asa", "fw-1>", "fw-1"),
        ("cisco_asa", "fw-1(config-if)#", "fw-1"),
        ("cisco_asa", "fw-1/pri/act#", "fw-1/pri/act"),
        ("paloalto_panos", "admin@PA-VM> ", "admin@PA-VM"),
        ("paloalto_panos", "admin@PA-VM(active)# ", "admin@PA-VM"),
        ("fortinet", "FGT-1 # ", "FGT-1"),
        ("fortinet", "FGT-1 (port 1) # ", "FGT-1"),
        ("fortinet", "FGT-1 $ ", "FGT-1"),
        ("huawei_vrp", "<core-sw-01>", "core-sw-01"),
        ("huawei_vrp", "[core-sw-01]", "core-sw-01"),
        ("huawei_vrp", "[~core-sw-01]", "core-sw-01"),
        ("huawei_vrp", "[core-sw-01-Vlanif10]", "core-sw-01"),
        (
            "huawei_vrp",
            "[core-sw-01-GigabitEthernet0/0/1]",
            "core-sw-01",
        ),
        (
            "huawei_vrp",
            "[core-sw-01-ospf-1-area-0.0.0.0]",
            "core-sw-01",
        ),
        ("huawei_vrp", "[core-sw-01-ui-vty0-4]", "core-sw-01"),
        ("huawei_vrp", "HRP_M<fw-1>", "fw-1"),
        ("hp_comware", "<core-sw-01>", "core-sw-01"),
        ("hp_comware", "[core-sw-01]", "core-sw-01"),
        ("hp_comware", "[core-sw-01-Vlan-interface10]", "core-sw-01"),
        (
            "hp_comware",
            "[core-sw-01-Ten-GigabitEthernet1/0/49]",
            "core-sw-01",
        ),
        ("hp_comware", "[core-sw-01-line-vty0-63]", "core-sw-01"),
        (
            "hp_comware",
            "[core-sw-01-luser-manage-admin]",
            "core-sw-01",
        ),
        ("hp_comware", "RBM_P<fw-1>", "fw-1"),
        ("mikrotik_routeros", "[admin@MikroTik] > ", "admin@MikroTik"),
        (
            "mikrotik_routeros",
            "[admin@My Router] /ip address> ",
            "admin@My Router",
        ),
        ("dell_os10", "leaf-1(conf-if-eth1/1/1)#", "leaf-1"),
        ("dell_os6", "leaf-1(config-if-Gi1/0/1)#", "leaf-1"),
        ("dell_os6", "leaf-1>", "leaf-1"),
        ("brocade_fastiron", "SSH@leaf-1>", "leaf-1"),
        (
            "brocade_fastiron",
            "SSH@leaf-1(config-if-e1000-1/1/1)#",
            "leaf-1",
        ),
        (
            "brocade_fastiron",
            "SSH@ICX7150-48P Router#",
            "ICX7150-48P Router",
        ),
        ("hp_procurve", "HP-2530-24G(eth-1)# ", "HP-2530-24G"),
    ] {
        let profile = &registry.get(platform).expect(platform).profile;
        let prompts = profile.prompt.as_ref().expect("a shell profile");
        let captured = [&prompts.user, &prompts.privileged]
            .into_iter()
            .find_map(|p| {
                let pattern = line_pattern(p).unwrap();
                let captures = pattern.captures(line.as_bytes())?;
                Some(String::from_utf8(captures.name("host")?.as_bytes().to_vec()).unwrap())
            });
        assert_eq!(captured.as_deref(), Some(host), "{platform}: {line:?}");
    }
}
