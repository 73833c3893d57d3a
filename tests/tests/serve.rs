//! `fanout serve` on loopback with real worker processes and clients: jobs over TLS with a
//! token report exactly like local runs, labels pin hosts to workers, strangers are refused and
//! so are clients posing as workers (and workers as clients), a killed coordinator resumes its
//! job from the state directory, a cancelled job stops, a finished job keeps no credentials on
//! disk, and retention forgets old jobs.

use fanout_devsim::{DriftConfig, FleetConfig};
use fanout_tests::daemon::{Daemon, address_in};
use fanout_tests::{Lab, binary, distinct_hosts, fanout, json_lines};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const SEED: u64 = 11;
const PASSWORD: &str = "pw-Serve-4711-secret";
const BOOT: Duration = Duration::from_secs(20);
const RULES: &str = r#"rules:
  - name: default route
    command: show ip route
    expect: { matches: '^S\*\s+0\.0\.0\.0/0' }
  - name: no telnet
    command: show running-config
    expect: { not_matches: 'transport input .*telnet' }
"#;

/// `fanout certs` into `dir`: a CA, a certificate for 127.0.0.1/localhost, the client and
/// worker tokens, and a client certificate for each of `clients`.
async fn certs(dir: &Path, clients: &[&str]) {
    let mut args = vec![
        "certs",
        "--dir",
        dir.to_str().unwrap(),
        "--name",
        "localhost",
        "--ip",
        "127.0.0.1",
    ];
    for client in clients {
        args.extend(["--client", client]);
    }
    let made = fanout(&args, Duration::from_secs(30)).await;
    assert_eq!(made.code, Some(0), "fanout certs failed:\n{}", made.stderr);
}

fn serve(args: &[&str]) -> Daemon {
    let mut command = tokio::process::Command::new(binary("fanout"));
    command.arg("serve").args(args).env("FANOUT_LOG", "info");
    Daemon::spawn("fanout serve", command)
}

fn worker(name: &str, args: &[&str]) -> Daemon {
    let mut command = tokio::process::Command::new(binary("fanout-worker"));
    command
        .args(args)
        .args(["--worker-id", name, "--concurrency", "8"])
        .env("FANOUT_LOG", "info");
    Daemon::spawn(name, command)
}

/// Waits until the coordinator lists `n` workers.
async fn wait_for_workers(serve: &Daemon, client: &[&str], n: usize) {
    let until = tokio::time::Instant::now() + BOOT;
    loop {
        let mut args = vec!["workers", "--json"];
        args.extend_from_slice(client);
        let listed = fanout(&args, Duration::from_secs(20)).await;
        if listed.code == Some(0) {
            let workers: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
            if workers.as_array().unwrap().len() == n {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < until,
            "{n} workers never attached; coordinator said:\n{}",
            serve.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_jobs_over_tls_report_like_local_runs_and_strangers_are_refused() {
    let lab = Lab::start(FleetConfig {
        count: 60,
        port: 0,
        latency: Duration::from_millis(20),
        seed: SEED,
        password: PASSWORD.into(),
        drift: Some(DriftConfig {
            percent: 30.0,
            seed: 5,
        }),
        ..FleetConfig::default()
    })
    .await;
    let pki = lab.dir.path().join("pki");
    certs(&pki, &[]).await;
    let file = |name: &str| pki.join(name).to_string_lossy().into_owned();
    let (ca, token, worker_token) = (file("ca.pem"), file("token"), file("worker-token"));
    let (cert, key) = (file("coordinator.pem"), file("coordinator-key.pem"));
    let state = lab.path("state");
    let serve = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--token-file",
        &token,
        "--worker-token-file",
        &worker_token,
        "--state-dir",
        &state,
        "--metrics-listen",
        "127.0.0.1:0",
        "--placement-wait",
        "2s",
    ]);
    let url = format!(
        "https://{}",
        address_in(&serve.wait_for_line("serving on https://", BOOT).await)
    );
    let metrics: std::net::SocketAddr = address_in(&serve.wait_for_line("metrics on", BOOT).await)
        .parse()
        .unwrap();
    let client = [
        "--coordinator",
        &url,
        "--token-file",
        &token,
        "--ca-cert",
        &ca,
    ];
    let mut worker_access = client.to_vec();
    worker_access[3] = &worker_token;
    let mut ams_args = worker_access.clone();
    ams_args.extend(["--labels", "site=ams"]);
    let mut fra_args = worker_access.clone();
    fra_args.extend(["--labels", "site=fra"]);
    let _ams = worker("w-ams", &ams_args);
    let _fra = worker("w-fra", &fra_args);
    wait_for_workers(&serve, &client, 2).await;

    // A worker with the wrong token gets a refusal and nothing else, and is not listed; so
    // does one holding the clients' token: a client cannot attach and receive others' jobs.
    let wrong = lab.dir.path().join("wrong-token");
    std::fs::write(&wrong, format!("{}\n", "0f".repeat(32))).unwrap();
    for (name, token) in [
        ("w-stranger", wrong.to_str().unwrap()),
        ("w-client", &token),
    ] {
        let mut stranger_args = client.to_vec();
        stranger_args[3] = token;
        let mut stranger = worker(name, &stranger_args);
        assert_eq!(stranger.exit_code(Duration::from_secs(20)).await, Some(1));
        let said = stranger.output();
        assert!(
            said.contains("refused") && said.contains("worker token"),
            "{said}"
        );
        assert!(!serve.output().contains(name), "{}", serve.output());
    }
    // Clients alike, and the workers' token is no client's: it cannot list, submit or watch.
    for (token, says) in [
        (wrong.to_str().unwrap(), "token"),
        (&worker_token, "worker token"),
    ] {
        let refused = fanout(
            &[
                "jobs",
                "--coordinator",
                &url,
                "--token-file",
                token,
                "--ca-cert",
                &ca,
            ],
            Duration::from_secs(20),
        )
        .await;
        assert_eq!(refused.code, Some(2), "{}", refused.stderr);
        assert!(refused.stderr.contains(says), "{}", refused.stderr);
    }
    // A client that does not trust the coordinator's CA stops at TLS.
    let untrusting = fanout(
        &["jobs", "--coordinator", &url, "--token-file", &token],
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(untrusting.code, Some(2), "{}", untrusting.stderr);
    assert!(
        untrusting.stderr.to_lowercase().contains("certificate"),
        "{}",
        untrusting.stderr
    );

    // The job through the coordinator.
    let remote_out = lab.path("remote-out");
    let mut args = vec![
        "run",
        "-i",
        lab.inventory.to_str().unwrap(),
        "-c",
        "show running-config",
        "-c",
        "show version",
        "--known-hosts",
    ];
    let known_hosts = lab.path("known_hosts");
    args.push(&known_hosts);
    args.extend(["--format", "json", "--output", &remote_out]);
    let mut remote_args = args.clone();
    remote_args.extend_from_slice(&client);
    let remote = fanout(&remote_args, Duration::from_secs(120)).await;
    // Hosts of sites no worker serves (lon, nyc, sin) fail as no_worker: exit 1, like any
    // failed host in a local run.
    assert_eq!(remote.code, Some(1), "{}", remote.stderr);
    let records = json_lines(&remote.stdout);
    let hosts = distinct_hosts(&records);
    assert_eq!(
        (records.len(), hosts.len()),
        (60, 60),
        "one result per host"
    );
    let site_of: BTreeMap<String, &str> = lab
        .fleet
        .devices()
        .iter()
        .map(|d| (d.name.clone(), d.site))
        .collect();
    let address_of: BTreeMap<String, String> = lab
        .fleet
        .devices()
        .iter()
        .map(|d| (d.name.clone(), d.address.to_string()))
        .collect();
    let mut ran = 0;
    for record in &records {
        let host = record["host"].as_str().unwrap();
        let worker = record["worker"]["id"].as_str().unwrap();
        // Where the host is comes from the coordinator's copy of the job, not the worker.
        assert_eq!(record["hostname"], address_of[host].as_str(), "{record}");
        assert_eq!(record["platform"], "cisco_ios", "{record}");
        match site_of[host] {
            "ams" | "fra" => {
                assert_eq!(record["ok"], true, "{record}");
                assert_eq!(
                    worker,
                    format!("w-{}", site_of[host]),
                    "{host} ran elsewhere"
                );
                ran += 1;
            }
            site => {
                assert_eq!(record["failure"]["kind"], "no_worker", "{record}");
                let message = record["failure"]["message"].as_str().unwrap();
                assert!(message.contains(&format!("site={site}")), "{message}");
            }
        }
    }
    assert!(ran > 0 && ran < 60, "ran {ran}");

    // The same job run locally gives byte-identical files for every host that ran remotely.
    let local_out = lab.path("local-out");
    let mut local_args = args.clone();
    let last = local_args.len() - 1;
    local_args[last] = &local_out;
    local_args.extend(["--workers", "2"]);
    let local = fanout(&local_args, Duration::from_secs(120)).await;
    assert_eq!(local.code, Some(0), "{}", local.stderr);
    for record in records.iter().filter(|r| r["ok"] == true) {
        let host = record["host"].as_str().unwrap();
        for file in ["show_running-config.txt", "show_version.txt"] {
            let remote_file = std::fs::read(Path::new(&remote_out).join(host).join(file)).unwrap();
            let local_file = std::fs::read(Path::new(&local_out).join(host).join(file)).unwrap();
            assert_eq!(remote_file, local_file, "{host}/{file}");
        }
    }
    let jsonl = std::fs::read_to_string(Path::new(&remote_out).join("results.jsonl")).unwrap();
    assert_eq!(json_lines(&jsonl).len(), 60);

    // What the coordinator publishes.
    let (status, page) = fanout_tests::http(metrics, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(page.contains("fanout_hosts_done_total 60\n"), "{page}");
    assert!(page.contains("fanout_workers_attached 2\n"), "{page}");
    assert!(
        page.contains(&format!(
            "fanout_hosts_failed_total{{kind=\"no_worker\"}} {}\n",
            60 - ran
        )),
        "{page}"
    );
    assert!(
        page.contains("fanout_jobs{state=\"finished\"} 1\n"),
        "{page}"
    );
    assert_eq!(
        fanout_tests::http(metrics, "GET", "/healthz", "").await.0,
        200
    );
    // The gRPC port answers the standard health check, without a token (for probes).
    let health_target = fanout_common::channel::Remote {
        url: url.clone(),
        ca_cert: Some(ca.clone().into()),
        ..Default::default()
    };
    let channel = fanout_common::channel::connect(&health_target)
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in ["fanout.v1.Coordinator", "fanout.v1.Jobs"] {
        let request = tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        };
        let answer = health.check(request).await.unwrap().into_inner();
        assert_eq!(
            answer.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service}"
        );
    }

    // Validation through the coordinator: the same report and exit code as a local validation.
    let rules = lab.path("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let validate = [
        "validate",
        "-i",
        lab.inventory.to_str().unwrap(),
        "-r",
        &rules,
        "--filter",
        "site=ams",
        "--format",
        "json",
        "--known-hosts",
        &known_hosts,
    ];
    let report = |run: &fanout_tests::Finished| {
        let mut report: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
        report["summary"]["wall_seconds"] = serde_json::Value::Null;
        report
    };
    let remote_check = fanout(
        &[&validate[..], &client[..]].concat(),
        Duration::from_secs(120),
    )
    .await;
    let local_check = fanout(
        &[&validate[..], &["--workers", "2"][..]].concat(),
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(
        remote_check.code, local_check.code,
        "{}",
        remote_check.stderr
    );
    assert_eq!(report(&remote_check), report(&local_check));
    let drifted = lab
        .fleet
        .devices()
        .iter()
        .enumerate()
        .any(|(i, d)| d.site == "ams" && !lab.fleet.drift_of(i).is_empty());
    assert_eq!(remote_check.code, Some(if drifted { 1 } else { 0 }));

    // The password travelled to the workers but shows up nowhere a person reads.
    for text in [remote.all_output(), serve.output(), jsonl] {
        assert!(!text.contains(PASSWORD));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_resumes_its_job_and_a_cancelled_job_stops() {
    let lab = Lab::start(FleetConfig {
        count: 40,
        port: 0,
        latency: Duration::from_millis(300),
        seed: SEED,
        ..FleetConfig::default()
    })
    .await;
    let (token, worker_token) = tokens(&lab);
    let state = lab.path("state");
    let listen = format!("127.0.0.1:{}", fanout_tests::closed_port());
    let serve_args = [
        "--listen",
        listen.as_str(),
        "--token-file",
        &token,
        "--worker-token-file",
        &worker_token,
        "--state-dir",
        &state,
        "--lease-timeout",
        "3s",
    ];
    let mut first = serve(&serve_args);
    first.wait_for_line("serving on", BOOT).await;
    let url = format!("http://{listen}");
    let client = ["--coordinator", url.as_str(), "--token-file", &token];
    let attach = ["--coordinator", url.as_str(), "--token-file", &worker_token];
    let _a = worker("w-a", &attach);
    let _b = worker("w-b", &attach);
    wait_for_workers(&first, &client, 2).await;

    let known_hosts = lab.path("known_hosts");
    let mut submit = vec![
        "run",
        "-i",
        lab.inventory.to_str().unwrap(),
        "-c",
        "show version",
        "-c",
        "show ip route",
        "-c",
        "show vlan brief",
        "--known-hosts",
        &known_hosts,
        "--detach",
    ];
    submit.extend_from_slice(&client);
    let submitted = fanout(&submit, Duration::from_secs(30)).await;
    assert_eq!(submitted.code, Some(0), "{}", submitted.stderr);
    let job = submitted.stdout.trim().to_string();

    // Kill the coordinator once half the hosts are done: more than can be in flight (2 workers
    // x 8 sessions), so a resume that re-ran finished hosts could not hide among the reruns of
    // interrupted ones.
    let done_before = wait_for_done(&client, &job, 20).await;
    first.kill().await;
    let mut second = serve(&serve_args);
    second.wait_for_line("serving on", BOOT).await;
    assert!(
        second
            .wait_for_line("resuming job", BOOT)
            .await
            .contains(&job),
        "{}",
        second.output()
    );

    // The workers come back by themselves; the watcher sees the whole job, each host once.
    let out = lab.path("out");
    let mut watch = vec!["watch", job.as_str(), "--format", "json", "--output", &out];
    watch.extend_from_slice(&client);
    let watched = fanout(&watch, Duration::from_secs(120)).await;
    assert_eq!(
        watched.code,
        Some(0),
        "{}\ncoordinator:\n{}",
        watched.stderr,
        second.output()
    );
    let records = json_lines(&watched.stdout);
    let hosts = distinct_hosts(&records);
    assert_eq!(
        (records.len(), hosts.len()),
        (40, 40),
        "watch said:\n{}\ncoordinator:\n{}",
        watched.stderr,
        second.output()
    );
    // Hosts done before the restart were not run again: every device was logged into once,
    // plus at most the hosts that were in flight when the coordinator died.
    let logins = lab.fleet.connections_accepted();
    assert!(
        logins < 40 + done_before as u64,
        "{logins} logins for 40 hosts, {done_before} of them done before the restart"
    );

    // A second job, cancelled while it runs: it ends cancelled with its unfinished hosts
    // listed, and the workers drop its sessions.
    let first_job = job;
    let submitted = fanout(&submit, Duration::from_secs(30)).await;
    let job = submitted.stdout.trim().to_string();
    wait_for_done(&client, &job, 1).await;
    let mut cancel = vec!["cancel", job.as_str()];
    cancel.extend_from_slice(&client);
    let cancelled = fanout(&cancel, Duration::from_secs(30)).await;
    assert_eq!(cancelled.code, Some(0), "{}", cancelled.stderr);
    assert!(
        cancelled.stdout.contains("cancelled"),
        "{}",
        cancelled.stdout
    );
    let status = job_status(&client, &job).await;
    assert_eq!(status["state"], "cancelled");
    let unfinished = status["unfinished"].as_array().unwrap().len() as u64;
    assert_eq!(
        status["done"].as_u64().unwrap() + unfinished,
        40,
        "{status}"
    );
    assert!(unfinished > 0, "{status}");
    let idle = async {
        loop {
            let mut args = vec!["workers", "--json"];
            args.extend_from_slice(&client);
            let listed = fanout(&args, Duration::from_secs(20)).await;
            let workers: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
            if workers
                .as_array()
                .unwrap()
                .iter()
                .all(|w| w["in_flight"] == 0)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), idle)
        .await
        .expect("the workers dropped the cancelled job's sessions");

    // After another restart both jobs are known as they ended, with their results.
    second.kill().await;
    let third = serve(&serve_args);
    third.wait_for_line("serving on", BOOT).await;
    let first_status = job_status(&client, &first_job).await;
    assert_eq!(
        (&first_status["state"], &first_status["done"]),
        (&serde_json::json!("finished"), &serde_json::json!(40)),
        "{first_status}"
    );
    assert_eq!(job_status(&client, &job).await["state"], "cancelled");
    let mut replay = vec!["watch", first_job.as_str(), "--format", "json"];
    replay.extend_from_slice(&client);
    let replayed = fanout(&replay, Duration::from_secs(30)).await;
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr);
    assert_eq!(json_lines(&replayed.stdout).len(), 40);
}

/// A client token and a worker token on loopback (`fanout certs` makes them off it).
fn tokens(lab: &Lab) -> (String, String) {
    let token = lab.path("token");
    std::fs::write(&token, format!("{}\n", "c1".repeat(32))).unwrap();
    let worker_token = lab.path("worker-token");
    std::fs::write(&worker_token, format!("{}\n", "a7".repeat(32))).unwrap();
    (token, worker_token)
}

async fn job_status(client: &[&str], job: &str) -> serde_json::Value {
    let mut args = vec!["jobs", "--json"];
    args.extend_from_slice(client);
    let listed = fanout(&args, Duration::from_secs(20)).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let jobs: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    jobs.as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_id"] == job)
        .cloned()
        .unwrap_or_else(|| panic!("job {job} not listed: {jobs}"))
}

/// Waits until the job has at least `n` results; returns how many it had.
async fn wait_for_done(client: &[&str], job: &str, n: u64) -> u64 {
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = job_status(client, job).await["done"].as_u64().unwrap();
        if done >= n {
            return done;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "job {job} stuck at {done}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mutual_tls_clients_need_no_token_and_workers_still_need_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    certs(&pki, &["w1", "ops"]).await;
    let file = |name: &str| pki.join(name).to_string_lossy().into_owned();
    let (ca, worker_token) = (file("ca.pem"), file("worker-token"));
    let serve = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &file("coordinator.pem"),
        "--tls-key",
        &file("coordinator-key.pem"),
        "--client-ca",
        &ca,
        "--worker-token-file",
        &worker_token,
    ]);
    let url = format!(
        "https://{}",
        address_in(&serve.wait_for_line("serving on https://", BOOT).await)
    );
    let (w1_cert, w1_key) = (file("client-w1.pem"), file("client-w1-key.pem"));
    let _w1 = worker(
        "w-certified",
        &[
            "--coordinator",
            &url,
            "--ca-cert",
            &ca,
            "--client-cert",
            &w1_cert,
            "--client-key",
            &w1_key,
            "--token-file",
            &worker_token,
        ],
    );
    let (ops_cert, ops_key) = (file("client-ops.pem"), file("client-ops-key.pem"));
    let ops = [
        "--coordinator",
        url.as_str(),
        "--ca-cert",
        &ca,
        "--client-cert",
        &ops_cert,
        "--client-key",
        &ops_key,
    ];
    wait_for_workers(&serve, &ops, 1).await;

    // A certificate makes a client, not a worker: without the worker token it cannot attach.
    let mut posing = worker("w-posing", &ops);
    assert_eq!(posing.exit_code(Duration::from_secs(20)).await, Some(1));
    assert!(posing.output().contains("refused"), "{}", posing.output());

    // Without a certificate the TLS handshake itself fails: nothing of fanout's is reached.
    // (A worker keeps trying: in TLS 1.3 the refusal can look like any dropped connection.)
    let mut anonymous = worker("w-anonymous", &["--coordinator", &url, "--ca-cert", &ca]);
    anonymous
        .wait_for_line("give --client-cert", Duration::from_secs(30))
        .await;
    anonymous.kill().await;
    let client = fanout(
        &["workers", "--coordinator", &url, "--ca-cert", &ca],
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(client.code, Some(2), "{}", client.stderr);
    assert!(
        !serve.output().contains("w-anonymous"),
        "{}",
        serve.output()
    );
}

/// Files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_are_short_shared_or_missing_stop_everything_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{text}\n")).unwrap();
        path.to_string_lossy().into_owned()
    };
    let short = write("short", "0123456789abcdef0123456789abcde");
    let client = write("client", &"c1".repeat(32));
    let worker_token = write("worker", &"a7".repeat(32));
    let serve_with = |extra: &[&str]| {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    for (extra, says) in [
        (
            vec!["--token-file", &short, "--worker-token-file", &worker_token],
            "--token-file: the token has 31 characters",
        ),
        (
            vec!["--token-file", &client, "--worker-token-file", &short],
            "--worker-token-file: the token has 31 characters",
        ),
        (
            vec!["--token-file", &client, "--worker-token-file", &client],
            "hold the same token",
        ),
        (vec!["--token-file", &client], "--worker-token-file"),
    ] {
        let args = serve_with(&extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let refused = fanout(&args, Duration::from_secs(20)).await;
        assert_eq!(refused.code, Some(2), "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(says),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(refused.stderr.contains("128 bits") || !says.contains("31"));
        assert!(
            !refused.stderr.contains("0123456789abcdef"),
            "never the token"
        );
    }

    // A worker and a client refuse a short token before connecting anywhere.
    let url = format!("http://127.0.0.1:{}", fanout_tests::closed_port());
    let worker = tokio::process::Command::new(binary("fanout-worker"))
        .args(["--coordinator", &url, "--token-file", &short])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&worker.stderr);
    assert_eq!(worker.status.code(), Some(2), "{said}");
    assert!(said.contains("128 bits"), "{said}");
    let jobs = fanout(
        &["jobs", "--coordinator", &url, "--token-file", &short],
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(jobs.code, Some(2), "{}", jobs.stderr);
    assert!(jobs.stderr.contains("128 bits"), "{}", jobs.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_keeps_no_credentials_on_disk_and_retention_forgets_old_jobs() {
    let lab = Lab::start(FleetConfig {
        count: 6,
        port: 0,
        seed: SEED,
        password: PASSWORD.into(),
        ..FleetConfig::default()
    })
    .await;
    let (token, worker_token) = tokens(&lab);
    let state = lab.path("state");
    let serve = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        &token,
        "--worker-token-file",
        &worker_token,
        "--state-dir",
        &state,
        "--metrics-listen",
        "127.0.0.1:0",
        "--keep-jobs",
        "2",
    ]);
    let url = format!(
        "http://{}",
        address_in(&serve.wait_for_line("serving on http://", BOOT).await)
    );
    let metrics: std::net::SocketAddr = address_in(&serve.wait_for_line("metrics on", BOOT).await)
        .parse()
        .unwrap();
    let client = ["--coordinator", url.as_str(), "--token-file", &token];
    let _w = worker(
        "w-1",
        &["--coordinator", url.as_str(), "--token-file", &worker_token],
    );
    wait_for_workers(&serve, &client, 1).await;

    let known_hosts = lab.path("known_hosts");
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let mut run = vec![
            "run",
            "-i",
            lab.inventory.to_str().unwrap(),
            "-c",
            "show version",
            "--known-hosts",
            &known_hosts,
            "--format",
            "json",
        ];
        run.extend_from_slice(&client);
        let ran = fanout(&run, Duration::from_secs(60)).await;
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert_eq!(json_lines(&ran.stdout).len(), 6);
        // The job is over: the passwords it carried are gone from the state directory.
        let leaked = files_containing(Path::new(&state), PASSWORD);
        assert!(leaked.is_empty(), "credentials left on disk: {leaked:?}");
        let mut list = vec!["jobs", "--json"];
        list.extend_from_slice(&client);
        let listed = fanout(&list, Duration::from_secs(20)).await;
        let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
        let newest = listed.as_array().unwrap().last().unwrap();
        jobs.push(newest["job_id"].as_str().unwrap().to_string());
    }

    // --keep-jobs 2: the oldest is forgotten, in memory and on disk.
    let on_disk: std::collections::BTreeSet<String> =
        std::fs::read_dir(Path::new(&state).join("jobs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    assert_eq!(
        on_disk,
        jobs[1..].iter().cloned().collect(),
        "{}",
        serve.output()
    );
    let mut list = vec!["jobs", "--json"];
    list.extend_from_slice(&client);
    let listed = fanout(&list, Duration::from_secs(20)).await;
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [jobs[1].as_str(), jobs[2].as_str()]);
    let mut gone = vec!["watch", jobs[0].as_str()];
    gone.extend_from_slice(&client);
    assert_eq!(fanout(&gone, Duration::from_secs(20)).await.code, Some(2));
    // A kept job replays from disk; the counters still count the forgotten one.
    let mut replay = vec!["watch", jobs[1].as_str(), "--format", "json"];
    replay.extend_from_slice(&client);
    let replayed = fanout(&replay, Duration::from_secs(30)).await;
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr);
    let records = json_lines(&replayed.stdout);
    assert_eq!(distinct_hosts(&records).len(), 6);
    assert!(records.iter().all(|r| r["ok"] == true));
    let (_, page) = fanout_tests::http(metrics, "GET", "/metrics", "").await;
    assert!(page.contains("fanout_hosts_done_total 18\n"), "{page}");
    assert!(
        page.contains("fanout_jobs{state=\"finished\"} 2\n"),
        "{page}"
    );
}
