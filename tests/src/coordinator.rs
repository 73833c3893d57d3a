//! A `fanout serve` on loopback with its client and worker tokens, and workers attached to it:
//! what a test of `--coordinator` needs before it can say what it is about.

use crate::binary;
use crate::daemon::{Daemon, address_in};
use std::path::Path;
use std::time::Duration;

/// How long serve may take to print its address.
const BOOT: Duration = Duration::from_secs(30);

pub struct Coordinator {
    pub serve: Daemon,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The file holding the token clients present (`fanout run --token-file`).
    pub token: String,
    /// The file holding the token workers present.
    pub worker_token: String,
    workers: Vec<Daemon>,
}

impl Coordinator {
    /// Starts `fanout serve` on 127.0.0.1 with tokens written under `dir`, plus `extra` flags.
    pub async fn start(dir: &Path, extra: &[&str]) -> Self {
        let (token, worker_token) = token_paths(dir);
        let mut command = tokio::process::Command::new(binary("fanout"));
        command
            .args(serve_args(dir, extra))
            .env("FANOUT_LOG", "info");
        let serve = Daemon::spawn("fanout serve", command);
        let url = format!(
            "http://{}",
            address_in(&serve.wait_for_line("serving on http://", BOOT).await)
        );
        Self {
            serve,
            url,
            token,
            worker_token,
            workers: Vec::new(),
        }
    }

    /// Starts a `fanout-worker` process for this coordinator with `args` (`--worker-id`,
    /// `--labels`, ...); it lives as long as the coordinator. Serve logs `worker attached`
    /// when it has arrived.
    pub fn add_worker(&mut self, args: &[&str]) {
        let mut command = tokio::process::Command::new(binary("fanout-worker"));
        command
            .args([
                "--coordinator",
                &self.url,
                "--token-file",
                &self.worker_token,
            ])
            .args(args)
            .env("FANOUT_LOG", "info");
        self.workers.push(Daemon::spawn("fanout-worker", command));
    }

    /// The flags that send a client command to this coordinator.
    pub fn client_args(&self) -> [&str; 4] {
        ["--coordinator", &self.url, "--token-file", &self.token]
    }
}

/// The token files of a coordinator started under `dir`: (clients', workers').
fn token_paths(dir: &Path) -> (String, String) {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    (path("client-token"), path("worker-token"))
}

/// `fanout serve ...` as [`Coordinator::start`] runs it, for a test that expects serve to
/// refuse its flags before it listens.
pub fn serve_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let (token, worker_token) = token_paths(dir);
    std::fs::write(&token, "c1".repeat(32)).unwrap();
    std::fs::write(&worker_token, "w1".repeat(32)).unwrap();
    let mut args: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--token-file", &token]
        .into_iter()
        .chain(["--worker-token-file", &worker_token])
        .map(String::from)
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}
