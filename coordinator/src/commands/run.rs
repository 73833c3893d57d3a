//! `fanout run`: commands and HTTP requests on every selected host, through local worker
//! processes or a coordinator's workers (`--coordinator`).

use super::remote::{self, Submitted};
use super::{CommandError, Selected, job_settings, local_run, progress_bar, select_hosts};
use crate::cli::RunArgs;
use crate::recorder::{Format, Recorder};
use crate::report;
use crate::run::{Interrupts, run_local};

pub async fn run(args: RunArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let Selected { hosts, profiles } = select_hosts(&args.selection)?;
    let mut job = job_settings(&args.execution, args.commands);
    job.platform_profiles = profiles;
    job.http = crate::http_job::build(&args.http, &hosts)?;
    let progress = progress_bar(hosts.len());
    let keep_outputs = args.format == Format::Human && args.output.is_none();
    let recorder = Recorder::new(args.format, args.output.as_deref(), keep_outputs, progress)?;
    let outcome = if args.remote.coordinator.is_some() {
        match remote::submit(
            &args.remote,
            &hosts,
            (&job, &args.execution),
            ("run", args.detach),
            recorder,
            interrupts,
        )
        .await?
        {
            Submitted::Followed(outcome) => outcome,
            Submitted::Detached(_) => return Ok(0),
        }
    } else {
        let run = local_run(hosts, job, &args.execution)?;
        run_local(run, recorder, interrupts).await?
    };
    report::print(&outcome, args.format, args.output.as_deref());
    Ok(outcome.exit_code())
}
