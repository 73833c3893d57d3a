//! Rules against hosts: the references of every rule rendered for every host before any
//! connection, and per host at evaluation.

use crate::expect::{check_value, validate_static};
use crate::expr::{has_reference, render};
use crate::rules::{Check, RuleError, Rules};
use serde_json::Value as Json;

/// The name a host goes by in messages.
pub(crate) fn host_name(host: &Json) -> String {
    ["name", "hostname"]
        .iter()
        .find_map(|k| host.get(k).and_then(Json::as_str))
        .unwrap_or("?")
        .to_string()
}

/// Checks every reference of every rule against every host, and the regexes they render to,
/// so that a rules file that cannot serve some host fails before any connection.
pub fn check_references(rules: &Rules, hosts: &[Json]) -> Result<(), RuleError> {
    for rule in &rules.rules {
        for check in rule.expect.iter().filter(|c| has_reference(check_value(c))) {
            for host in hosts {
                let err = |message: String| RuleError::Host {
                    file: rules.file.clone(),
                    line: rule.line,
                    rule: rule.name.clone(),
                    host: host_name(host),
                    message,
                };
                let rendered = render_check(check, host).map_err(err)?;
                validate_static(&rendered).map_err(err)?;
            }
        }
    }
    Ok(())
}

/// The check with its references replaced by the host's values.
pub(crate) fn render_check(check: &Check, host: &Json) -> Result<Check, String> {
    Ok(match check {
        Check::Contains(v) => Check::Contains(render(v, host)?),
        Check::NotContains(v) => Check::NotContains(render(v, host)?),
        Check::Matches(v) => Check::Matches(render(v, host)?),
        Check::NotMatches(v) => Check::NotMatches(render(v, host)?),
        Check::Lines(v) => Check::Lines(render(v, host)?),
        Check::Section(v) => Check::Section(render(v, host)?),
        Check::Field { field, op, value } => Check::Field {
            field: field.clone(),
            op: *op,
            value: render(value, host)?,
        },
        Check::Count { op, value } => Check::Count {
            op: *op,
            value: render(value, host)?,
        },
    })
}
