//! fanout across machines, for real: Linux network namespaces joined by veth pairs to a bridge
//! stand in for a coordinator host, two worker hosts and a network of devices. A job runs
//! across both remote workers over TLS with a token; one worker host's cable is pulled
//! mid-job and every host still ends with exactly one result; a worker with a bad token is
//! refused. Only the test's own namespaces and their 10.77.0.0/16 addresses are used.

use fanout_tests::daemon::Daemon;
use fanout_tests::netns::{Network, unavailable};
use fanout_tests::{binary, distinct_hosts, json_lines};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

const COORDINATOR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const WORKER_A: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const WORKER_B: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const DEVICES_HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 4);
const FIRST_DEVICE: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 1);
const DEVICES: usize = 40;
const PASSWORD: &str = "pw-netns-never-shown";
const BOOT: Duration = Duration::from_secs(30);

fn run_in(net: &Network, machine: &str, program: &str, args: &[&str]) -> Daemon {
    let mut command = net.command(machine, &binary(program));
    command.args(args).env("FANOUT_LOG", "info");
    Daemon::spawn(&format!("{program}@{machine}"), command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_spans_two_remote_workers_and_survives_a_cut_link() {
    if let Some(why) = unavailable() {
        fanout_tests::cannot_run(&format!("cannot build network namespaces here: {why}"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let mut net = Network::new("scale");
    net.machine("coord", COORDINATOR);
    net.machine("wa", WORKER_A);
    net.machine("wb", WORKER_B);
    net.machine("devs", DEVICES_HOST);
    let device_addresses: Vec<Ipv4Addr> = (0..DEVICES as u32)
        .map(|i| Ipv4Addr::from(u32::from(FIRST_DEVICE) + i))
        .collect();
    net.add_addresses("devs", &device_addresses);

    // The devices: each command takes 400 ms, so the job lasts long enough to cut a link in it.
    let inventory = path("inventory.yaml");
    let devsim = run_in(
        &net,
        "devs",
        "fanout-devsim",
        &[
            "--count",
            &DEVICES.to_string(),
            "--base",
            &FIRST_DEVICE.to_string(),
            "--port",
            "2222",
            "--latency",
            "400ms",
            "--password",
            PASSWORD,
            "--inventory-out",
            &inventory,
        ],
    );
    devsim.wait_for_line("inventory written", BOOT).await;

    // The coordinator's certificate names its address; the CA and token go to the workers.
    let pki = dir.path().join("pki");
    let certs = std::process::Command::new(binary("fanout"))
        .args([
            "certs",
            "--dir",
            pki.to_str().unwrap(),
            "--name",
            "coordinator",
        ])
        .args(["--ip", &COORDINATOR.to_string()])
        .output()
        .unwrap();
    assert!(
        certs.status.success(),
        "{}",
        String::from_utf8_lossy(&certs.stderr)
    );
    let file = |name: &str| pki.join(name).to_string_lossy().into_owned();
    let (ca, token, worker_token) = (file("ca.pem"), file("token"), file("worker-token"));
    let listen = format!("{COORDINATOR}:7443");
    let serve = run_in(
        &net,
        "coord",
        "fanout",
        &[
            "serve",
            "--listen",
            &listen,
            "--tls-cert",
            &file("coordinator.pem"),
            "--tls-key",
            &file("coordinator-key.pem"),
            "--token-file",
            &token,
            "--worker-token-file",
            &worker_token,
            "--state-dir",
            &path("state"),
            "--lease-timeout",
            "3s",
        ],
    );
    serve.wait_for_line("serving on https://", BOOT).await;
    let url = format!("https://{listen}");
    let attach = [
        "--coordinator",
        url.as_str(),
        "--token-file",
        &token,
        "--ca-cert",
        &ca,
    ];
    let worker = |machine: &str, id: &str, token: &str| {
        let mut args = attach.to_vec();
        args[3] = token;
        args.extend(["--worker-id", id, "--concurrency", "6"]);
        run_in(&net, machine, "fanout-worker", &args)
    };
    let _a = worker("wa", "worker-a", &worker_token);
    let _b = worker("wb", "worker-b", &worker_token);
    serve.wait_for_line("worker-a", BOOT).await;
    serve.wait_for_line("worker-b", BOOT).await;

    // A worker with a bad token is refused and never counted among the workers.
    let bad = path("bad-token");
    std::fs::write(&bad, format!("{}\n", "0".repeat(64))).unwrap();
    let mut stranger = worker("wb", "worker-stranger", &bad);
    assert_eq!(stranger.exit_code(Duration::from_secs(30)).await, Some(1));
    assert!(
        stranger.output().contains("refused"),
        "{}",
        stranger.output()
    );
    assert!(
        !serve.output().contains("worker-stranger"),
        "{}",
        serve.output()
    );

    // The client runs on the coordinator's machine; the job spans both workers.
    let out = path("out");
    let mut client = net.command("coord", &binary("fanout"));
    client
        .args([
            "run",
            "-i",
            &inventory,
            "-c",
            "show version",
            "-c",
            "show ip route",
        ])
        .args([
            "-c",
            "show running-config",
            "--format",
            "json",
            "--output",
            &out,
        ])
        .args(["--known-hosts", &path("known_hosts")])
        .args(attach);
    let run = Daemon::spawn("fanout run", client);

    // Pull worker B's cable once a few hosts are done.
    let results = Path::new(&out).join("results.jsonl");
    let started = fanout_tests::wait_until(Duration::from_secs(60), || {
        fanout_tests::results_so_far(&results).len() >= 6
    })
    .await;
    assert!(started, "no results; coordinator said:\n{}", serve.output());
    net.cut("wb");
    let mut run = run;
    let code = run.exit_code(Duration::from_secs(120)).await;
    assert_eq!(
        code,
        Some(0),
        "run:\n{}\ncoordinator:\n{}",
        run.output(),
        serve.output()
    );

    let records = json_lines(&std::fs::read_to_string(&results).unwrap());
    let hosts = distinct_hosts(&records);
    assert_eq!(
        (records.len(), hosts.len()),
        (DEVICES, DEVICES),
        "one result per host"
    );
    assert!(records.iter().all(|r| r["ok"] == true), "{records:?}");
    let mut per_worker: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &records {
        *per_worker
            .entry(r["worker"]["id"].as_str().unwrap())
            .or_default() += 1;
    }
    assert_eq!(
        per_worker.len(),
        2,
        "both workers ran hosts: {per_worker:?}"
    );
    assert!(
        serve.output().contains("fencing its leases")
            || serve.output().contains("worker stream broke"),
        "the coordinator noticed the lost worker:\n{}",
        serve.output()
    );
    // Worker B's unfinished hosts went back to the queue and ran on worker A.
    let mut jobs = net.command("coord", &binary("fanout"));
    jobs.args(["jobs", "--json"]).args(attach);
    let listed = jobs.output().await.unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let reassigned = listed[0]["reassigned"].as_u64().unwrap();
    assert!(reassigned > 0, "{listed}");
    eprintln!("hosts per worker {per_worker:?}, {reassigned} reassigned after the cut");
    assert!(!run.output().contains(PASSWORD) && !serve.output().contains(PASSWORD));
}
