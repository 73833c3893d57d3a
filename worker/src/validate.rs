//! Rule evaluation in the worker, next to the outputs: only verdicts travel back, and the
//! coordinator never parses device output.

use crate::session::CommandOutput;
use fanout_common::proto::{RuleVerdict, Validation};
use fanout_rules::{Rules, TemplateIndex, evaluate};
use std::collections::HashMap;

/// A validation job's rules and templates, built once per job.
pub struct Validator {
    rules: Rules,
    templates: TemplateIndex,
    /// Holds the user's templates as files while the job runs; the index reads them lazily.
    _template_dir: Option<tempfile::TempDir>,
}

impl Validator {
    /// The coordinator checked the rules and templates before any connection, so an error
    /// here means a coordinator and worker that disagree: every host then fails as `internal`.
    pub fn from_proto(validation: &Validation) -> Result<Self, String> {
        let rules = Rules::parse(&validation.rules_file, &validation.rules_yaml)
            .map_err(|e| e.to_string())?;
        if validation.template_files.is_empty() {
            return Ok(Self {
                rules,
                templates: TemplateIndex::bundled(),
                _template_dir: None,
            });
        }
        let dir = tempfile::tempdir().map_err(|e| format!("cannot hold the templates: {e}"))?;
        for (name, text) in &validation.template_files {
            // Names come from the coordinator's directory listing: plain file names only.
            if name.contains('/') || name.starts_with('.') {
                return Err(format!(
                    "template file name {name:?} is not a plain file name"
                ));
            }
            std::fs::write(dir.path().join(name), text)
                .map_err(|e| format!("cannot write template {name}: {e}"))?;
        }
        let templates = TemplateIndex::load(Some(dir.path())).map_err(|e| e.to_string())?;
        Ok(Self {
            rules,
            templates,
            _template_dir: Some(dir),
        })
    }

    /// One verdict per rule for a host whose commands all ran.
    pub fn verdicts(
        &self,
        facts: &serde_json::Value,
        platform: &str,
        outputs: &[CommandOutput],
    ) -> Vec<RuleVerdict> {
        let by_command: HashMap<String, String> = outputs
            .iter()
            .map(|o| {
                (
                    o.command.clone(),
                    String::from_utf8_lossy(&o.output).into_owned(),
                )
            })
            .collect();
        evaluate(&self.rules, facts, platform, &by_command, &self.templates)
            .into_iter()
            .map(|o| RuleVerdict {
                rule: o.rule,
                passed: o.passed,
                reason: o.reason.unwrap_or_default(),
                offending_line: o.offending_line.unwrap_or_default(),
            })
            .collect()
    }
}
