//! `fanout run`: commands and HTTP requests on every selected host, through local worker
//! processes or a coordinator's workers (`--coordinator`).

use super::{
    CommandError, JobRequest, Selected, execute, job_settings, load_interruptibly, progress_bar,
    select_hosts,
};
use crate::cli::RunArgs;
use crate::interrupts::Interrupts;
use crate::parsed_output::{OutputParser, ParseSpec};
use crate::recorder::{Format, Recorder};
use crate::run_report;

pub async fn run(args: RunArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    check_commands(&args.commands)?;
    let (selection, http) = (args.selection.clone(), args.http.clone());
    let snmp = args.snmp.clone();
    let (Selected { hosts, profiles }, (http, snmp)) = load_interruptibly(&interrupts, move || {
        let selected = select_hosts(&selection)?;
        let http = crate::http_job::build(&http, &selected.hosts)?;
        // Only a run that polls SNMP reads MIB files (FANOUT_MIBS may be set for every run).
        let polls_snmp = !snmp.gets.is_empty() || !snmp.walks.is_empty();
        let names = match polls_snmp {
            true => crate::mibs::load(&snmp.mibs)?,
            false => Default::default(),
        };
        let snmp = crate::snmp_job::build(&snmp, &names, &selected.hosts)?;
        Ok((selected, (http, snmp)))
    })
    .await?;
    let mut job = job_settings(&args.execution, args.commands);
    job.platform_profiles = profiles;
    job.http = http;
    job.snmp = snmp;
    if args.output.is_some() {
        crate::recorder::check_job_file_names(&hosts, &job)?;
    }
    let parser = output_parser(
        &args.parse,
        args.templates.as_deref(),
        &hosts,
        &job.commands,
    )?;
    let progress = progress_bar(hosts.len());
    let keep_outputs = args.format == Format::Human && args.output.is_none();
    let output = args.output.as_deref();
    job.session_log = args.session_log.is_some();
    let recorder = Recorder::new(args.format, output, args.overwrite, keep_outputs, progress)?
        .with_session_log(args.session_log.as_deref(), args.overwrite)?
        .with_parser(parser);
    let request = JobRequest {
        hosts,
        job,
        execution: &args.execution,
        remote: &args.remote,
        kind: "run",
        detach: args.detach,
    };
    let Some(outcome) = execute(request, recorder, interrupts).await? else {
        return Ok(0);
    };
    run_report::print(&outcome, args.format, args.output.as_deref());
    Ok(outcome.exit_code())
}

/// The `--parse` parser, its templates found and checked before anything connects.
fn output_parser(
    parse: &[String],
    templates: Option<&std::path::Path>,
    hosts: &[fanout_common::inventory::Host],
    commands: &[String],
) -> Result<Option<OutputParser>, CommandError> {
    let spec = ParseSpec::from_args(parse).map_err(CommandError::Input)?;
    if spec.is_empty() {
        return Ok(None);
    }
    let mut platforms: Vec<&str> = hosts.iter().map(|h| h.platform.as_str()).collect();
    platforms.sort_unstable();
    platforms.dedup();
    OutputParser::new(spec, templates, commands, &platforms)
        .map(Some)
        .map_err(CommandError::Input)
}

/// Each `-c` is one command line: a line break or another control character in it would be
/// typed to the device as a keystroke (see [`fanout_common::command_text`]).
fn check_commands(commands: &[String]) -> Result<(), CommandError> {
    for command in commands {
        fanout_common::command_text::check_command(command).map_err(|e| {
            CommandError::Input(format!("-c {command:?} {e}; give each command its own -c"))
        })?;
    }
    Ok(())
}
