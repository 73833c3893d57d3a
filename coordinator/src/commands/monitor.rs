//! `fanout monitor`: poll every selected host continuously through local workers, alert on
//! changes and thresholds, and serve the live dashboard, until Ctrl-C.

use super::{CommandError, Selected, job_settings, load_interruptibly, select_hosts};
use crate::cli::MonitorArgs;
use crate::interrupts::Interrupts;
use crate::job::JobSettings;
use crate::local_cluster::ClusterConfig;
use crate::local_cluster::sizing::{self, Holding};
use crate::local_cluster::worker_processes::WorkerProgram;
use crate::monitor_job::poll_parse::PollParser;
use crate::monitor_job::{MonitorRun, has_snmp_checks, monitor_spec, run_monitor};
use fanout_common::inventory::Host;
use fanout_common::proto::SnmpJob;
use fanout_monitor::{DispatchSettings, Monitor, MonitorConfig};
use fanout_rules::TemplateIndex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub async fn run(args: MonitorArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    if args.every.is_zero() {
        return Err(CommandError::Input("--every must be more than 0".into()));
    }
    if let Some(address) = args.dashboard {
        check_dashboard_address(address, args.dashboard_allow_remote)?;
    }
    let (checks, selection) = (args.checks.clone(), args.selection.clone());
    let mibs = args.mibs.clone();
    let (config, Selected { hosts, profiles }) = load_interruptibly(&interrupts, move || {
        let names = crate::mibs::load(&mibs)?;
        let config = MonitorConfig::load(&checks, &names)?;
        Ok((config, select_hosts(&selection)?))
    })
    .await?;
    let spec = monitor_spec(&config, args.every);
    let snmp = has_snmp_checks(&config)
        .then(|| snmp_settings(&hosts, &args))
        .transpose()
        .map_err(|e| CommandError::Input(format!("{}: {e}", args.checks.display())))?;
    let platforms = hosts
        .iter()
        .map(|h| (h.name.clone(), h.platform.clone()))
        .collect();
    let parser = PollParser::new(&config.checks, platforms, TemplateIndex::bundled());
    parser
        .check_tracked_columns()
        .map_err(|e| CommandError::Input(format!("{}: {e}", args.checks.display())))?;

    let stop = CancellationToken::new();
    let monitor = Monitor::start(
        &config,
        &args.journal,
        DispatchSettings::default(),
        stop.clone(),
    )?;
    let dashboard = match args.dashboard {
        Some(address) => {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|source| CommandError::Dashboard { address, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| CommandError::Dashboard { address, source })?;
            let task = tokio::spawn(fanout_monitor::dashboard::serve(
                listener,
                monitor.clone(),
                stop.clone(),
            ));
            Some((bound, task))
        }
        None => None,
    };

    let program = WorkerProgram::locate()?;
    let host_count = hosts.len();
    // Each worker may hold every host, so the survivors can take over a lost worker's.
    let sizing = sizing::size(
        args.execution.workers,
        args.execution.concurrency,
        host_count,
        Holding::Every,
    );
    for note in &sizing.notes {
        eprintln!("fanout: {note}");
    }
    let run = MonitorRun {
        job: JobSettings {
            platform_profiles: profiles,
            snmp,
            ..job_settings(&args.execution, Vec::new())
        },
        interval: args.every,
        cluster: ClusterConfig {
            workers: sizing.workers,
            concurrency: sizing.concurrency,
            program,
            lease_timeout: args.execution.lease_timeout,
            respawn: args.execution.respawn,
        },
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
        // Scripts and tests wait for this line: the workers are attached and polling. A
        // reader that went away is not a reason to stop monitoring (alerts still go out).
        crate::outln!(
            "monitoring {host_count} hosts every {every} through {} workers (pids {pids:?}){dashboard_note}; alerts recorded in {journal}",
            pids.len()
        );
    })
    .await;
    stop.cancel();
    if let Some((_, task)) = dashboard {
        let _ = task.await;
    }
    let outcome = outcome?;
    crate::outln!(
        "stopped: {} polls ({} unreadable), {} alerts open, {} workers lost, {} hosts reassigned",
        outcome.polls,
        outcome.unparsed,
        monitor.open_alerts().len(),
        outcome.workers_lost,
        outcome.reassigned
    );
    Ok(0)
}

/// How many hosts without `snmp:` settings an error names before it counts the rest.
const NAMED_HOSTS: usize = 5;

/// The SNMP settings of a monitor with SNMP checks, once every host has been found to say how
/// to reach it over SNMP.
fn snmp_settings(hosts: &[Host], args: &MonitorArgs) -> Result<SnmpJob, String> {
    let missing: Vec<&str> = hosts
        .iter()
        .filter(|h| h.snmp.is_none())
        .map(|h| h.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(SnmpJob {
            requests: Vec::new(),
            max_repetitions: args.snmp_max_repetitions,
            timeout_ms: u64::try_from(args.snmp_timeout.as_millis()).unwrap_or(u64::MAX),
            retries: args.snmp_retries,
            // A check's few walks (column, names, speed, sysUpTime) go out at once.
            max_in_flight: 4,
            // The monitor reads its varbinds by OID, so the workers need no MIB names.
            names: Default::default(),
        });
    }
    let more = match missing.len().saturating_sub(NAMED_HOSTS) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Err(format!(
        "the checks poll over SNMP, but the inventory has no `snmp:` section for {}{more}; \
         set one on the hosts, a group or the defaults, or select only hosts that have one",
        missing[..missing.len().min(NAMED_HOSTS)].join(", ")
    ))
}

/// The dashboard has no authentication and no TLS: it shows the fleet's state to whoever
/// reaches it. Like `fanout serve` without TLS, it is served on loopback only, unless the
/// person starting it says by name that it may be reached from elsewhere (behind a reverse
/// proxy that authenticates, say); then it says so loudly.
fn check_dashboard_address(
    address: std::net::SocketAddr,
    allow_remote: bool,
) -> Result<(), CommandError> {
    if address.ip().is_loopback() {
        return Ok(());
    }
    if !allow_remote {
        return Err(CommandError::Input(format!(
            "--dashboard {address} is not a loopback address, and the dashboard has no \
             authentication or TLS; serve it on 127.0.0.1 (behind a reverse proxy that \
             authenticates, or an SSH tunnel), or give --dashboard-allow-remote to serve it \
             to anyone who can reach {address}"
        )));
    }
    eprintln!(
        "fanout: warning: the dashboard on {address} has no authentication: anyone who can \
         reach it sees every host's state and alerts"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_stays_on_loopback_unless_told_otherwise() {
        let loopback = "127.0.0.1:8080".parse().unwrap();
        let v6_loopback = "[::1]:8080".parse().unwrap();
        let any = "0.0.0.0:8080".parse().unwrap();
        let lan = "192.0.2.10:8080".parse().unwrap();
        assert!(check_dashboard_address(loopback, false).is_ok());
        assert!(check_dashboard_address(v6_loopback, false).is_ok());
        for address in [any, lan] {
            let refused = check_dashboard_address(address, false).unwrap_err();
            assert!(refused.to_string().contains("--dashboard-allow-remote"));
            assert!(check_dashboard_address(address, true).is_ok());
        }
    }
}
