//! `fanout validate`: check every selected host against a rules file. Everything that can be
//! wrong with the rules is found before any connection; the workers evaluate the rules next to
//! the outputs; the report is for a person (human, Markdown) or a machine (JSON, JUnit).

use super::{
    CommandError, JobRequest, Selected, execute, job_settings, load_interruptibly, progress_bar,
    select_hosts,
};
use crate::cli::{ReportFormat, ValidateArgs};
use crate::interrupts::Interrupts;
use crate::recorder::{Format, Recorder};
use crate::validate_report::ValidationReport;
use fanout_common::input::MAX_CONFIG_BYTES;
use fanout_common::proto::Validation;
use fanout_rules::{Rules, TemplateIndex, check_references};
use std::collections::BTreeSet;
use std::path::Path;

/// The rules file loaded and checked against the hosts and templates.
pub fn prepare(
    rules_path: &Path,
    templates: Option<&Path>,
    hosts: &[fanout_common::inventory::Host],
) -> Result<(Rules, Validation), CommandError> {
    let input = |e: String| CommandError::Input(e);
    let rules = Rules::load(rules_path).map_err(|e| input(e.to_string()))?;
    let index = TemplateIndex::load(templates).map_err(|e| input(e.to_string()))?;
    let platforms: BTreeSet<&str> = hosts.iter().map(|h| h.platform.as_str()).collect();
    let platforms: Vec<&str> = platforms.into_iter().collect();
    rules
        .check_templates(&index, &platforms)
        .map_err(|e| input(e.to_string()))?;
    let facts: Vec<serde_json::Value> = hosts.iter().map(|h| h.describe()).collect();
    check_references(&rules, &facts).map_err(|e| input(e.to_string()))?;
    let rules_yaml = fanout_common::input::read_text(rules_path, MAX_CONFIG_BYTES)
        .map_err(|e| input(format!("{}: {e}", rules_path.display())))?;
    // Only the templates the parsed rules use travel: a worker compiles nothing else, however
    // large the directory (all of ntc-templates, say).
    let bundle = rules
        .template_bundle(&index, &platforms)
        .map_err(|e| input(e.to_string()))?;
    let validation = Validation {
        rules_file: rules_path.display().to_string(),
        rules_yaml,
        template_files: bundle
            .iter()
            .flat_map(|b| b.files())
            .map(|(name, text)| (name.to_string(), text.as_bytes().to_vec()))
            .collect(),
    };
    Ok((rules, validation))
}

pub async fn run(args: ValidateArgs, interrupts: Interrupts) -> Result<u8, CommandError> {
    let (selection, rules_path, templates) = (
        args.selection.clone(),
        args.rules.clone(),
        args.templates.clone(),
    );
    let (Selected { hosts, profiles }, (rules, validation)) =
        load_interruptibly(&interrupts, move || {
            let selected = select_hosts(&selection)?;
            let prepared = prepare(&rules_path, templates.as_deref(), &selected.hosts)?;
            Ok((selected, prepared))
        })
        .await?;
    let mut job = job_settings(&args.execution, rules.commands());
    job.platform_profiles = profiles;
    job.validation = Some(validation);
    if args.output.is_some() {
        crate::recorder::check_job_file_names(&hosts, &job)?;
    }
    let progress = progress_bar(hosts.len());
    let output = args.output.as_deref();
    job.session_log = args.session_log.is_some();
    let recorder = Recorder::new(Format::Human, output, args.overwrite, false, progress)?
        .with_session_log(args.session_log.as_deref(), args.overwrite)?;
    let request = JobRequest {
        hosts,
        job,
        execution: &args.execution,
        remote: &args.remote,
        kind: "validate",
        detach: args.detach,
    };
    let Some(outcome) = execute(request, recorder, interrupts).await? else {
        return Ok(0);
    };
    let rule_names: Vec<String> = rules.rules.iter().map(|r| r.name.clone()).collect();
    let report = ValidationReport::new(&rule_names, &outcome);
    let text = match args.format {
        ReportFormat::Human => report.human(),
        ReportFormat::Json => report.json(),
        ReportFormat::Junit => report.junit(),
        ReportFormat::Markdown => report.markdown(),
        ReportFormat::Csv => report.csv(),
    };
    crate::out!("{text}");
    if args.format != ReportFormat::Human {
        eprint!("{}", report.one_line_summary());
    }
    if let Some(why) = &outcome.results_error {
        eprintln!("fanout: the run stopped early: {why}; the report above lists every host");
        return Ok(crate::run_report::EXIT_BAD_INPUT);
    }
    Ok(report.exit_code())
}
