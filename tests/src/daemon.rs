//! Long-running processes a test steers: `fanout serve`, `fanout-worker`, `fanout-devsim`. Their
//! stderr is collected as it comes, so a test can wait for a line (the address a server bound)
//! and show everything a process said when an assertion fails.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Daemon {
    pub name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// The tasks reading its stdout and stderr: a process that has exited may still have
    /// lines in its pipes that they have not read yet.
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Daemon {
    /// Starts `command` (stdout and stderr both collected); killed when dropped.
    pub fn spawn(name: &str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1")
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let readers = vec![
            tokio::spawn(collect(BufReader::new(stdout), lines.clone())),
            tokio::spawn(collect(BufReader::new(stderr), lines.clone())),
        ];
        Self {
            name: name.to_string(),
            child,
            lines,
            readers,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a printed line containing `needle` and returns it.
    pub async fn wait_for_line(&self, needle: &str, deadline: Duration) -> String {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return line.clone();
            }
            assert!(
                tokio::time::Instant::now() < until,
                "{} never printed {needle:?} within {deadline:?}; it said:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for it to exit on its own, and for everything it printed to be read; its exit code.
    pub async fn exit_code(&mut self, deadline: Duration) -> Option<i32> {
        let status = tokio::time::timeout(deadline, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} still running after {deadline:?}; it said:\n{}",
                    self.name,
                    self.output()
                )
            })
            .expect("wait for the process");
        // Its pipes close when it exits, unless a child of its own still holds them: then
        // what was read so far is all there is to show.
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        status.code()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, and wait for it to be gone.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

async fn collect<R: tokio::io::AsyncRead + Unpin>(
    reader: BufReader<R>,
    lines: Arc<Mutex<Vec<String>>>,
) {
    let mut reader = reader.lines();
    while let Ok(Some(line)) = reader.next_line().await {
        lines.lock().unwrap().push(line);
    }
}

/// The `ADDR` of a `... on http(s)://ADDR...` line.
pub fn address_in(line: &str) -> String {
    let start = line.find("://").expect("a URL in the line") + 3;
    line[start..]
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .expect("an address after the scheme")
        .to_string()
}
