//! Rule evaluation in the worker, next to the outputs: only verdicts travel back, and the
//! coordinator never parses device output.

use crate::outcome::{CommandOutput, HostOutcome, SessionFailure};
use fanout_common::FailureKind;
use fanout_common::proto::{RuleVerdict, Validation};
use fanout_rules::{Rules, TemplateBundle, TemplateIndex, evaluate};
use std::collections::HashMap;
use std::sync::Arc;

/// A validation job's rules and templates, built once per job.
pub struct Validator {
    rules: Rules,
    /// The templates the coordinator shipped, held in memory; each is compiled the first time a
    /// host needs it and then shared by every host of the job on this worker.
    templates: TemplateIndex,
}

impl Validator {
    /// The coordinator checked the rules and templates before any connection, so an error
    /// here means a coordinator and worker that disagree: every host then fails as `internal`.
    pub fn from_proto(validation: &Validation) -> Result<Self, String> {
        let rules = Rules::parse(&validation.rules_file, &validation.rules_yaml)
            .map_err(|e| e.to_string())?;
        let templates = if validation.template_files.is_empty() {
            TemplateIndex::bundled()
        } else {
            // Nothing touches the disk: the files were checked (and are UTF-8) on the
            // coordinator, which read them as text.
            let files = validation
                .template_files
                .iter()
                .map(|(name, text)| (name.clone(), String::from_utf8_lossy(text).into_owned()));
            let bundle = TemplateBundle::from_files(files)
                .ok_or("the job's template files have no index")?;
            TemplateIndex::from_bundle(&bundle).map_err(|e| e.to_string())?
        };
        Ok(Self { rules, templates })
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

/// For a validation job (`validator` set) whose host ran every command: the rules' verdicts on
/// its outputs, computed off the async threads (TextFSM over a large output can take
/// milliseconds). A job whose rules could not be built fails the host as `internal`.
pub async fn judge(
    validator: Option<&Result<Arc<Validator>, String>>,
    facts: serde_json::Value,
    platform: String,
    mut outcome: HostOutcome,
) -> (HostOutcome, Vec<RuleVerdict>) {
    let validator = match validator {
        None => return (outcome, Vec::new()),
        Some(Err(e)) => {
            outcome.failure = Some(SessionFailure {
                kind: FailureKind::Internal,
                message: format!("cannot evaluate the rules: {e}"),
            });
            return (outcome, Vec::new());
        }
        Some(Ok(_)) if outcome.failure.is_some() => return (outcome, Vec::new()),
        Some(Ok(validator)) => validator.clone(),
    };
    let evaluated = tokio::task::spawn_blocking(move || {
        let verdicts = validator.verdicts(&facts, &platform, &outcome.outputs);
        (outcome, verdicts)
    })
    .await;
    evaluated.unwrap_or_else(|e| {
        let failure = SessionFailure {
            kind: FailureKind::Internal,
            message: format!("rule evaluation crashed: {e}"),
        };
        let outcome = HostOutcome {
            failure: Some(failure),
            ..Default::default()
        };
        (outcome, Vec::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const RULES: &str = "rules:\n  - name: clock synced\n    command: show clock\n    parse: textfsm\n    expect: { source: { equals: NTP } }\n";

    fn validation(files: &[(&str, &str)]) -> Validation {
        Validation {
            rules_file: "rules.yaml".into(),
            rules_yaml: RULES.into(),
            template_files: files
                .iter()
                .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
                .collect(),
        }
    }

    fn verdict(validator: &Validator, output: &str) -> RuleVerdict {
        let output = CommandOutput {
            command: "show clock".into(),
            output: output.as_bytes().to_vec(),
            duration: Duration::ZERO,
            rejection: None,
        };
        validator
            .verdicts(&serde_json::json!({}), "cisco_ios", &[output])
            .remove(0)
    }

    /// The shipped bundle is the worker's only template source besides fanout's own: a
    /// template fanout does not ship parses from memory.
    #[test]
    fn shipped_templates_parse_without_touching_the_disk() {
        let validator = Validator::from_proto(&validation(&[
            (
                "index",
                "Template, Platform, Command\n0-clock.textfsm, cisco_ios$, show clock$\n",
            ),
            (
                "0-clock.textfsm",
                "Value TIME (\\S+)\nValue SOURCE (\\w+)\n\nStart\n  ^\\*?${TIME}.*source\\s+${SOURCE} -> Record\n",
            ),
        ]))
        .unwrap();
        assert!(verdict(&validator, "10:02:33 UTC, source NTP\n").passed);
        let failed = verdict(&validator, "10:02:33 UTC, source manual\n");
        assert!(
            !failed.passed && failed.reason.contains("manual"),
            "{failed:?}"
        );

        let err = Validator::from_proto(&validation(&[("0-clock.textfsm", "x")]))
            .err()
            .unwrap();
        assert!(err.contains("no index"), "{err}");
        // Nothing shipped: fanout's own templates, which have no `show clock`.
        let bundled = Validator::from_proto(&validation(&[])).unwrap();
        assert!(!verdict(&bundled, "10:02:33 UTC, source NTP\n").passed);
    }
}
