//! `fanout backup`, `fanout diff` and `fanout history` (see [`crate::backup`]).

use super::{
    CommandError, JobRequest, Selected, execute, job_settings, load_interruptibly, progress_bar,
};
use crate::backup::args::{BackupArgs, DiffArgs, HistoryArgs, ReportFormat};
use crate::backup::history::BackupRepo;
use crate::backup::pipeline::{self, Collector, Prepared, Written};
use crate::backup::store::{Committed, Store};
use crate::interrupts::Interrupts;
use crate::recorder::{Format, Recorder};
use crate::run_report::{EXIT_HOST_FAILED, EXIT_OK};

pub async fn backup(args: BackupArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let prepared = Prepared::new(&args.options).map_err(CommandError::Input)?;
    if args.options.keep_secrets && args.remote.coordinator.is_some() {
        // The coordinator keeps every job's outputs in its state directory: it is only given
        // outputs it can mask.
        return Err(CommandError::Input(
            "--keep-secrets cannot run through --coordinator: the coordinator's state directory \
             would keep the secrets; run it on local workers"
                .into(),
        ));
    }
    let selection = args.selection.clone();
    let (layout, rules) = (prepared.layout.clone(), prepared.rules.clone());
    let (Selected { hosts, profiles }, plan) = load_interruptibly(&interrupts, move || {
        pipeline::plan(&selection, &layout, &rules)
    })
    .await?;
    // The lock is taken before any device is contacted: a second run is refused at once.
    let store = Store::open(&args.repo, prepared.author.clone())?;
    let mut job = job_settings(&args.execution, Vec::new());
    job.platform_profiles = profiles;
    job.platform_commands = plan.platform_commands();
    job.host_commands = plan.host_commands(&hosts);
    if args.remote.coordinator.is_some() {
        job.backup_secrets = Some(plan.backup_secrets());
    }
    let progress = progress_bar(hosts.len());
    // Each result is normalised as it arrives and its outputs dropped; the repository is
    // written once, at the end.
    let collector = Collector::new(plan);
    let taker = collector.clone();
    let recorder = Recorder::new(Format::Human, None, false, false, progress)?
        .with_transform(move |record| taker.take(record));
    let request = JobRequest {
        hosts,
        job,
        execution: &args.execution,
        remote: &args.remote,
        kind: "backup",
        detach: false,
    };
    let Some(outcome) = execute(request, recorder, interrupts).await? else {
        return Ok(EXIT_OK);
    };
    let outcomes = collector.outcomes(&outcome.unfinished);
    drop(outcome);
    let started = std::time::Instant::now();
    let Written {
        committed,
        push_error,
    } = pipeline::write(store, outcomes, prepared.push.clone()).await?;
    tracing::info!(elapsed = ?started.elapsed(), "repository written");
    print(&committed, args.format);
    if let Some(e) = &push_error {
        eprintln!("fanout: the backup is committed but not pushed: {e}");
    }
    if !prepared.notifiers.is_empty() {
        prepared.notifiers.send(&committed).await;
    }
    Ok(if committed.failed.is_empty() && push_error.is_none() {
        EXIT_OK
    } else {
        EXIT_HOST_FAILED
    })
}

fn print(committed: &Committed, format: ReportFormat) {
    match format {
        ReportFormat::Json => {
            let line = serde_json::to_string(committed).expect("the report serialises");
            crate::outln!("{line}");
        }
        ReportFormat::Human => {
            for change in &committed.changed {
                let new = if change.new { " (new)" } else { "" };
                crate::outln!(
                    "changed  {}  +{} -{}{new}  {}",
                    change.host,
                    change.added,
                    change.removed,
                    change.path
                );
            }
            for failure in &committed.failed {
                let kept = match &failure.kept {
                    Some(path) => format!("kept {path}"),
                    None => "no earlier backup".to_string(),
                };
                crate::outln!(
                    "failed   {}  {}: {} ({kept})",
                    failure.host,
                    failure.kind,
                    crate::terminal_text::line(&failure.message)
                );
            }
            match &committed.commit {
                Some(commit) => crate::outln!("{} (commit {})", committed.summary, &commit[..12]),
                None => crate::outln!("{} (nothing changed, no commit)", committed.summary),
            }
        }
    }
}

pub fn diff(args: DiffArgs) -> Result<u8, CommandError> {
    let repo = BackupRepo::open(&args.repo)?;
    let diff = repo.diff(&args.host, args.rev.as_deref())?;
    match args.format {
        ReportFormat::Json => {
            let line = serde_json::to_string(&diff).expect("the diff serialises");
            crate::outln!("{line}");
        }
        ReportFormat::Human => {
            if diff.patch.is_empty() {
                crate::outln!("{}: no change ({})", diff.host, diff.path);
            } else {
                crate::out!("{}", diff.patch);
            }
        }
    }
    Ok(EXIT_OK)
}

pub fn history(args: HistoryArgs) -> Result<u8, CommandError> {
    let repo = BackupRepo::open(&args.repo)?;
    let revisions = repo.history(&args.host)?;
    match args.format {
        ReportFormat::Json => {
            let line = serde_json::to_string(&revisions).expect("the history serialises");
            crate::outln!("{line}");
        }
        ReportFormat::Human => {
            for r in &revisions {
                let when = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(u64::try_from(r.time_unix).unwrap_or(0));
                crate::outln!(
                    "{}  {}  +{} -{}  {}",
                    &r.commit[..12],
                    humantime::format_rfc3339_seconds(when),
                    r.added,
                    r.removed,
                    r.summary
                );
            }
        }
    }
    Ok(EXIT_OK)
}
