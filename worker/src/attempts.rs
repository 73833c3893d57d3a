//! One host's attempts: run it, and again after a growing pause while its failure may pass by
//! itself and the job allows more attempts. The job's host timeout bounds all of it together,
//! attempts and pauses alike, from the start of the first attempt: however many retries a job
//! asks for, a device that keeps refusing is tried for at most that long, and the result says
//! how many attempts were really made.
//!
//! A worker that runs out of file descriptors has not reached the device at all: such an
//! attempt is not counted, is tried again as descriptors free up, and, if the host's time runs
//! out first, the host fails as `internal` naming the open-file limit, never as a fault of the
//! device.

use crate::jobs::Job;
use crate::outcome::{HostOutcome, SessionFailure};
use crate::session::{self, DeviceTarget};
use fanout_common::Backoff;
use fanout_common::FailureKind;
use fanout_common::proto;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{debug, warn};

/// Shortest pause between two attempts at a device, whatever `--retry-backoff` says: a device
/// that resets every connection at once is not to be hammered.
pub const RETRY_FLOOR: Duration = Duration::from_millis(100);
/// Longest pause between two attempts at a device, however many there were.
pub const RETRY_CAP: Duration = Duration::from_secs(60);
/// Pauses while this worker is out of file descriptors: short, since sessions end all the time
/// and give theirs back.
const DESCRIPTORS_FIRST: Duration = Duration::from_millis(200);
const DESCRIPTORS_CAP: Duration = Duration::from_secs(2);
/// Warnings of a descriptor shortage are at most this frequent.
const SHORTAGE_WARNING_EVERY: Duration = Duration::from_secs(10);
/// How long a host waits for descriptors when its job sets no host timeout.
const DESCRIPTORS_PATIENCE: Duration = Duration::from_secs(60);

/// Runs the host until it succeeds, fails in a way that will not pass, runs out of attempts or
/// out of time. CLI jobs only read from devices; an HTTP step that may change one (POST, PUT,
/// ...) is never repeated once sent. Returns the last outcome and the attempts that reached
/// out to the device.
pub async fn collect_with_retries(
    target: &DeviceTarget,
    facts: &serde_json::Value,
    job: &Job,
) -> (HostOutcome, u32) {
    let spec = &job.spec;
    let host_timeout = job.options.host_timeout;
    let mut retry = Backoff::new(
        Duration::from_millis(spec.retry_backoff_ms),
        RETRY_FLOOR,
        RETRY_CAP,
    );
    let mut descriptors = Backoff::new(DESCRIPTORS_FIRST, DESCRIPTORS_FIRST, DESCRIPTORS_CAP);
    // The first turn at the connection rate is the job's pacing, not the host's time.
    job.pacer.wait_turn().await;
    let started = Instant::now();
    let deadline = (!host_timeout.is_zero()).then(|| started + host_timeout);
    let mut attempts = 0u32;
    loop {
        let mut outcome = collect_once(target, facts, job, deadline).await;
        if let Some(failure) = outcome.failure.as_mut().filter(|f| out_of_descriptors(f)) {
            let patience = deadline.unwrap_or(started + DESCRIPTORS_PATIENCE);
            if should_warn_of_shortage() {
                warn!(host = %target.name, "out of file descriptors; hosts wait for one");
            } else {
                debug!(host = %target.name, "out of file descriptors; waiting for one");
            }
            if descriptors.wait_until(Some(patience)).await {
                continue;
            }
            *failure = descriptors_exhausted(failure);
            return (outcome, attempts);
        }
        attempts += 1;
        let retryable = outcome.failure.as_ref().is_some_and(|f| f.kind.retryable());
        if !retryable || attempts > spec.retries {
            return (outcome, attempts);
        }
        if let Some(method) = changing_step_reached(spec, &outcome)
            && let Some(failure) = &mut outcome.failure
        {
            failure.message.push_str(&format!(
                " (not retried: the {method} request may have changed the device)"
            ));
            return (outcome, attempts);
        }
        let waited = async {
            if !retry.wait_until(deadline).await {
                return false;
            }
            match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, job.pacer.wait_turn())
                    .await
                    .is_ok(),
                None => {
                    job.pacer.wait_turn().await;
                    true
                }
            }
        };
        debug!(host = %target.name, attempt = attempts, "retrying");
        if !waited.await {
            if let Some(failure) = &mut outcome.failure {
                failure.message.push_str(&format!(
                    " (gave up after {attempts} attempt{}: the host timeout of {} leaves no \
                     time for another)",
                    if attempts == 1 { "" } else { "s" },
                    humanize(host_timeout)
                ));
            }
            return (outcome, attempts);
        }
    }
}

/// One attempt: the CLI commands over SSH (no session at all when there are none), then the HTTP
/// steps, all within the time the host has left.
async fn collect_once(
    target: &DeviceTarget,
    facts: &serde_json::Value,
    job: &Job,
    deadline: Option<Instant>,
) -> HostOutcome {
    let mut options = job.options.clone();
    if let Some(deadline) = deadline {
        // At least a millisecond: a budget of zero means "no limit" to the HTTP steps.
        options.host_timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
    }
    let commands = commands_for(&job.spec, target);
    let mut outcome = if commands.is_empty() {
        HostOutcome::default()
    } else {
        session::collect(target, commands, &options).await
    };
    if outcome.failure.is_some() {
        return outcome;
    }
    // HTTP steps, then SNMP requests, within what is left of the host's time.
    let rest = async {
        match &job.http {
            None => {}
            Some(Err(e)) => {
                outcome.failure = Some(SessionFailure {
                    kind: FailureKind::Internal,
                    message: e.clone(),
                });
                return;
            }
            Some(Ok(http)) => {
                http.run(target, facts, &mut outcome).await;
                if outcome.failure.is_some() {
                    return;
                }
            }
        }
        if let Some(snmp) = &job.snmp {
            snmp.run(target, &mut outcome).await;
        }
    };
    let finished = match deadline {
        None => {
            rest.await;
            true
        }
        Some(deadline) => tokio::time::timeout_at(deadline, rest).await.is_ok(),
    };
    if !finished {
        outcome.failure = Some(SessionFailure {
            kind: FailureKind::Timeout,
            message: format!(
                "the host took longer than {} (host timeout)",
                humanize(job.options.host_timeout)
            ),
        });
    }
    outcome
}

/// The CLI commands this host runs: its target's own (a push's rendered lines), else the
/// job's for this host (a backup's per-host override), else its platform's (a backup's
/// configuration command), else the job's.
fn commands_for<'a>(spec: &'a proto::JobSpec, target: &'a DeviceTarget) -> &'a [String] {
    if !target.commands.is_empty() {
        return &target.commands;
    }
    spec.host_commands
        .get(&target.name)
        .or_else(|| spec.platform_commands.get(&target.platform))
        .map_or(&spec.commands, |list| &list.commands)
}

/// Whether the attempt failed for want of a file descriptor on this worker (a socket, the
/// known_hosts file), before anything reached the device. Sessions report failures as text,
/// and an operating-system error always shows as its own description with "(os error N)";
/// only kinds whose messages carry no text from the device are looked at, so a device cannot
/// pass its own failure off as ours.
fn out_of_descriptors(failure: &SessionFailure) -> bool {
    let local = matches!(
        failure.kind,
        FailureKind::Unreachable | FailureKind::Internal | FailureKind::AuthFailed
    );
    local
        && [23, 24]
            .map(std::io::Error::from_raw_os_error)
            .iter()
            .filter(|e| fanout_common::limits::is_out_of_descriptors(e))
            .any(|e| failure.message.contains(&e.to_string()))
}

/// Whether to warn of a descriptor shortage now: once per [`SHORTAGE_WARNING_EVERY`] for
/// the whole worker, since a shortage hits every host in flight at once.
fn should_warn_of_shortage() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    now >= last + SHORTAGE_WARNING_EVERY.as_secs()
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// The failure of a host that never got a file descriptor in time.
fn descriptors_exhausted(last: &SessionFailure) -> SessionFailure {
    let limit =
        fanout_common::limits::fd_limit().map_or_else(|_| "unknown".to_string(), |n| n.to_string());
    SessionFailure {
        kind: FailureKind::Internal,
        message: format!(
            "this worker ran out of file descriptors (open-file limit {limit}) and never \
             reached the device; raise the worker's limit (ulimit -n, LimitNOFILE) or lower its \
             --concurrency ({})",
            last.message
        ),
    }
}

/// The method of an HTTP step that may change the device and was reached before the host
/// failed (it or an earlier one may have taken effect), if there is one.
fn changing_step_reached<'a>(job: &'a proto::JobSpec, outcome: &HostOutcome) -> Option<&'a str> {
    let steps = &job.http.as_ref()?.steps;
    // Outputs past the CLI commands' are the HTTP steps that answered; the next one failed.
    let answered = outcome.outputs.len().checked_sub(job.commands.len())?;
    steps
        .iter()
        .take(answered + 1)
        .map(|step| step.method.as_str())
        .find(|method| !matches!(*method, "GET" | "HEAD" | "OPTIONS"))
}

/// `5s`, `2m 30s`: durations as people write them.
fn humanize(duration: Duration) -> String {
    let millis = Duration::from_millis(duration.as_millis() as u64);
    let secs = millis.as_secs();
    if millis.subsec_millis() != 0 {
        return format!("{millis:?}");
    }
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, s) => format!("{h}h {m}m {s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::CommandOutput;

    #[test]
    fn a_host_runs_its_own_commands_else_its_platforms_else_the_jobs() {
        let list = |c: &str| proto::CommandList {
            commands: vec![c.to_string()],
        };
        let spec = proto::JobSpec {
            commands: vec!["show version".into()],
            platform_commands: [("juniper_junos".to_string(), list("show configuration"))].into(),
            host_commands: [("r3".to_string(), list("show startup-config"))].into(),
            ..proto::JobSpec::default()
        };
        let target = |name: &str, platform: &str| DeviceTarget {
            name: name.into(),
            platform: platform.into(),
            ..DeviceTarget::default()
        };
        assert_eq!(
            commands_for(&spec, &target("r1", "cisco_ios")),
            ["show version"]
        );
        assert_eq!(
            commands_for(&spec, &target("r2", "juniper_junos")),
            ["show configuration"]
        );
        assert_eq!(
            commands_for(&spec, &target("r3", "juniper_junos")),
            ["show startup-config"]
        );
    }

    #[test]
    fn a_changing_http_step_once_reached_is_not_retried() {
        let step = |method: &str| proto::HttpStep {
            method: method.into(),
            url: "/x".into(),
            ..Default::default()
        };
        let job = proto::JobSpec {
            commands: vec!["show version".into()],
            http: Some(proto::HttpJob {
                steps: vec![step("GET"), step("POST")],
                ..Default::default()
            }),
            ..Default::default()
        };
        let with_outputs = |n: usize| HostOutcome {
            outputs: vec![
                CommandOutput {
                    command: String::new(),
                    output: Vec::new(),
                    duration: Duration::ZERO,
                    rejection: None,
                };
                n
            ],
            ..Default::default()
        };
        assert_eq!(
            changing_step_reached(&job, &with_outputs(0)),
            None,
            "SSH failed"
        );
        assert_eq!(
            changing_step_reached(&job, &with_outputs(1)),
            None,
            "the GET failed"
        );
        assert_eq!(changing_step_reached(&job, &with_outputs(2)), Some("POST"));
        let cli_only = proto::JobSpec {
            http: None,
            ..job.clone()
        };
        assert_eq!(changing_step_reached(&cli_only, &with_outputs(1)), None);
    }

    #[test]
    fn only_our_own_descriptor_shortage_is_taken_for_one() {
        let emfile = std::io::Error::from_raw_os_error(24);
        let failure = |kind, message: String| SessionFailure { kind, message };
        // As a session reports a socket it could not open, and a known_hosts it could not read.
        let connect = failure(
            FailureKind::Unreachable,
            format!("cannot connect to 127.1.0.1:22: {emfile}"),
        );
        assert!(out_of_descriptors(&connect), "{}", connect.message);
        let known_hosts = failure(
            FailureKind::Internal,
            format!(
                "known_hosts file /x: {}",
                std::io::Error::from_raw_os_error(23)
            ),
        );
        assert!(out_of_descriptors(&known_hosts));
        // A refusal is the device's, and a device echoing the words is still the device.
        let refused = failure(
            FailureKind::Refused,
            "cannot connect to 127.1.0.1:22: Connection refused (os error 111)".into(),
        );
        assert!(!out_of_descriptors(&refused));
        let echoed = failure(
            FailureKind::CommandError,
            format!("the device echoed \"{emfile}\" for `show version`"),
        );
        assert!(!out_of_descriptors(&echoed));

        let exhausted = descriptors_exhausted(&connect);
        assert_eq!(exhausted.kind, FailureKind::Internal);
        assert!(
            exhausted.message.contains("open-file limit")
                && exhausted.message.contains("never reached the device"),
            "{}",
            exhausted.message
        );
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(humanize(Duration::from_secs(5)), "5s");
        assert_eq!(humanize(Duration::from_secs(300)), "5m");
        assert_eq!(humanize(Duration::from_secs(150)), "2m 30s");
        assert_eq!(humanize(Duration::from_millis(1500)), "1.5s");
    }
}
