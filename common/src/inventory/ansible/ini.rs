//! Ansible's INI inventory format:
//!
//! ```ini
//! r0 ansible_host=10.0.0.9          ; before any section: ungrouped
//! [ios]
//! r1 ansible_host=10.0.0.1 ansible_port=2222
//! r[2:4].lab
//! [ios:vars]
//! ansible_network_os=cisco.ios.ios
//! [routers:children]
//! ios
//! [all:vars]
//! ansible_user=ops
//! ```
//!
//! Values on a host line are taken as Python literals would be (numbers, `True`, quoted
//! strings); values in a `:vars` section stay strings, as Ansible reads them.

use super::super::error::{InventoryError, InventoryErrorKind};
use super::super::source::Place;
use super::model::{ALL, Model, expand_hosts};
use super::vars::{Var, var_error};
use super::yaml_format::split_port;
use serde_json::Value;

enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

/// Whether a text that is not a YAML mapping reads as INI: a `[section]` or a `key=value`.
pub(super) fn looks_ini(text: &str) -> bool {
    text.lines().map(str::trim).any(|line| {
        (line.starts_with('[') && line.ends_with(']'))
            || (!line.starts_with('#') && line.contains('='))
    })
}

pub(super) fn read(model: &mut Model, source: usize, text: &str) -> Result<(), InventoryError> {
    let mut section = Section::Hosts("ungrouped".to_string());
    for (number, raw) in text.lines().enumerate() {
        let line_no = number + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let column = raw.len() - raw.trim_start().len() + 1;
        let place = |column| Place::Line {
            source,
            line: line_no,
            column,
        };
        let fail = |model: &Model, what: &str, reason: String| {
            let error = InventoryError::new(var_error(what, reason));
            match model.locate(&place(column)) {
                Some(location) => error.at(location),
                None => error,
            }
        };
        if let Some(header) = line.strip_prefix('[') {
            let Some(header) = header.strip_suffix(']') else {
                return Err(fail(model, "section", "expected `[name]`".into()));
            };
            let (name, kind) = header.split_once(':').unwrap_or((header, "hosts"));
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(fail(model, "section", "the group name is empty".into()));
            }
            model.group(&name, place(column));
            section = match kind {
                "hosts" => Section::Hosts(name),
                "vars" => Section::Vars(name),
                "children" => Section::Children(name),
                other => {
                    let kind = InventoryErrorKind::UnknownKey {
                        what: "section kind",
                        key: other.to_string(),
                        suggestion: None,
                        expected: &["vars", "children"],
                    };
                    let error = InventoryError::new(kind);
                    return Err(match model.locate(&place(column)) {
                        Some(location) => error.at(location),
                        None => error,
                    });
                }
            };
            continue;
        }
        match &section {
            Section::Vars(group) => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(fail(
                        model,
                        group,
                        "expected `key=value` in a :vars section".into(),
                    ));
                };
                let value = value.trim();
                let value = unquote(value).unwrap_or(value);
                let var = Var {
                    key: key.trim().to_string(),
                    value: Value::String(value.to_string()),
                    at: place(column),
                };
                model.group(group, Place::Nowhere).vars.push(var);
            }
            Section::Children(group) => {
                let child = line.split_whitespace().next().unwrap_or(line);
                model.add_child(group, child, place(column));
            }
            Section::Hosts(group) => {
                let tokens =
                    split_tokens(line).map_err(|reason| fail(model, "host line", reason))?;
                let Some(((pattern, _), rest)) = tokens.split_first() else {
                    continue;
                };
                let (pattern, port) = split_port(pattern);
                let names = expand_hosts(pattern).map_err(|r| fail(model, pattern, r))?;
                let mut vars = Vec::new();
                if let Some(port) = port {
                    vars.push(Var {
                        key: "ansible_port".into(),
                        value: Value::from(port),
                        at: place(column),
                    });
                }
                for (token, offset) in rest {
                    let Some((key, value)) = token.split_once('=') else {
                        return Err(fail(
                            model,
                            token,
                            "expected `key=value` after the host name".into(),
                        ));
                    };
                    vars.push(Var {
                        key: key.to_string(),
                        value: literal(value),
                        at: place(column + offset),
                    });
                }
                // `all` is not a section to put hosts in, but Ansible accepts `[all]`.
                let group = if group == ALL { "ungrouped" } else { group };
                for name in names {
                    model
                        .add_host(group, &name, place(column))
                        .vars
                        .extend(vars.iter().cloned());
                }
            }
        }
    }
    Ok(())
}

/// Splits a host line on blanks outside quotes; each token with its byte offset in the line.
/// Quotes are kept (the value parser takes them off) and `#` outside quotes starts a comment.
fn split_tokens(line: &str) -> Result<Vec<(String, usize)>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                if current.is_empty() {
                    start = i;
                }
                current.push(c);
                quote = Some(c);
            }
            None if c == '#' && current.is_empty() => break,
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    tokens.push((std::mem::take(&mut current), start));
                }
            }
            None => {
                if current.is_empty() {
                    start = i;
                }
                current.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err("an unclosed quote".to_string());
    }
    if !current.is_empty() {
        tokens.push((current, start));
    }
    Ok(tokens)
}

fn unquote(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        return Some(&value[1..value.len() - 1]);
    }
    None
}

/// A host-line value as Ansible reads it: a quoted string, a number, a boolean, else the text.
fn literal(value: &str) -> Value {
    if let Some(text) = unquote(value) {
        return Value::String(text.to_string());
    }
    if let Ok(i) = value.parse::<i64>() {
        return Value::from(i);
    }
    match value {
        "True" | "true" => Value::Bool(true),
        "False" | "false" => Value::Bool(false),
        _ => match value.parse::<f64>() {
            Ok(f)
                if value.contains('.') && f.is_finite() && !value.contains(char::is_alphabetic) =>
            {
                // A dotted quad is text, not a number.
                if value.matches('.').count() == 1 {
                    Value::from(f)
                } else {
                    Value::String(value.to_string())
                }
            }
            _ => Value::String(value.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_line_values() {
        assert_eq!(literal("2222"), Value::from(2222));
        assert_eq!(literal("10.0.0.1"), Value::from("10.0.0.1"));
        assert_eq!(literal("'a b'"), Value::from("a b"));
        assert_eq!(literal("True"), Value::Bool(true));
        let tokens = split_tokens("r1 a=1 b='x y'  # comment").unwrap();
        let texts: Vec<&str> = tokens.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["r1", "a=1", "b='x y'"]);
        assert_eq!(tokens[2].1, 7);
    }
}
