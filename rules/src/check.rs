//! Evaluating rules against one host's command outputs, in the worker.

use crate::expect::{strings, validate_static};
use crate::expr::text;
use crate::hosts::{host_name, render_check};
use crate::index::TemplateIndex;
use crate::rules::{Check, FieldOp, Rule, Rules};
use crate::textfsm::Table;
use regex::Regex;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The verdict of one rule on one host; travels from worker to coordinator as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleOutcome {
    /// The rule's name.
    pub rule: String,
    /// Whether every check of the rule held.
    pub passed: bool,
    /// Why it failed, in words a person can act on; `None` when it passed.
    pub reason: Option<String>,
    /// The output line that made it fail, when one did (a forbidden match, say).
    pub offending_line: Option<String>,
}

/// A failed check: its reason and, when there is one, the line at fault.
struct Failure {
    reason: String,
    line: Option<String>,
}

fn fail(reason: impl Into<String>) -> Failure {
    Failure {
        reason: reason.into(),
        line: None,
    }
}

/// A `matches` / `not_matches` regex: multi-line, so `^` and `$` are line ends.
pub(crate) fn text_regex(pattern: &str) -> Result<Regex, String> {
    cached(format!("(?m){pattern}"), pattern)
}

/// A `section` child pattern, matched against a whole trimmed child line.
pub(crate) fn child_regex(pattern: &str) -> Result<Regex, String> {
    cached(format!("^(?:{pattern})$"), pattern)
}

/// Most entries compiled regexes are kept for; past it the cache starts over. Rules have a few
/// patterns, but patterns rendered from host data can differ per host.
const REGEX_CACHE_LIMIT: usize = 1024;

/// Compiles once per distinct pattern: the same rules run on every host of a fleet, and
/// compiling dominated evaluation time.
fn cached(full: String, pattern: &str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&full) {
        return Ok(re.clone());
    }
    let re = Regex::new(&full).map_err(|e| format!("bad regex `{pattern}`: {e}"))?;
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= REGEX_CACHE_LIMIT {
        map.clear();
    }
    map.insert(full, re.clone());
    Ok(re)
}

/// Evaluates every rule for one host, one outcome per rule in file order. `outputs` maps each
/// command exactly as [`Rules::commands`] spells it (whitespace normalised) to its output; a
/// missing command fails the rules that need it. `platform` chooses the TextFSM templates.
/// Never panics on device output: anything unexpected is a failed outcome with its reason.
pub fn evaluate(
    rules: &Rules,
    host: &Json,
    platform: &str,
    outputs: &HashMap<String, String>,
    templates: &TemplateIndex,
) -> Vec<RuleOutcome> {
    rules
        .rules
        .iter()
        .map(|rule| {
            let verdict = evaluate_rule(rule, host, platform, outputs, templates);
            match verdict {
                Ok(()) => RuleOutcome {
                    rule: rule.name.clone(),
                    passed: true,
                    reason: None,
                    offending_line: None,
                },
                Err(f) => RuleOutcome {
                    rule: rule.name.clone(),
                    passed: false,
                    reason: Some(f.reason),
                    offending_line: f.line,
                },
            }
        })
        .collect()
}

fn evaluate_rule(
    rule: &Rule,
    host: &Json,
    platform: &str,
    outputs: &HashMap<String, String>,
    templates: &TemplateIndex,
) -> Result<(), Failure> {
    let output = outputs
        .get(&rule.command)
        .ok_or_else(|| fail(format!("no output for `{}`", rule.command)))?;
    let mut table: Option<Table> = None;
    for check in &rule.expect {
        let check = render_check(check, host)
            .and_then(|c| validate_static(&c).map(|()| c))
            .map_err(|m| fail(format!("host `{}`: {m}", host_name(host))))?;
        match &check {
            Check::Field { .. } | Check::Count { .. } => {
                if table.is_none() {
                    let parsed = templates
                        .parse(platform, &rule.command, output)
                        .map_err(|e| fail(format!("cannot parse `{}`: {e}", rule.command)))?;
                    table = Some(parsed);
                }
                let table = table.as_ref().expect("parsed above");
                check_table(&check, table, &rule.command)?;
            }
            _ => check_text(&check, output, &rule.command)?,
        }
    }
    Ok(())
}

fn line_at(output: &str, offset: usize) -> String {
    let start = output[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = output[offset..]
        .find('\n')
        .map_or(output.len(), |i| offset + i);
    output[start..end].trim_end_matches('\r').to_string()
}

fn check_text(check: &Check, output: &str, command: &str) -> Result<(), Failure> {
    let list = |v: &Json| strings(v, "text").map_err(fail);
    match check {
        Check::Contains(v) => {
            for s in list(v)? {
                if !output.contains(&s) {
                    return Err(fail(format!("`{s}` not found in `{command}`")));
                }
            }
        }
        Check::NotContains(v) => {
            for s in list(v)? {
                if let Some(at) = output.find(&s) {
                    let line = line_at(output, at);
                    return Err(Failure {
                        reason: format!("line `{}` contains forbidden `{s}`", line.trim()),
                        line: Some(line),
                    });
                }
            }
        }
        Check::Matches(v) => {
            for p in list(v)? {
                if !text_regex(&p).map_err(fail)?.is_match(output) {
                    return Err(fail(format!("no line of `{command}` matches `{p}`")));
                }
            }
        }
        Check::NotMatches(v) => {
            for p in list(v)? {
                if let Some(m) = text_regex(&p).map_err(fail)?.find(output) {
                    let line = line_at(output, m.start());
                    return Err(Failure {
                        reason: format!("line `{}` matches forbidden `{p}`", line.trim()),
                        line: Some(line),
                    });
                }
            }
        }
        Check::Lines(v) => {
            let present: Vec<&str> = output.lines().map(str::trim).collect();
            for want in list(v)? {
                if !present.contains(&want.trim()) {
                    return Err(fail(format!(
                        "line `{}` missing from `{command}`",
                        want.trim()
                    )));
                }
            }
        }
        Check::Section(v) => {
            let map = v
                .as_object()
                .ok_or_else(|| fail("`section` takes a mapping"))?;
            for (parent, children) in map {
                let found = section_children(output, parent)
                    .ok_or_else(|| fail(format!("section `{parent}` missing from `{command}`")))?;
                for p in strings(children, "a child regex").map_err(fail)? {
                    let re = child_regex(&p).map_err(fail)?;
                    if !found.iter().any(|c| re.is_match(c)) {
                        let shown = if found.is_empty() {
                            "it has no lines".to_string()
                        } else {
                            format!("found {}", found.join("; "))
                        };
                        return Err(fail(format!(
                            "no line under `{parent}` matches `{p}` ({shown})"
                        )));
                    }
                }
            }
        }
        Check::Field { .. } | Check::Count { .. } => unreachable!("table checks go to check_table"),
    }
    Ok(())
}

/// The trimmed lines indented under the first line equal (after trimming) to `parent`, as in
/// an IOS-style configuration; `None` when there is no such line.
fn section_children(output: &str, parent: &str) -> Option<Vec<String>> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut lines = output.lines();
    let head = lines.by_ref().find(|l| l.trim() == parent.trim())?;
    let base = indent(head);
    Some(
        lines
            .take_while(|l| l.trim().is_empty() || indent(l) > base)
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "!")
            .map(str::to_string)
            .collect(),
    )
}

fn check_table(check: &Check, table: &Table, command: &str) -> Result<(), Failure> {
    match check {
        Check::Count { op, value } => {
            let want = value
                .as_f64()
                .ok_or_else(|| fail("`count` needs a number"))?;
            let have = table.rows.len();
            if !op.holds(have as f64, want) {
                return Err(fail(format!(
                    "{command} has {have} rows, expected {} {}",
                    op.symbol(),
                    text(value)
                )));
            }
        }
        Check::Field { field, op, value } => {
            let column = table
                .header
                .iter()
                .find(|h| h.eq_ignore_ascii_case(field))
                .ok_or_else(|| {
                    fail(format!(
                        "`{command}` has no column `{field}` ({})",
                        table.header.join(", ")
                    ))
                })?;
            // Each row's cell; list cells contribute every element.
            let mut found: Vec<String> = Vec::new();
            for row in &table.rows {
                match row.get(column) {
                    Some(Json::Array(items)) => found.extend(items.iter().map(text)),
                    Some(v) => found.push(text(v)),
                    None => {}
                }
            }
            let wanted = match value {
                Json::Array(items) => items.iter().map(text).collect::<Vec<_>>(),
                other => vec![text(other)],
            };
            let shown = || {
                let mut uniq: Vec<&String> = Vec::new();
                for f in &found {
                    if !uniq.contains(&f) {
                        uniq.push(f);
                    }
                }
                if uniq.is_empty() {
                    "none".to_string()
                } else {
                    uniq.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            match op {
                FieldOp::Includes => {
                    let missing: Vec<&String> =
                        wanted.iter().filter(|w| !found.contains(w)).collect();
                    if !missing.is_empty() {
                        let list = missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Err(fail(format!(
                            "{field} {list} missing from {command} (found {})",
                            shown()
                        )));
                    }
                }
                FieldOp::Excludes => {
                    let present: Vec<&String> =
                        wanted.iter().filter(|w| found.contains(w)).collect();
                    if let Some(first) = present.first() {
                        let list = present
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ");
                        let row = table.rows.iter().find(|r| {
                            r.get(column).is_some_and(|v| match v {
                                Json::Array(items) => items.iter().any(|i| &&text(i) == first),
                                v => &&text(v) == first,
                            })
                        });
                        return Err(Failure {
                            reason: format!("{field} {list} present in {command} (forbidden)"),
                            line: row.map(|r| {
                                table
                                    .header
                                    .iter()
                                    .map(|h| r.get(h).map(text).unwrap_or_default())
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            }),
                        });
                    }
                }
                FieldOp::Equals => {
                    let ok = if matches!(value, Json::Array(_)) {
                        found.iter().all(|f| wanted.contains(f))
                            && wanted.iter().all(|w| found.contains(w))
                    } else {
                        !found.is_empty() && found.iter().all(|f| f == &wanted[0])
                    };
                    if !ok {
                        return Err(fail(format!(
                            "{field} in {command} is {}, expected {}",
                            shown(),
                            wanted.join(", ")
                        )));
                    }
                }
            }
        }
        _ => unreachable!("text checks go to check_text"),
    }
    Ok(())
}
