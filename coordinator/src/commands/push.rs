//! `fanout push`: the input checked (every host rendered, every platform able to take a
//! change, the waves and the gate) before any connection, then `crate::push` runs it.

use super::{CommandError, Selected, job_settings, load_interruptibly, select_hosts};
use crate::cli::{PushArgs, PushFormat};
use crate::interrupts::Interrupts;
use crate::push::{self, plan::Platform, render, report};
use fanout_common::platform::PlatformRegistry;

pub async fn run(args: PushArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let selection = args.selection.clone();
    let (template, lines) = (args.template.clone(), args.lines.clone());
    let (rules, templates) = (args.validate.clone(), args.templates.clone());
    let (Selected { hosts, profiles }, rendered, platforms, gate) =
        load_interruptibly(&interrupts, move || {
            let selected = select_hosts(&selection)?;
            let source =
                render::load(template.as_deref(), lines.as_deref()).map_err(CommandError::Input)?;
            let rendered = render::render_all(&source, &selected.hosts)
                .map_err(|e| CommandError::Input(e.to_string()))?;
            let registry = PlatformRegistry::load(selection.platforms.as_deref())?;
            let platforms = selected
                .hosts
                .iter()
                .map(|host| {
                    registry
                        .get(&host.platform)
                        .and_then(|p| p.profile.config_mode.as_ref())
                        .and_then(Platform::new)
                        .ok_or_else(|| {
                            CommandError::Input(format!(
                                "host {:?}: platform {} has no `config_mode.push` in its \
                                 profile, so fanout does not know how to change it",
                                host.name, host.platform
                            ))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let gate = match &rules {
                Some(path) => {
                    let (rules, validation) =
                        super::validate::prepare(path, templates.as_deref(), &selected.hosts)?;
                    Some((rules.commands(), validation))
                }
                None => None,
            };
            Ok((selected, rendered, platforms, gate))
        })
        .await?;
    let waves =
        push::waves::plan(hosts.len(), args.canary, &args.waves).map_err(CommandError::Input)?;
    let mut job = job_settings(&args.execution, Vec::new());
    job.platform_profiles = profiles;
    // A change is never retried after a possibly partial attempt.
    job.retries = 0;
    let archive = format!("fanout-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    // After Ctrl-C a host in flight finishes its change, however long it takes within its
    // --host-timeout: cut off at --drain-grace it could be left in configuration mode.
    let mut execution = args.execution.clone();
    execution.drain_grace = execution.drain_grace.max(execution.host_timeout);
    let run = push::Push {
        hosts,
        lines: rendered,
        platforms,
        job,
        execution: &execution,
        remote: &args.remote,
        commit: args.commit,
        waves,
        max_failures: args.max_failures,
        gate,
        rollback_on_failure: args.rollback_on_failure,
        confirm_minutes: args.confirm_minutes,
        archive,
        session_log: args.session_log.clone(),
        steps_run: Default::default(),
    };
    let outcome = push::run(run, interrupts).await?;
    let text = match args.format {
        PushFormat::Human => report::human(&outcome),
        PushFormat::Json => report::json(&outcome),
        PushFormat::Markdown => report::markdown(&outcome),
    };
    crate::out!("{text}");
    if args.format != PushFormat::Human {
        eprintln!("{}", report::summary(&outcome));
    }
    if let Some(path) = &args.report {
        std::fs::write(path, report::json(&outcome)).map_err(|e| {
            CommandError::Internal(format!("cannot write the report {}: {e}", path.display()))
        })?;
    }
    Ok(outcome.exit_code())
}
