//! The report of a validation run, in four shapes: a person's table, Markdown, one JSON document
//! and JUnit XML (one testcase per host and rule, so CI systems show each).
//!
//! A host that could not be reached was not evaluated: it is an error, never a failed rule.

use crate::host_record::HostRecord;
use crate::local_run::RunOutcome;
use crate::terminal_text::line as one_line;
use serde::Serialize;
use std::fmt::Write as _;

/// Every rule passed on every host.
pub const EXIT_PASSED: u8 = 0;
/// Some rule failed on some host.
pub const EXIT_RULE_FAILED: u8 = 1;
/// No rule failed, but some hosts could not be checked.
pub const EXIT_ONLY_UNREACHABLE: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Passed,
    Failed,
    /// Not evaluated: the host failed (unreachable, auth, ...) or never ran.
    Error,
}

#[derive(Debug, Serialize)]
pub struct RuleTally {
    pub rule: String,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

#[derive(Debug, Serialize)]
struct HostEntry<'a> {
    host: &'a str,
    status: HostStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    rules: &'a [crate::host_record::RuleRecord],
}

pub struct ValidationReport<'a> {
    rules: Vec<RuleTally>,
    hosts: Vec<(&'a HostRecord, HostStatus)>,
    /// Hosts that never ran (interrupted run).
    never_ran: &'a [String],
    wall_seconds: f64,
}

fn status(record: &HostRecord) -> HostStatus {
    if !record.ok || record.rules.is_empty() {
        HostStatus::Error
    } else if record.rules.iter().all(|r| r.passed) {
        HostStatus::Passed
    } else {
        HostStatus::Failed
    }
}

fn error_text(record: &HostRecord) -> String {
    match &record.failure {
        Some(f) => format!("{}: {}", f.kind, f.message),
        None => "no verdicts".to_string(),
    }
}

impl<'a> ValidationReport<'a> {
    pub fn new(rule_names: &[String], outcome: &'a RunOutcome) -> Self {
        let mut hosts: Vec<(&HostRecord, HostStatus)> =
            outcome.records.iter().map(|r| (r, status(r))).collect();
        hosts.sort_by(|a, b| a.0.host.cmp(&b.0.host));
        let unevaluated = hosts
            .iter()
            .filter(|(_, s)| *s == HostStatus::Error)
            .count()
            + outcome.unfinished.len();
        let rules = rule_names
            .iter()
            .map(|name| {
                let verdicts = hosts
                    .iter()
                    .flat_map(|(r, _)| r.rules.iter().filter(|v| &v.rule == name));
                let (passed, failed) =
                    verdicts.fold(
                        (0, 0),
                        |(p, f), v| {
                            if v.passed { (p + 1, f) } else { (p, f + 1) }
                        },
                    );
                RuleTally {
                    rule: name.clone(),
                    passed,
                    failed,
                    errors: unevaluated,
                }
            })
            .collect();
        Self {
            rules,
            hosts,
            never_ran: &outcome.unfinished,
            wall_seconds: outcome.wall.as_secs_f64(),
        }
    }

    fn count(&self, wanted: HostStatus) -> usize {
        self.hosts.iter().filter(|(_, s)| *s == wanted).count()
    }

    fn errors(&self) -> usize {
        self.count(HostStatus::Error) + self.never_ran.len()
    }

    pub fn exit_code(&self) -> u8 {
        if self.count(HostStatus::Failed) > 0 {
            EXIT_RULE_FAILED
        } else if self.errors() > 0 {
            EXIT_ONLY_UNREACHABLE
        } else {
            EXIT_PASSED
        }
    }

    pub fn one_line_summary(&self) -> String {
        format!(
            "{} hosts: {} passed, {} failed rules, {} not evaluated ({:.1} s)\n",
            self.hosts.len() + self.never_ran.len(),
            self.count(HostStatus::Passed),
            self.count(HostStatus::Failed),
            self.errors(),
            self.wall_seconds
        )
    }

    /// (host, rule, reason, offending line) of every failed verdict, host order.
    fn failures(&self) -> impl Iterator<Item = (&str, &crate::host_record::RuleRecord)> {
        self.hosts.iter().flat_map(|(r, _)| {
            r.rules
                .iter()
                .filter(|v| !v.passed)
                .map(move |v| (r.host.as_str(), v))
        })
    }

    /// (host, why) of every host that was not evaluated.
    fn unevaluated(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .hosts
            .iter()
            .filter(|(_, s)| *s == HostStatus::Error)
            .map(|(r, _)| (r.host.clone(), error_text(r)))
            .collect();
        out.extend(
            self.never_ran
                .iter()
                .map(|h| (h.clone(), "never ran".to_string())),
        );
        out
    }

    /// The report for a terminal: every name, reason and device line has its control
    /// characters escaped.
    pub fn human(&self) -> String {
        let width = self
            .rules
            .iter()
            .map(|r| one_line(&r.rule).chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "{:width$}  {:>6}  {:>6}  {:>6}\n",
            "RULE", "PASS", "FAIL", "ERROR"
        );
        for r in &self.rules {
            let _ = writeln!(
                out,
                "{:width$}  {:>6}  {:>6}  {:>6}",
                one_line(&r.rule),
                r.passed,
                r.failed,
                r.errors
            );
        }
        let failures: Vec<_> = self.failures().collect();
        if !failures.is_empty() {
            out.push_str("\nFailed checks:\n");
            for (host, v) in failures {
                let _ = writeln!(
                    out,
                    "  {}  {}: {}",
                    one_line(host),
                    one_line(&v.rule),
                    one_line(v.reason.as_deref().unwrap_or("failed"))
                );
                if let Some(line) = &v.offending_line {
                    let _ = writeln!(out, "      offending line: {}", one_line(line));
                }
            }
        }
        let unevaluated = self.unevaluated();
        if !unevaluated.is_empty() {
            out.push_str("\nNot evaluated (unreachable or failed before the checks):\n");
            for (host, why) in unevaluated {
                let _ = writeln!(out, "  {}  {}", one_line(&host), one_line(&why));
            }
        }
        out.push('\n');
        out.push_str(&self.one_line_summary());
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("# fanout validate\n\n");
        out.push_str(&self.one_line_summary());
        out.push_str("\n| rule | pass | fail | error |\n| --- | ---: | ---: | ---: |\n");
        for r in &self.rules {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                md(&r.rule),
                r.passed,
                r.failed,
                r.errors
            );
        }
        let failures: Vec<_> = self.failures().collect();
        if !failures.is_empty() {
            out.push_str("\n## Failed checks\n\n| host | rule | reason | offending line |\n| --- | --- | --- | --- |\n");
            for (host, v) in failures {
                let line = v
                    .offending_line
                    .as_deref()
                    .map(|l| format!("`{}`", md(l)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    md(host),
                    md(&v.rule),
                    md(v.reason.as_deref().unwrap_or("")),
                    line
                );
            }
        }
        let unevaluated = self.unevaluated();
        if !unevaluated.is_empty() {
            out.push_str("\n## Not evaluated\n\n| host | why |\n| --- | --- |\n");
            for (host, why) in unevaluated {
                let _ = writeln!(out, "| {} | {} |", md(&host), md(&why));
            }
        }
        out
    }

    /// One row per host and rule (`passed`, `failed`), or one per host not evaluated
    /// (`error`, with why), hosts in name order.
    pub fn csv(&self) -> String {
        use crate::csv_report::line;
        let mut out = line(&[
            "host",
            "status",
            "rule",
            "passed",
            "reason",
            "offending_line",
            "error",
        ]);
        let status = |s: HostStatus| match s {
            HostStatus::Passed => "passed",
            HostStatus::Failed => "failed",
            HostStatus::Error => "error",
        };
        for (record, host_status) in &self.hosts {
            if *host_status == HostStatus::Error {
                let error = error_text(record);
                out.push_str(&line(&[&record.host, "error", "", "", "", "", &error]));
                continue;
            }
            for verdict in &record.rules {
                out.push_str(&line(&[
                    record.host.as_str(),
                    status(*host_status),
                    &verdict.rule,
                    if verdict.passed { "true" } else { "false" },
                    verdict.reason.as_deref().unwrap_or_default(),
                    verdict.offending_line.as_deref().unwrap_or_default(),
                    "",
                ]));
            }
        }
        for host in self.never_ran {
            out.push_str(&line(&[
                host.as_str(),
                "error",
                "",
                "",
                "",
                "",
                "never ran",
            ]));
        }
        out
    }

    pub fn json(&self) -> String {
        let hosts: Vec<HostEntry> = self
            .hosts
            .iter()
            .map(|(r, s)| HostEntry {
                host: &r.host,
                status: *s,
                error: (*s == HostStatus::Error).then(|| error_text(r)),
                rules: &r.rules,
            })
            .chain(self.never_ran.iter().map(|h| HostEntry {
                host: h,
                status: HostStatus::Error,
                error: Some("never ran".into()),
                rules: &[],
            }))
            .collect();
        let document = serde_json::json!({
            "summary": {
                "hosts": self.hosts.len() + self.never_ran.len(),
                "passed": self.count(HostStatus::Passed),
                "failed": self.count(HostStatus::Failed),
                "errors": self.errors(),
                "wall_seconds": self.wall_seconds,
                "exit_code": self.exit_code(),
            },
            "rules": self.rules,
            "hosts": hosts,
        });
        serde_json::to_string_pretty(&document).expect("the report serialises") + "\n"
    }

    /// One testsuite per rule, one testcase per host in it: a failed rule is a `<failure>`, an
    /// unreachable host an `<error>`, as CI systems expect.
    pub fn junit(&self) -> String {
        let unevaluated = self.unevaluated();
        let tests = self.rules.len() * (self.hosts.len() + self.never_ran.len());
        let failures: usize = self.rules.iter().map(|r| r.failed).sum();
        let errors = self.rules.len() * unevaluated.len();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"fanout validate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
            self.wall_seconds
        );
        for rule in &self.rules {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
                xml(&rule.rule),
                self.hosts.len() + self.never_ran.len(),
                rule.failed,
                unevaluated.len()
            );
            for (record, status) in &self.hosts {
                let case = format!(
                    "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                    xml(&record.host),
                    xml(&rule.rule),
                    record.duration_ms as f64 / 1000.0
                );
                let verdict = record.rules.iter().find(|v| v.rule == rule.rule);
                match (status, verdict) {
                    (HostStatus::Error, _) | (_, None) => {
                        let _ = writeln!(
                            out,
                            "{case}>\n      <error message=\"{}\" type=\"{}\"/>\n    </testcase>",
                            xml(&error_text(record)),
                            record
                                .failure
                                .as_ref()
                                .map_or("not_evaluated", |f| f.kind.as_str())
                        );
                    }
                    (_, Some(v)) if !v.passed => {
                        let _ = writeln!(
                            out,
                            "{case}>\n      <failure message=\"{}\" type=\"rule\">{}</failure>\n    </testcase>",
                            xml(v.reason.as_deref().unwrap_or("failed")),
                            xml(v.offending_line.as_deref().unwrap_or(""))
                        );
                    }
                    _ => {
                        let _ = writeln!(out, "{case}/>");
                    }
                }
            }
            for host in self.never_ran {
                let _ = writeln!(
                    out,
                    "    <testcase name=\"{}\" classname=\"{}\">\n      <error message=\"never ran\" type=\"not_run\"/>\n    </testcase>",
                    xml(host),
                    xml(&rule.rule)
                );
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Text safe inside an XML attribute or element; characters XML 1.0 forbids are dropped.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Text safe inside a Markdown table cell, and on a terminal: other control characters are
/// escaped.
fn md(text: &str) -> String {
    one_line(&text.replace('\n', " ")).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_everything_that_could_break_the_document() {
        assert_eq!(xml("a<b>&\"c'\u{1}\n"), "a&lt;b&gt;&amp;&quot;c&apos;&#10;");
    }

    /// One host that failed one rule on a line a hostile device printed.
    fn hostile_outcome() -> RunOutcome {
        let record = HostRecord {
            host: "r1\x1b[2J".into(),
            hostname: "127.0.0.1".into(),
            platform: "cisco_ios".into(),
            ok: true,
            failure: None,
            worker: crate::host_record::WorkerRef {
                id: "w".into(),
                pid: 1,
            },
            attempts: 1,
            started_unix_ms: 0,
            duration_ms: 0,
            commands: Vec::new(),
            rules: vec![crate::host_record::RuleRecord {
                rule: "no telnet".into(),
                passed: false,
                reason: Some("line `x\x1b]52;c;eA==\x07` matches forbidden `x`".into()),
                offending_line: Some("transport input telnet\rALL FINE\x1b[6n".into()),
            }],
            transcript: Vec::new(),
        };
        RunOutcome {
            job_id: String::new(),
            records: vec![record],
            wall: std::time::Duration::ZERO,
            setup: std::time::Duration::ZERO,
            worker_usage: Vec::new(),
            unfinished: vec!["r2\u{9b}".into()],
            unlisted: 0,
            reassigned: 0,
            worker_pids: Vec::new(),
            workers_lost: 0,
            interrupted: false,
            files_written: 0,
            results_error: None,
        }
    }

    #[test]
    fn reports_for_people_show_device_lines_escaped() {
        let outcome = hostile_outcome();
        let report = ValidationReport::new(&["no telnet".to_string()], &outcome);
        for text in [report.human(), report.markdown()] {
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{text:?}"
            );
            assert!(
                text.contains("transport input telnet\\rALL FINE\\x1b[6n"),
                "{text}"
            );
            assert!(text.contains("r1\\x1b[2J"), "{text}");
            assert!(text.contains("\\x1b]52;c;eA==\\x07"), "{text}");
            assert!(text.contains("r2\\u{9b}"), "{text}");
        }
    }

    #[test]
    fn markdown_cells_keep_their_pipes() {
        assert_eq!(
            md("show ip route | include S*\nx"),
            "show ip route \\| include S* x"
        );
        assert_eq!(md("a\x1b[2J|b\r"), "a\\x1b[2J\\|b\\r");
    }
}
