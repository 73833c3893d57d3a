//! Host selection: `key=value` and `key!=value`, with `*` wildcards in the value.

use super::error::{InventoryError, InventoryErrorKind};
use super::host::Host;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// One selection condition; a job's filters all have to hold (AND).
///
/// Keys: `name`, `hostname`, `platform`, `port`, `username` (host fields); `group` (membership,
/// inherited parent groups included); anything else is a data key: `site`, `data.site`, or a
/// nested `data.a.b`. Values compare by their string form; a list value matches when one of its
/// items does. A host without the data key never matches `=` and always matches `!=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    key: Key,
    pattern: String,
    negated: bool,
    /// The expression as given, for messages.
    expr: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Name,
    Hostname,
    Platform,
    Port,
    Username,
    Group,
    /// A path into `data`.
    Data(Vec<String>),
}

impl Filter {
    pub fn parse(expr: &str) -> Result<Filter, InventoryError> {
        let bad = |reason| {
            InventoryError::new(InventoryErrorKind::BadFilter {
                expr: expr.to_string(),
                reason,
            })
        };
        let (key, value) = expr
            .split_once('=')
            .ok_or_else(|| bad("expected key=value or key!=value"))?;
        let (key, negated) = match key.strip_suffix('!') {
            Some(key) => (key, true),
            None => (key, false),
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(bad("the key is empty"));
        }
        let key = match key {
            "name" => Key::Name,
            "hostname" => Key::Hostname,
            "platform" => Key::Platform,
            "port" => Key::Port,
            "username" => Key::Username,
            "group" | "groups" => Key::Group,
            other => {
                let path: Vec<String> = other
                    .strip_prefix("data.")
                    .unwrap_or(other)
                    .split('.')
                    .map(str::to_string)
                    .collect();
                if path.iter().any(String::is_empty) {
                    return Err(bad("the data key has an empty part"));
                }
                Key::Data(path)
            }
        };
        Ok(Filter {
            key,
            pattern: value.trim().to_string(),
            negated,
            expr: expr.to_string(),
        })
    }

    pub fn matches(&self, host: &Host) -> bool {
        let matches = |text: &str| glob_match(&self.pattern, text);
        let found = match &self.key {
            Key::Name => matches(&host.name),
            Key::Hostname => matches(&host.hostname),
            Key::Platform => matches(&host.platform),
            Key::Port => matches(&host.port.to_string()),
            Key::Username => matches(&host.username),
            Key::Group => host
                .groups
                .iter()
                .chain(&host.all_groups)
                .any(|g| matches(g)),
            Key::Data(path) => data_at(host, path).is_some_and(|value| match value {
                Value::Array(items) => items.iter().any(|item| value_matches(item, &matches)),
                other => value_matches(other, &matches),
            }),
        };
        found != self.negated
    }
}

fn data_at<'h>(host: &'h Host, path: &[String]) -> Option<&'h Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(host.data.get(first)?, |value, key| value.get(key))
}

/// A scalar's string form against the pattern; null, mappings and nested lists never match.
fn value_matches(value: &Value, matches: &impl Fn(&str) -> bool) -> bool {
    match value {
        Value::String(s) => matches(s),
        Value::Number(n) => matches(&n.to_string()),
        Value::Bool(b) => matches(if *b { "true" } else { "false" }),
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

/// Whole-string match where `*` stands for any run of characters (none included).
fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((prefix, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(prefix) else {
        return false;
    };
    // Between stars, the leftmost occurrence of each piece is the best choice; the last piece
    // must end the text.
    let mut pieces: Vec<&str> = rest.split('*').collect();
    let last = pieces.pop().unwrap_or_default();
    for piece in pieces {
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

impl FromStr for Filter {
    type Err = InventoryError;

    fn from_str(expr: &str) -> Result<Filter, InventoryError> {
        Filter::parse(expr)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

#[cfg(test)]
mod glob_tests {
    use super::glob_match;

    #[test]
    fn star_matches_any_run() {
        assert!(glob_match("r00*", "r001"));
        assert!(glob_match("r00*", "r00"));
        assert!(!glob_match("r00*", "r10"));
        assert!(glob_match("*-pe", "ams-pe"));
        assert!(!glob_match("*-pe", "ams-pe2"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(glob_match("*", ""));
        assert!(glob_match("ab*ab", "abab"));
        assert!(!glob_match("ab*ab", "aba"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
    }
}
