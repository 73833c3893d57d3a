//! No run loses or misfiles output: one output limit that both ends hold to (never a short or
//! empty file marked ok), one file per host and command (never shared), a write failure that
//! fails its host and not the run, a full disk that stops the run with every host accounted
//! for, and an output directory that follows no symbolic link and is never silently reused.

use fanout_devsim::{FleetConfig, running_config};
use fanout_tests::coordinator::Coordinator;
use fanout_tests::{Finished, Lab, RunningFanout, edit_inventory, fanout, json_lines};
use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SEED: u64 = 18;
const DEADLINE: Duration = Duration::from_secs(90);

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

/// `fanout run` on the lab with its scratch known_hosts, plus `extra`.
fn run_args(lab: &Lab, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "run".to_string(),
        "-i".into(),
        lab.inventory_arg(),
        "--known-hosts".into(),
        lab.path("known_hosts"),
        "--connect-rate".into(),
        "0".into(),
        "--workers".into(),
        "1".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

async fn run(lab: &Lab, extra: &[&str]) -> Finished {
    let args = run_args(lab, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fanout(&args, DEADLINE).await
}

/// Nothing was contacted: the first contact with any device pins its key in known_hosts.
fn no_device_contacted(lab: &Lab) -> bool {
    !Path::new(&lab.path("known_hosts")).exists()
}

fn records(out: &Path) -> BTreeMap<String, serde_json::Value> {
    let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    json_lines(&text)
        .into_iter()
        .map(|r| (r["host"].as_str().unwrap().to_string(), r))
        .collect()
}

fn kind(record: &serde_json::Value) -> &str {
    record["failure"]["kind"].as_str().unwrap_or("ok")
}

/// Every file below `dir`, not following links.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_limit_of_zero_or_absurd_is_bad_input() {
    let lab = lab(2, Duration::ZERO).await;
    for limit in ["0", "0KiB", "2GiB", "99999999999999999999"] {
        let out = lab.path("out");
        let done = run(
            &lab,
            &[
                "-c",
                "show version",
                "--max-output",
                limit,
                "--output",
                &out,
            ],
        )
        .await;
        assert_eq!(done.code, Some(2), "--max-output {limit}: {}", done.stderr);
        assert!(done.stderr.contains("max-output"), "{}", done.stderr);
        assert!(no_device_contacted(&lab));
    }
    let token = lab.path("token");
    std::fs::write(&token, "ab".repeat(32)).unwrap();
    let worker_token = lab.path("worker-token");
    std::fs::write(&worker_token, "ef".repeat(32)).unwrap();
    let served = fanout(
        &[
            "serve",
            "--token-file",
            &token,
            "--worker-token-file",
            &worker_token,
            "--max-output",
            "0",
        ],
        DEADLINE,
    )
    .await;
    assert_eq!(served.code, Some(2), "{}", served.stderr);
    assert!(served.stderr.contains("max-output"), "{}", served.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_past_the_limit_fails_its_host_and_leaves_no_short_file() {
    let lab = lab(3, Duration::ZERO).await;
    let out = lab.dir.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();
    let done = run(
        &lab,
        &[
            "-c",
            "show version",
            "-c",
            "show running-config",
            "--max-output",
            "4KiB",
            "--output",
            &out_arg,
        ],
    )
    .await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let recorded = records(&out);
    assert_eq!(recorded.len(), 3);
    for (host, record) in &recorded {
        assert_eq!(kind(record), "output_too_large", "{host}: {record}");
        // The output that fit is whole; the one that did not is nowhere.
        assert!(out.join(host).join("show_version.txt").is_file());
        assert!(!out.join(host).join("show_running-config.txt").exists());
    }
}

/// `serve --max-output 4KiB` used to drop every chunk above its own limit while workers ran the
/// client's 256 MiB: every config was saved empty and marked ok.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinators_output_limit_is_the_one_its_workers_enforce() {
    let lab = lab(4, Duration::ZERO).await;
    let mut coordinator = Coordinator::start(lab.dir.path(), &["--max-output", "4KiB"]).await;
    coordinator.add_worker(&["--worker-id", "w1"]);

    let out = lab.dir.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();
    let done = run(
        &lab,
        &[
            "--coordinator",
            &coordinator.url,
            "--token-file",
            &coordinator.token,
            "-c",
            "show version",
            "-c",
            "show running-config",
            "--output",
            &out_arg,
        ],
    )
    .await;
    assert_eq!(
        done.code,
        Some(1),
        "{}\n{}",
        done.stderr,
        coordinator.serve.output()
    );
    let recorded = records(&out);
    assert_eq!(recorded.len(), 4, "{}", done.stdout);
    for (host, record) in &recorded {
        assert_eq!(kind(record), "output_too_large", "{host}: {record}");
        let message = record["failure"]["message"].as_str().unwrap();
        assert!(message.contains("4096"), "{message}");
    }
    for file in files_under(&out) {
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(size > 0, "{} saved empty", file.display());
        assert!(
            !file.ends_with("show_running-config.txt"),
            "{}",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_and_commands_that_used_to_share_a_file_each_get_their_own() {
    let lab = lab(4, Duration::ZERO).await;
    let renamed = [("r00001", "a/b"), ("r00002", "a_b"), ("r00003", "a:b")];
    edit_inventory(&lab.inventory, |doc| {
        let hosts = doc["hosts"].as_mapping_mut().unwrap();
        for (from, to) in renamed {
            let host = hosts.remove(from).unwrap();
            hosts.insert(to.into(), host);
        }
    });
    let out = lab.dir.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();
    // `show_version` is no IOS command: the device's complaint is its output, in its own file.
    let done = run(
        &lab,
        &[
            "-c",
            "show version",
            "-c",
            "show_version",
            "--output",
            &out_arg,
        ],
    )
    .await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let recorded = records(&out);
    assert_eq!(recorded.len(), 4);
    for (device, (host, dir)) in ["r00001", "r00002", "r00003", "r00004"].iter().zip([
        ("a/b", "a%2Fb"),
        ("a_b", "a_b"),
        ("a:b", "a%3Ab"),
        ("r00004", "r00004"),
    ]) {
        let version = std::fs::read_to_string(out.join(dir).join("show_version.txt")).unwrap();
        assert!(
            version.contains(&format!("{device} uptime is")),
            "{host} holds another device's output:\n{version}"
        );
        let complaint = std::fs::read_to_string(out.join(dir).join("show%5Fversion.txt"));
        assert!(complaint.unwrap().contains("Invalid input"));
        let files: Vec<&str> = recorded[host]["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["file"].as_str().unwrap())
            .collect();
        assert_eq!(
            files,
            [
                format!("{dir}/show_version.txt"),
                format!("{dir}/show%5Fversion.txt")
            ]
        );
    }
    // Configurations hold secrets: nobody but the owner reads them.
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("results.jsonl")), 0o600);
    assert_eq!(mode(&out.join("a_b")), 0o700);
    assert_eq!(mode(&out.join("a_b/show_version.txt")), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_would_share_a_file_are_refused_before_any_connection() {
    let lab = lab(2, Duration::ZERO).await;
    let out = lab.path("out");
    // A trailing tab is refused earlier, as a keystroke (see command_text).
    for twice in ["show version", " show version "] {
        let done = run(&lab, &["-c", "show version", "-c", twice, "--output", &out]).await;
        assert_eq!(done.code, Some(2), "{twice:?}: {}", done.stderr);
        assert!(done.stderr.contains("show_version.txt"), "{}", done.stderr);
        assert!(no_device_contacted(&lab));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_output_cannot_be_stored_fails_alone() {
    let lab = lab(5, Duration::ZERO).await;
    let long = "x".repeat(300);
    edit_inventory(&lab.inventory, |doc| {
        let hosts = doc["hosts"].as_mapping_mut().unwrap();
        let host = hosts.remove("r00003").unwrap();
        hosts.insert(long.clone().into(), host);
    });
    let out = lab.dir.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();
    let done = run(&lab, &["-c", "show version", "--output", &out_arg]).await;
    assert_eq!(done.code, Some(1), "{}\n{}", done.stdout, done.stderr);
    let recorded = records(&out);
    assert_eq!(recorded.len(), 5, "every host has its line");
    for (host, record) in &recorded {
        if host == &long {
            assert_eq!(kind(record), "output_write_failed", "{record}");
            let why = record["failure"]["message"].as_str().unwrap();
            assert!(why.contains("too long"), "{why}");
            assert_eq!(record["failure"]["retryable"], false);
        } else {
            assert_eq!(kind(record), "ok", "{record}");
            assert!(out.join(host).join("show_version.txt").is_file());
        }
    }
    assert!(
        done.stdout.contains("output_write_failed"),
        "{}",
        done.stdout
    );
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (the test is skipped) where mounting is impossible, except under CI, where a
    /// test that cannot run is a failure.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(o) if o.status.success() => Some(Self { dir }),
            other => {
                let why = format!("cannot mount a tmpfs (needs root): {other:?}");
                fanout_tests::cannot_run(&why);
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the file system is full.
    fn fill(&self) {
        let mut filler = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![b'#'; 4096];
        while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_run_with_every_host_accounted_for() {
    let Some(disk) = Tmpfs::mount("1m") else {
        return;
    };
    let lab = lab(40, Duration::from_millis(100)).await;
    let out = disk.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();
    let args = run_args(
        &lab,
        &[
            "-c",
            "show running-config",
            "--concurrency",
            "3",
            "--output",
            &out_arg,
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let running = RunningFanout::start(&args);
    let results = out.join("results.jsonl");
    let started = fanout_tests::wait_until(DEADLINE, || {
        fanout_tests::results_so_far(&results).len() >= 5
    })
    .await;
    assert!(started, "the run never recorded 5 hosts");
    disk.fill();
    let done = running.finish(DEADLINE).await;

    assert_eq!(done.code, Some(2), "{}\n{}", done.stdout, done.stderr);
    assert!(done.stdout.contains("40 total"), "{}", done.stdout);
    assert!(done.stdout.contains("stopped:"), "{}", done.stdout);
    assert!(
        done.stdout.contains("No space left on device"),
        "{}",
        done.stdout
    );
    // Every line there is whole, and every host is in it or in the report.
    let recorded = records(&out);
    assert!(recorded.len() < 40, "the run went on after the disk filled");
    let report = done.stdout.clone();
    for device in lab.fleet.devices() {
        assert!(
            recorded.contains_key(&device.name) || report.contains(&device.name),
            "{} is neither in results.jsonl nor in the report:\n{report}",
            device.name
        );
    }
    assert!(report.contains("never ran"), "{report}");
    // Every file that is there is complete: none was left half written.
    for file in files_under(&out)
        .iter()
        .filter(|f| f.ends_with("show_running-config.txt"))
    {
        let host = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let saved = std::fs::read_to_string(file).unwrap();
        assert_eq!(
            saved,
            running_config(host, SEED),
            "{} is cut short",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_directory_that_is_a_link_is_refused_before_any_connection() {
    let lab = lab(2, Duration::ZERO).await;
    let elsewhere = lab.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = lab.dir.path().join("out");
    symlink(&elsewhere, &out).unwrap();
    let out_arg = out.to_string_lossy().into_owned();
    let done = run(&lab, &["-c", "show version", "--output", &out_arg]).await;
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("symbolic link"), "{}", done.stderr);
    assert!(no_device_contacted(&lab));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_in_a_used_output_directory_are_never_written_through() {
    let lab = lab(2, Duration::ZERO).await;
    let elsewhere = lab.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("precious"), "keep").unwrap();
    let out = lab.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    symlink(elsewhere.join("precious"), out.join("results.jsonl")).unwrap();
    symlink(&elsewhere, out.join("r00001")).unwrap();
    let out_arg = out.to_string_lossy().into_owned();
    for extra in [&[][..], &["--overwrite"]] {
        let mut args = vec!["-c", "show version", "--output", &out_arg];
        args.extend_from_slice(extra);
        let done = run(&lab, &args).await;
        assert_eq!(done.code, Some(2), "{extra:?}: {}", done.stderr);
        assert!(no_device_contacted(&lab));
    }
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("precious")).unwrap(),
        "keep"
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_planted_during_the_run_fails_that_host_only() {
    let lab = lab(4, Duration::from_millis(300)).await;
    let elsewhere = lab.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = lab.dir.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();
    let args = run_args(&lab, &["-c", "show version", "--output", &out_arg]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let running = RunningFanout::start(&args);
    let results = out.join("results.jsonl");
    assert!(fanout_tests::wait_until(DEADLINE, || results.exists()).await);
    // Each host needs several round trips of 300 ms: none has a directory yet.
    symlink(&elsewhere, out.join("r00003")).unwrap();
    let done = running.finish(DEADLINE).await;
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let recorded = records(&out);
    assert_eq!(recorded.len(), 4);
    assert_eq!(kind(&recorded["r00003"]), "output_write_failed");
    for host in ["r00001", "r00002", "r00004"] {
        assert_eq!(kind(&recorded[host]), "ok", "{}", recorded[host]);
    }
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_directory_is_reused_only_when_asked_and_then_holds_only_the_new_run() {
    let lab = lab(3, Duration::ZERO).await;
    let out = lab.dir.path().join("out");
    let out_arg = out.to_string_lossy().into_owned();
    let first = run(&lab, &["-c", "show version", "--output", &out_arg]).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert!(out.join("r00002/show_version.txt").is_file());

    let again = run(&lab, &["-c", "show ip route", "--output", &out_arg]).await;
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert!(again.stderr.contains("--overwrite"), "{}", again.stderr);
    assert!(
        out.join("r00002/show_version.txt").is_file(),
        "refused means untouched"
    );

    let overwritten = run(
        &lab,
        &[
            "-c",
            "show ip route",
            "--filter",
            "name=r00001",
            "--output",
            &out_arg,
            "--overwrite",
        ],
    )
    .await;
    assert_eq!(overwritten.code, Some(0), "{}", overwritten.stderr);
    let mut left: Vec<PathBuf> = files_under(&out)
        .into_iter()
        .map(|f| f.strip_prefix(&out).unwrap().to_path_buf())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            PathBuf::from("r00001/show_ip_route.txt"),
            PathBuf::from("results.jsonl")
        ],
        "nothing of the first run is left to be taken for the second's"
    );
    assert_eq!(records(&out).len(), 1);
}
