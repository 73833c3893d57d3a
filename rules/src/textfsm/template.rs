//! Reading a TextFSM template: the `Value` block, then states of rules. The grammar and every
//! check follow Python TextFSM (the reference implementation), so a template it accepts parses
//! here the same way and one it rejects is rejected here, with the template's line.

use super::TextFsmError;
use super::line_regex::LineRegex;
use std::collections::HashMap;

/// Longest value or state name Python TextFSM accepts.
const MAX_NAME_LEN: usize = 48;

/// A `Value` option. Their hooks run in the order the template lists them, as in Python, which
/// matters when `Required` and `List` are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueOption {
    /// The row is dropped unless this value is non-empty.
    Required,
    /// The value survives `Record` and `Clear`, until it is set again or `Clearall`.
    Filldown,
    /// Once set, the value is copied up into earlier rows that lack it.
    Fillup,
    /// Part of the row's identity (used by clitable); no effect on parsing.
    Key,
    /// Every match is appended; nested named groups make each element a map.
    List,
}

impl ValueOption {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "Required" => Self::Required,
            "Filldown" => Self::Filldown,
            "Fillup" => Self::Fillup,
            "Key" => Self::Key,
            "List" => Self::List,
            _ => return None,
        })
    }
}

/// One `Value` line.
#[derive(Debug, Clone)]
pub struct ValueDef {
    /// Column name in the parsed table.
    pub name: String,
    /// Options in template order.
    pub options: Vec<ValueOption>,
    /// For a `List` whose regex has inner groups: the value's own regex, anchored, to split each
    /// match into a map of its named groups.
    pub(crate) nested: Option<LineRegex>,
}

impl ValueDef {
    pub(crate) fn has(&self, option: ValueOption) -> bool {
        self.options.contains(&option)
    }
}

/// What happens to the input line after a rule matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineOp {
    /// Take the next line and restart at the first rule of the (new) state.
    Next,
    /// Keep trying the following rules of this state on the same line.
    Continue,
    /// Stop parsing with an error; the optional message comes from the template.
    Error(Option<String>),
}

/// What happens to the row being built after a rule matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordOp {
    NoRecord,
    Record,
    Clear,
    Clearall,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) regex: LineRegex,
    pub(crate) line_op: LineOp,
    pub(crate) record_op: RecordOp,
    /// Next state; `None` stays in the current one.
    pub(crate) new_state: Option<String>,
    /// Line of the rule in the template, for `Error` messages.
    pub(crate) line: usize,
}

/// A compiled TextFSM template.
#[derive(Debug, Clone)]
pub struct Template {
    /// Where the template came from, for messages.
    pub(crate) source: String,
    pub(crate) values: Vec<ValueDef>,
    pub(crate) states: HashMap<String, Vec<Rule>>,
    /// Whether the template declares an `EOF` state, which suppresses the implicit final
    /// `Record`.
    pub(crate) has_eof_state: bool,
}

impl Template {
    /// Compiles template text; `source` names it in errors (a path, usually).
    pub fn parse(source: &str, text: &str) -> Result<Template, TextFsmError> {
        Parser {
            source,
            lines: text.lines().collect(),
            pos: 0,
        }
        .template()
    }

    /// Reads and compiles a template file.
    pub fn from_file(path: &std::path::Path) -> Result<Template, TextFsmError> {
        let text = std::fs::read_to_string(path).map_err(|e| TextFsmError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// The column names, in template order.
    pub fn header(&self) -> Vec<&str> {
        self.values.iter().map(|v| v.name.as_str()).collect()
    }

    /// The values, in template order.
    pub fn values(&self) -> &[ValueDef] {
        &self.values
    }
}

struct Parser<'a> {
    source: &'a str,
    lines: Vec<&'a str>,
    /// Index of the next line to read; also the 1-based number of the last line read.
    pos: usize,
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

impl Parser<'_> {
    fn err(&self, line: usize, message: impl Into<String>) -> TextFsmError {
        TextFsmError::Template {
            file: self.source.to_string(),
            line,
            message: message.into(),
        }
    }

    fn next_line(&mut self) -> Option<&str> {
        let line = self.lines.get(self.pos).map(|l| l.trim_end());
        self.pos += 1;
        line
    }

    fn template(mut self) -> Result<Template, TextFsmError> {
        if self.lines.iter().all(|l| l.is_empty()) {
            return Err(self.err(1, "empty template"));
        }
        let mut values: Vec<ValueDef> = Vec::new();
        // Value name -> its regex with the named group, for `${name}` in rules.
        let mut value_map: HashMap<String, String> = HashMap::new();
        while let Some(line) = self.next_line() {
            let line = line.to_string();
            if line.is_empty() {
                break;
            }
            if is_comment(&line) {
                continue;
            }
            if let Some(rest) = line.strip_prefix("Value ") {
                let (def, group) = self.value(rest)?;
                if values.iter().any(|v| v.name == def.name) {
                    return Err(self.err(
                        self.pos,
                        format!("duplicate declarations for Value '{}'", def.name),
                    ));
                }
                value_map.insert(def.name.clone(), group);
                values.push(def);
            } else if values.is_empty() {
                return Err(self.err(self.pos, "no Value definitions found"));
            } else {
                return Err(self.err(self.pos, "expected blank line after last Value entry"));
            }
        }

        let mut states: HashMap<String, Vec<Rule>> = HashMap::new();
        // (state, rule line, target) to check once every state is known.
        let mut targets: Vec<(String, usize, String)> = Vec::new();
        while let Some((name, line)) = self.state_name()? {
            if states.contains_key(&name) {
                return Err(self.err(line, format!("duplicate state name '{name}'")));
            }
            let rules = self.rules(&value_map)?;
            for r in &rules {
                if let (Some(t), false) = (&r.new_state, matches!(r.line_op, LineOp::Error(_))) {
                    targets.push((name.clone(), r.line, t.clone()));
                }
            }
            if (name == "End" || name == "EOF") && !rules.is_empty() {
                return Err(self.err(line, format!("non-empty '{name}' state")));
            }
            states.insert(name, rules);
        }
        if !states.contains_key("Start") {
            return Err(self.err(self.pos.min(self.lines.len()), "missing state 'Start'"));
        }
        let has_eof_state = states.contains_key("EOF");
        states.remove("End");
        for (state, line, target) in targets {
            if target != "End" && target != "EOF" && !states.contains_key(&target) {
                return Err(self.err(
                    line,
                    format!("state '{target}' not found, referenced in state '{state}'"),
                ));
            }
        }
        Ok(Template {
            source: self.source.to_string(),
            values,
            states,
            has_eof_state,
        })
    }

    /// Parses what follows `Value ` as Python does: split on single spaces, options present when
    /// the second token does not start with `(`.
    fn value(&self, rest: &str) -> Result<(ValueDef, String), TextFsmError> {
        let line = self.pos;
        let tokens: Vec<&str> = rest.split(' ').collect();
        if tokens.len() < 2 {
            return Err(self.err(line, "expect at least 3 tokens on a Value line"));
        }
        let (options, name, regex) = if tokens[1].starts_with('(') {
            (Vec::new(), tokens[0], tokens[1..].join(" "))
        } else {
            let mut options = Vec::new();
            for o in tokens[0].split(',') {
                let opt = ValueOption::parse(o)
                    .ok_or_else(|| self.err(line, format!("unknown option '{o}'")))?;
                if options.contains(&opt) {
                    return Err(self.err(line, format!("duplicate option '{o}'")));
                }
                options.push(opt);
            }
            (options, tokens[1], tokens[2..].join(" "))
        };
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(self.err(
                line,
                format!("invalid Value name '{name}' or name too long"),
            ));
        }
        if !regex.starts_with('(') || !regex.ends_with(')') || regex.ends_with("\\)") {
            return Err(self.err(
                line,
                format!("Value '{regex}' must be contained within a '()' pair"),
            ));
        }
        let own = LineRegex::new(&regex)
            .map_err(|e| self.err(line, format!("bad regex in Value '{name}': {e}")))?;
        // As Python: a `List` value with groups of its own collects maps of them.
        let nested =
            (options.contains(&ValueOption::List) && own.captures_len() > 2).then_some(own);
        let group = format!("(?P<{name}>{}", &regex[1..]);
        let def = ValueDef {
            name: name.to_string(),
            options,
            nested,
        };
        Ok((def, group))
    }

    /// Skips blank and comment lines to the next state name; `None` at the end of the file.
    fn state_name(&mut self) -> Result<Option<(String, usize)>, TextFsmError> {
        while let Some(line) = self.next_line() {
            if line.is_empty() || is_comment(line) {
                continue;
            }
            let line = line.to_string();
            let reserved = [
                "Continue", "Next", "Error", "Clear", "Clearall", "Record", "NoRecord",
            ];
            if !is_word(&line) || line.len() > MAX_NAME_LEN || reserved.contains(&line.as_str()) {
                return Err(self.err(self.pos, format!("invalid state name '{line}'")));
            }
            return Ok(Some((line, self.pos)));
        }
        Ok(None)
    }

    /// The rules of one state, up to the next blank line.
    fn rules(&mut self, value_map: &HashMap<String, String>) -> Result<Vec<Rule>, TextFsmError> {
        let mut rules = Vec::new();
        while let Some(raw) = self.next_line() {
            if raw.is_empty() {
                break;
            }
            if is_comment(raw) {
                continue;
            }
            let raw = raw.to_string();
            if !(raw.starts_with(" ^") || raw.starts_with("  ^") || raw.starts_with("\t^")) {
                return Err(self.err(self.pos, "missing white space or caret ('^') before rule"));
            }
            rules.push(self.rule(raw.trim(), value_map)?);
        }
        Ok(rules)
    }

    fn rule(&self, line: &str, value_map: &HashMap<String, String>) -> Result<Rule, TextFsmError> {
        let n = self.pos;
        // The last whitespace followed by `->` separates the match from the action, as
        // Python's greedy `(?P<match>.*)(\s->(?P<action>.*))` does.
        let split = line
            .char_indices()
            .rev()
            .find(|&(i, c)| c.is_whitespace() && line[i + c.len_utf8()..].starts_with("->"))
            .map(|(i, c)| (i, i + c.len_utf8() + 2));
        let (pattern, action) = match split {
            Some((end, action_start)) => (&line[..end], Some(&line[action_start..])),
            None => (line, None),
        };
        let substituted = substitute(pattern, value_map).map_err(|m| self.err(n, m))?;
        // Matched at column 0, as Python's `re.match` does (see `LineRegex::new`).
        let regex = LineRegex::new(&substituted).map_err(|e| {
            self.err(
                n,
                format!("invalid regular expression '{substituted}': {e}"),
            )
        })?;
        let mut rule = Rule {
            regex,
            line_op: LineOp::Next,
            record_op: RecordOp::NoRecord,
            new_state: None,
            line: n,
        };
        if let Some(action) = action {
            parse_action(action, &mut rule)
                .ok_or_else(|| self.err(n, format!("badly formatted rule '{line}'")))?;
            if rule.line_op == LineOp::Continue && rule.new_state.is_some() {
                return Err(self.err(n, "a 'Continue' rule cannot change state"));
            }
        }
        Ok(rule)
    }
}

/// Parses the action part after `->`: `[LineOp[.RecordOp] | RecordOp] [NewState]`, where an
/// `Error` takes a word or a quoted message instead of a state.
fn parse_action(action: &str, rule: &mut Rule) -> Option<()> {
    if !action.is_empty() && !action.starts_with(char::is_whitespace) {
        return None;
    }
    let action = action.trim();
    if action.is_empty() {
        return Some(());
    }
    let (ops, rest) = match action.find(char::is_whitespace) {
        Some(i) => (&action[..i], action[i..].trim_start()),
        None => (action, ""),
    };
    let line_op = |s: &str| match s {
        "Next" => Some(LineOp::Next),
        "Continue" => Some(LineOp::Continue),
        "Error" => Some(LineOp::Error(None)),
        _ => None,
    };
    let record_op = |s: &str| match s {
        "Record" => Some(RecordOp::Record),
        "NoRecord" => Some(RecordOp::NoRecord),
        "Clear" => Some(RecordOp::Clear),
        "Clearall" => Some(RecordOp::Clearall),
        _ => None,
    };
    let mut state = rest;
    match ops.split_once('.') {
        Some((l, r)) => {
            rule.line_op = line_op(l)?;
            rule.record_op = record_op(r)?;
        }
        None => {
            if let Some(l) = line_op(ops) {
                rule.line_op = l;
            } else if let Some(r) = record_op(ops) {
                rule.record_op = r;
            } else {
                // Only a new state.
                state = action;
            }
        }
    }
    if state.is_empty() {
        return Some(());
    }
    let quoted = state.len() >= 2 && state.starts_with('"') && state.ends_with('"');
    if !quoted && !is_word(state) {
        return None;
    }
    if let LineOp::Error(msg) = &mut rule.line_op {
        *msg = Some(state.to_string());
    } else if quoted {
        return None;
    } else {
        rule.new_state = Some(state.to_string());
    }
    Some(())
}

/// `string.Template.substitute` as TextFSM uses it: `$$` is `$`, `${name}` and `$name` are the
/// value's group; any other `$` (a bare end anchor) is an error, as in Python.
fn substitute(pattern: &str, values: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut rest = pattern;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let ident_len = |s: &str| {
            let mut it = s.char_indices();
            match it.next() {
                Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => it
                    .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(s.len(), |(j, _)| j),
                _ => 0,
            }
        };
        let lookup = |name: &str| {
            values.get(name).cloned().ok_or_else(|| {
                format!("unknown value '${{{name}}}' in rule (declare it with `Value`)")
            })
        };
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(braced) = after.strip_prefix('{') {
            let n = ident_len(braced);
            if n == 0 || !braced[n..].starts_with('}') {
                return Err(format!("invalid variable substitution in '{pattern}'"));
            }
            out.push_str(&lookup(&braced[..n])?);
            rest = &braced[n + 1..];
        } else {
            let n = ident_len(after);
            if n == 0 {
                return Err(format!(
                    "invalid '$' in '{pattern}' (write an end anchor as '$$')"
                ));
            }
            out.push_str(&lookup(&after[..n])?);
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_line(text: &str) -> (usize, String) {
        match Template::parse("t.textfsm", text) {
            Err(TextFsmError::Template {
                file,
                line,
                message,
            }) => {
                assert_eq!(file, "t.textfsm");
                (line, message)
            }
            other => panic!("expected a template error, got {other:?}"),
        }
    }

    #[test]
    fn template_errors_name_the_line() {
        let (line, msg) = error_line("Value A (\\d+)\n\nStart\n  ^x ${A}$ -> Record\n");
        assert_eq!(line, 4);
        assert!(msg.contains("'$$'"), "{msg}");
        let (line, msg) = error_line("Value A (\\d+)\n\nStart\n  ^${B}\n");
        assert_eq!((line, msg.contains("'${B}'")), (4, true));
        let (line, _) = error_line("Value A (\\d+)\n\nStart\n  ^a -> Nowhere\n");
        assert_eq!(line, 4);
        let (line, _) = error_line("Value A (\\d+)\n\nStart\n  ^a -> Continue Other\n");
        assert_eq!(line, 4);
        let (line, _) = error_line("Value A (\\d+)\nValue Bogus,List B (x)\n\nStart\n");
        assert_eq!(line, 2);
        let (line, _) = error_line("Value A (\\d+\n\nStart\n");
        assert_eq!(line, 1);
        let (line, _) = error_line("Value A (\\d+)\n\nStart\n^no indent\n");
        assert_eq!(line, 4);
        let (line, _) = error_line("Value A (\\d+)\n\nStart\n  ^(unclosed\n");
        assert_eq!(line, 4);
        let (_, msg) = error_line("Value A (\\d+)\n\nOther\n  ^a\n");
        assert!(msg.contains("'Start'"));
        let (line, _) = error_line("Value A (\\d+)\n\nStart\n  ^a\n\nEOF\n  ^b\n");
        assert_eq!(line, 6);
        let (line, _) = error_line("Value A (\\d+)\n\nStart\n  ^a -> Record.Next\n");
        assert_eq!(line, 4);
    }

    #[test]
    fn actions_parse_like_python() {
        let t = Template::parse(
            "t",
            "Value A (\\S+)\n\nStart\n  ^a -> Next.Record Two\n  ^b -> Clearall\n  ^c -> Two\n  ^d -> Error \"bad input\"\n  ^e  ->  Continue.Clear\n\nTwo\n  ^x\n",
        )
        .unwrap();
        let start = &t.states["Start"];
        assert_eq!(start[0].record_op, RecordOp::Record);
        assert_eq!(start[0].new_state.as_deref(), Some("Two"));
        assert_eq!(start[1].record_op, RecordOp::Clearall);
        assert_eq!(start[2].new_state.as_deref(), Some("Two"));
        assert_eq!(
            start[3].line_op,
            LineOp::Error(Some("\"bad input\"".into()))
        );
        assert_eq!(start[4].line_op, LineOp::Continue);
        assert_eq!(start[4].record_op, RecordOp::Clear);
        assert_eq!(start[4].line, 8);
    }
}
