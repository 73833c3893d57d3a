//! `fanout run --parse textfsm` with the templates of the PyPI `ntc-templates` package, found
//! as Netmiko finds them (python3's installed `ntc_templates`), over the simulated fleet.

use fanout_devsim::FleetConfig;
use fanout_tests::coordinator::Coordinator;
use fanout_tests::{Lab, RunningFanout, cannot_run, fanout, json_lines};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(60);

fn ntc_templates_installed() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import ntc_templates"])
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn lab() -> Lab {
    Lab::start(FleetConfig {
        count: 3,
        port: 0,
        ..FleetConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn textfsm_records_from_pypi_ntc_templates_in_json_and_beside_the_text() {
    if !ntc_templates_installed() {
        return cannot_run("python3 has no ntc_templates (pip install ntc-templates)");
    }
    let lab = lab().await;
    let out = lab.path("out");
    // No --templates and no NET_TEXTFSM: python3's ntc_templates, as Netmiko.
    let run = RunningFanout::start_with_env(
        &[
            "run",
            "-i",
            &lab.inventory_arg(),
            "-c",
            "show version",
            "-c",
            "show ip interface brief",
            "-c",
            "show running-config",
            "--parse",
            "textfsm",
            "--format",
            "json",
            "--output",
            &out,
        ],
        &[("NET_TEXTFSM", "")],
    );
    let run = run.finish(DEADLINE).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let records = json_lines(&run.stdout);
    assert_eq!(records.len(), 3);
    for record in &records {
        let host = record["host"].as_str().unwrap();
        let commands = record["commands"].as_array().unwrap();
        let version = &commands[0]["parsed"][0];
        assert!(
            version["version"].as_str().is_some_and(|v| !v.is_empty()),
            "show version parsed with ntc-templates' keys: {version}"
        );
        assert_eq!(version["hostname"], host, "{version}");
        let interfaces = commands[1]["parsed"].as_array().expect("interfaces parsed");
        assert!(!interfaces.is_empty());
        assert!(interfaces[0]["interface"].is_string() && interfaces[0]["ip_address"].is_string());
        // ntc-templates has no template for `show running-config` on IOS: the text stays,
        // with why there are no records.
        assert!(commands[2].get("parsed").is_none());
        assert!(
            commands[2]["parse_error"]
                .as_str()
                .is_some_and(|e| e.contains("no TextFSM template")),
            "{}",
            commands[2]
        );
        // The same records beside the text file.
        let file = std::path::Path::new(&out)
            .join(host)
            .join("show_ip_interface_brief.json");
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(&saved, &commands[1]["parsed"]);
        assert!(
            std::path::Path::new(&out)
                .join(host)
                .join("show_ip_interface_brief.txt")
                .is_file()
        );
    }
}

/// A `templates` directory in the lab whose TextFSM index lists `rows`.
fn templates_with_index(lab: &Lab, rows: &str) -> std::path::PathBuf {
    let templates = lab.dir.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("index"),
        format!("Template, Hostname, Platform, Command\n\n{rows}"),
    )
    .unwrap();
    templates
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_command_without_a_template_stops_the_run_before_any_connection() {
    let lab = lab().await;
    let templates = templates_with_index(&lab, "");
    let run = RunningFanout::start(&[
        "run",
        "-i",
        &lab.inventory_arg(),
        "-c",
        "show clock",
        "--parse",
        "textfsm:show clock",
        "--templates",
        templates.to_str().unwrap(),
    ])
    .finish(DEADLINE)
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--parse textfsm:show clock: no TextFSM template for platform `cisco_ios`"),
        "{}",
        run.stderr
    );
    assert_eq!(lab.fleet.connections_accepted(), 0);

    // Nowhere to find templates: said plainly.
    let run = RunningFanout::start_with_env(
        &[
            "run",
            "-i",
            &lab.inventory_arg(),
            "-c",
            "show clock",
            "--parse",
            "textfsm",
        ],
        &[("NET_TEXTFSM", ""), ("PATH", "/nonexistent")],
    )
    .finish(DEADLINE)
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("--parse textfsm needs TextFSM templates: give --templates DIR, set NET_TEXTFSM, or install ntc-templates"),
        "{}",
        run.stderr
    );
}

/// Through a coordinator the records are made where the results arrive, by the client that
/// asked: the workers need no templates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_through_a_coordinator_are_the_same_as_from_local_workers() {
    let lab = lab().await;
    let templates = templates_with_index(
        &lab,
        "uptime.textfsm, .*, cisco_ios, sh[[ow]] ver[[sion]]\n",
    );
    std::fs::write(
        templates.join("uptime.textfsm"),
        "Value HOSTNAME (\\S+)\nValue UPTIME (.+)\n\n\
         Start\n  ^${HOSTNAME} uptime is ${UPTIME} -> Record\n",
    )
    .unwrap();
    let args = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "run",
            "-i",
            &lab.inventory_arg(),
            "-c",
            "show version",
            "--parse",
            "textfsm",
            "--templates",
            templates.to_str().unwrap(),
            "--format",
            "json",
            "--known-hosts",
            &lab.path("known_hosts"),
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let parsed_by_host = |stdout: &str| {
        json_lines(stdout)
            .into_iter()
            .map(|r| {
                let host = r["host"].as_str().unwrap().to_string();
                (host, r["commands"][0]["parsed"].clone())
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };

    let local = fanout(&as_strs(&args(&[])), DEADLINE).await;
    assert_eq!(local.code, Some(0), "{}", local.stderr);
    let local = parsed_by_host(&local.stdout);
    assert_eq!(local.len(), 3);
    for (host, parsed) in &local {
        assert_eq!(parsed[0]["hostname"], host.as_str(), "{parsed}");
        assert!(parsed[0]["uptime"].as_str().is_some_and(|u| !u.is_empty()));
    }

    let mut coordinator = Coordinator::start(lab.dir.path(), &[]).await;
    coordinator.add_worker(&["--worker-id", "w-parse"]);
    let remote = fanout(&as_strs(&args(&coordinator.client_args())), DEADLINE).await;
    assert_eq!(
        remote.code,
        Some(0),
        "{}\n{}",
        remote.stderr,
        coordinator.serve.output()
    );
    // Same hosts, same records (devsim's uptime is fixed per device).
    assert_eq!(parsed_by_host(&remote.stdout), local);

    // A detached job is never read by this client, so nothing would parse it: refused, not
    // silently dropped.
    let detached = fanout(
        &as_strs(&args(
            &[&coordinator.client_args()[..], &["--detach"]].concat(),
        )),
        DEADLINE,
    )
    .await;
    assert_eq!(detached.code, Some(2), "{}", detached.stderr);
    assert!(
        detached.stderr.contains("--parse") && detached.stderr.contains("--detach"),
        "{}",
        detached.stderr
    );
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
