//! Exec notifier: run a program with the notice as JSON on stdin, for anything the other
//! notifiers do not cover (pagers, chat CLIs, ticket systems).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{Notice, Notifier, NotifyError, SendFuture};

/// Runs `argv` once per notice; a non-zero exit or a run past the timeout is a failure.
#[derive(Debug, Clone)]
pub struct ExecNotifier {
    argv: Vec<String>,
    timeout: Duration,
}

impl ExecNotifier {
    /// `argv[0]` is the program; it is killed if still running after `timeout`.
    pub fn new(argv: Vec<String>, timeout: Duration) -> Result<Self, NotifyError> {
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(NotifyError::Exec("no program given".into()));
        }
        Ok(ExecNotifier { argv, timeout })
    }

    async fn run(&self, notice: &Notice) -> Result<(), NotifyError> {
        let mut child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| NotifyError::Exec(format!("{}: {e}", self.argv[0])))?;
        let mut input = serde_json::to_vec(notice).unwrap_or_default();
        input.push(b'\n');
        if let Some(mut stdin) = child.stdin.take() {
            // A program that ignores its input may close stdin early; that is not a failure.
            let _ = stdin.write_all(&input).await;
        }
        let status = child
            .wait()
            .await
            .map_err(|e| NotifyError::Exec(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(NotifyError::Exec(format!(
                "{} exited with {status}",
                self.argv[0]
            )))
        }
    }
}

impl Notifier for ExecNotifier {
    fn send<'a>(&'a self, notice: &'a Notice) -> SendFuture<'a> {
        Box::pin(async move {
            tokio::time::timeout(self.timeout, self.run(notice))
                .await
                .map_err(|_| NotifyError::Timeout(self.timeout))?
        })
    }
}
