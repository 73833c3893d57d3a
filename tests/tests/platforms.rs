//! Every built-in CLI profile against a devsim device with its vendor's persona, through the real
//! `fanout` binary and workers: the same commands on each, every output byte-exact to what the
//! persona prints, and each vendor's error wording turned into a `command_error`.

use fanout_devsim::{FleetConfig, Platform, Quirks, command_output, session_outputs};
use fanout_tests::{Lab, fanout, json_lines};
use std::collections::HashMap;
use std::time::Duration;

const SEED: u64 = 11;

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

/// Runs `fanout run` with `commands` on the hosts `filter` selects; returns each host's
/// result record.
async fn run(
    lab: &Lab,
    name: &str,
    filter: Option<&str>,
    commands: &[&str],
) -> HashMap<String, serde_json::Value> {
    let out = lab.path(name);
    let known_hosts = lab.path("known_hosts");
    let inventory = lab.inventory_arg();
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
    if let Some(filter) = filter {
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
    let text = std::fs::read_to_string(std::path::Path::new(&out).join("results.jsonl"))
        .unwrap_or_else(|e| panic!("no results.jsonl ({e}); stderr:\n{}", run.stderr));
    json_lines(&text)
        .into_iter()
        .map(|r| (r["host"].as_str().unwrap().to_string(), r))
        .collect()
}

fn collected(lab: &Lab, run: &str, host: &str, command: &str) -> String {
    let file = std::path::Path::new(&lab.path(run))
        .join(host)
        .join(format!("{}.txt", command.replace(' ', "_")));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendors_error_wording_is_a_command_error() {
    let lab = lab(Quirks::default()).await;
    let results = run(&lab, "bogus", None, &["show bogus-command"]).await;
    for device in lab.fleet.devices() {
        let record = &results[&device.name];
        assert_eq!(
            record["failure"]["kind"].as_str(),
            Some("command_error"),
            "{} ({}) did not fail the command: {record}",
            device.name,
            device.platform
        );
        // What the device said is kept, exactly.
        assert_eq!(
            collected(&lab, "bogus", &device.name, "show bogus-command"),
            command_output(
                device.platform,
                Quirks::default(),
                &device.name,
                SEED,
                "show bogus-command"
            ),
            "{} ({})",
            device.name,
            device.platform
        );
    }
    lab.fleet.shutdown().await;
}

/// Collects `show version` and the configuration from every persona and checks each output
/// byte for byte against what the persona printed.
async fn assert_every_output_exact(quirks: Quirks) {
    let lab = lab(quirks).await;
    let devices = lab.fleet.devices().to_vec();
    for (run_name, filter, command) in [
        ("config", "platform!=juniper_junos", "show running-config"),
        ("junos", "platform=juniper_junos", "show configuration"),
    ] {
        let commands = ["show version", command];
        let results = run(&lab, run_name, Some(filter), &commands).await;
        let selected: Vec<_> = devices
            .iter()
            .filter(|d| (d.platform == Platform::JuniperJunos) == (run_name == "junos"))
            .collect();
        assert_eq!(results.len(), selected.len(), "{filter}");
        for device in selected {
            let record = &results[&device.name];
            let (name, platform) = (&device.name, device.platform);
            assert_eq!(record["ok"], true, "{name} ({platform}): {record}");
            let expected = session_outputs(platform, quirks, name, SEED, &commands);
            assert!(expected[1].len() > 1000, "{platform}: {}", expected[1]);
            for (command, expected) in commands.iter().zip(&expected) {
                assert_eq!(
                    &collected(&lab, run_name, name, command),
                    expected,
                    "{name} ({platform}): {command} differs"
                );
            }
        }
    }
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_collects_its_personas_output_byte_for_byte() {
    assert_every_output_exact(Quirks::default()).await;
}

/// A banner full of `#` and `>`, timestamp lines, output lines that are exactly the prompt, and
/// all of it sent in pieces cut right after each `#` and `>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_stay_exact_on_devices_that_set_prompt_traps() {
    assert_every_output_exact(Quirks::ALL).await;
}

/// Configuration sub-modes change the prompt (`r1(config-if)#`, Junos `[edit]`) mid-job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_of_configuration_modes_end_commands_too() {
    let quirks = Quirks {
        split_writes: true,
        ..Quirks::default()
    };
    let lab = lab(quirks).await;
    for (run_name, filter, commands) in [
        (
            "modes",
            "platform!=juniper_junos",
            &[
                "configure terminal",
                "interface Loopback9",
                "description x",
                "end",
                "show version",
            ][..],
        ),
        (
            "junos",
            "platform=juniper_junos",
            &[
                "configure",
                "set system host-name x",
                "exit",
                "show version",
            ][..],
        ),
    ] {
        let results = run(&lab, run_name, Some(filter), commands).await;
        assert!(!results.is_empty());
        for (name, record) in &results {
            assert_eq!(record["ok"], true, "{name}: {record}");
            let device = lab
                .fleet
                .devices()
                .iter()
                .find(|d| &d.name == name)
                .unwrap();
            let expected = session_outputs(device.platform, quirks, name, SEED, commands);
            for (command, expected) in commands.iter().zip(&expected) {
                assert_eq!(
                    &collected(&lab, run_name, name, command),
                    expected,
                    "{name} ({}): {command} differs",
                    device.platform
                );
            }
        }
    }
    lab.fleet.shutdown().await;
}
