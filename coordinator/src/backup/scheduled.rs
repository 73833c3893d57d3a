//! `fanout serve --backup-repo`: the coordinator runs `fanout backup` itself on a schedule.
//!
//! Each run is an ordinary job of the coordinator (kind `backup`), submitted to its hub and
//! run by the workers attached to it, so it is listed by `fanout jobs` and followed by `fanout
//! watch` like any other. The coordinator follows the job's records as a watching client
//! does, normalises each configuration as it arrives, and at the end writes the one commit,
//! pushes and notifies, exactly as `fanout backup` does (see [`super::pipeline`]). The outcome
//! of the last run is kept for `/metrics`.
//!
//! Runs never overlap: the next one is scheduled when the last has ended. A run that finds the
//! repository locked (a manual `fanout backup` on it) fails, and the next is tried on time.

use super::args::ScheduledBackupArgs;
use super::pipeline::{self, Collector, Prepared, Written};
use super::schedule::Schedule;
use super::store::Store;
use crate::cli::{ExecutionArgs, Selection};
use crate::commands::{Selected, job_settings};
use crate::host_record::HostRecord;
use crate::serve::hub::Hub;
use fanout_common::proto::{HostTarget, JobSpec, JobState, SubmitJob, job_event};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Who the coordinator's jobs say submitted a scheduled backup.
const SUBMITTER: &str = "schedule";
/// How long a job cancelled because the coordinator is stopping gets to say it is over.
const CANCEL_WAIT: Duration = Duration::from_secs(1);

/// The scheduled backups of one coordinator, checked at start.
pub struct ScheduledBackups {
    repo: PathBuf,
    selection: Selection,
    schedule: Schedule,
    prepared: Prepared,
    execution: ExecutionArgs,
    /// Passed to the workers as it is; `None` lets each use its own default.
    known_hosts: Option<PathBuf>,
    /// What /metrics shows.
    pub runs: Arc<BackupRuns>,
}

impl std::fmt::Debug for ScheduledBackups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledBackups")
            .field("repo", &self.repo)
            .field("schedule", &self.schedule.describe())
            .finish_non_exhaustive()
    }
}

impl ScheduledBackups {
    /// `None` without --backup-repo; every option is checked now, so a bad one stops the
    /// coordinator at start rather than failing the first run an hour later.
    pub fn new(args: ScheduledBackupArgs) -> Result<Option<Self>, String> {
        let Some(repo) = args.backup_repo else {
            // Said, not refused: these flags are `fanout backup`'s too, so FANOUT_PUSH or a
            // top-level `push:` in fanout.yaml meant for it reaches serve as well, and a
            // coordinator without scheduled backups must still start.
            let o = &args.options;
            if o.push.is_some()
                || !o.notify_webhooks.is_empty()
                || o.notify_exec.is_some()
                || !o.email.to.is_empty()
            {
                eprintln!(
                    "fanout: warning: --push and --notify-* (from the command line, FANOUT_* or \
                     the config file) are for scheduled backups, and without --backup-repo \
                     there are none: ignored"
                );
            }
            return Ok(None);
        };
        if args.options.keep_secrets {
            return Err(
                "--keep-secrets is not taken by scheduled backups: the coordinator's \
                 state directory keeps every job's outputs, and must never keep a secret"
                    .into(),
            );
        }
        let schedule = Schedule::new(args.backup_every, args.backup_cron.as_deref())?;
        let prepared = Prepared::new(&args.options)?;
        // `fanout backup`'s execution settings, from the --backup-* flags that rename them.
        let execution = *args.execution.0;
        Ok(Some(ScheduledBackups {
            repo,
            selection: Selection {
                inventory: args.backup_inventory,
                filters: args.backup_filters,
                platforms: args.backup_platforms,
            },
            schedule,
            prepared,
            execution,
            known_hosts: args.backup_known_hosts,
            runs: Arc::new(BackupRuns::default()),
        }))
    }

    /// Runs backups on the schedule until `stop`.
    pub async fn run(self: Arc<Self>, hub: Arc<Hub>, stop: CancellationToken) {
        let described = self.schedule.describe();
        info!(repo = %self.repo.display(), schedule = %described, "scheduled backups");
        self.cancel_leftovers(&hub).await;
        let mut wait = self.schedule.first_wait();
        eprintln!(
            "fanout: backing up into {} {described} (next at {})",
            self.repo.display(),
            humantime::format_rfc3339_seconds(SystemTime::now() + wait)
        );
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
            let started = Instant::now();
            self.runs.started();
            let result = self.run_once(&hub, &stop).await;
            if stop.is_cancelled() {
                return;
            }
            let elapsed = started.elapsed();
            match result {
                Ok(run) => {
                    info!(job = %run.job_id, summary = %run.summary, commit = ?run.commit, elapsed = ?elapsed, "scheduled backup done");
                    eprintln!(
                        "fanout: scheduled backup {}: {}{}",
                        run.job_id,
                        run.summary,
                        match &run.push_error {
                            Some(e) => format!("; not pushed: {e}"),
                            None => String::new(),
                        }
                    );
                    self.runs.finished(Ok(&run), elapsed);
                }
                Err(why) => {
                    error!(error = %why, "scheduled backup failed");
                    eprintln!("fanout: scheduled backup failed: {why}");
                    self.runs.finished(Err(()), elapsed);
                }
            }
            wait = self.schedule.next_wait(elapsed);
        }
    }

    /// A scheduled backup that was running when the coordinator died comes back from the
    /// state directory and would resume with no one to commit it: cancelled, so its devices
    /// are not logged in to for nothing. The schedule's own first run backs them up.
    async fn cancel_leftovers(&self, hub: &Arc<Hub>) {
        let leftovers = hub.list().into_iter().filter(|job| {
            job.state() == JobState::Running
                && job.kind == "backup"
                && job.submitted_by.starts_with(SUBMITTER)
        });
        for job in leftovers {
            warn!(job = %job.job_id, "cancelling a scheduled backup left by an earlier run of the coordinator");
            if let Err(e) = hub.cancel(&job.job_id).await {
                warn!(job = %job.job_id, error = %e.message(), "cannot cancel it");
            }
        }
    }

    /// One backup: plan, job, follow, commit, push, notify.
    async fn run_once(&self, hub: &Arc<Hub>, stop: &CancellationToken) -> Result<RunDone, String> {
        let selection = self.selection.clone();
        let (layout, rules) = (self.prepared.layout.clone(), self.prepared.rules.clone());
        let (repo, author) = (self.repo.clone(), self.prepared.author.clone());
        // The inventory is read again for every run (an edit needs no restart); the lock is
        // taken before the job is submitted, so a locked repository costs no device a login.
        let (selected, plan, store) = tokio::task::spawn_blocking(move || {
            let (selected, plan) =
                pipeline::plan(&selection, &layout, &rules).map_err(|e| e.to_string())?;
            let store = Store::open(&repo, author).map_err(|e| e.to_string())?;
            Ok::<_, String>((selected, plan, store))
        })
        .await
        .map_err(|e| format!("the backup planner failed: {e}"))??;
        let Selected { hosts, profiles } = selected;
        let mut job = job_settings(&self.execution, Vec::new());
        job.platform_profiles = profiles;
        job.platform_commands = plan.platform_commands();
        job.host_commands = plan.host_commands(&hosts);
        // The hub masks the outputs with these before its state directory or anyone else
        // sees them; only the normalised file goes further.
        job.backup_secrets = Some(plan.backup_secrets());
        let mut spec = JobSpec::from(&job);
        match &self.known_hosts {
            Some(path) => spec.known_hosts = path.display().to_string(),
            // Our default path means nothing on the workers' machines: each uses its own.
            None => spec.known_hosts.clear(),
        }
        let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
        let request = SubmitJob {
            job: Some(spec),
            hosts: hosts.iter().map(HostTarget::from).collect(),
            kind: "backup".into(),
            submitted_by: format!("{SUBMITTER} ({})", self.schedule.describe()),
        };
        drop(hosts);
        let status = hub
            .submit(request)
            .await
            .map_err(|e| format!("the job was refused: {}", e.message()))?;
        let job_id = status.job_id;
        info!(job = %job_id, hosts = names.len(), "scheduled backup started");
        let collector = Collector::new(plan);
        let mut seen: HashSet<String> = HashSet::new();
        let mut events = hub
            .watch(&job_id, 0)
            .map_err(|e| format!("job {job_id}: {}", e.message()))?;
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                _ = stop.cancelled() => {
                    // Not committed; cancelled, so it does not resume when the coordinator
                    // starts again with no one to commit it.
                    let _ = tokio::time::timeout(CANCEL_WAIT, hub.cancel(&job_id)).await;
                    return Err("the coordinator is stopping".into());
                }
            };
            match event {
                Some(Ok(event)) => match event.body {
                    Some(job_event::Body::Record(record)) => {
                        let mut record = HostRecord::from_job_record(record);
                        seen.insert(record.host.clone());
                        collector.take(&mut record);
                    }
                    Some(job_event::Body::Status(status))
                        if status.state() != JobState::Running =>
                    {
                        break;
                    }
                    Some(job_event::Body::Status(_)) | None => {}
                },
                Some(Err(e)) => {
                    warn!(job = %job_id, error = %e.message(), "following the backup job ended early");
                    break;
                }
                None => break,
            }
        }
        // Hosts with no result (a cancelled job) keep their files and are listed as not run.
        let unfinished: Vec<String> = names.into_iter().filter(|n| !seen.contains(n)).collect();
        let outcomes = collector.outcomes(&unfinished);
        let Written {
            committed,
            push_error,
        } = pipeline::write(store, outcomes, self.prepared.push.clone())
            .await
            .map_err(|e| e.to_string())?;
        if !self.prepared.notifiers.is_empty() {
            self.prepared.notifiers.send(&committed).await;
        }
        Ok(RunDone {
            job_id,
            summary: committed.summary.clone(),
            commit: committed.commit.clone(),
            changed: committed.changed.len() as u64,
            unchanged: committed.unchanged as u64,
            failed: committed.failed.len() as u64,
            push_error: push_error.map(|e| e.to_string()),
        })
    }
}

/// What one completed run came to.
struct RunDone {
    job_id: String,
    summary: String,
    commit: Option<String>,
    changed: u64,
    unchanged: u64,
    failed: u64,
    push_error: Option<String>,
}

/// The scheduled backups as `/metrics` shows them.
#[derive(Debug, Default)]
pub struct BackupRuns {
    state: Mutex<RunsState>,
}

#[derive(Debug, Default, Clone)]
pub struct RunsState {
    pub running: bool,
    /// Runs that wrote the repository (and pushed, with --push).
    pub succeeded: u64,
    /// Runs that did not: a locked repository, a bad inventory, a failed push.
    pub failed: u64,
    /// Unix seconds at the end of the last successful run; 0 before the first.
    pub last_success_unix: u64,
    /// Unix seconds at the end of the last run, whatever it came to.
    pub last_run_unix: u64,
    pub last_duration: Duration,
    /// Devices of the last run that wrote the repository.
    pub last_changed: u64,
    pub last_unchanged: u64,
    pub last_failed: u64,
}

impl BackupRuns {
    pub fn snapshot(&self) -> RunsState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn started(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).running = true;
    }

    fn finished(&self, run: Result<&RunDone, ()>, elapsed: Duration) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running = false;
        state.last_run_unix = now;
        state.last_duration = elapsed;
        match run {
            Ok(run) => {
                state.last_changed = run.changed;
                state.last_unchanged = run.unchanged;
                state.last_failed = run.failed;
                if run.push_error.is_none() {
                    state.succeeded += 1;
                    state.last_success_unix = now;
                } else {
                    state.failed += 1;
                }
            }
            Err(()) => state.failed += 1,
        }
    }
}
