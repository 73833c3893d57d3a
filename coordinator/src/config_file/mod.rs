//! Defaults for every flag from a file and the environment, layered under the command line:
//! flags > `FANOUT_<FLAG>` > the config file > built-in defaults.
//!
//! The file is `--config FILE`, else `fanout.yaml` in the working directory, else
//! `$XDG_CONFIG_HOME/fanout/config.yaml` (`~/.config/...`). It is a YAML mapping of flag names
//! (long names, `-` or `_`) that apply to every command having that flag, and of command names
//! holding flags for that command alone, which win:
//!
//! ```yaml
//! workers: 4
//! connect-timeout: 5s
//! run:
//!   format: json
//!   filter: [site=ams]
//! ```
//!
//! The layers are clap's own: each flag gets `env = FANOUT_<FLAG>` and the file's value as its
//! default before the command line is parsed, so clap's precedence (command line, then
//! environment, then default) is the one above and every value is checked as a flag's is.

mod show;

pub use show::show;

use crate::cli::Cli;
use clap::{CommandFactory, FromArgMatches};
use serde_yaml_ng::Value;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Commands that take no defaults: the hidden worker (configured by its own flags and
/// environment) and `config` itself.
const SKIPPED: &[&str] = &["worker", "config", "help", "completions", "man"];

/// A config file that cannot be used, with its file and line.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {reason}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigFileError {
    pub path: String,
    pub line: Option<usize>,
    pub reason: String,
}

/// One value from the file, with where it was written.
#[derive(Debug, Clone)]
pub(crate) struct FileValue {
    values: Vec<String>,
    pub(crate) line: Option<usize>,
}

/// The file's settings: for all commands, and per command.
#[derive(Debug, Default)]
pub struct ConfigFile {
    pub(crate) path: PathBuf,
    global: HashMap<String, FileValue>,
    per_command: HashMap<String, HashMap<String, FileValue>>,
}

/// The config file to read: `--config` (given, so it must exist), else the first that exists
/// of `./fanout.yaml` and `$XDG_CONFIG_HOME/fanout/config.yaml`.
pub fn find(args: &[OsString]) -> Option<(PathBuf, bool)> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return iter.next().map(|p| (PathBuf::from(p), true));
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some((PathBuf::from(path), true));
        }
    }
    let local = PathBuf::from("fanout.yaml");
    if local.is_file() {
        return Some((local, false));
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let user = xdg.join("fanout/config.yaml");
    user.is_file().then_some((user, false))
}

impl ConfigFile {
    /// Reads and checks `path` against the flags `command` has: an unknown key is an error with
    /// its line and the closest flag.
    pub fn read(path: &Path, command: &clap::Command) -> Result<ConfigFile, ConfigFileError> {
        let fail = |line: Option<usize>, reason: String| ConfigFileError {
            path: path.display().to_string(),
            line,
            reason,
        };
        let text = fanout_common::input::read_text(path, 1 << 20)
            .map_err(|e| fail(None, format!("cannot read: {e}")))?;
        let value: Value = serde_yaml_ng::from_str(&text)
            .map_err(|e| fail(e.location().map(|l| l.line()), e.to_string()))?;
        let flags = command_flags(command);
        let all_flags: Vec<&str> = {
            let mut all: Vec<&str> = flags.values().flatten().map(String::as_str).collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        let mut file = ConfigFile {
            path: path.to_path_buf(),
            ..ConfigFile::default()
        };
        let top = match value {
            Value::Null => return Ok(file),
            Value::Mapping(map) => map,
            _ => {
                return Err(fail(
                    Some(1),
                    "expected a mapping of flags and commands".into(),
                ));
            }
        };
        for (key, value) in &top {
            let key = key_name(key);
            let line = line_of(&text, None, &key);
            // `workers` is both a command and a flag: a mapping is the command's section.
            let is_flag = all_flags.contains(&key.replace('_', "-").as_str());
            if let Some(command_flags) = flags.get(&key)
                && (value.is_mapping() || !is_flag)
            {
                let Value::Mapping(section) = value else {
                    return Err(fail(
                        line,
                        format!("`{key}` is a command: expected a mapping of its flags"),
                    ));
                };
                let mut settings = HashMap::new();
                for (flag, value) in section {
                    let flag_name = key_name(flag).replace('_', "-");
                    // A flow mapping (`run: {workers: 2}`) has its flags on the command's line.
                    let flag_line = line_of(&text, Some(&key), &key_name(flag)).or(line);
                    if !command_flags.contains(&flag_name) {
                        let known: Vec<&str> = command_flags.iter().map(String::as_str).collect();
                        return Err(fail(flag_line, unknown(&flag_name, Some(&key), &known)));
                    }
                    let values = scalars(value)
                        .map_err(|why| fail(flag_line, format!("`{flag_name}`: {why}")))?;
                    settings.insert(
                        flag_name,
                        FileValue {
                            values,
                            line: flag_line,
                        },
                    );
                }
                file.per_command.insert(key, settings);
                continue;
            }
            let flag_name = key.replace('_', "-");
            if !all_flags.contains(&flag_name.as_str()) {
                let mut known = all_flags.clone();
                known.extend(flags.keys().map(String::as_str));
                return Err(fail(line, unknown(&flag_name, None, &known)));
            }
            let values =
                scalars(value).map_err(|why| fail(line, format!("`{flag_name}`: {why}")))?;
            file.global.insert(flag_name, FileValue { values, line });
        }
        Ok(file)
    }

    pub(crate) fn value(&self, command: &str, flag: &str) -> Option<&FileValue> {
        self.per_command
            .get(command)
            .and_then(|s| s.get(flag))
            .or_else(|| self.global.get(flag))
    }
}

fn unknown(key: &str, command: Option<&str>, known: &[&str]) -> String {
    let hint = fanout_common::suggest::closest(key, known.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    match command {
        Some(command) => format!("unknown key `{key}`: `fanout {command}` has no --{key}{hint}"),
        None => format!("unknown key `{key}`: no command has --{key}, and it is no command{hint}"),
    }
}

fn key_name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A flag's value(s) as the command line would give them.
fn scalars(value: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err("expected a value or a list of values".to_string()),
    };
    match value {
        Value::Sequence(items) => items.iter().map(one).collect(),
        other => one(other).map(|v| vec![v]),
    }
}

/// The line of `key` (top-level, or under the top-level `section`): a config file is two
/// levels deep, so its text is enough.
fn line_of(text: &str, section: Option<&str>, key: &str) -> Option<usize> {
    let is_key = |line: &str, key: &str| {
        let body = line.trim_start();
        body.strip_prefix(key)
            .or_else(|| body.strip_prefix(&format!("\"{key}\"")))
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    };
    let mut in_section = section.is_none();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let top_level = !line.starts_with([' ', '\t']);
        match section {
            None if top_level && is_key(line, key) => return Some(number + 1),
            None => {}
            Some(section) => {
                if top_level {
                    in_section = is_key(line, section);
                } else if in_section && is_key(line, key) {
                    return Some(number + 1);
                }
            }
        }
    }
    None
}

/// Each command's flags (long names), by command name.
fn command_flags(command: &clap::Command) -> HashMap<String, Vec<String>> {
    command
        .get_subcommands()
        .filter(|sub| !SKIPPED.contains(&sub.get_name()))
        .map(|sub| {
            let flags = sub
                .get_arguments()
                .filter(|a| !matches!(a.get_id().as_str(), "help" | "version" | "config"))
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect();
            (sub.get_name().to_string(), flags)
        })
        .collect()
}

/// `FANOUT_CONNECT_TIMEOUT` for `--connect-timeout`.
pub fn env_name(long: &str) -> String {
    format!("FANOUT_{}", long.to_uppercase().replace('-', "_"))
}

/// `fanout`'s command with an environment variable, `FANOUT_<FLAG>`, for every flag.
pub fn layered() -> clap::Command {
    let mut command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .filter(|sub| !SKIPPED.contains(&sub.get_name()))
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(&name, |sub| {
            let args: Vec<(String, String)> = sub
                .get_arguments()
                .filter(|a| !matches!(a.get_id().as_str(), "help" | "version" | "config"))
                .filter(|a| a.get_env().is_none())
                .filter_map(|a| Some((a.get_id().to_string(), a.get_long()?.to_string())))
                .collect();
            let mut sub = sub;
            for (id, long) in args {
                // clap keeps `&'static str` without its `string` feature; these few names
                // live as long as the process anyway.
                sub = sub.mut_arg(&id, |arg| arg.env(leak(env_name(&long))));
            }
            sub
        });
    }
    command
}

/// The command line with the file's values added for the flags that neither the command
/// line nor the environment set, right after the command's name, and the flags added.
///
/// Added as flags rather than as clap defaults so that clap checks them as it checks typed
/// flags and a flag that is otherwise required (`-i`, `-c`) may come from the file.
pub fn with_file_values(
    argv: Vec<OsString>,
    command: &clap::Command,
    file: Option<&ConfigFile>,
) -> (Vec<OsString>, Vec<String>) {
    let Some(file) = file else {
        return (argv, Vec::new());
    };
    let Some((position, name)) = command_name(&argv, command) else {
        return (argv, Vec::new());
    };
    let Some(sub) = command.find_subcommand(&name) else {
        return (argv, Vec::new());
    };
    let given = &argv[position + 1..];
    let on_command_line = |arg: &clap::Arg| {
        given.iter().any(|word| {
            let word = word.to_string_lossy();
            let long = arg.get_long().map(|l| format!("--{l}"));
            if let Some(long) = &long
                && (word == long.as_str() || word.starts_with(&format!("{long}=")))
            {
                return true;
            }
            arg.get_short()
                .is_some_and(|s| word.starts_with(&format!("-{s}")) && !word.starts_with("--"))
        })
    };
    let mut added = Vec::new();
    let mut extra = Vec::new();
    for arg in sub.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let Some(value) = file.value(&name, long) else {
            continue;
        };
        let in_env = arg
            .get_env()
            .is_some_and(|env| std::env::var_os(env).is_some());
        if in_env || on_command_line(arg) {
            continue;
        }
        if arg.get_action().takes_values() {
            extra.extend(
                value
                    .values
                    .iter()
                    .map(|v| OsString::from(format!("--{long}={v}"))),
            );
        } else if value.values.iter().any(|v| v == "true") {
            extra.push(OsString::from(format!("--{long}")));
        }
        added.push(long.to_string());
    }
    let mut argv = argv;
    argv.splice(position + 1..position + 1, extra);
    (argv, added)
}

/// Where the command's name is on the command line, and the name: the first word that names
/// one, past `--config FILE`.
fn command_name(argv: &[OsString], command: &clap::Command) -> Option<(usize, String)> {
    let mut skip_next = false;
    for (index, arg) in argv.iter().enumerate().skip(1) {
        let text = arg.to_string_lossy();
        if skip_next {
            skip_next = false;
            continue;
        }
        if text == "--config" {
            skip_next = true;
            continue;
        }
        if command.find_subcommand(text.as_ref()).is_some() {
            return Some((index, text.into_owned()));
        }
        if !text.starts_with('-') {
            return None;
        }
    }
    None
}

/// A value the file gave that clap refused (`concurrency: lots`), as the file's error with its
/// line: clap's own message names only the flag, which the user never typed.
fn file_value_refused(
    error: &clap::Error,
    argv: &[OsString],
    command: &clap::Command,
    file: &ConfigFile,
    added: &[String],
) -> Option<ConfigFileError> {
    use clap::error::{ContextKind, ContextValue};
    use std::error::Error as _;
    let ContextValue::String(arg) = error.get(ContextKind::InvalidArg)? else {
        return None;
    };
    let long = arg
        .strip_prefix("--")?
        .split([' ', '='])
        .next()
        .unwrap_or_default();
    if !added.iter().any(|a| a == long) {
        return None;
    }
    let (_, name) = command_name(argv, command)?;
    let value = file.value(&name, long)?;
    let reason = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(given)) => format!("`{long}`: invalid value `{given}`"),
        _ => format!("`{long}`: invalid value"),
    };
    let why = error.source().map(|e| format!(": {e}")).unwrap_or_default();
    Some(ConfigFileError {
        path: file.path.display().to_string(),
        line: value.line,
        reason: format!("{reason}{why}"),
    })
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// Parses `fanout`'s command line over the environment and the config file; a problem with
/// the file exits 2 with its file and line, as clap exits for a bad flag.
pub fn parse_cli() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let file = match load(&args) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("fanout: {e}");
            std::process::exit(i32::from(crate::run_report::EXIT_BAD_INPUT));
        }
    };
    let command = layered();
    let (with_file, added) = with_file_values(args.clone(), &command, file.as_ref());
    let matches = command
        .clone()
        .try_get_matches_from(with_file)
        .unwrap_or_else(|error| {
            let refused = file
                .as_ref()
                .and_then(|f| file_value_refused(&error, &args, &command, f, &added));
            match refused {
                Some(e) => {
                    eprintln!("fanout: {e}");
                    std::process::exit(i32::from(crate::run_report::EXIT_BAD_INPUT));
                }
                None => error.exit(),
            }
        });
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

pub(crate) fn load(args: &[OsString]) -> Result<Option<ConfigFile>, ConfigFileError> {
    match find(args) {
        Some((path, given)) => {
            if !given && !path.is_file() {
                return Ok(None);
            }
            ConfigFile::read(&path, &Cli::command()).map(Some)
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::parser::ValueSource;

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fanout.yaml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn parse(file: Option<&ConfigFile>, args: &[&str]) -> clap::ArgMatches {
        let mut argv = vec![OsString::from("fanout")];
        argv.extend(args.iter().map(OsString::from));
        let command = layered();
        let (argv, _) = with_file_values(argv, &command, file);
        command.try_get_matches_from(argv).unwrap()
    }

    #[test]
    fn flags_beat_env_beat_file_beat_built_in() {
        let (_dir, path) = file_with(
            "\
connect-timeout: 7s
workers: 3
run:
  format: json
  workers: 5
  filter: [site=ams, role=core]
",
        );
        let file = ConfigFile::read(&path, &Cli::command()).unwrap();
        let matches = parse(Some(&file), &["run", "-i", "x.yaml", "-c", "show clock"]);
        let (_, run) = matches.subcommand().unwrap();
        let raw = |id: &str| -> Vec<String> {
            run.get_raw(id)
                .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            raw("workers"),
            ["5"],
            "the command's section beats the top level"
        );
        assert_eq!(raw("connect_timeout"), ["7s"]);
        assert_eq!(raw("format"), ["json"]);
        assert_eq!(raw("filters"), ["site=ams", "role=core"]);
        assert_eq!(
            run.value_source("command_timeout"),
            Some(ValueSource::DefaultValue)
        );

        let matches = parse(
            Some(&file),
            &["run", "-i", "x", "-c", "c", "--workers", "9"],
        );
        let (_, run) = matches.subcommand().unwrap();
        assert_eq!(run.get_raw("workers").unwrap().next().unwrap(), "9");
        assert_eq!(run.value_source("workers"), Some(ValueSource::CommandLine));

        // validate has --workers too: the top level applies to it.
        let matches = parse(Some(&file), &["validate", "-i", "x", "-r", "r.yaml"]);
        let (_, validate) = matches.subcommand().unwrap();
        assert_eq!(validate.get_raw("workers").unwrap().next().unwrap(), "3");
    }

    #[test]
    fn every_flag_has_an_environment_variable() {
        let command = layered();
        let run = command.find_subcommand("run").unwrap();
        let env = |id: &str| {
            run.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(
            env("connect_timeout").as_deref(),
            Some("FANOUT_CONNECT_TIMEOUT")
        );
        assert_eq!(
            env("platforms").as_deref(),
            Some("FANOUT_PLATFORMS"),
            "kept as it was"
        );
        for sub in command.get_subcommands() {
            if SKIPPED.contains(&sub.get_name()) {
                continue;
            }
            for arg in sub.get_arguments() {
                if arg.get_long().is_some()
                    && !matches!(arg.get_id().as_str(), "help" | "version" | "config")
                {
                    assert!(
                        arg.get_env().is_some(),
                        "{} --{:?}",
                        sub.get_name(),
                        arg.get_long()
                    );
                }
            }
        }
    }

    #[test]
    fn a_value_the_file_gave_that_clap_refuses_names_the_file_and_line() {
        let (_dir, path) = file_with("workers: 2\nrun:\n  format: json\n  concurrency: lots\n");
        let file = ConfigFile::read(&path, &Cli::command()).unwrap();
        let command = layered();
        let argv: Vec<OsString> = ["fanout", "run", "-i", "x.yaml", "-c", "show clock"]
            .iter()
            .map(OsString::from)
            .collect();
        let (with_file, added) = with_file_values(argv.clone(), &command, Some(&file));
        let error = command.clone().try_get_matches_from(with_file).unwrap_err();
        let refused = file_value_refused(&error, &argv, &command, &file, &added).unwrap();
        assert_eq!(refused.line, Some(4));
        assert!(
            refused.to_string().ends_with(
                "fanout.yaml:4: `concurrency`: invalid value `lots`: invalid digit found in string"
            ),
            "{refused}"
        );

        // The same bad value typed on the command line is clap's to report, not the file's.
        let typed: Vec<OsString> = ["fanout", "run", "-i", "x", "-c", "c", "--concurrency", "x"]
            .iter()
            .map(OsString::from)
            .collect();
        let (with_file, added) = with_file_values(typed.clone(), &command, Some(&file));
        let error = command.clone().try_get_matches_from(with_file).unwrap_err();
        assert!(file_value_refused(&error, &typed, &command, &file, &added).is_none());
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let cases = [
            (
                "workers: 2\nconect-timeout: 5s\n",
                "fanout.yaml:2: unknown key `conect-timeout`: no command has --conect-timeout, and it is no command (did you mean `connect-timeout`?)",
            ),
            (
                "run:\n  workers: 2\n  formt: json\n",
                "fanout.yaml:3: unknown key `formt`: `fanout run` has no --formt (did you mean `format`?)",
            ),
            (
                "run: 3\n",
                "fanout.yaml:1: `run` is a command: expected a mapping of its flags",
            ),
            (
                "concurrency: {a: 1}\n",
                "fanout.yaml:1: `concurrency`: expected a value or a list of values",
            ),
            (
                "run: {workrs: 1}\n",
                "fanout.yaml:1: unknown key `workrs`: `fanout run` has no --workrs (did you mean `workers`?)",
            ),
        ];
        for (text, expected) in cases {
            let (dir, path) = file_with(text);
            let error = ConfigFile::read(&path, &Cli::command())
                .unwrap_err()
                .to_string();
            let error = error.replace(&format!("{}/", dir.path().display()), "");
            assert_eq!(error, expected);
        }
    }
}
