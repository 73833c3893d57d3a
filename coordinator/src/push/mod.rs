//! `fanout push`: one configuration change across the fleet, safely.
//!
//! Everything that can be wrong with the input is found before any connection: every host's
//! lines are rendered (an undefined variable is bad input with the template's `file:line`),
//! every host's platform must say how it takes a change (`config_mode.push` in its profile),
//! the waves must cover every host and the gate's rules must load.
//!
//! A dry run (the default) runs one job that changes nothing: per host the lines and a diff,
//! the device's own where the platform has a candidate, else fanout's (see [`diff`]).
//!
//! A commit goes in waves (canaries first). Each wave is one job whose hosts each get their own
//! commands ([`plan`]); the next starts only when the wave had at most `--max-failures` failed
//! hosts, pushes and gate together. The gate is a validation job (the rules engine of `fanout
//! validate`) on the hosts the wave changed. A candidate platform commits with `commit
//! confirmed N` and is confirmed only after the gate passed, so a host nobody confirms (fanout
//! killed, Ctrl-C, a failed gate without `--rollback-on-failure`) rolls back by itself. A change
//! is never retried: a host that failed after its configuration steps began is reported in an
//! unknown state, not pushed again.
//!
//! Ctrl-C (or SIGTERM) stops the rollout after the current wave's hosts in flight: no further
//! host starts, and those in flight finish their change (they are never cut off in
//! configuration mode; a second Ctrl-C does that). No gate, confirmation or further wave runs
//! after it, except a wave's confirmation already under way, which finishes. The exit code is
//! 130.

pub mod diff;
pub mod plan;
pub mod render;
pub mod report;
pub mod waves;

use crate::cli::{ExecutionArgs, RemoteArgs};
use crate::commands::{CommandError, JobRequest, execute};
use crate::host_record::HostRecord;
use crate::interrupts::Interrupts;
use crate::job::JobSettings;
use crate::recorder::{Format, Recorder};
use fanout_common::FailureKind;
use fanout_common::inventory::Host;
use fanout_common::proto::Validation;
use plan::{Platform, Step};
use report::{HostChange, Status};
use std::collections::HashMap;

/// Everything a push needs, checked.
pub struct Push<'a> {
    pub hosts: Vec<Host>,
    /// Each host's rendered lines, in `hosts` order.
    pub lines: Vec<Vec<String>>,
    /// Each host's platform semantics, in `hosts` order.
    pub platforms: Vec<Platform>,
    /// The settings every step's job starts from (no retries: a change is never retried).
    pub job: JobSettings,
    pub execution: &'a ExecutionArgs,
    /// `--coordinator`: every step runs as a job of that coordinator instead of on local
    /// workers.
    pub remote: &'a RemoteArgs,
    /// Apply (otherwise a dry run).
    pub commit: bool,
    /// Host indexes per wave, canaries first, with the wave's name.
    pub waves: Vec<(String, Vec<usize>)>,
    pub max_failures: usize,
    /// The gate: rules and what the workers need to evaluate them.
    pub gate: Option<(Vec<String>, Validation)>,
    pub rollback_on_failure: bool,
    pub confirm_minutes: u32,
    /// The name of the pre-change archive on platforms that keep one.
    pub archive: String,
    /// `--session-log`: transcripts under this directory, a subdirectory per step.
    pub session_log: Option<std::path::PathBuf>,
    /// Steps run so far, to number their transcript directories.
    pub steps_run: std::sync::atomic::AtomicUsize,
}

/// What happened, host by host.
pub struct Outcome {
    pub changes: Vec<HostChange>,
    /// Why the rollout stopped before the last wave, if it did.
    pub stopped: Option<String>,
    pub committed: bool,
    /// Ctrl-C or SIGTERM stopped it.
    pub interrupted: bool,
}

impl Outcome {
    /// 130 when interrupted, else 0 when every host succeeded and 1 when not.
    pub fn exit_code(&self) -> u8 {
        let failed = self.changes.iter().any(|c| !c.status.is_success());
        if self.interrupted {
            crate::run_report::EXIT_INTERRUPTED
        } else if self.stopped.is_some() || failed {
            crate::run_report::EXIT_HOST_FAILED
        } else {
            crate::run_report::EXIT_OK
        }
    }
}

pub async fn run(push: Push<'_>, interrupts: Interrupts) -> Result<Outcome, CommandError> {
    let mut changes: Vec<HostChange> = push
        .hosts
        .iter()
        .zip(&push.lines)
        .map(|(host, lines)| HostChange::new(host, lines))
        .collect();
    if !push.commit {
        let all: Vec<usize> = (0..push.hosts.len()).collect();
        let records = step(&push, Step::DryRun, &all, &interrupts).await?;
        for &i in &all {
            let record = records.get(&push.hosts[i].name);
            changes[i].absorb(Step::DryRun, record, &push.platforms[i]);
            changes[i].status = match record {
                Some(r) if r.ok => Status::Planned,
                Some(_) => Status::Failed,
                None => Status::NotReached,
            };
        }
        let interrupted = interrupts.drain.is_cancelled()
            && changes.iter().any(|c| c.status == Status::NotReached);
        return Ok(Outcome {
            changes,
            stopped: interrupted
                .then(|| "interrupted: the hosts not reached were not asked".into()),
            committed: false,
            interrupted,
        });
    }
    let mut stopped = None;
    // Ctrl-C stopped the rollout (one that came after its last step changes nothing).
    let mut interrupted = false;
    for (name, members) in &push.waves {
        if interrupts.drain.is_cancelled() {
            interrupted = true;
            stopped = Some(format!("interrupted before {name}"));
            break;
        }
        for &i in members {
            changes[i].wave = Some(name.clone());
        }
        let records = step(&push, Step::Apply, members, &interrupts).await?;
        let mut failed = 0;
        for &i in members {
            let record = records.get(&push.hosts[i].name);
            let change = &mut changes[i];
            change.absorb(Step::Apply, record, &push.platforms[i]);
            change.status = applied_status(
                record,
                &push.platforms[i],
                &push.archive,
                push.confirm_minutes,
            );
            if !change.status.is_success() {
                failed += 1;
            }
        }
        let mut reason = None;
        if interrupts.drain.is_cancelled() {
            interrupted = true;
            reason = Some(interrupted_during(name, members, &changes, &push));
        } else if failed > push.max_failures {
            reason = Some(format!(
                "{name}: {failed} host(s) failed to apply (more than --max-failures {})",
                push.max_failures
            ));
        } else if let Some((rules, validation)) = &push.gate {
            let changed: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| changes[i].status.is_success())
                .collect();
            let records = gate(&push, rules, validation, &changed, &interrupts).await?;
            for &i in &changed {
                let verdict = report::gate_verdict(records.get(&push.hosts[i].name));
                if !verdict.passed {
                    failed += 1;
                }
                changes[i].gate = Some(verdict);
            }
            if interrupts.drain.is_cancelled() {
                // Hosts the gate never reached did not fail it: the rollout was interrupted.
                interrupted = true;
                reason = Some(interrupted_during(name, members, &changes, &push));
            } else if failed > push.max_failures {
                reason = Some(format!(
                    "{name}: the gate failed on {failed} host(s) (more than --max-failures {})",
                    push.max_failures
                ));
            }
        }
        if let Some(reason) = reason {
            if push.rollback_on_failure && !interrupts.drain.is_cancelled() {
                roll_back(&push, members, &mut changes, &interrupts).await?;
            }
            stopped = Some(reason);
            break;
        }
        let to_confirm: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| changes[i].status == Status::AwaitingConfirm)
            .collect();
        // The wave passed: its confirmation finishes even if Ctrl-C comes now, so a wave is
        // never left half confirmed (a second Ctrl-C still stops it at once).
        let confirming = Interrupts {
            drain: Default::default(),
            abort: interrupts.abort.clone(),
        };
        let records = step(&push, Step::Confirm, &to_confirm, &confirming).await?;
        for &i in &to_confirm {
            let record = records.get(&push.hosts[i].name);
            changes[i].absorb(Step::Confirm, record, &push.platforms[i]);
            if record.is_some_and(|r| r.ok) {
                changes[i].status = Status::Applied;
            }
        }
    }
    Ok(Outcome {
        changes,
        stopped,
        committed: true,
        interrupted,
    })
}

/// Why the rollout stopped when Ctrl-C came during a wave, and what that leaves on its hosts.
fn interrupted_during(
    name: &str,
    members: &[usize],
    changes: &[HostChange],
    push: &Push<'_>,
) -> String {
    let mut why = match push.remote.coordinator {
        None => format!(
            "interrupted during {name}: its hosts in flight finished their change, no other \
             host was started"
        ),
        Some(_) => format!(
            "interrupted during {name}: its step ran to its end on the coordinator, no later \
             step was started"
        ),
    };
    let waiting = members
        .iter()
        .filter(|&&i| changes[i].status == Status::AwaitingConfirm)
        .count();
    if waiting > 0 {
        why.push_str(&format!(
            "; {waiting} host(s) committed with a timer and not confirmed roll back by \
             themselves within {} minute(s)",
            push.confirm_minutes
        ));
    }
    why
}

/// A host's state after its apply step; `name` is the push's (an EOS session's) name.
fn applied_status(
    record: Option<&HostRecord>,
    platform: &Platform,
    name: &str,
    minutes: u32,
) -> Status {
    let Some(record) = record else {
        return Status::NotReached;
    };
    if record.ok {
        return if platform.push.candidate && platform.push.commit_confirmed.is_some() {
            Status::AwaitingConfirm
        } else {
            Status::Applied
        };
    }
    let kind = record.failure.as_ref().map(|f| f.kind);
    // Which configuration steps were typed: the config-mode `enter` marks the start.
    let enter = platform.enter_command(name);
    let entered = record.commands.iter().any(|c| c.command == enter);
    match kind {
        _ if !entered => Status::Failed,
        // A rejected line: the host left configuration mode by its abort commands. A
        // candidate was discarded; on IOS the lines before it took effect.
        Some(FailureKind::CommandError) if platform.push.candidate => Status::Failed,
        Some(FailureKind::CommandError) => Status::PartiallyApplied,
        // Cut off mid-change: what the device did is unknown, and it is not retried. A
        // confirmed commit that may have been made rolls back by itself.
        _ if platform.push.candidate && platform.push.commit_confirmed.is_some() => {
            Status::Unknown(format!(
                "cut off mid-change; a commit confirmed it may have made rolls back by itself \
                 within {minutes} minute(s)"
            ))
        }
        _ => Status::Unknown("cut off mid-change; not retried".into()),
    }
}

/// Rolls back the hosts of a failed wave that its apply step may have changed.
async fn roll_back(
    push: &Push<'_>,
    members: &[usize],
    changes: &mut [HostChange],
    interrupts: &Interrupts,
) -> Result<(), CommandError> {
    let targets: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| changes[i].status.may_have_changed())
        .collect();
    let (able, unable): (Vec<usize>, Vec<usize>) = targets
        .into_iter()
        .partition(|&i| push.platforms[i].can_roll_back());
    for i in unable {
        changes[i].rollback = Some("this platform's profile says no way to roll back".into());
    }
    // A candidate whose own diff was empty committed nothing: undoing "the last commit" there
    // would undo someone else's.
    let (able, unchanged): (Vec<usize>, Vec<usize>) = able.into_iter().partition(|&i| {
        !push.platforms[i].push.candidate
            || changes[i]
                .diff
                .as_deref()
                .is_none_or(diff::changes_something)
    });
    for i in unchanged {
        changes[i].rollback = Some("nothing to roll back: the device's diff was empty".into());
    }
    let records = step(push, Step::Rollback, &able, interrupts).await?;
    for &i in &able {
        let record = records.get(&push.hosts[i].name);
        changes[i].absorb(Step::Rollback, record, &push.platforms[i]);
        match record {
            Some(r) if r.ok => {
                changes[i].status = Status::RolledBack;
                changes[i].rollback = Some("rolled back".into());
            }
            Some(r) => {
                let why = r.failure.as_ref().map_or("", |f| f.message.as_str());
                changes[i].rollback = Some(format!("rollback failed: {why}"));
            }
            None => changes[i].rollback = Some("rollback never ran".into()),
        }
    }
    Ok(())
}

/// Runs one step on these hosts as one job; the records by host name. Hosts for which the step
/// has nothing to do are left out.
async fn step(
    push: &Push<'_>,
    step: Step,
    members: &[usize],
    interrupts: &Interrupts,
) -> Result<HashMap<String, HostRecord>, CommandError> {
    let mut hosts = Vec::new();
    for &i in members {
        let Some(commands) =
            push.platforms[i].commands(step, &push.lines[i], &push.archive, push.confirm_minutes)
        else {
            continue;
        };
        let mut host = push.hosts[i].clone();
        host.commands = commands.commands;
        host.abort_commands = commands.abort;
        hosts.push(host);
    }
    let kind = match step {
        Step::DryRun => "push-dry-run",
        Step::Apply => "push",
        Step::Confirm => "push-confirm",
        Step::Rollback => "push-rollback",
    };
    // Jobs need at least one command; every host brings its own.
    let job = JobSettings {
        commands: vec!["(per host)".into()],
        ..push.job.clone()
    };
    run_job(push, hosts, job, kind, interrupts).await
}

/// The gate: the rules on the hosts just changed.
async fn gate(
    push: &Push<'_>,
    rules: &[String],
    validation: &Validation,
    members: &[usize],
    interrupts: &Interrupts,
) -> Result<HashMap<String, HostRecord>, CommandError> {
    let hosts = members.iter().map(|&i| push.hosts[i].clone()).collect();
    let job = JobSettings {
        commands: rules.to_vec(),
        validation: Some(validation.clone()),
        ..push.job.clone()
    };
    run_job(push, hosts, job, "push-gate", interrupts).await
}

async fn run_job(
    push: &Push<'_>,
    hosts: Vec<Host>,
    job: JobSettings,
    kind: &'static str,
    interrupts: &Interrupts,
) -> Result<HashMap<String, HostRecord>, CommandError> {
    if hosts.is_empty() {
        return Ok(HashMap::new());
    }
    let mut job = job;
    let mut recorder = Recorder::new(
        Format::Human,
        None,
        false,
        true,
        indicatif::ProgressBar::hidden(),
    )?;
    if let Some(dir) = &push.session_log {
        let n = push
            .steps_run
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        job.session_log = true;
        recorder = recorder.with_session_log(Some(&dir.join(format!("{n:02}-{kind}"))), false)?;
    }
    let request = JobRequest {
        hosts,
        job,
        execution: push.execution,
        remote: push.remote,
        kind,
        detach: false,
    };
    // A coordinator can only cancel a job, which stops its hosts in flight mid-change: through
    // one, a first Ctrl-C lets the step's job finish there, and the rollout stops after it.
    let interrupts = match push.remote.coordinator {
        Some(_) => Interrupts {
            drain: Default::default(),
            abort: interrupts.abort.clone(),
        },
        None => interrupts.clone(),
    };
    let outcome = match execute(request, recorder, interrupts.clone()).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) => return Ok(HashMap::new()),
        // Interrupted while the step's workers started: none of its hosts ran, and the report
        // still has to say where every other host stands.
        Err(_) if interrupts.drain.is_cancelled() => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    Ok(outcome
        .records
        .into_iter()
        .map(|r| (r.host.clone(), r))
        .collect())
}
