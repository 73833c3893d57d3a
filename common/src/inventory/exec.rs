//! `exec:PROGRAM`: a dynamic inventory, as Ansible runs one. The program is started with
//! `--list` (no shell; `exec:./cmdb-export --site ams` passes the extra words as arguments) and
//! must print Ansible's JSON on stdout within the timeout. On failure the message carries the
//! exit status and the end of its stderr, so the user sees why without running it by hand.

use super::error::{InventoryError, InventoryErrorKind, SourceLocation};
use crate::input::MAX_INVENTORY_BYTES;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a script may run unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of stderr a failure shows (its end, where the reason usually is).
const STDERR_TAIL: usize = 2000;

pub(super) fn run(spec: &str, timeout: Duration) -> Result<serde_json::Value, InventoryError> {
    let fail = |reason: String| {
        InventoryError::new(InventoryErrorKind::Script { reason }).at(SourceLocation::file(spec))
    };
    let mut words = spec.split_whitespace();
    let Some(program) = words.next() else {
        return Err(fail("no program named after `exec:`".to_string()));
    };
    let mut child = Command::new(program)
        .args(words)
        .arg("--list")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start {program}: {e}")))?;
    // Both pipes are drained on their own threads so a chatty program never blocks on a full
    // pipe while we wait for it.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let read = (&mut stdout)
            .take(MAX_INVENTORY_BYTES + 1)
            .read_to_end(&mut buffer);
        // Keep draining past the limit so the program can finish.
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        read.map(|_| buffer)
    });
    let err = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stderr.read_to_end(&mut buffer);
        buffer
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = err.join().unwrap_or_default();
                return Err(fail(format!(
                    "{program} did not finish within {timeout:?}{}",
                    tail(&stderr)
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(format!("waiting for {program}: {e}"))),
        }
    };
    let stdout = out
        .join()
        .map_err(|_| fail("reading its output failed".to_string()))?
        .map_err(|e| fail(format!("reading its output: {e}")))?;
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        return Err(fail(format!(
            "{program} failed ({status}){}",
            tail(&stderr)
        )));
    }
    if stdout.len() as u64 > MAX_INVENTORY_BYTES {
        return Err(fail(format!(
            "{program} printed more than {} MiB",
            MAX_INVENTORY_BYTES >> 20
        )));
    }
    serde_json::from_slice(&stdout).map_err(|e| {
        fail(format!(
            "{program} did not print Ansible's inventory JSON: {e}{}",
            tail(&stderr)
        ))
    })
}

/// `; stderr: ...` with the end of what the program wrote there, if anything.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let start = text.len().saturating_sub(STDERR_TAIL);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    format!("; stderr: {}", &text[start..])
}
