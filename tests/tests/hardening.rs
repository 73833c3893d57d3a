//! What an adversarial pass found (issue 18), kept fixed: a remote run accounts for every host
//! however it ends, and device text reaches a person's terminal only with its control
//! characters escaped.

use fanout_devsim::FleetConfig;
use fanout_tests::coordinator::Coordinator;
use fanout_tests::daemon::Daemon;
use fanout_tests::{Lab, binary, json_lines, results_so_far, send_signal};
use nix::sys::signal::Signal;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(20);

/// A coordinator on a free loopback port with one worker of few sessions attached, so a job of
/// 40 hosts at 300 ms per command runs long enough to be interrupted at any moment.
struct Cluster {
    coordinator: Coordinator,
    client: Vec<String>,
}

impl Cluster {
    async fn start(lab: &Lab) -> Self {
        Self::start_with_worker(lab, &["--worker-id", "w-1"]).await
    }

    /// Like [`Self::start`], the worker started with `worker_args` (its id, labels).
    async fn start_with_worker(lab: &Lab, worker_args: &[&str]) -> Self {
        let mut coordinator = Coordinator::start(lab.dir.path(), &[]).await;
        coordinator.add_worker(&[worker_args, &["--concurrency", "4"]].concat());
        coordinator
            .serve
            .wait_for_line("worker attached", BOOT)
            .await;
        let client = coordinator.client_args().map(String::from).to_vec();
        Self {
            coordinator,
            client,
        }
    }

    /// `fanout run --coordinator ...` of two commands on every host, JSON lines on stdout and
    /// the results under `out`; `wrapper` runs before it (`timeout 4s`).
    fn run(&self, lab: &Lab, out: &str, wrapper: &[&str]) -> Daemon {
        let (program, wrapper_args) = match wrapper.split_first() {
            Some((program, rest)) => (program.to_string(), rest.to_vec()),
            None => (binary("fanout").to_string_lossy().into_owned(), Vec::new()),
        };
        let mut command = tokio::process::Command::new(program);
        command.args(wrapper_args);
        if !wrapper.is_empty() {
            command.arg(binary("fanout"));
        }
        command
            .args(["run", "-i", &lab.inventory_arg()])
            .args(["-c", "show version", "-c", "show ip route"])
            .args(["--known-hosts", &lab.path("known_hosts")])
            .args(["--format", "json", "--output", out])
            .args(&self.client);
        Daemon::spawn("fanout run", command)
    }
}

/// Every host of the fleet, by name.
fn fleet_names(lab: &Lab) -> BTreeSet<String> {
    lab.fleet.devices().iter().map(|d| d.name.clone()).collect()
}

/// Checks that a finished remote run listed each host exactly once, with a result or as
/// never ran, and said so in its summary and exit code.
async fn assert_every_host_accounted(run: &mut Daemon, lab: &Lab, out: &str, moment: &str) {
    let code = run.exit_code(Duration::from_secs(60)).await;
    let output = run.output();
    let (json, said): (Vec<&str>, Vec<&str>) = output.lines().partition(|l| l.starts_with('{'));
    let records = json_lines(&json.join("\n"));
    // What the assertions show: everything but the records' outputs.
    let said = said.join("\n");
    let ran: BTreeSet<String> = records
        .iter()
        .map(|r| r["host"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ran.len(), records.len(), "{moment}: a host twice:\n{said}");
    let never_ran: BTreeSet<String> = said
        .lines()
        .filter(|l| l.contains(" not_run ") && l.ends_with("never ran"))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let all = fleet_names(lab);
    assert!(
        ran.is_disjoint(&never_ran),
        "{moment}: listed both ways:\n{said}"
    );
    let listed: BTreeSet<String> = ran.union(&never_ran).cloned().collect();
    assert_eq!(listed, all, "{moment}: not every host listed:\n{said}");
    assert!(
        said.contains(&format!("hosts      {} total", all.len())),
        "{moment}: summary:\n{said}"
    );
    let stored = results_so_far(&Path::new(out).join("results.jsonl"));
    assert_eq!(stored.len(), ran.len(), "{moment}: results.jsonl:\n{said}");
    let expected = if never_ran.is_empty() && records.iter().all(|r| r["ok"] == true) {
        0
    } else {
        1
    };
    assert_eq!(code, Some(expected), "{moment}:\n{said}");
    assert!(
        !never_ran.is_empty(),
        "{moment}: nothing was cut short?\n{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_remote_run_lists_every_host_however_it_ends() {
    let lab = Lab::start(FleetConfig {
        count: 40,
        latency: Duration::from_millis(300),
        ..FleetConfig::default()
    })
    .await;
    let cluster = Cluster::start(&lab).await;

    // SIGINT and SIGTERM together, the moment the job is submitted: nothing has a result yet.
    let out = lab.path("out-at-once");
    let mut run = cluster.run(&lab, &out, &[]);
    run.wait_for_line("submitted", BOOT).await;
    let pid = run.pid().unwrap();
    send_signal(pid, Signal::SIGINT);
    send_signal(pid, Signal::SIGTERM);
    assert_every_host_accounted(&mut run, &lab, &out, "both signals at once").await;

    // Both signals once some hosts are done.
    let out = lab.path("out-midway");
    let mut run = cluster.run(&lab, &out, &[]);
    wait_for_results(&out, 3).await;
    let pid = run.pid().unwrap();
    send_signal(pid, Signal::SIGINT);
    send_signal(pid, Signal::SIGTERM);
    assert_every_host_accounted(&mut run, &lab, &out, "both signals midway").await;

    // One SIGTERM to the whole process group, as `timeout` sends it (`--preserve-status`: the
    // exit code is fanout's).
    let out = lab.path("out-timeout");
    let mut run = cluster.run(&lab, &out, &["timeout", "--preserve-status", "4s"]);
    assert_every_host_accounted(&mut run, &lab, &out, "timeout 4s").await;

    // The coordinator dies mid-job; the client, interrupted while it waits for it to come
    // back, still lists every host.
    let out = lab.path("out-lost");
    let mut run = cluster.run(&lab, &out, &[]);
    wait_for_results(&out, 3).await;
    let mut serve = cluster.coordinator.serve;
    serve.kill().await;
    run.wait_for_line("lost the coordinator", BOOT).await;
    send_signal(run.pid().unwrap(), Signal::SIGINT);
    assert_every_host_accounted(&mut run, &lab, &out, "coordinator gone").await;
}

async fn wait_for_results(out: &str, at_least: usize) {
    let path = Path::new(out).join("results.jsonl");
    let arrived = fanout_tests::wait_until(Duration::from_secs(60), || {
        results_so_far(&path).len() >= at_least
    })
    .await;
    assert!(
        arrived,
        "fewer than {at_least} results in {}",
        path.display()
    );
}

/// What a hostile device answers: clear the screen, write the clipboard (OSC 52), make the
/// terminal type its cursor position into our input, and overwrite a line with a lone `\r`.
const HOSTILE_BODY: &str =
    "Interfaces\x1b[2J\x1b]52;c;cmVsb2FkIGlu\x07\x1b[6n\nall good\rFAILED nothing\n\u{9b}31mred\n";

/// A one-route HTTP server on loopback that answers every request with [`HOSTILE_BODY`].
async fn hostile_device() -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{HOSTILE_BODY}",
                    HOSTILE_BODY.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

/// Bytes a terminal would act on: C0 controls but line breaks and tabs, DEL, C1 controls.
fn terminal_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_text_and_host_names_reach_the_terminal_escaped() {
    let device = hostile_device().await;
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.yaml");
    // A host whose name is an escape sequence too, on a port where nothing answers.
    let closed = fanout_tests::closed_port();
    std::fs::write(
        &inventory,
        format!(
            "hosts:\n  hostile:\n    hostname: 127.0.0.1\n    platform: linux\n    \
             data: {{ http_port: {device}, http_scheme: http }}\n  \
             \"evil\\e]0;pwned\\a\\r\":\n    hostname: 127.0.0.1\n    platform: linux\n    \
             data: {{ http_port: {closed}, http_scheme: http }}\n"
        ),
    )
    .unwrap();
    let run = fanout_tests::fanout(
        &[
            "run",
            "-i",
            inventory.to_str().unwrap(),
            "--http",
            "GET:/status",
            "--http-auth",
            "none",
            "--workers",
            "1",
        ],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        terminal_controls(&run.all_output()),
        Vec::<char>::new(),
        "raw control characters reached the terminal:\n{:?}",
        run.all_output()
    );
    // Shown, escaped, where a person can read them.
    for shown in [
        "Interfaces\\x1b[2J\\x1b]52;c;cmVsb2FkIGlu\\x07\\x1b[6n\n",
        "all good\\rFAILED nothing\n",
        "\\u{9b}31mred",
        "evil\\x1b]0;pwned\\x07\\r",
    ] {
        assert!(run.stdout.contains(shown), "{shown:?} in:\n{}", run.stdout);
    }

    let listed = fanout_tests::fanout(
        &["inventory", "-i", inventory.to_str().unwrap()],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(terminal_controls(&listed.all_output()), Vec::<char>::new());
    assert!(
        listed.stdout.contains("evil\\x1b]0;pwned\\x07\\r"),
        "{}",
        listed.stdout
    );
}

/// What remote workers and clients tell the coordinator about themselves (a worker's id and
/// labels, a submitter's name) is listed by `fanout workers` and `fanout jobs` escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_and_jobs_are_listed_escaped() {
    let lab = Lab::start(FleetConfig {
        count: 2,
        ..FleetConfig::default()
    })
    .await;
    let cluster = Cluster::start_with_worker(
        &lab,
        &[
            "--worker-id",
            "w\x1b[2J",
            "--labels",
            "site=ams\x1b]52;c;eA==\x07",
        ],
    )
    .await;
    let client: Vec<&str> = cluster.client.iter().map(String::as_str).collect();
    let mut submit = vec![
        "run",
        "-i",
        lab.inventory.to_str().unwrap(),
        "-c",
        "show version",
        "--detach",
    ];
    submit.extend_from_slice(&client);
    let submitted =
        fanout_tests::RunningFanout::start_with_env(&submit, &[("USER", "eve\r\x1b[6n")])
            .finish(Duration::from_secs(30))
            .await;
    assert_eq!(submitted.code, Some(0), "{}", submitted.stderr);

    let mut workers = vec!["workers"];
    workers.extend_from_slice(&client);
    let listed = fanout_tests::fanout(&workers, Duration::from_secs(30)).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(terminal_controls(&listed.all_output()), Vec::<char>::new());
    assert!(listed.stdout.contains("w\\x1b[2J"), "{}", listed.stdout);
    assert!(
        listed.stdout.contains("site=ams\\x1b]52;c;eA==\\x07"),
        "{}",
        listed.stdout
    );

    let mut jobs = vec!["jobs"];
    jobs.extend_from_slice(&client);
    let listed = fanout_tests::fanout(&jobs, Duration::from_secs(30)).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(terminal_controls(&listed.all_output()), Vec::<char>::new());
    assert!(
        listed.stdout.contains("eve\\r\\x1b[6n@"),
        "{}",
        listed.stdout
    );
}
