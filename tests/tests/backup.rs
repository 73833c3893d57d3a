//! `fanout backup` against a simulated fleet through real worker processes, checked with the
//! real `git` CLI: only devices whose normalised configuration changed are committed, moving
//! stamps and secrets never reach the history, a failed device keeps its file, a second run is
//! refused while one holds the repository, and a killed run leaves a repository `git fsck`
//! accepts that the next run completes.

#[path = "../../monitor/tests/support/mod.rs"]
mod support;

use fanout_devsim::{FleetConfig, running_config};
use fanout_tests::coordinator::{Coordinator, serve_args};
use fanout_tests::{Finished, Lab, RunningFanout, edit_inventory, fanout, json_lines};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

const SEED: u64 = 15;
const DEADLINE: Duration = Duration::from_secs(120);

async fn lab(count: usize, latency: Duration) -> Lab {
    Lab::start(FleetConfig {
        count,
        port: 0,
        latency,
        seed: SEED,
        ..FleetConfig::default()
    })
    .await
}

fn backup_args(lab: &Lab, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "backup".to_string(),
        "-i".into(),
        lab.inventory_arg(),
        "--repo".into(),
        lab.path("repo"),
        "--known-hosts".into(),
        lab.path("known_hosts"),
        "--connect-rate".into(),
        "0".into(),
        "--workers".into(),
        "2".into(),
        "--author".into(),
        "Backup Test <backup@example.net>".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

async fn backup(lab: &Lab, extra: &[&str]) -> Finished {
    let args = backup_args(lab, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fanout(&args, DEADLINE).await
}

async fn read(lab: &Lab, args: &[&str]) -> Finished {
    let repo = lab.path("repo");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--repo", repo.as_str()]);
    fanout(&all, DEADLINE).await
}

/// The real git CLI on the repository; its stdout, the test failing if git does.
fn git(lab: &Lab, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(lab.path("repo"))
        .args(args)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            fanout_tests::cannot_run(&format!("the git CLI cannot run: {e}"));
            panic!("git is needed to check the repository");
        }
    };
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn report(run: &Finished) -> serde_json::Value {
    let lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 1, "one report line: {}", run.stdout);
    lines.into_iter().next().unwrap()
}

fn hosts(list: &serde_json::Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["host"].as_str().unwrap().to_string())
        .collect()
}

/// The secrets devsim's configurations hold: enable and user hashes, the SNMP community.
fn secrets_of(name: &str) -> Vec<String> {
    let config = running_config(name, SEED);
    let mut secrets: Vec<String> = config
        .lines()
        .filter(|l| l.contains(" secret 5 "))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    assert!(secrets.len() >= 2, "devsim's config has hashes: {config}");
    secrets.push("devsim-ro".into());
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_commit_exactly_the_devices_whose_configuration_changed() {
    let lab = lab(300, Duration::ZERO).await;
    let churn = lab.fleet.dynamics().churn();
    // Stamps move on every showing: churn that must not count.
    churn.set_moving_stamps(true);

    let first = backup(&lab, &["--format", "json"]).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let first = report(&first);
    assert_eq!(first["changed"].as_array().unwrap().len(), 300);
    assert_eq!(first["summary"], "300 changed, 0 unchanged, 0 failed");

    // Churn that must count: 5% of the devices change their configuration.
    let changed: BTreeSet<String> = churn
        .step(5.0, 3)
        .into_iter()
        .map(|i| lab.fleet.devices()[i].name.clone())
        .collect();
    assert_eq!(changed.len(), 15);

    let second = backup(&lab, &["--format", "json"]).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let second = report(&second);
    assert_eq!(hosts(&second["changed"]), changed);
    assert_eq!(second["summary"], "15 changed, 285 unchanged, 0 failed");
    for change in second["changed"].as_array().unwrap() {
        assert_eq!(
            (change["added"].as_u64(), change["removed"].as_u64()),
            (Some(1), Some(0))
        );
    }
    // The commit touches the changed devices' files and nothing else.
    let touched: BTreeSet<String> = git(&lab, &["diff", "--name-only", "HEAD~1", "HEAD"])
        .lines()
        .map(|path| {
            let file = path.rsplit('/').next().unwrap();
            file.trim_end_matches(".cfg").to_string()
        })
        .collect();
    assert_eq!(touched, changed);
    let log = git(&lab, &["log", "--format=%an <%ae>|%s"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "Backup Test <backup@example.net>|backup: 15 changed, 285 unchanged, 0 failed",
            "Backup Test <backup@example.net>|backup: 300 changed, 0 unchanged, 0 failed",
        ]
    );
    git(&lab, &["fsck", "--strict"]);

    // Nothing volatile and no secret anywhere in the history.
    let history = git(&lab, &["log", "-p", "--all"]);
    for volatile in [
        "NVRAM config last updated",
        "Last configuration change",
        "ntp clock-period",
        "Current configuration",
        "Building configuration",
    ] {
        assert!(
            !history.contains(volatile),
            "{volatile} reached the repository"
        );
    }
    for device in ["r00001", "r00150", "r00300"] {
        for secret in secrets_of(device) {
            assert!(
                !history.contains(&secret),
                "a secret of {device} reached the repository"
            );
        }
    }
    assert!(history.contains("enable secret 5 <removed>"));

    // diff and history of a changed device and of an unchanged one.
    let device = changed.iter().next().unwrap().clone();
    let diff = read(&lab, &["diff", &device]).await;
    assert_eq!(diff.code, Some(0), "{}", diff.stderr);
    let added: Vec<&str> = diff
        .stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        added,
        ["+ip host devsim-change-1 10.255.0.1"],
        "{}",
        diff.stdout
    );
    assert!(
        !diff
            .stdout
            .lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---"))
    );
    let diff = read(&lab, &["diff", &device, "HEAD~1", "--format", "json"]).await;
    let diff = report(&diff);
    assert_eq!(
        (diff["added"].as_u64(), diff["removed"].as_u64()),
        (Some(1), Some(0))
    );

    let history = read(&lab, &["history", &device, "--format", "json"]).await;
    let history = report(&history);
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{history}");
    assert_eq!(
        entries[0]["summary"],
        "backup: 15 changed, 285 unchanged, 0 failed"
    );
    assert_eq!(entries[0]["added"], 1);
    let unchanged = (1..=300)
        .map(|i| format!("r{i:05}"))
        .find(|name| !changed.contains(name))
        .unwrap();
    let history = read(&lab, &["history", &unchanged]).await;
    assert_eq!(history.stdout.lines().count(), 1, "{}", history.stdout);
    assert!(history.stdout.contains("300 changed"), "{}", history.stdout);
    let unknown = read(&lab, &["history", "no-such-device"]).await;
    assert_eq!(unknown.code, Some(2));
    assert!(
        unknown.stderr.contains("no host \"no-such-device\""),
        "{}",
        unknown.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_device_keeps_its_last_good_file_and_is_listed() {
    let lab = lab(4, Duration::ZERO).await;
    let first = backup(&lab, &[]).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let path = git(&lab, &["ls-files"])
        .lines()
        .find(|p| p.ends_with("/r00002.cfg"))
        .expect("r00002 backed up")
        .to_string();
    let before = git(&lab, &["show", &format!("HEAD:{path}")]);
    assert!(before.contains("hostname r00002"));

    // r00002 stops answering (its port now refuses); the others change meanwhile.
    let closed = fanout_tests::closed_port();
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["r00002"]["port"] = closed.into();
    });
    // Every configuration changes, through devsim's control API as a script would.
    let control = lab
        .fleet
        .serve_control("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (status, body) =
        fanout_tests::http(control, "POST", "/churn", r#"{"percent": 100, "seed": 1}"#).await;
    assert_eq!(status, 200, "{body}");
    let churned: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(churned["changed"].as_array().unwrap().len(), 4, "{body}");
    // Every notice goes to a program that keeps it.
    let notices = lab.dir.path().join("notices.jsonl");
    let script = lab.dir.path().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat >> '{}'\n", notices.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = script.to_string_lossy().into_owned();
    let webhook = support::Receiver::start(0).await;
    let url = webhook.url();
    // And a real SMTP server process, when aiosmtpd is installed (always under CI).
    let smtp = support::SmtpServer::start();
    let smtp_at = smtp.as_ref().map(|s| format!("127.0.0.1:{}", s.port));
    let mut notify = vec!["--notify-exec", &script, "--notify-webhook", &url];
    if let Some(at) = &smtp_at {
        notify.extend([
            "--notify-email",
            "noc@example.net",
            "--smtp",
            at,
            "--smtp-from",
            "fanout@example.net",
            "--smtp-plaintext",
        ]);
    }
    let second = backup(&lab, &notify).await;
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert!(
        second.stdout.contains("failed   r00002  refused"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains(&format!("(kept {path})")),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("3 changed, 0 unchanged, 1 failed"),
        "{}",
        second.stdout
    );
    assert_eq!(git(&lab, &["show", &format!("HEAD:{path}")]), before);
    let failed: serde_json::Value =
        serde_json::from_str(&git(&lab, &["show", "HEAD:failed.json"])).unwrap();
    assert_eq!(failed[0]["host"], "r00002");
    assert_eq!(failed[0]["kind"], "refused");
    assert_eq!(failed[0]["kept"], path.as_str());
    // One notice per changed device with its diff, one for the failed device, no secret.
    let text = std::fs::read_to_string(&notices).unwrap();
    let notices = json_lines(&text);
    let summaries: Vec<&str> = notices
        .iter()
        .map(|n| n["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries.len(), 4, "{text}");
    for (notice, device) in summaries.iter().zip(["r00001", "r00003", "r00004"]) {
        assert!(
            notice.starts_with(&format!(
                "{device}: configuration changed (+1 -0) in backup "
            )),
            "{notice}"
        );
        assert!(
            notice.contains("\n+ip host devsim-change-1 10.255.0.1\n"),
            "{notice}"
        );
    }
    assert!(
        summaries[3].starts_with("r00002: backup failed (refused)"),
        "{}",
        summaries[3]
    );
    // The webhook got the same notices, Slack-shaped.
    let bodies = webhook.bodies();
    let texts: Vec<&str> = bodies.iter().map(|b| b["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 4, "{bodies:?}");
    assert!(
        texts[0].starts_with("ALERT: r00001: configuration changed (+1 -0)"),
        "{}",
        texts[0]
    );
    assert!(
        texts[3].starts_with("ALERT: r00002: backup failed"),
        "{}",
        texts[3]
    );
    let all = serde_json::to_string(&bodies).unwrap();
    for device in ["r00001", "r00003"] {
        for secret in secrets_of(device) {
            assert!(!text.contains(&secret), "a secret of {device} was notified");
            assert!(!all.contains(&secret), "a secret of {device} was posted");
        }
    }
    // One mail for the run: the counts as subject, every device's notice and diff in the
    // body, no secret.
    if let Some(smtp) = &smtp {
        // Headers unfolded, as a mail reader shows them.
        let mails: Vec<String> = smtp
            .messages()
            .iter()
            .map(|m| {
                let m = m.replace("\r\n", "\n");
                let (head, body) = m.split_once("\n\n").unwrap_or((&m, ""));
                let head = head.replace("\n ", " ").replace("\n\t", " ");
                format!("{head}\n\n{body}")
            })
            .collect();
        assert_eq!(mails.len(), 1, "{mails:?}");
        let mail = &mails[0];
        assert!(
            mail.lines()
                .any(|l| l.starts_with("Subject: [fanout] ALERT: backup ")
                    && l.ends_with(": 3 changed, 1 failed")),
            "{mail}"
        );
        for device in ["r00001", "r00003", "r00004"] {
            assert!(
                mail.contains(&format!(
                    "{device}: configuration changed (+1 -0) in backup "
                )),
                "{mail}"
            );
        }
        assert!(mail.contains("r00002: backup failed (refused)"), "{mail}");
        assert!(
            mail.contains("\n+ip host devsim-change-1 10.255.0.1\n"),
            "{mail}"
        );
        assert!(mail.contains("To: noc@example.net"), "{mail}");
        for device in ["r00001", "r00003", "r00004"] {
            for secret in secrets_of(device) {
                assert!(!mail.contains(&secret), "a secret of {device} was mailed");
            }
        }
    }
    // --push sends the branch to a remote the user added.
    let remote = lab.path("remote.git");
    let init = Command::new("git")
        .args(["init", "--bare", "-q", &remote])
        .status()
        .unwrap();
    assert!(init.success());
    git(&lab, &["remote", "add", "origin", &remote]);
    let pushed = backup(&lab, &["--push", "origin"]).await;
    assert_eq!(
        pushed.code,
        Some(1),
        "r00002 still fails: {}",
        pushed.stderr
    );
    assert!(!pushed.stderr.contains("not pushed"), "{}", pushed.stderr);
    let remote_head = Command::new("git")
        .args(["-C", &remote, "rev-parse", "refs/heads/main"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&remote_head.stdout),
        git(&lab, &["rev-parse", "HEAD"])
    );
    let unknown = backup(&lab, &["--push", "no-such-remote"]).await;
    assert!(
        unknown.stderr.contains("committed but not pushed"),
        "{}",
        unknown.stderr
    );
    // The work tree shows the same.
    let on_disk = std::fs::read_to_string(lab.dir.path().join("repo").join(&path)).unwrap();
    assert_eq!(on_disk, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_is_refused_and_a_killed_run_leaves_a_repository_the_next_completes() {
    let lab = lab(300, Duration::from_millis(40)).await;
    let first = backup(&lab, &[]).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let head = git(&lab, &["rev-parse", "HEAD"]);
    let changed = lab.fleet.dynamics().churn().step(10.0, 9);

    let args = backup_args(&lab, &["--concurrency", "20"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let running = RunningFanout::start(&args);
    // Once it has workers it holds the lock: a second run is refused before contacting anyone.
    assert!(
        fanout_tests::wait_until(Duration::from_secs(20), || !running.workers().is_empty()).await
    );
    let refused = backup(&lab, &[]).await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("another fanout backup is running on this repository"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("pid "), "{}", refused.stderr);

    // Killed mid-run: the branch stays where it was and git accepts the repository.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let workers = running.workers();
    running.signal(nix::sys::signal::Signal::SIGKILL);
    let killed = running.finish(DEADLINE).await;
    assert_eq!(killed.code, None, "killed by a signal");
    for pid in workers {
        fanout_tests::wait_until(Duration::from_secs(10), || {
            !fanout_tests::process_alive(pid)
        })
        .await;
    }
    git(&lab, &["fsck", "--strict"]);
    assert_eq!(git(&lab, &["rev-parse", "HEAD"]), head);

    let next = backup(&lab, &["--format", "json"]).await;
    assert_eq!(next.code, Some(0), "{}", next.stderr);
    assert_eq!(
        report(&next)["changed"].as_array().unwrap().len(),
        changed.len()
    );
    git(&lab, &["fsck", "--strict"]);
    assert_eq!(
        git(&lab, &["status", "--porcelain"]),
        "",
        "the work tree is the commit"
    );
}

/// `fanout serve` with a worker process attached and scheduled backups every two seconds,
/// plus a `fanout backup --coordinator` through the same coordinator into another repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_scheduled_backups_on_its_workers_with_history_and_metrics() {
    use fanout_tests::daemon::address_in;
    const BOOT: Duration = Duration::from_secs(30);
    let lab = lab(20, Duration::ZERO).await;
    let churn = lab.fleet.dynamics().churn();
    churn.set_moving_stamps(true);
    let known_hosts = lab.path("known_hosts");
    let mut coordinator = Coordinator::start(
        lab.dir.path(),
        &[
            "--state-dir",
            &lab.path("state"),
            "--metrics-listen",
            "127.0.0.1:0",
            "--backup-repo",
            &lab.path("repo"),
            "--backup-inventory",
            &lab.inventory_arg(),
            "--backup-every",
            "2s",
            "--backup-known-hosts",
            &known_hosts,
            "--author",
            "Backup Test <backup@example.net>",
        ],
    )
    .await;
    let serve = &coordinator.serve;
    let metrics: std::net::SocketAddr = address_in(&serve.wait_for_line("metrics on", BOOT).await)
        .parse()
        .unwrap();
    coordinator.add_worker(&["--worker-id", "w-backup", "--concurrency", "8"]);
    let serve = &coordinator.serve;

    // The first run backs up every device on the attached worker.
    serve
        .wait_for_line("20 changed, 0 unchanged, 0 failed", BOOT)
        .await;
    // Stamps moved in between, and runs keep coming: none commits anything.
    serve
        .wait_for_line("0 changed, 20 unchanged, 0 failed", BOOT)
        .await;
    let changed: BTreeSet<String> = churn
        .step(10.0, 4)
        .into_iter()
        .map(|i| lab.fleet.devices()[i].name.clone())
        .collect();
    assert_eq!(changed.len(), 2);
    // While that run's numbers are the last, /metrics shows them.
    let page = {
        let until = std::time::Instant::now() + BOOT;
        loop {
            let (status, page) = fanout_tests::http(metrics, "GET", "/metrics", "").await;
            assert_eq!(status, 200);
            if page.contains("fanout_backup_last_devices{outcome=\"changed\"} 2\n") {
                break page;
            }
            assert!(
                std::time::Instant::now() < until,
                "no run committed the churn: {page}\n{}",
                serve.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(
        page.contains("fanout_backup_last_devices{outcome=\"unchanged\"} 18\n"),
        "{page}"
    );
    assert!(
        page.contains("fanout_backup_last_devices{outcome=\"failed\"} 0\n"),
        "{page}"
    );
    let stamp = page
        .lines()
        .find_map(|l| l.strip_prefix("fanout_backup_last_success_timestamp "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("a success timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(stamp) < 60, "{stamp} vs {now}");
    // Two commits: everything, then exactly the churned devices.
    let log = git(&lab, &["log", "--format=%s"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "backup: 2 changed, 18 unchanged, 0 failed",
            "backup: 20 changed, 0 unchanged, 0 failed",
        ],
        "{}",
        serve.output()
    );
    let touched: BTreeSet<String> = git(&lab, &["diff", "--name-only", "HEAD~1", "HEAD"])
        .lines()
        .map(|p| {
            p.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".cfg")
                .to_string()
        })
        .collect();
    assert_eq!(touched, changed);
    // Masked and stamp-free here too, in every commit.
    let history = git(&lab, &["log", "-p", "--all"]);
    for device in ["r00001", "r00020"] {
        for secret in secrets_of(device) {
            assert!(
                !history.contains(&secret),
                "a secret of {device} was committed"
            );
        }
    }
    assert!(!history.contains("Last configuration change"));

    // A device that stops answering is counted as failed, run after run.
    let closed = fanout_tests::closed_port();
    edit_inventory(&lab.inventory, |doc| {
        doc["hosts"]["r00005"]["port"] = closed.into();
    });
    serve
        .wait_for_line("0 changed, 19 unchanged, 1 failed", BOOT)
        .await;
    let (_, page) = fanout_tests::http(metrics, "GET", "/metrics", "").await;
    assert!(
        page.contains("fanout_backup_last_devices{outcome=\"failed\"} 1\n"),
        "{page}"
    );
    assert!(
        page.contains("fanout_backup_runs_total{result=\"ok\"} "),
        "{page}"
    );
    let failed: serde_json::Value =
        serde_json::from_str(&git(&lab, &["show", "HEAD:failed.json"])).unwrap();
    assert_eq!(failed[0]["host"], "r00005");

    // The runs are jobs of the coordinator like any other: listed, and each one replayable.
    let client = coordinator.client_args();
    let mut list = vec!["jobs", "--json"];
    list.extend_from_slice(&client);
    let listed = fanout(&list, DEADLINE).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let jobs: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let backups: Vec<&serde_json::Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "backup")
        .collect();
    assert!(backups.len() >= 4, "{jobs}");
    assert_eq!(backups[0]["submitted_by"], "schedule (every 2s)", "{jobs}");
    assert_eq!(backups[0]["hosts"], 20, "{jobs}");
    let first = backups[0]["job_id"].as_str().unwrap();
    let mut watch = vec!["watch", first, "--format", "json"];
    watch.extend_from_slice(&client);
    let replayed = fanout(&watch, DEADLINE).await;
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr);
    let records = json_lines(&replayed.stdout);
    assert_eq!(fanout_tests::distinct_hosts(&records).len(), 20);
    // What a watcher is given of a backup is the configuration masked, not dropped.
    let replayed_text = &replayed.stdout;
    assert!(replayed_text.contains("<removed>"), "{replayed_text}");
    assert!(replayed_text.contains("hostname r00001"), "{replayed_text}");

    // `fanout backup --coordinator` runs through the same workers into a repository of its own.
    let other = lab.path("repo-remote");
    let mut args = vec![
        "backup",
        "-i",
        lab.inventory.to_str().unwrap(),
        "--repo",
        other.as_str(),
        "--known-hosts",
        known_hosts.as_str(),
        "--format",
        "json",
    ];
    args.extend_from_slice(&client);
    // Secrets kept are never handed to the coordinator, whose state directory would keep them.
    let mut keeping = args.clone();
    keeping.push("--keep-secrets");
    let refused = fanout(&keeping, DEADLINE).await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("--keep-secrets cannot run through --coordinator"),
        "{}",
        refused.stderr
    );
    let remote = fanout(&args, DEADLINE).await;
    assert_eq!(remote.code, Some(1), "r00005 fails: {}", remote.stderr);
    let remote = report(&remote);
    assert_eq!(remote["summary"], "19 changed, 0 unchanged, 1 failed");
    let stored = std::fs::read_dir(std::path::Path::new(&other))
        .unwrap()
        .count();
    assert!(stored >= 3, "files of the remote backup: {stored}");

    // The coordinator kept every job's records, scheduled and submitted: no secret of any
    // device is in its state directory, in any file.
    let secrets: Vec<String> = lab
        .fleet
        .devices()
        .iter()
        .flat_map(|d| secrets_of(&d.name))
        .collect();
    let mut files = 0;
    let mut dirs = vec![std::path::PathBuf::from(lab.path("state"))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            for secret in &secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} holds the secret {secret}",
                    path.display()
                );
            }
        }
    }
    assert!(files >= 4, "the state directory holds {files} files");
}

/// `--backup-cron` is checked at start and runs on its own schedule; a bad pattern stops the
/// coordinator before it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_checks_its_backup_schedule_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let inventory = write("hosts.yaml", "hosts: {}\n");
    let repo = dir.path().join("repo").to_string_lossy().into_owned();
    let serve = |schedule: &[&str]| {
        let scheduled = ["--backup-repo", &repo, "--backup-inventory", &inventory];
        serve_args(dir.path(), &[&scheduled[..], schedule].concat())
    };
    for (schedule, says) in [
        (
            &["--backup-cron", "61 * * * *"][..],
            "--backup-cron \"61 * * * *\"",
        ),
        (&[][..], "--backup-every or --backup-cron"),
        (
            &["--backup-every", "1h", "--keep-secrets"][..],
            "--keep-secrets is not taken by scheduled backups",
        ),
    ] {
        let args = serve(schedule);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let refused = fanout(&args, DEADLINE).await;
        assert_eq!(refused.code, Some(2), "{}", refused.stderr);
        assert!(refused.stderr.contains(says), "{}", refused.stderr);
    }
    let args = serve(&["--backup-cron", "0 * * * *"]);
    let mut command = tokio::process::Command::new(fanout_tests::binary("fanout"));
    command.args(&args);
    let serve = fanout_tests::daemon::Daemon::spawn("fanout serve", command);
    let line = serve
        .wait_for_line("backing up into", Duration::from_secs(30))
        .await;
    assert!(line.contains("cron 0 * * * * (next at "), "{line}");
}

/// A coordinator killed in the middle of a scheduled backup leaves a repository `git fsck`
/// accepts at its last commit; started again, it cancels the job it left behind (which would
/// otherwise resume with no one to commit it) and its next run commits the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_killed_mid_backup_leaves_a_sound_repository_and_the_next_run_completes() {
    use fanout_tests::daemon::Daemon;
    const BOOT: Duration = Duration::from_secs(60);
    let lab = lab(60, Duration::from_millis(150)).await;
    let token = lab.path("token");
    std::fs::write(&token, format!("{}\n", "c1".repeat(32))).unwrap();
    let worker_token = lab.path("worker-token");
    std::fs::write(&worker_token, format!("{}\n", "a7".repeat(32))).unwrap();
    let listen = format!("127.0.0.1:{}", fanout_tests::closed_port());
    let url = format!("http://{listen}");
    let start = || {
        let mut command = tokio::process::Command::new(fanout_tests::binary("fanout"));
        command
            .args(["serve", "--listen", &listen, "--token-file", &token])
            .args(["--worker-token-file", &worker_token])
            .args(["--state-dir", &lab.path("state")])
            .args(["--backup-repo", &lab.path("repo")])
            .args(["--backup-inventory", &lab.inventory_arg()])
            .args(["--backup-every", "1s"])
            .args(["--backup-known-hosts", &lab.path("known_hosts")])
            .env("FANOUT_LOG", "info");
        Daemon::spawn("fanout serve", command)
    };
    let mut serve = start();
    serve.wait_for_line("serving on", BOOT).await;
    let mut command = tokio::process::Command::new(fanout_tests::binary("fanout-worker"));
    command
        .args(["--coordinator", &url, "--token-file", &worker_token])
        .args(["--worker-id", "w-kill", "--concurrency", "4"]);
    let _worker = Daemon::spawn("worker", command);
    serve
        .wait_for_line("60 changed, 0 unchanged, 0 failed", BOOT)
        .await;
    let head = git(&lab, &["rev-parse", "HEAD"]);
    let changed = lab.fleet.dynamics().churn().step(10.0, 7);
    assert_eq!(changed.len(), 6);
    // The next run has started and has results in: killed there.
    let until = std::time::Instant::now() + BOOT;
    while serve.output().matches("scheduled backup started").count() < 2 {
        assert!(std::time::Instant::now() < until, "{}", serve.output());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !serve.output().contains("6 changed, 54 unchanged"),
        "the run ended before it was killed: {}",
        serve.output()
    );
    serve.kill().await;
    git(&lab, &["fsck", "--strict"]);
    assert_eq!(git(&lab, &["rev-parse", "HEAD"]), head);

    let serve = start();
    serve
        .wait_for_line("cancelling a scheduled backup left by an earlier run", BOOT)
        .await;
    serve
        .wait_for_line("6 changed, 54 unchanged, 0 failed", BOOT)
        .await;
    git(&lab, &["fsck", "--strict"]);
    assert_eq!(git(&lab, &["status", "--porcelain"]), "");
    let client = [
        "--coordinator",
        url.as_str(),
        "--token-file",
        token.as_str(),
    ];
    let mut list = vec!["jobs", "--json"];
    list.extend_from_slice(&client);
    let listed = fanout(&list, DEADLINE).await;
    let jobs: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let states: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["state"].as_str().unwrap_or("?"))
        .collect();
    assert!(states.contains(&"cancelled"), "{jobs}");
}

/// `--backup-cron` through to the repository: a pattern with croner's optional seconds field
/// fires every two seconds, and the runs come at those times on the attached worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_backups_at_the_times_of_a_cron_pattern() {
    const BOOT: Duration = Duration::from_secs(30);
    let lab = lab(3, Duration::ZERO).await;
    let mut coordinator = Coordinator::start(
        lab.dir.path(),
        &[
            "--backup-repo",
            &lab.path("repo"),
            "--backup-inventory",
            &lab.inventory_arg(),
            "--backup-cron",
            "*/2 * * * * *",
            "--backup-known-hosts",
            &lab.path("known_hosts"),
        ],
    )
    .await;
    coordinator.add_worker(&["--worker-id", "w-cron", "--concurrency", "8"]);
    let serve = &coordinator.serve;
    serve
        .wait_for_line("3 changed, 0 unchanged, 0 failed", BOOT)
        .await;
    serve
        .wait_for_line("0 changed, 3 unchanged, 0 failed", BOOT)
        .await;
    assert_eq!(git(&lab, &["rev-list", "--count", "HEAD"]), "1\n");
}

/// Scheduled backups take `fanout backup`'s execution flags as `--backup-<flag>`: with
/// `--backup-host-key-policy strict` and an empty known_hosts, every device is refused by the
/// workers and nothing is pinned (`fanout backup`'s default, accept-new, would have backed them
/// up). A bad value or a flag without --backup-repo stops the coordinator at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_take_the_execution_flags_of_fanout_backup() {
    const BOOT: Duration = Duration::from_secs(30);
    let lab = lab(3, Duration::ZERO).await;
    let known_hosts = lab.path("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    let repo = lab.path("repo");
    let scheduled = [
        "--backup-repo",
        &repo,
        "--backup-inventory",
        lab.inventory.to_str().unwrap(),
        "--backup-every",
        "1h",
        "--backup-known-hosts",
        &known_hosts,
    ];

    for (extra, says) in [
        (&["--backup-retries", "2"][..], "--backup-repo"),
        (
            &[&scheduled[..], &["--backup-connect-timeout", "0s"]].concat()[..],
            "--backup-connect-timeout",
        ),
        (
            &[&scheduled[..], &["--backup-host-key-policy", "maybe"]].concat()[..],
            "--backup-host-key-policy",
        ),
    ] {
        let args = serve_args(lab.dir.path(), extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let refused = fanout(&args, DEADLINE).await;
        assert_eq!(refused.code, Some(2), "{}", refused.all_output());
        assert!(refused.stderr.contains(says), "{}", refused.stderr);
    }

    let extra = [
        &scheduled[..],
        &[
            "--backup-host-key-policy",
            "strict",
            "--backup-retries",
            "1",
            "--backup-retry-backoff",
            "10ms",
            "--backup-connect-timeout",
            "5s",
        ],
    ]
    .concat();
    let mut coordinator = Coordinator::start(lab.dir.path(), &extra).await;
    coordinator.add_worker(&["--worker-id", "w-strict", "--concurrency", "4"]);
    let serve = &coordinator.serve;
    serve
        .wait_for_line("0 changed, 0 unchanged, 3 failed", BOOT)
        .await;
    let failed: serde_json::Value =
        serde_json::from_str(&git(&lab, &["show", "HEAD:failed.json"])).unwrap();
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 3, "{failed:?}");
    for device in failed {
        let text = device.to_string();
        assert!(text.contains("known_hosts"), "{text}");
    }
    assert_eq!(
        std::fs::read_to_string(&known_hosts).unwrap(),
        "",
        "strict pins nothing"
    );
}
