//! The push report, per host: rendered lines, diff, the device's responses, commit and
//! rollback status, wave; for a person (human, Markdown) or a machine (JSON).

use super::Outcome;
use super::diff;
use super::plan::{Platform, Step};
use crate::host_record::HostRecord;
use fanout_common::inventory::Host;
use serde::Serialize;
use std::fmt::Write as _;

/// Where a host stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Status {
    /// Dry run: what would be sent is known, nothing was changed.
    Planned,
    /// Not pushed: the rollout stopped before its wave, or it never got a result.
    NotReached,
    /// Committed with a timer, waiting for the gate and the confirmation.
    AwaitingConfirm,
    /// The change is in the device's configuration (confirmed where it needs to be).
    Applied,
    /// Nothing changed: the host failed before its configuration steps, or its candidate was
    /// discarded after a rejected line.
    Failed,
    /// A line was rejected after earlier ones took effect (no candidate).
    PartiallyApplied,
    /// Cut off mid-change: what the device did is not known.
    Unknown(String),
    /// The change was undone.
    RolledBack,
}

impl Status {
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Status::Planned | Status::Applied | Status::AwaitingConfirm
        )
    }

    /// Whether the apply step may have changed the device, so a rollback is in order.
    pub fn may_have_changed(&self) -> bool {
        matches!(
            self,
            Status::Applied
                | Status::AwaitingConfirm
                | Status::PartiallyApplied
                | Status::Unknown(_)
        )
    }
}

/// The gate's verdict on one host.
#[derive(Debug, Clone, Serialize)]
pub struct GateVerdict {
    pub passed: bool,
    /// Each failed rule and why, or why the host could not be validated.
    pub failures: Vec<String>,
}

pub fn gate_verdict(record: Option<&HostRecord>) -> GateVerdict {
    let Some(record) = record else {
        return GateVerdict {
            passed: false,
            failures: vec!["not validated (no result)".into()],
        };
    };
    let mut failures: Vec<String> = record
        .rules
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {}", r.rule, r.reason.as_deref().unwrap_or("failed")))
        .collect();
    if let Some(f) = &record.failure {
        failures.push(format!("{}: {}", f.kind, f.message));
    }
    GateVerdict {
        passed: failures.is_empty() && record.ok,
        failures,
    }
}

/// One command the device answered.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    pub step: &'static str,
    pub command: String,
    pub output: String,
    pub rejected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostChange {
    pub host: String,
    pub platform: String,
    pub wave: Option<String>,
    pub lines: Vec<String>,
    /// What changes: the device's own diff on candidate platforms, fanout's elsewhere.
    pub diff: Option<String>,
    /// `device` or `fanout`.
    pub diff_by: Option<&'static str>,
    pub status: Status,
    /// The last failure a step reported.
    pub failure: Option<String>,
    pub gate: Option<GateVerdict>,
    pub rollback: Option<String>,
    /// Size of the running configuration captured before the change (kept on the device as
    /// the rollback archive; not repeated here).
    pub pre_change_bytes: Option<u64>,
    pub responses: Vec<Response>,
}

impl HostChange {
    pub fn new(host: &Host, lines: &[String]) -> Self {
        Self {
            host: host.name.clone(),
            platform: host.platform.clone(),
            wave: None,
            lines: lines.to_vec(),
            diff: None,
            diff_by: None,
            status: Status::NotReached,
            failure: None,
            gate: None,
            rollback: None,
            pre_change_bytes: None,
            responses: Vec::new(),
        }
    }

    /// Takes in one step's record: responses, failure, and the diff where the step shows one.
    pub fn absorb(&mut self, step: Step, record: Option<&HostRecord>, platform: &Platform) {
        let Some(record) = record else { return };
        let name = match step {
            Step::DryRun => "dry-run",
            Step::Apply => "apply",
            Step::Confirm => "confirm",
            Step::Rollback => "rollback",
        };
        let diff_from = platform
            .commands(step, &self.lines, "", 0)
            .and_then(|c| c.diff_from);
        for (index, command) in record.commands.iter().enumerate() {
            let output = command.output.clone().unwrap_or_default();
            if Some(index) == diff_from {
                if platform.push.candidate {
                    self.diff = Some(output.clone());
                    self.diff_by = Some("device");
                } else {
                    self.diff = Some(diff::computed(&output, &self.lines));
                    self.diff_by = Some("fanout");
                    self.pre_change_bytes = Some(command.output_bytes);
                    continue;
                }
            }
            self.responses.push(Response {
                step: name,
                command: command.command.clone(),
                output,
                rejected: command.rejected,
            });
        }
        if let Some(f) = &record.failure {
            self.failure = Some(format!("{name}: {}: {}", f.kind, f.message));
        }
    }
}

/// The whole run as JSON.
pub fn json(outcome: &Outcome) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        committed: bool,
        stopped: &'a Option<String>,
        hosts: &'a [HostChange],
    }
    serde_json::to_string_pretty(&Doc {
        committed: outcome.committed,
        stopped: &outcome.stopped,
        hosts: &outcome.changes,
    })
    .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the report: {e}\"}}"))
}

fn status_text(status: &Status) -> String {
    match status {
        Status::Planned => "planned (dry run, nothing changed)".into(),
        Status::NotReached => "not reached".into(),
        Status::AwaitingConfirm => {
            "committed, NOT confirmed: the device rolls it back by itself when its timer ends"
                .into()
        }
        Status::Applied => "applied".into(),
        Status::Failed => "failed (unchanged)".into(),
        Status::PartiallyApplied => "PARTIALLY applied (a line was rejected)".into(),
        Status::Unknown(why) => format!("UNKNOWN state: {why}"),
        Status::RolledBack => "rolled back".into(),
    }
}

/// The summary line: counts by state.
pub fn summary(outcome: &Outcome) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for change in &outcome.changes {
        let key = match &change.status {
            Status::Unknown(_) => "unknown".to_string(),
            other => serde_json::to_value(other)
                .ok()
                .and_then(|v| v["state"].as_str().map(str::to_string))
                .unwrap_or_default(),
        };
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let mut line = format!(
        "{}: {} host(s): {}",
        if outcome.committed { "push" } else { "dry run" },
        outcome.changes.len(),
        parts.join(", ")
    );
    if let Some(why) = &outcome.stopped {
        let _ = write!(line, "; STOPPED: {why}");
    }
    line
}

pub fn human(outcome: &Outcome) -> String {
    let mut out = String::new();
    for c in &outcome.changes {
        let wave = c.wave.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "== {} ({}, {wave}): {}",
            c.host,
            c.platform,
            status_text(&c.status)
        );
        out.push_str("  lines:\n");
        for line in &c.lines {
            let _ = writeln!(out, "    {line}");
        }
        if let Some(diff) = &c.diff {
            let by = match c.diff_by {
                Some("device") => "the device's own diff",
                _ => "fanout's computed diff",
            };
            let _ = writeln!(out, "  diff ({by}):");
            for line in diff.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        if let Some(gate) = &c.gate {
            let _ = writeln!(
                out,
                "  gate: {}",
                if gate.passed { "passed" } else { "FAILED" }
            );
            for f in &gate.failures {
                let _ = writeln!(out, "    {f}");
            }
        }
        if let Some(rollback) = &c.rollback {
            let _ = writeln!(out, "  rollback: {rollback}");
        }
        if let Some(failure) = &c.failure {
            let _ = writeln!(out, "  failure: {failure}");
        }
        for r in c
            .responses
            .iter()
            .filter(|r| r.rejected || !r.output.trim().is_empty())
        {
            let mark = if r.rejected { " (REJECTED)" } else { "" };
            let _ = writeln!(out, "  [{}] {}{mark}:", r.step, r.command);
            for line in r.output.lines() {
                let _ = writeln!(out, "    | {line}");
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary(outcome));
    out
}

pub fn markdown(outcome: &Outcome) -> String {
    let mut out = String::from("# fanout push\n\n");
    let _ = writeln!(out, "{}\n", summary(outcome));
    out.push_str(
        "| host | platform | wave | status | gate | rollback |\n|---|---|---|---|---|---|\n",
    );
    for c in &outcome.changes {
        let gate = c
            .gate
            .as_ref()
            .map_or("-", |g| if g.passed { "passed" } else { "failed" });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {gate} | {} |",
            c.host,
            c.platform,
            c.wave.as_deref().unwrap_or("-"),
            status_text(&c.status).replace('|', "\\|"),
            c.rollback.as_deref().unwrap_or("-")
        );
    }
    for c in &outcome.changes {
        let _ = writeln!(out, "\n## {}\n\n```\n{}\n```", c.host, c.lines.join("\n"));
        if let Some(diff) = &c.diff {
            let by = c.diff_by.unwrap_or("fanout");
            let _ = writeln!(out, "\nDiff ({by}):\n\n```diff\n{}```", diff);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome() -> Outcome {
        let host = Host {
            name: "r1".into(),
            platform: "cisco_ios".into(),
            ..Host::default()
        };
        let mut applied = HostChange::new(&host, &["vlan 42".to_string()]);
        applied.status = Status::Applied;
        applied.wave = Some("canary".into());
        applied.diff = Some("+ vlan 42\n".into());
        applied.diff_by = Some("fanout");
        let mut waiting = HostChange::new(
            &Host {
                name: "j1".into(),
                ..host
            },
            &[],
        );
        waiting.status = Status::AwaitingConfirm;
        Outcome {
            changes: vec![applied, waiting],
            stopped: Some("wave 1: the gate failed on 1 host(s)".into()),
            committed: true,
            interrupted: false,
        }
    }

    #[test]
    fn every_format_says_where_each_host_stands() {
        let outcome = outcome();
        let human = human(&outcome);
        assert!(
            human.contains("== r1 (cisco_ios, canary): applied"),
            "{human}"
        );
        assert!(human.contains("diff (fanout's computed diff)"), "{human}");
        assert!(human.contains("rolls it back by itself"), "{human}");
        assert!(human.contains("STOPPED: wave 1"), "{human}");
        let markdown = markdown(&outcome);
        assert!(
            markdown.contains("| r1 | cisco_ios | canary | applied | - | - |"),
            "{markdown}"
        );
        assert!(markdown.contains("```diff\n+ vlan 42\n```"), "{markdown}");
        let json: serde_json::Value = serde_json::from_str(&json(&outcome)).unwrap();
        assert_eq!(json["hosts"][1]["status"]["state"], "awaiting_confirm");
        assert_eq!(json["stopped"], "wave 1: the gate failed on 1 host(s)");
        assert_eq!(outcome.exit_code(), 1);
    }
}
