//! Running a compiled template over text: Python TextFSM's state machine, step for step.

use super::TextFsmError;
use super::template::{LineOp, RecordOp, Template, ValueDef, ValueOption};
use serde_json::Value as Json;

/// One parsed row: column name to value. A plain value is a JSON string; a `List` value is an
/// array of strings (or of maps, for nested groups; `null` for a group that did not match).
pub type Row = serde_json::Map<String, Json>;

/// The result of parsing: the header (value names in template order) and the rows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    /// Column names, in template order.
    pub header: Vec<String>,
    /// Rows, each with every column of the header.
    pub rows: Vec<Row>,
}

impl Table {
    /// The values of one column, as display strings (list values joined with `, `).
    pub fn column(&self, name: &str) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|r| r.get(name))
            .map(display)
            .collect()
    }
}

/// A cell as text for messages and comparisons.
pub(crate) fn display(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Python truthiness of a value: `None`, `""` and `[]` are empty.
fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// The live state of one `Value` while parsing.
struct Slot<'t> {
    def: &'t ValueDef,
    /// Current value (`null` when unset).
    value: Json,
    /// Filldown's remembered value, restored on `Clear`.
    kept: Json,
    /// List's accumulated elements.
    items: Vec<Json>,
}

/// Raised by `Required` while saving a row: the row is dropped and cleared.
struct SkipRecord;

impl Slot<'_> {
    fn assign(&mut self, value: Option<&str>, column: usize, result: &mut [Vec<Json>]) {
        self.value = value.map_or(Json::Null, |s| Json::String(s.to_string()));
        for opt in &self.def.options {
            match opt {
                ValueOption::Filldown => self.kept = self.value.clone(),
                ValueOption::Fillup if truthy(&self.value) => {
                    for row in result.iter_mut().rev() {
                        if truthy(&row[column]) {
                            break;
                        }
                        row[column] = self.value.clone();
                    }
                }
                ValueOption::List => {
                    let nested = match (&self.def.nested, value) {
                        (Some(re), Some(text)) => re.captures(text).ok().flatten().map(|caps| {
                            re.capture_names()
                                .flatten()
                                .map(|n| {
                                    let v = caps.name(n).map(|m| m.as_str().to_string());
                                    (n.to_string(), v.map_or(Json::Null, Json::String))
                                })
                                .collect::<serde_json::Map<_, _>>()
                        }),
                        _ => None,
                    };
                    match nested {
                        Some(map) if !map.is_empty() => self.items.push(Json::Object(map)),
                        _ => self.items.push(self.value.clone()),
                    }
                }
                _ => {}
            }
        }
    }

    fn clear(&mut self) {
        self.value = Json::Null;
        for opt in &self.def.options {
            match opt {
                ValueOption::Filldown => self.value = self.kept.clone(),
                ValueOption::List if !self.def.has(ValueOption::Filldown) => self.items.clear(),
                _ => {}
            }
        }
    }

    fn clear_all(&mut self) {
        self.value = Json::Null;
        for opt in &self.def.options {
            match opt {
                ValueOption::Filldown => self.kept = Json::Null,
                ValueOption::List => self.items.clear(),
                _ => {}
            }
        }
    }

    fn save(&mut self) -> Result<(), SkipRecord> {
        for opt in &self.def.options {
            match opt {
                ValueOption::Required if !truthy(&self.value) => return Err(SkipRecord),
                ValueOption::List => self.value = Json::Array(self.items.clone()),
                _ => {}
            }
        }
        Ok(())
    }
}

struct Run<'t> {
    template: &'t Template,
    slots: Vec<Slot<'t>>,
    result: Vec<Vec<Json>>,
}

impl Run<'_> {
    fn clear_record(&mut self) {
        self.slots.iter_mut().for_each(Slot::clear);
    }

    fn append_record(&mut self) {
        if self.slots.is_empty() {
            return;
        }
        let mut row = Vec::with_capacity(self.slots.len());
        for slot in &mut self.slots {
            if slot.save().is_err() {
                self.clear_record();
                return;
            }
            row.push(slot.value.clone());
        }
        let empty = |v: &Json| v.is_null() || matches!(v, Json::Array(a) if a.is_empty());
        if row.iter().all(empty) {
            return;
        }
        for v in &mut row {
            if v.is_null() {
                *v = Json::String(String::new());
            }
        }
        self.result.push(row);
        self.clear_record();
    }
}

impl Template {
    /// Parses `text` into a table, as Python TextFSM's `ParseText` with `eof=True`.
    pub fn parse_text(&self, text: &str) -> Result<Table, TextFsmError> {
        let mut run = Run {
            template: self,
            slots: self
                .values
                .iter()
                .map(|def| Slot {
                    def,
                    value: Json::Null,
                    kept: Json::Null,
                    items: Vec::new(),
                })
                .collect(),
            result: Vec::new(),
        };
        let mut state = "Start".to_string();
        for (index, line) in split_lines(text).enumerate() {
            run.check_line(&mut state, line, index + 1)?;
            if state == "End" || state == "EOF" {
                break;
            }
        }
        if state != "End" && !self.has_eof_state {
            run.append_record();
        }
        let header: Vec<String> = self.values.iter().map(|v| v.name.clone()).collect();
        let rows = run
            .result
            .into_iter()
            .map(|row| header.iter().cloned().zip(row).collect())
            .collect();
        Ok(Table { header, rows })
    }
}

/// Python's `str.splitlines`: `\n`, `\r\n` and a lone `\r` all end a line, and a final line
/// ending does not start an empty line.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

impl Run<'_> {
    fn check_line(
        &mut self,
        state: &mut String,
        line: &str,
        input_line: usize,
    ) -> Result<(), TextFsmError> {
        let template = self.template;
        let Some(rules) = template.states.get(state.as_str()) else {
            return Ok(());
        };
        for rule in rules {
            let caps = rule
                .regex
                .captures(line)
                .map_err(|reason| TextFsmError::Regex {
                    file: template.source.clone(),
                    input_line,
                    reason,
                })?;
            let Some(caps) = caps else { continue };
            for name in rule.regex.capture_names().flatten() {
                if let Some(column) = self.slots.iter().position(|s| s.def.name == name) {
                    let value = caps.name(name).map(|m| m.as_str());
                    self.slots[column].assign(value, column, &mut self.result);
                }
            }
            match rule.record_op {
                RecordOp::Record => self.append_record(),
                RecordOp::Clear => self.clear_record(),
                RecordOp::Clearall => self.slots.iter_mut().for_each(Slot::clear_all),
                RecordOp::NoRecord => {}
            }
            match &rule.line_op {
                LineOp::Error(message) => {
                    return Err(TextFsmError::Input {
                        file: template.source.clone(),
                        rule_line: rule.line,
                        input_line,
                        text: line.to_string(),
                        message: message.clone(),
                    });
                }
                LineOp::Continue => continue,
                LineOp::Next => {
                    if let Some(next) = &rule.new_state {
                        *state = next.clone();
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::split_lines;
    use crate::textfsm::Template;

    /// Column `X` of every row `template` makes of `text`.
    fn xs(template: &str, text: &str) -> Vec<String> {
        Template::parse("t", template)
            .unwrap()
            .parse_text(text)
            .unwrap()
            .column("X")
    }

    /// Python matches rules with `re.match`: every branch of a top-level `|` starts at column 0,
    /// so `\s*$` is not "any line's end" and `abc` reaches the next rule (Python: `[abc]`).
    #[test]
    fn every_branch_of_a_rule_is_anchored_at_the_line_start() {
        let template = "Value X (\\S+)\n\nStart\n  ^\\s+|\\s*$$\n  ^${X} -> Record\n";
        assert_eq!(xs(template, "abc\n"), ["abc"]);
    }

    /// cisco_xr_ping's time-stamp rule: `(Fri?)` must not match the "Fr" of "From" in the
    /// middle of a BGP table header (Python: the line reaches the next rule).
    #[test]
    fn a_later_branch_does_not_match_inside_the_line() {
        let template = "Value X (\\S+)\n\nStart\n  ^(Mon?)|(Tue?)|(Fri?)|(Sun?)\\s.*$$\n  ^${X} -> Record\n  ^.* -> Error \"Could not parse line:\"\n";
        let text = "Fri Dec 22 17:30:39.512 BRA\nNetwork            Next Hop        From            AS Path\n";
        assert_eq!(xs(template, text), ["Network"]);
    }

    #[test]
    fn lines_split_like_python() {
        let v: Vec<&str> = split_lines("a\r\nb\rc\n\nd\n").collect();
        assert_eq!(v, ["a", "b", "c", "", "d"]);
        assert_eq!(split_lines("").count(), 0);
    }
}
