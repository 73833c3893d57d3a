//! `fanout config show`: every flag of a command with its value and the layer it came from.

use super::{ConfigFileError, layered, load, with_file_values};
use crate::cli::{ConfigAction, ConfigArgs};
use clap::parser::ValueSource;
use std::ffi::OsString;

/// `fanout config show [COMMAND ARGS...]`: every flag of COMMAND with its value and where it
/// came from; without a command, which file is read.
pub fn show(args: &ConfigArgs) -> Result<u8, ConfigFileError> {
    let ConfigAction::Show { command, args } = &args.action;
    let raw: Vec<OsString> = std::env::args_os().collect();
    let file = load(&raw)?;
    let location = |line: Option<usize>| match (&file, line) {
        (Some(f), Some(l)) => format!("{}:{l}", f.path.display()),
        (Some(f), None) => f.path.display().to_string(),
        (None, _) => String::new(),
    };
    let Some(command) = command else {
        match &file {
            Some(f) => crate::outln!("config file: {}", f.path.display()),
            None => crate::outln!(
                "config file: none (looked for --config, ./fanout.yaml, \
                 $XDG_CONFIG_HOME/fanout/config.yaml)"
            ),
        }
        crate::outln!("precedence: flags > FANOUT_<FLAG> environment > config file > built-in");
        return Ok(0);
    };
    let mut argv = vec![OsString::from("fanout"), OsString::from(command)];
    argv.extend(args.iter().map(OsString::from));
    let layered = layered().ignore_errors(true);
    let (argv, from_file) = with_file_values(argv, &layered, file.as_ref());
    let Some(sub) = layered.find_subcommand(command).cloned() else {
        return Err(ConfigFileError {
            path: "fanout config show".into(),
            line: None,
            reason: format!("no command `{command}`"),
        });
    };
    let matches = layered.get_matches_from(argv);
    let Some((_, matches)) = matches.subcommand() else {
        return Ok(0);
    };
    for arg in sub.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else { continue };
        if matches!(id, "help" | "version" | "config") {
            continue;
        }
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) if from_file.iter().any(|f| f == long) => {
                let line = file
                    .as_ref()
                    .and_then(|f| f.value(command, long))
                    .and_then(|v| v.line);
                location(line)
            }
            Some(ValueSource::CommandLine) => "command line".to_string(),
            Some(ValueSource::EnvVariable) => {
                let env = arg
                    .get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("environment {env}")
            }
            Some(ValueSource::DefaultValue) => "built-in".to_string(),
            _ => "unset".to_string(),
        };
        let shown = if values.is_empty() {
            "-".to_string()
        } else {
            values.join(", ")
        };
        crate::outln!("--{long} = {shown}  ({source})");
    }
    Ok(0)
}
