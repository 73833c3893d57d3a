//! `fanout demo`: the main job, on a simulated fleet started in this process, so anyone can see
//! what fanout does without a lab: 200 devices, 4 worker processes, every running-config.

use super::{CommandError, job_settings, local_run, progress_bar, select_hosts};
use crate::cli::{DemoArgs, ExecutionArgs, HostKeyPolicyArg, Selection};
use crate::interrupts::Interrupts;
use crate::local_run::{RunOutcome, run_local};
use crate::recorder::{Format, Recorder};
use crate::run_report;
use fanout_devsim::{Fleet, FleetConfig};
use std::time::Duration;

const DEMO_COMMAND: &str = "show running-config";

pub async fn run(args: DemoArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    if args.devices == 0 || args.workers == 0 {
        return Err(CommandError::Input(
            "--devices and --workers must be at least 1".into(),
        ));
    }
    if let Err(e) = fanout_common::limits::raise_fd_limit() {
        tracing::warn!(error = %e, "cannot raise the file descriptor limit");
    }
    let scratch = tempfile::tempdir().map_err(|e| CommandError::Internal(e.to_string()))?;
    let fleet = Fleet::start(FleetConfig {
        count: args.devices,
        latency: args.latency,
        ..FleetConfig::default()
    })
    .await
    .map_err(|e| CommandError::Internal(format!("cannot start the simulated fleet: {e}")))?;
    let inventory = scratch.path().join("inventory.yaml");
    fleet
        .write_inventory(&inventory)
        .map_err(|e| CommandError::Internal(format!("cannot write the demo inventory: {e}")))?;
    let hosts = select_hosts(&Selection {
        inventory: vec![inventory],
        filters: Vec::new(),
        platforms: None,
    })?
    .hosts;

    let devices = fleet.devices();
    let (first, last) = (&devices[0], &devices[devices.len() - 1]);
    crate::outln!(
        "fanout demo: {} simulated cisco_ios devices on {}..{} port {}, {} per command",
        devices.len(),
        first.address,
        last.address,
        fleet.port(),
        humantime::format_duration(args.latency)
    );
    crate::outln!(
        "collecting `{DEMO_COMMAND}` from every device through {} worker processes\n",
        args.workers
    );

    // The fleet is new each time: pin its keys in a scratch file, not the user's known_hosts.
    let execution = ExecutionArgs {
        workers: Some(args.workers),
        concurrency: 1000,
        connect_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(30),
        host_timeout: Duration::from_secs(120),
        host_key_policy: HostKeyPolicyArg::AcceptNew,
        known_hosts: Some(scratch.path().join("known_hosts")),
        max_output: 256 << 20,
        drain_grace: Duration::from_secs(10),
        retries: 1,
        retry_backoff: Duration::from_millis(500),
        // A simulated fleet has no AAA server to protect: measure fanout, not a throttle.
        connect_rate: 0.0,
        lease_timeout: Duration::from_secs(10),
        respawn: 2,
    };
    let progress = progress_bar(hosts.len());
    let output = args.output.as_deref();
    let recorder = Recorder::new(Format::Human, output, args.overwrite, false, progress)?;
    let job = job_settings(&execution, vec![DEMO_COMMAND.to_string()]);
    let run = local_run(hosts, job, &execution)?;
    let outcome = run_local(run, recorder, interrupts).await?;
    fleet.shutdown().await;

    let failures = run_report::failure_table(&outcome.records, &outcome.unfinished);
    if !failures.is_empty() {
        crate::outln!("Failed hosts:\n{failures}");
    }
    crate::out!("{}", run_report::summary(&outcome, args.output.as_deref()));
    crate::outln!("{}", sequential_estimate(&outcome));
    Ok(outcome.exit_code())
}

/// What a one-device-at-a-time script would have taken: the sum of the measured per-device
/// session times (connect, log in, run the command). An estimate, and labelled as one: each
/// time was measured while other sessions ran, so it is if anything on the high side.
fn sequential_estimate(outcome: &RunOutcome) -> String {
    let ok: Vec<u64> = outcome
        .records
        .iter()
        .filter(|r| r.ok)
        .map(|r| r.duration_ms)
        .collect();
    if ok.is_empty() {
        return "sequential no host succeeded, so there is nothing to compare with".into();
    }
    let collected: u64 = outcome
        .records
        .iter()
        .flat_map(|r| &r.commands)
        .map(|c| c.output_bytes)
        .sum();
    let per_device = ok.iter().sum::<u64>() as f64 / ok.len() as f64 / 1000.0;
    let sequential = per_device * outcome.records.len() as f64;
    let speedup = sequential / outcome.wall.as_secs_f64().max(1e-9);
    format!(
        "collected  {:.1} MB of configuration\n\
         sequential one device at a time would take about {}, {:.0}x longer\n           \
         (an estimate: {:.2} s per device, the mean of {} measured sessions, times {} devices)",
        collected as f64 / 1e6,
        humantime::format_duration(Duration::from_secs(sequential.round() as u64)),
        speedup,
        per_device,
        ok.len(),
        outcome.records.len()
    )
}
