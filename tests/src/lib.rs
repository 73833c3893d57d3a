//! Harness for the workspace-level tests: find the real binaries, run them with a deadline,
//! start simulated fleets, read what a run recorded.

pub mod coordinator;
pub mod daemon;
pub mod netns;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A built binary of this workspace (`fanout`, `fanout-worker`, `fanout-devsim`).
///
/// Test executables live in `target/<profile>/deps/`; the binaries one level up. `cargo test
/// --workspace` builds them because their packages have integration tests of their own.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it is");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built; run the whole suite with `cargo test --workspace`",
        path.display()
    );
    path
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// Everything the process printed, for asserting a secret appears nowhere.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `fanout` with `args` and the workspace's own `fanout-worker`, failing the test if it
/// takes longer than `deadline` (a hang is a bug, not a slow machine).
pub async fn fanout(args: &[&str], deadline: Duration) -> Finished {
    RunningFanout::start(args).finish(deadline).await
}

/// A simulated fleet with a scratch directory holding its inventory.
pub struct Lab {
    pub fleet: fanout_devsim::Fleet,
    pub dir: tempfile::TempDir,
    /// `lab.yaml` in `dir`, written from the fleet.
    pub inventory: PathBuf,
}

impl Lab {
    pub async fn start(config: fanout_devsim::FleetConfig) -> Self {
        let fleet = fanout_devsim::Fleet::start(config)
            .await
            .expect("fleet starts");
        let dir = tempfile::tempdir().expect("scratch dir");
        let inventory = dir.path().join("lab.yaml");
        fleet
            .write_inventory(&inventory)
            .expect("inventory written");
        Self {
            fleet,
            dir,
            inventory,
        }
    }

    /// A path inside the scratch directory, as the string CLI arguments want.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    pub fn inventory_arg(&self) -> String {
        self.inventory.to_string_lossy().into_owned()
    }
}

/// The lines of a `results.jsonl` (or of `--format json` stdout), parsed.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The hosts that records (results.jsonl lines) name, each once: fewer than the records means
/// some host has more than one result.
pub fn distinct_hosts(records: &[serde_json::Value]) -> std::collections::BTreeSet<&str> {
    records
        .iter()
        .map(|r| r["host"].as_str().expect("a record names its host"))
        .collect()
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Edits an inventory YAML as data: `edit` gets the whole document.
pub fn edit_inventory(path: &Path, edit: impl FnOnce(&mut serde_yaml_ng::Value)) {
    let text = std::fs::read_to_string(path).expect("read inventory");
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("inventory is YAML");
    edit(&mut doc);
    std::fs::write(path, serde_yaml_ng::to_string(&doc).expect("serialise"))
        .expect("write inventory");
}

/// A `fanout` process the test steers while it runs (signals, its children, its files).
pub struct RunningFanout {
    pub child: tokio::process::Child,
    started: Instant,
}

impl RunningFanout {
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// Like [`Self::start`], with extra environment variables (the workers inherit them).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let child = tokio::process::Command::new(binary("fanout"))
            .args(args)
            .envs(env.iter().copied())
            .env("FANOUT_WORKER_BIN", binary("fanout-worker"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("fanout starts");
        Self {
            child,
            started: Instant::now(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// The worker processes it started (its direct children).
    pub fn workers(&self) -> Vec<u32> {
        children_of(self.pid())
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        send_signal(self.pid(), signal);
    }

    pub async fn finish(self, deadline: Duration) -> Finished {
        let output = tokio::time::timeout(deadline, self.child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("fanout did not finish within {deadline:?}"))
            .expect("fanout runs");
        Finished {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: self.started.elapsed(),
        }
    }
}

pub fn send_signal(pid: u32, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::kill(pid, signal).expect("signal delivered");
}

/// Whether a process with this pid exists (and is not a zombie waiting to be reaped).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Direct children of a process, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return children;
    };
    for task in tasks.flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        children.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    children.sort_unstable();
    children.dedup();
    children
}

/// Polls until `ready` holds or `deadline` passes; returns whether it held.
pub async fn wait_until(deadline: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if ready() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ready()
}

/// Complete lines of a results.jsonl that may still be growing.
pub fn results_so_far(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    json_lines(complete)
}

/// One HTTP/1.1 request with `Connection: close` (control APIs, dashboards); the status and body.
pub async fn http(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&raw).into_owned())
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} on {address} timed out"))
        .unwrap_or_else(|e| panic!("{method} {path} on {address}: {e}"));
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, body.to_string())
}

/// Whether these tests run under CI (`CI` set to anything but empty, `0` or `false`). CI
/// installs every tool the tests need (`.ci/run`), so there a test that cannot run fails.
pub fn under_ci() -> bool {
    let ci = std::env::var("CI").unwrap_or_default();
    !matches!(ci.to_ascii_lowercase().as_str(), "" | "0" | "false")
}

/// A test that cannot run here says why and returns early; under CI it fails instead, so a
/// green CI run means every test ran.
pub fn cannot_run(why: &str) {
    assert!(!under_ci(), "CI is set and this test cannot run: {why}");
    eprintln!("skipped: {why}");
}

/// The git CLI in `repo` (any owner's repository is taken as safe: tests run as root over
/// repositories a test user owns); its trimmed stdout, `None` when git fails.
pub fn git(repo: Option<&Path>, args: &[&str]) -> Option<String> {
    let mut command = std::process::Command::new("git");
    command.args(["-c", "safe.directory=*"]);
    if let Some(repo) = repo {
        command.arg("-C").arg(repo);
    }
    let output = command.args(args).output().expect("git runs");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}
