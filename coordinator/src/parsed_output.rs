//! `fanout run --parse textfsm`: structured records beside each output, as Netmiko's
//! `use_textfsm=True` returns them.
//!
//! Templates are found the way Netmiko finds them: `--templates DIR`, else `$NET_TEXTFSM`,
//! else the `templates` directory of an installed Python `ntc_templates` package (python3 is
//! asked where it is). Parsing happens on the coordinator as each host's result arrives: the
//! text is already here to be written, and workers need no templates.

use crate::host_record::HostRecord;
use fanout_rules::{IndexError, TEMPLATE_DIR_ENV, TemplateIndex};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Which commands `--parse` asks structured records for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseSpec {
    /// `--parse textfsm`: every command (those without a template are marked, not failed).
    pub all: bool,
    /// `--parse 'textfsm:show vlan brief'`: these commands, each of which must have a template.
    pub commands: Vec<String>,
}

impl ParseSpec {
    /// Reads the `--parse` values: `textfsm` or `textfsm:COMMAND`.
    pub fn from_args(values: &[String]) -> Result<ParseSpec, String> {
        let mut spec = ParseSpec::default();
        for value in values {
            let (parser, command) = match value.split_once(':') {
                Some((parser, command)) => (parser.trim(), Some(command.trim())),
                None => (value.trim(), None),
            };
            if parser != "textfsm" {
                return Err(format!(
                    "--parse {value:?}: unknown parser {parser:?}; use `textfsm` or \
                     `textfsm:COMMAND`"
                ));
            }
            match command {
                None => spec.all = true,
                Some("") => return Err(format!("--parse {value:?}: the command is empty")),
                Some(command) => spec.commands.push(normalise(command)),
            }
        }
        Ok(spec)
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.commands.is_empty()
    }

    fn wants(&self, command: &str) -> bool {
        self.all || self.commands.iter().any(|c| *c == normalise(command))
    }
}

fn normalise(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The TextFSM parser of a run.
pub struct OutputParser {
    spec: ParseSpec,
    index: TemplateIndex,
    /// Where the templates came from, for messages.
    pub source: PathBuf,
}

impl OutputParser {
    /// Finds the templates and checks that every command named in `spec` has one on every
    /// platform of `platforms`, so a missing template stops the run before any connection.
    pub fn new(
        spec: ParseSpec,
        templates: Option<&Path>,
        commands: &[String],
        platforms: &[&str],
    ) -> Result<OutputParser, String> {
        let dir = template_dir(templates)?;
        let index = TemplateIndex::load(Some(&dir)).map_err(|e| format!("--parse: {e}"))?;
        let named: Vec<String> = commands
            .iter()
            .filter(|c| spec.commands.contains(&normalise(c)))
            .cloned()
            .collect();
        for command in &spec.commands {
            if !commands.iter().any(|c| normalise(c) == *command) {
                return Err(format!("--parse textfsm:{command}: no -c runs {command:?}"));
            }
        }
        for platform in platforms {
            for command in &named {
                index
                    .templates(platform, command)
                    .map_err(|e| format!("--parse textfsm:{command}: {e}"))?;
            }
        }
        Ok(OutputParser {
            spec,
            index,
            source: dir,
        })
    }

    /// Adds each wanted command's records to `record`. A command that was rejected or has no
    /// output is left alone; one without a template or whose output does not parse gets a
    /// `parse_error` and keeps its text.
    pub fn apply(&self, record: &mut HostRecord) {
        let platform = record.platform.clone();
        for command in &mut record.commands {
            if command.rejected || !self.spec.wants(&command.command) {
                continue;
            }
            let text = String::from_utf8_lossy(&command.raw);
            match self.index.parse(&platform, &command.command, &text) {
                Ok(table) => {
                    let rows = table
                        .rows
                        .into_iter()
                        .map(|row| {
                            // Netmiko and ntc-templates give lower-case keys.
                            let lowered: serde_json::Map<_, _> = row
                                .into_iter()
                                .map(|(k, v)| (k.to_lowercase(), v))
                                .collect();
                            serde_json::Value::Object(lowered)
                        })
                        .collect();
                    command.parsed = Some(serde_json::Value::Array(rows));
                }
                Err(IndexError::NotFound { .. }) => {
                    command.parse_error = Some(format!(
                        "no TextFSM template for platform {platform} and this command"
                    ));
                }
                Err(e) => command.parse_error = Some(e.to_string()),
            }
        }
    }
}

/// The template directory as Netmiko would pick it.
pub fn template_dir(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    // Empty counts as unset, as in Netmiko.
    if let Some(dir) = std::env::var_os(TEMPLATE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match python_ntc_templates() {
        Ok(dir) => Ok(dir),
        Err(why) => Err(format!(
            "--parse textfsm needs TextFSM templates: give --templates DIR, set \
             {TEMPLATE_DIR_ENV}, or install ntc-templates for python3 \
             (`python3 -m pip install ntc-templates`); {why}"
        )),
    }
}

/// Asks python3 where the `ntc_templates` package keeps its templates.
fn python_ntc_templates() -> Result<PathBuf, String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import os, ntc_templates; \
             print(os.path.join(os.path.dirname(ntc_templates.__file__), 'templates'))",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("python3 cannot be run: {e}"))?;
    if !output.status.success() {
        return Err("python3 has no ntc_templates package".to_string());
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !dir.join("index").is_file() {
        return Err(format!("{} has no index file", dir.display()));
    }
    Ok(dir)
}

/// The file of a command's records, beside its text: `show_version.txt` → `show_version.json`.
pub fn records_file(text_file: &str) -> String {
    let stem = text_file.strip_suffix(".txt").unwrap_or(text_file);
    format!("{stem}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_values() {
        let spec = ParseSpec::from_args(&["textfsm".into()]).unwrap();
        assert!(spec.all && spec.wants("show anything"));
        let spec = ParseSpec::from_args(&[
            "textfsm:show  ip int brief".into(),
            "textfsm:show vlan".into(),
        ])
        .unwrap();
        assert!(!spec.all);
        assert!(spec.wants("show ip int brief") && !spec.wants("show version"));
        assert!(ParseSpec::from_args(&["ttp".into()]).is_err());
        assert!(ParseSpec::from_args(&["textfsm:".into()]).is_err());
        assert_eq!(records_file("show_version.txt"), "show_version.json");
    }
}
