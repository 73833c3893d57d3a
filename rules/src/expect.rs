//! The `expect` mapping of a rule turned into [`Check`]s, and the validation of a check's
//! values (shapes, regexes) once they are final.

use crate::expr::has_reference;
use crate::rules::{Check, Comparison, FieldOp, RawRule};
use fanout_common::suggest::closest;
use serde_json::Value as Json;

const TEXT_CHECKS: &[&str] = &[
    "contains",
    "not_contains",
    "matches",
    "not_matches",
    "lines",
    "section",
];

fn to_json(v: &serde_yaml_ng::Value) -> Result<Json, String> {
    serde_json::to_value(v).map_err(|e| format!("unsupported value: {e}"))
}

/// Turns the `expect` mapping into checks, validating names, shapes and (reference-free)
/// regexes.
pub(crate) fn checks(rule: &RawRule) -> Result<Vec<Check>, String> {
    let mut out = Vec::new();
    if rule.expect.is_empty() {
        return Err("`expect` is empty".into());
    }
    for (key, value) in &rule.expect {
        let key = key
            .as_str()
            .ok_or_else(|| format!("check names are strings, not {key:?}"))?;
        let value = to_json(value)?;
        let check = match key {
            "contains" => Check::Contains(value),
            "not_contains" => Check::NotContains(value),
            "matches" => Check::Matches(value),
            "not_matches" => Check::NotMatches(value),
            "lines" => Check::Lines(value),
            "section" => Check::Section(value),
            "count" if rule.parse.is_none() => {
                return Err("`count` counts parsed rows and needs `parse: textfsm`".into());
            }
            "count" => {
                let (op, n) = single_op(&value, "count", &["eq", "ne", "lt", "le", "gt", "ge"])?;
                if !(n.is_number() || has_reference(&n)) {
                    return Err(format!("`count` compares with a number, not {n}"));
                }
                Check::Count {
                    op: Comparison::parse(&op).expect("listed above"),
                    value: n,
                }
            }
            field if rule.parse.is_some() => {
                let map = value.as_object().ok_or_else(|| {
                    format!("field `{field}` takes {{ includes | excludes | equals: ... }}")
                })?;
                if map.is_empty() {
                    return Err(format!("field `{field}` has no check"));
                }
                for (op, v) in map {
                    let op = match op.as_str() {
                        "includes" => FieldOp::Includes,
                        "excludes" => FieldOp::Excludes,
                        "equals" => FieldOp::Equals,
                        other => {
                            let hint = closest(other, ["includes", "excludes", "equals"])
                                .map_or_else(String::new, |c| format!("did you mean `{c}`? "));
                            return Err(format!(
                                "unknown check `{other}` on field `{field}` ({hint}expected includes, excludes or equals)"
                            ));
                        }
                    };
                    out.push(Check::Field {
                        field: field.to_string(),
                        op,
                        value: v.clone(),
                    });
                }
                continue;
            }
            other => {
                let known = TEXT_CHECKS.iter().copied().chain(["count"]);
                let hint = closest(other, known)
                    .map_or_else(String::new, |c| format!("did you mean `{c}`? "));
                return Err(format!(
                    "unknown check `{other}` ({hint}expected one of {}, count; table fields need `parse: textfsm`)",
                    TEXT_CHECKS.join(", ")
                ));
            }
        };
        if !has_reference(check_value(&check)) {
            validate_static(&check)?;
        }
        out.push(check);
    }
    Ok(out)
}

fn single_op(value: &Json, what: &str, ops: &[&str]) -> Result<(String, Json), String> {
    match value.as_object() {
        Some(map) if map.len() == 1 => {
            let (op, v) = map.iter().next().expect("one entry");
            if ops.contains(&op.as_str()) {
                Ok((op.clone(), v.clone()))
            } else {
                Err(format!(
                    "unknown comparison `{op}` in `{what}` (expected {})",
                    ops.join(", ")
                ))
            }
        }
        _ => Err(format!("`{what}` takes one comparison, e.g. {{ ge: 1 }}")),
    }
}

pub(crate) fn check_value(check: &Check) -> &Json {
    match check {
        Check::Contains(v)
        | Check::NotContains(v)
        | Check::Matches(v)
        | Check::NotMatches(v)
        | Check::Lines(v)
        | Check::Section(v) => v,
        Check::Field { value, .. } | Check::Count { value, .. } => value,
    }
}

/// Shape and regex validation of a check whose values are final (rendered, or reference-free).
pub(crate) fn validate_static(check: &Check) -> Result<(), String> {
    match check {
        Check::Matches(v) | Check::NotMatches(v) => {
            for p in strings(v, "a regex")? {
                crate::check::text_regex(&p)?;
            }
        }
        Check::Contains(v) | Check::NotContains(v) | Check::Lines(v) => {
            strings(v, "text")?;
        }
        Check::Section(v) => {
            let map = v
                .as_object()
                .ok_or("`section` takes { \"parent line\": [child regex, ...] }")?;
            for children in map.values() {
                for p in strings(children, "a child regex")? {
                    crate::check::child_regex(&p)?;
                }
            }
        }
        Check::Count { value, .. } => {
            if !value.is_number() {
                return Err(format!("`count` compares with a number, not {value}"));
            }
        }
        Check::Field { .. } => {}
    }
    Ok(())
}

/// A string or a list of strings (numbers are accepted as their text).
pub(crate) fn strings(v: &Json, what: &str) -> Result<Vec<String>, String> {
    let one = |v: &Json| match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        other => Err(format!("expected {what}, found {other}")),
    };
    match v {
        Json::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}
