//! `fanout backup`, `fanout diff` and `fanout history` (see [`crate::backup`]).

use super::{
    CommandError, JobRequest, Selected, execute, job_settings, load_interruptibly, progress_bar,
    select_hosts,
};
use crate::backup::args::{BackupArgs, DiffArgs, HistoryArgs, ReportFormat};
use crate::backup::history::BackupRepo;
use crate::backup::layout::Layout;
use crate::backup::plan::{BackupPlan, RunRules};
use crate::backup::store::{Author, Committed, Store};
use crate::interrupts::Interrupts;
use crate::recorder::{Format, Recorder};
use crate::run_report::{EXIT_HOST_FAILED, EXIT_OK};
use fanout_common::platform::PlatformRegistry;

pub async fn backup(args: BackupArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let layout = Layout::parse(&args.layout).map_err(CommandError::Input)?;
    let author = Author::parse(&args.author).map_err(CommandError::Input)?;
    let rules = RunRules {
        volatile: args.volatile.clone(),
        secrets: args.secrets.clone(),
        keep_secrets: args.keep_secrets,
    };
    let notifiers = crate::backup::notify::Notifiers::new(
        &args.notify_webhooks,
        args.notify_webhook_format,
        args.notify_exec.as_deref(),
        !args.keep_secrets,
    )
    .map_err(CommandError::Input)?;
    let selection = args.selection.clone();
    let (Selected { hosts, profiles }, plan) = load_interruptibly(&interrupts, move || {
        let selected = select_hosts(&selection)?;
        let registry = PlatformRegistry::load(selection.platforms.as_deref())?;
        let plan = BackupPlan::new(&selected.hosts, &registry, &layout, &rules)
            .map_err(CommandError::Input)?;
        Ok((selected, plan))
    })
    .await?;
    // The lock is taken before any device is contacted: a second run is refused at once.
    let store = Store::open(&args.repo, author)?;
    let mut job = job_settings(&args.execution, Vec::new());
    job.platform_profiles = profiles;
    job.platform_commands = plan.platform_commands();
    job.host_commands = plan.host_commands(&hosts);
    let progress = progress_bar(hosts.len());
    // Each result is normalised as it arrives and its outputs dropped; the repository is
    // written once, at the end.
    let plan = std::sync::Arc::new(plan);
    let collected = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (taker, into) = (plan.clone(), collected.clone());
    let recorder =
        Recorder::new(Format::Human, None, false, false, progress)?.with_transform(move |record| {
            if let Some(outcome) = taker.outcome_of(record) {
                into.lock().unwrap_or_else(|p| p.into_inner()).push(outcome);
            }
            for command in &mut record.commands {
                command.output = None;
                command.raw = Vec::new();
            }
        });
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
    let collected = std::mem::take(&mut *collected.lock().unwrap_or_else(|p| p.into_inner()));
    let outcomes = plan.outcomes(collected, &outcome.unfinished);
    drop(outcome);
    let started = std::time::Instant::now();
    let push = args.push.clone();
    let (committed, pushed) = tokio::task::spawn_blocking(move || {
        let committed = store.commit(outcomes)?;
        let pushed = push.map(|remote| store.push(&remote));
        Ok::<_, CommandError>((committed, pushed))
    })
    .await
    .map_err(|e| CommandError::Internal(format!("the repository writer failed: {e}")))??;
    tracing::info!(elapsed = ?started.elapsed(), "repository written");
    print(&committed, args.format);
    let push_failed = match pushed {
        Some(Err(e)) => {
            eprintln!("fanout: the backup is committed but not pushed: {e}");
            true
        }
        _ => false,
    };
    if !notifiers.is_empty() {
        notifiers.send(&committed).await;
    }
    Ok(if committed.failed.is_empty() && !push_failed {
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
