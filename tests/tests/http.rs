//! `fanout run --http` end to end: real worker processes, real HTTP to every simulated device,
//! real files, byte-exact against what devsim serves.

use fanout_devsim::{Fault, FleetConfig, device_interfaces_json, device_log};
use fanout_tests::{Lab, fanout, json_lines};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

const SEED: u64 = 11;
const PASSWORD: &str = "pw-Http-93kq-never-printed";

/// Every file under `dir`, concatenated, so a test can grep all of a run's output at once.
fn everything_under(dir: &Path) -> String {
    let mut all = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_devices_through_two_workers_return_every_log_byte_exact() {
    let lab = Lab::start(FleetConfig {
        count: 500,
        seed: SEED,
        password: PASSWORD.into(),
        ..FleetConfig::default()
    })
    .await;
    let out = lab.dir.path().join("out");
    let run = fanout(
        &[
            "run",
            "-i",
            &lab.inventory_arg(),
            "--http",
            "GET:/log",
            "--http",
            "GET:/restconf/data/interfaces",
            "--workers",
            "2",
            "--connect-rate",
            "0",
            "--output",
            out.to_str().unwrap(),
            "--format",
            "json",
        ],
        Duration::from_secs(180),
    )
    .await;
    assert_eq!(run.code, Some(0), "fanout failed:\n{}", run.stderr);

    let results = json_lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    let hosts: BTreeSet<&str> = results
        .iter()
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    assert_eq!(results.len(), 500, "one result per host");
    assert_eq!(hosts.len(), 500);
    assert!(results.iter().all(|r| r["ok"] == true), "a host failed");
    let workers: BTreeSet<String> = results.iter().map(|r| r["worker"].to_string()).collect();
    assert_eq!(workers.len(), 2, "both workers took hosts: {workers:?}");

    for device in lab.fleet.devices() {
        let dir = out.join(&device.name);
        let log = std::fs::read(dir.join("GET_%2Flog.txt")).unwrap();
        assert_eq!(
            log,
            device_log(&device.name, SEED).as_bytes(),
            "{} log differs from what devsim serves",
            device.name
        );
        let stored =
            std::fs::read_to_string(dir.join("GET_%2Frestconf%2Fdata%2Finterfaces.txt")).unwrap();
        let served: serde_json::Value =
            serde_json::from_str(&device_interfaces_json(&device.name, SEED)).unwrap();
        let mut pretty = serde_json::to_string_pretty(&served).unwrap();
        pretty.push('\n');
        assert_eq!(
            stored, pretty,
            "{} interfaces not stored pretty",
            device.name
        );
    }
    assert!(!run.all_output().contains(PASSWORD));
    assert!(
        !everything_under(&out).contains(PASSWORD),
        "password in an output file"
    );
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_and_wrong_statuses_are_the_right_failure_kinds() {
    let lab = Lab::start(FleetConfig {
        count: 6,
        seed: SEED,
        password: PASSWORD.into(),
        faults: HashMap::from([(1, Fault::RejectAuth), (2, Fault::Refuse)]),
        ..FleetConfig::default()
    })
    .await;
    let kinds = |run: &fanout_tests::Finished| -> HashMap<String, String> {
        json_lines(&run.stdout)
            .into_iter()
            .map(|r| {
                let kind = r["failure"]["kind"].as_str().unwrap_or("ok").to_string();
                (r["host"].as_str().unwrap().to_string(), kind)
            })
            .collect()
    };
    let run_with = |extra: &'static [&'static str], out: String| {
        let inventory = lab.inventory_arg();
        async move {
            let mut args = vec![
                "run",
                "-i",
                &inventory,
                "--workers",
                "2",
                "--format",
                "json",
            ];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--output", &out]);
            fanout(&args, Duration::from_secs(60)).await
        }
    };

    let log = run_with(&["--http", "GET:/log"], lab.path("log")).await;
    assert_eq!(log.code, Some(1), "some hosts failed:\n{}", log.stderr);
    let got = kinds(&log);
    assert_eq!(got["r00001"], "ok");
    assert_eq!(got["r00002"], "auth_failed", "401 from the device");
    assert_eq!(got["r00003"], "refused");
    assert_eq!(got["r00004"], "ok");

    let missing = run_with(&["--http", "GET:/no/such/endpoint"], lab.path("missing")).await;
    assert_eq!(missing.code, Some(1));
    let got = kinds(&missing);
    assert_eq!(
        got["r00001"], "command_error",
        "404 is an unexpected status"
    );
    assert_eq!(got["r00002"], "auth_failed");

    let expect = run_with(
        &["--http", "GET:/log", "--http-expect", "202"],
        lab.path("expect"),
    )
    .await;
    assert_eq!(
        kinds(&expect)["r00004"],
        "command_error",
        "200 is not the 202 asked for"
    );

    let anonymous = run_with(
        &["--http", "GET:/log", "--http-auth", "none"],
        lab.path("anon"),
    )
    .await;
    assert_eq!(kinds(&anonymous)["r00001"], "auth_failed");

    for run in [&log, &missing, &expect, &anonymous] {
        assert!(!run.all_output().contains(PASSWORD), "password printed");
    }
    assert!(
        !everything_under(lab.dir.path())
            .replace(
                // The inventory is the only file that may hold it.
                &std::fs::read_to_string(&lab.inventory).unwrap(),
                "",
            )
            .contains(PASSWORD)
    );
    lab.fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_mixes_with_commands_and_bad_requests_are_bad_input() {
    let lab = Lab::start(FleetConfig {
        count: 3,
        seed: SEED,
        password: PASSWORD.into(),
        ..FleetConfig::default()
    })
    .await;
    let out = lab.path("mixed");
    let known_hosts = lab.path("known_hosts");
    let inventory = lab.inventory_arg();
    let mixed = fanout(
        &[
            "run",
            "-i",
            &inventory,
            "-c",
            "show version",
            "--http",
            "GET:/log",
            "--workers",
            "1",
            "--known-hosts",
            &known_hosts,
            "--output",
            &out,
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(mixed.code, Some(0), "{}", mixed.stderr);
    let dir = Path::new(&out).join("r00002");
    assert!(dir.join("show_version.txt").is_file());
    assert_eq!(
        std::fs::read_to_string(dir.join("GET_%2Flog.txt")).unwrap(),
        device_log("r00002", SEED)
    );

    for (bad, says) in [
        (vec!["--http", "FETCH:/log"], "unknown HTTP method"),
        (
            vec!["--http", "GET:/x/{data.nope}"],
            "host r00001 has no usable data.nope",
        ),
        (
            vec!["--http", "GET:/log", "--http-body", "{nope"],
            "not JSON",
        ),
        (
            vec!["-c", "show version", "--http-insecure"],
            "need at least one --http",
        ),
        (
            vec!["--http", "GET:/log", "--http-header", "Authorization: x"],
            "inventory",
        ),
    ] {
        let mut args = vec!["run", "-i", &inventory];
        args.extend(bad.iter().copied());
        let run = fanout(&args, Duration::from_secs(30)).await;
        assert_eq!(run.code, Some(2), "{bad:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{bad:?}: {}", run.stderr);
    }
    let help = fanout(&["run", "--help"], Duration::from_secs(10)).await;
    assert!(help.stdout.contains("REST / HTTP collection") && help.stdout.contains("--http-ca"));
    lab.fleet.shutdown().await;
}
