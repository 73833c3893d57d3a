//! `fanout monitor`: poll every selected host continuously through local workers, alert on
//! changes and thresholds, and serve the live dashboard, until Ctrl-C.

use super::{CommandError, Selected, default_workers, job_settings, select_hosts};
use crate::cli::MonitorArgs;
use crate::job::JobSettings;
use crate::monitoring::parse::PollParser;
use crate::monitoring::{MonitorRun, monitor_spec, run_monitor};
use crate::run::Interrupts;
use fanout_monitor::{DispatchSettings, Monitor, MonitorConfig};
use fanout_rules::TemplateIndex;
use std::io::Write as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// File descriptors a worker keeps for itself.
const FD_RESERVE_PER_WORKER: u64 = 64;

pub async fn run(args: MonitorArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let config =
        MonitorConfig::load(&args.checks).map_err(|e| CommandError::Input(e.to_string()))?;
    let spec = monitor_spec(&config, args.every)
        .map_err(|e| CommandError::Input(format!("{}: {e}", args.checks.display())))?;
    if args.every.is_zero() {
        return Err(CommandError::Input("--every must be more than 0".into()));
    }
    let Selected { hosts, profiles } = select_hosts(&args.selection)?;
    let platforms = hosts
        .iter()
        .map(|h| (h.name.clone(), h.platform.clone()))
        .collect();
    let parser = PollParser::new(&config.checks, platforms, TemplateIndex::bundled());

    let stop = CancellationToken::new();
    let monitor = Monitor::start(
        &config,
        &args.journal,
        DispatchSettings::default(),
        stop.clone(),
    )
    .map_err(|e| CommandError::Input(e.to_string()))?;
    let dashboard = match args.dashboard {
        Some(address) => {
            let listener = TcpListener::bind(address).await.map_err(|e| {
                CommandError::Input(format!("cannot serve the dashboard on {address}: {e}"))
            })?;
            let bound = listener
                .local_addr()
                .map_err(|e| CommandError::Internal(e.to_string()))?;
            let task = tokio::spawn(fanout_monitor::dashboard::serve(
                listener,
                monitor.clone(),
                stop.clone(),
            ));
            Some((bound, task))
        }
        None => None,
    };

    let program = crate::supervisor::WorkerProgram::locate()
        .map_err(|e| CommandError::Internal(e.to_string()))?;
    let workers = args
        .execution
        .workers
        .unwrap_or_else(default_workers)
        .clamp(1, hosts.len().max(1));
    let host_count = hosts.len();
    let run = MonitorRun {
        // Each worker may hold every host, so the survivors can take over a lost worker's.
        concurrency: fit_fd_limit(args.execution.concurrency, host_count),
        job: JobSettings {
            platform_profiles: profiles,
            ..job_settings(&args.execution, Vec::new())
        },
        interval: args.every,
        workers,
        program,
        lease_timeout: args.execution.lease_timeout,
        respawn: args.execution.respawn,
        duration: args.duration,
        hosts,
    };
    let every = humantime::format_duration(args.every);
    let dashboard_note = dashboard
        .as_ref()
        .map(|(address, _)| format!("; dashboard on http://{address}/"))
        .unwrap_or_default();
    let journal = args.journal.display().to_string();
    let outcome = run_monitor(run, spec, parser, monitor.clone(), interrupts, |pids| {
        // Scripts and tests wait for this line: the workers are attached and polling.
        println!(
            "monitoring {host_count} hosts every {every} through {} workers (pids {pids:?}){dashboard_note}; alerts recorded in {journal}",
            pids.len()
        );
        let _ = std::io::stdout().flush();
    })
    .await;
    stop.cancel();
    if let Some((_, task)) = dashboard {
        let _ = task.await;
    }
    let outcome = outcome?;
    println!(
        "stopped: {} polls ({} unreadable), {} alerts open, {} workers lost, {} hosts reassigned",
        outcome.polls,
        outcome.unparsed,
        monitor.open_alerts().len(),
        outcome.workers_lost,
        outcome.reassigned
    );
    Ok(0)
}

/// Hosts each worker may hold: what was asked, at most every host, and no more than the
/// open-file limit allows (one socket per session).
fn fit_fd_limit(asked: u32, hosts: usize) -> u32 {
    let wanted = u64::from(asked).min(hosts as u64).max(1);
    let limit = fanout_common::limits::raise_fd_limit().unwrap_or(1024);
    let room = limit.saturating_sub(FD_RESERVE_PER_WORKER).max(1);
    wanted.min(room) as u32
}
