//! `fanout run`: commands and HTTP requests on every selected host, through local worker
//! processes or a coordinator's workers (`--coordinator`).

use super::{CommandError, Selected, execute, job_settings, progress_bar, select_hosts};
use crate::cli::RunArgs;
use crate::recorder::{Format, Recorder};
use crate::report;
use crate::run::Interrupts;

pub async fn run(args: RunArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let Selected { hosts, profiles } = select_hosts(&args.selection)?;
    let mut job = job_settings(&args.execution, args.commands);
    job.platform_profiles = profiles;
    job.http = crate::http_job::build(&args.http, &hosts)?;
    if args.output.is_some() {
        crate::recorder::check_job_file_names(&hosts, &job)?;
    }
    let progress = progress_bar(hosts.len());
    let keep_outputs = args.format == Format::Human && args.output.is_none();
    let output = args.output.as_deref();
    job.session_log = args.session_log.is_some();
    let recorder = Recorder::new(args.format, output, args.overwrite, keep_outputs, progress)?
        .with_session_log(args.session_log.as_deref(), args.overwrite)?;
    let modes = (&args.execution, &args.remote);
    let Some(outcome) = execute(
        hosts,
        job,
        modes,
        ("run", args.detach),
        recorder,
        interrupts,
    )
    .await?
    else {
        return Ok(0);
    };
    report::print(&outcome, args.format, args.output.as_deref());
    Ok(outcome.exit_code())
}
