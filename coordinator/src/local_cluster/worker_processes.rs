//! Local worker processes: `fanout run --workers N` starts N of them, watches them, shows a
//! crashed one's last words instead of hanging, and never leaves one behind.
//!
//! A worker gets only the environment it uses, never the rest of ours: the inventory's
//! `password_env` variables and whatever else the user's shell holds stay in this process
//! (the job carries the credentials a worker needs).

use fanout_common::Secret;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Lines of a worker's stderr kept for the error message if it dies.
const STDERR_TAIL_LINES: usize = 20;
/// Environment variable naming the worker program, for unusual installs and tests.
pub const WORKER_BIN_ENV: &str = "FANOUT_WORKER_BIN";

/// The variables a worker is given, when we have them: where programs and the home directory
/// are (known_hosts' default place), logging and backtraces, time zone and locale, the
/// ssh-agent for hosts with `ssh_agent`, the CA bundle and proxies for HTTP steps.
const PASSED_VARIABLES: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "HOSTNAME",
    "TMPDIR",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    "FANOUT_LOG",
    // `--log-format json`: workers log JSON lines too.
    "FANOUT_LOG_FORMAT",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "TZ",
    "LANG",
    "LANGUAGE",
    "SSH_AUTH_SOCK",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];
/// Prefixes of passed variables: the locale's categories.
const PASSED_PREFIXES: &[&str] = &["LC_"];

/// Whether a variable of ours is passed on to workers.
fn passed_to_workers(name: &std::ffi::OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    PASSED_VARIABLES.contains(&name) || PASSED_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The worker program could not be started.
    #[error("cannot start worker program {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    /// We cannot tell where we are, so we cannot find the worker next to us.
    #[error("cannot locate the fanout executable: {0}")]
    CurrentExe(std::io::Error),
}

/// How to start a worker process.
#[derive(Debug, Clone)]
pub struct WorkerProgram {
    pub program: PathBuf,
    /// Arguments before the worker's own flags (`worker` when the `fanout` binary itself serves
    /// as the worker).
    pub leading_args: Vec<String>,
}

impl WorkerProgram {
    /// `$FANOUT_WORKER_BIN`, else `fanout-worker` next to this executable, else this executable's
    /// own `worker` subcommand (the same worker library, so `cargo run --bin fanout` works
    /// before `fanout-worker` has been built).
    pub fn locate() -> Result<Self, SupervisorError> {
        if let Some(program) = std::env::var_os(WORKER_BIN_ENV).filter(|p| !p.is_empty()) {
            return Ok(Self {
                program: program.into(),
                leading_args: Vec::new(),
            });
        }
        let me = std::env::current_exe().map_err(SupervisorError::CurrentExe)?;
        let sibling = me.with_file_name(format!("fanout-worker{}", std::env::consts::EXE_SUFFIX));
        if sibling.is_file() {
            return Ok(Self {
                program: sibling,
                leading_args: Vec::new(),
            });
        }
        Ok(Self {
            program: me,
            leading_args: vec!["worker".to_string()],
        })
    }
}

/// One child worker.
struct LocalWorker {
    child: Child,
    pid: u32,
    /// Its last stderr lines, filled by a reader task.
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// The reader task, awaited briefly after an exit so the last lines are in the tail.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
}

/// A worker that exited on its own.
#[derive(Debug)]
pub struct Exited {
    pub pid: u32,
    pub status: ExitStatus,
    pub stderr_tail: String,
}

/// The children of one run. Dropping it kills any still running.
pub struct LocalWorkers {
    workers: Vec<LocalWorker>,
    /// Workers started so far, for their ids.
    started: usize,
}

impl LocalWorkers {
    pub fn spawn(
        program: &WorkerProgram,
        count: usize,
        coordinator_url: &str,
        token: &Secret,
        concurrency: u32,
    ) -> Result<Self, SupervisorError> {
        let mut this = Self {
            workers: Vec::with_capacity(count),
            started: 0,
        };
        for _ in 0..count {
            this.respawn(program, coordinator_url, token, concurrency)?;
        }
        Ok(this)
    }

    /// Starts one more worker (at the start, or to replace one that died); returns its pid.
    pub fn respawn(
        &mut self,
        program: &WorkerProgram,
        coordinator_url: &str,
        token: &Secret,
        concurrency: u32,
    ) -> Result<u32, SupervisorError> {
        self.started += 1;
        let mut child = Command::new(&program.program)
            .env_clear()
            .envs(std::env::vars_os().filter(|(name, _)| passed_to_workers(name)))
            .args(&program.leading_args)
            .arg("--coordinator")
            .arg(coordinator_url)
            .arg("--concurrency")
            .arg(concurrency.to_string())
            .arg("--worker-id")
            .arg(format!("local-{}", self.started))
            // A local worker never outlives the `fanout` that started it.
            .arg("--no-reconnect")
            // The token goes through the environment, never the command line that `ps` shows.
            .env(fanout_common::wire::TOKEN_ENV, token.expose())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Own process group: a Ctrl-C in the terminal reaches the coordinator, which
            // drains and then stops its workers, instead of killing them mid-host.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SupervisorError::Spawn {
                program: program.program.clone(),
                source,
            })?;
        let pid = child.id().unwrap_or_default();
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_reader = child
            .stderr
            .take()
            .map(|stderr| tokio::spawn(keep_tail(stderr, pid, stderr_tail.clone())));
        self.workers.push(LocalWorker {
            child,
            pid,
            stderr_tail,
            stderr_reader,
        });
        Ok(pid)
    }

    pub fn pids(&self) -> Vec<u32> {
        self.workers.iter().map(|w| w.pid).collect()
    }

    /// The first worker found to have exited since the last call, if any.
    pub async fn reap_exited(&mut self) -> Option<Exited> {
        let position = self
            .workers
            .iter_mut()
            .position(|w| matches!(w.child.try_wait(), Ok(Some(_))))?;
        let mut worker = self.workers.remove(position);
        let status = worker.child.try_wait().ok().flatten()?;
        if let Some(reader) = worker.stderr_reader.take() {
            // The pipe closes with the process; give the reader a moment to drain it.
            let _ = tokio::time::timeout(Duration::from_millis(500), reader).await;
        }
        Some(Exited {
            pid: worker.pid,
            status,
            stderr_tail: tail_text(&worker.stderr_tail),
        })
    }

    pub fn running(&self) -> usize {
        self.workers.len()
    }

    /// Waits up to `grace` for the workers to exit after being told to, then kills the rest.
    pub async fn wait_or_kill(&mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        for worker in &mut self.workers {
            if tokio::time::timeout_at(deadline, worker.child.wait())
                .await
                .is_err()
            {
                let _ = worker.child.kill().await;
            }
        }
        self.workers.clear();
    }
}

async fn keep_tail(
    stderr: tokio::process::ChildStderr,
    pid: u32,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match line.strip_prefix('{') {
            // A JSON log line (`--log-format json`) stays one JSON object, with the worker.
            Some(rest) => eprintln!("{{\"worker_pid\":{pid},{rest}"),
            None => eprintln!("[worker {pid}] {line}"),
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    let tail = tail.lock().unwrap_or_else(|e| e.into_inner());
    tail.iter().cloned().collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_get_what_they_use_and_nothing_else() {
        for name in [
            "PATH",
            "HOME",
            "FANOUT_LOG",
            "RUST_LOG",
            "SSH_AUTH_SOCK",
            "LC_ALL",
            "TZ",
        ] {
            assert!(passed_to_workers(name.as_ref()), "{name}");
        }
        for name in [
            "FANOUT_PASSWORD",
            "ENABLE_SECRET",
            "AWS_SECRET_ACCESS_KEY",
            "FANOUT_TOKEN_FILE",
            "PATHS",
            "LD_PRELOAD",
        ] {
            assert!(!passed_to_workers(name.as_ref()), "{name}");
        }
    }
}
