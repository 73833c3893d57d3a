//! `fanout run`: commands on every selected host, through local worker processes.

use super::{CommandError, default_workers, job_settings, progress_bar, select_hosts};
use crate::cli::RunArgs;
use crate::recorder::{Format, Recorder};
use crate::report;
use crate::run::{Interrupts, LocalRun, run_local};
use crate::supervisor::WorkerProgram;

pub async fn run(args: RunArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let hosts = select_hosts(&args.selection)?;
    let job = job_settings(&args.execution, args.commands);
    let progress = progress_bar(hosts.len());
    let keep_outputs = args.format == Format::Human && args.output.is_none();
    let recorder = Recorder::new(args.format, args.output.as_deref(), keep_outputs, progress)?;
    let program = WorkerProgram::locate().map_err(|e| CommandError::Internal(e.to_string()))?;
    let run = LocalRun {
        workers: args
            .execution
            .workers
            .unwrap_or_else(default_workers)
            .clamp(1, hosts.len()),
        concurrency: args.execution.concurrency,
        drain_grace: args.execution.drain_grace,
        hosts,
        job,
        program,
    };
    let outcome = run_local(run, recorder, interrupts).await?;
    report::print(&outcome, args.format, args.output.as_deref());
    Ok(outcome.exit_code())
}
