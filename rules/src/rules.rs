//! The rules file: what users write, loaded strictly, every error with file and line.
//!
//! ```yaml
//! rules:
//!   - name: vlans present
//!     command: show vlan brief
//!     parse: textfsm
//!     expect:
//!       vlan_id: { includes: "{{ data.vlans }}" }
//! ```

use crate::expect::checks;
use crate::index::{IndexError, TemplateBundle, TemplateIndex};
use serde::Deserialize;
use serde_json::Value as Json;
use std::path::Path;

/// Why a rules file cannot be used. Every variant names the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("cannot read {file}: {reason}")]
    Io {
        /// The rules file.
        file: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The file or a rule in it is invalid (syntax, unknown field or check, bad regex,
    /// template not found).
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The rules file.
        file: String,
        /// 1-based line (of the rule, for errors found after parsing).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A rule does not fit one host: a reference to data the host lacks, or a regex that is
    /// invalid once rendered for it.
    #[error("{file}:{line}: rule `{rule}`, host `{host}`: {message}")]
    Host {
        /// The rules file.
        file: String,
        /// Line of the rule.
        line: usize,
        /// The rule's name.
        rule: String,
        /// The host's name.
        host: String,
        /// What is wrong.
        message: String,
    },
}

/// How a rule's output is parsed before table checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParseMode {
    /// A TextFSM template found through the template index by platform and command.
    Textfsm,
}

/// A comparison for `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "lt" => Self::Lt,
            "le" => Self::Le,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            _ => return None,
        })
    }

    /// Whether `actual OP expected` holds.
    pub fn holds(self, actual: f64, expected: f64) -> bool {
        match self {
            Self::Eq => actual == expected,
            Self::Ne => actual != expected,
            Self::Lt => actual < expected,
            Self::Le => actual <= expected,
            Self::Gt => actual > expected,
            Self::Ge => actual >= expected,
        }
    }

    /// The operator as written in messages.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// What a table-field check asks of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// Every expected value appears in the column.
    Includes,
    /// No expected value appears in the column.
    Excludes,
    /// The column's values are exactly the expected ones (as a set; a single value means
    /// every row has it).
    Equals,
}

/// One expectation. Values are JSON that may hold `{{ ... }}` references, rendered per host.
/// Regexes here are the `regex` crate's syntax (Perl-like, no look-around); only TextFSM
/// templates are read as Python regexes.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The output contains this text (each, for a list).
    Contains(Json),
    /// The output does not contain this text.
    NotContains(Json),
    /// Some line matches this regex (multi-line mode: `^` and `$` are line ends).
    Matches(Json),
    /// No line matches this regex.
    NotMatches(Json),
    /// Each of these lines is present, compared after trimming.
    Lines(Json),
    /// Under each parent line, each child pattern matches some indented child line.
    Section(Json),
    /// A column of the parsed table.
    Field {
        /// Column name, compared case-insensitively (ntc-templates columns are upper case).
        field: String,
        /// The comparison.
        op: FieldOp,
        /// The expected value or values.
        value: Json,
    },
    /// The number of parsed rows.
    Count {
        /// The comparison.
        op: Comparison,
        /// The number (or a reference to one).
        value: Json,
    },
}

/// One rule of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Shown in reports.
    pub name: String,
    /// The command whose output the checks read.
    pub command: String,
    /// How the output is parsed for table checks.
    pub parse: Option<ParseMode>,
    /// Checks, in file order.
    pub expect: Vec<Check>,
    /// Line of the rule in the file, for errors found later.
    pub line: usize,
}

/// A loaded rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// The file the rules came from (for messages).
    pub file: String,
    /// The rules in file order.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    name: String,
    command: String,
    #[serde(default)]
    pub(crate) parse: Option<ParseMode>,
    pub(crate) expect: serde_yaml_ng::Mapping,
}

impl Rules {
    /// Reads and validates a rules file.
    pub fn load(path: &Path) -> Result<Rules, RuleError> {
        let file = path.display().to_string();
        let text = fanout_common::input::read_text(path, fanout_common::input::MAX_CONFIG_BYTES)
            .map_err(|e| RuleError::Io {
                file: file.clone(),
                reason: e.to_string(),
            })?;
        Self::parse(&file, &text)
    }

    /// Validates rules-file text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Rules, RuleError> {
        let invalid = |line: usize, message: String| RuleError::Invalid {
            file: file.to_string(),
            line,
            message,
        };
        use fanout_common::input::{MAX_YAML_DEPTH, check_yaml_nesting};
        // Before serde_yaml_ng, whose parser takes quadratic time on a deep nest.
        check_yaml_nesting(text, MAX_YAML_DEPTH).map_err(|e| invalid(e.line, e.to_string()))?;
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| {
            let line = e.location().map_or(1, |l| l.line());
            invalid(line, e.to_string())
        })?;
        if raw.rules.is_empty() {
            // Validating nothing would contact every host and report success.
            let at = text.lines().position(|l| l.starts_with("rules:"));
            return Err(invalid(
                at.map_or(1, |n| n + 1),
                "no rules: a rules file needs at least one rule".into(),
            ));
        }
        let lines = rule_lines(text);
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.into_iter().enumerate() {
            let line = lines.get(i).copied().unwrap_or(1);
            let end = lines.get(i + 1).copied().unwrap_or(usize::MAX);
            let expect = checks(&r).map_err(|m| {
                let at = line_quoted(text, line..end, &m).unwrap_or(line);
                invalid(at, format!("rule `{}`: {m}", r.name))
            })?;
            if r.name.trim().is_empty() || r.command.trim().is_empty() {
                return Err(invalid(
                    line,
                    "a rule needs a non-empty name and command".into(),
                ));
            }
            // The line break that ends a YAML block scalar (`command: |`) is layout, not part
            // of the command; any other control character would reach the device as a
            // keystroke.
            let command = r.command.trim_end_matches('\n').trim_matches(' ');
            if let Err(e) = fanout_common::command_text::check_command(command) {
                return Err(invalid(
                    line_quoted(text, line..end, "`command`").unwrap_or(line),
                    format!(
                        "rule `{}`: command {command:?} {e}; give each command its own rule",
                        r.name
                    ),
                ));
            }
            if rules.iter().any(|x: &Rule| x.name == r.name) {
                return Err(invalid(line, format!("duplicate rule name `{}`", r.name)));
            }
            rules.push(Rule {
                name: r.name,
                command: command.split_whitespace().collect::<Vec<_>>().join(" "),
                parse: r.parse,
                expect,
                line,
            });
        }
        Ok(Rules {
            file: file.to_string(),
            rules,
        })
    }

    /// Every command the rules need, each once, in the order rules first use them.
    pub fn commands(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rules {
            if !out.contains(&r.command) {
                out.push(r.command.clone());
            }
        }
        out
    }

    /// The templates the parsed rules use on `platforms` and nothing else, for the workers:
    /// they compile only these, however large the user's template directory. `None` when no
    /// rule parses. Fails as [`Rules::check_templates`] does, which should run first for its
    /// messages.
    pub fn template_bundle(
        &self,
        index: &TemplateIndex,
        platforms: &[&str],
    ) -> Result<Option<TemplateBundle>, IndexError> {
        let mut commands: Vec<String> = Vec::new();
        for rule in self.rules.iter().filter(|r| r.parse.is_some()) {
            if !commands.contains(&rule.command) {
                commands.push(rule.command.clone());
            }
        }
        if commands.is_empty() {
            return Ok(None);
        }
        index.bundle_for(&commands, platforms).map(Some)
    }

    /// Checks that a template exists and compiles for every parsed rule on every platform, and
    /// that table checks name columns the template has.
    pub fn check_templates(
        &self,
        index: &TemplateIndex,
        platforms: &[&str],
    ) -> Result<(), RuleError> {
        for rule in self.rules.iter().filter(|r| r.parse.is_some()) {
            for platform in platforms {
                let err = |message: String| RuleError::Invalid {
                    file: self.file.clone(),
                    line: rule.line,
                    message: format!("rule `{}`: {message}", rule.name),
                };
                let templates = index
                    .templates(platform, &rule.command)
                    .map_err(|e| err(e.to_string()))?;
                let header: Vec<String> = templates
                    .iter()
                    .flat_map(|t| t.header().into_iter().map(str::to_lowercase))
                    .collect();
                for check in &rule.expect {
                    if let Check::Field { field, .. } = check
                        && !header.contains(&field.to_lowercase())
                    {
                        return Err(err(format!(
                            "unknown check or field `{field}` (the {platform} template for `{}` has {})",
                            rule.command,
                            header.join(", ")
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The line within `span` (1-based lines) that holds the first `quoted` word of `message`,
/// so an error about one check points at that check rather than at the start of its rule.
fn line_quoted(text: &str, span: std::ops::Range<usize>, message: &str) -> Option<usize> {
    let word = message.split('`').nth(1).filter(|w| !w.is_empty())?;
    text.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line))
        .filter(|(n, _)| span.contains(n))
        .find(|(_, line)| contains_token(line, word))
        .map(|(n, _)| n)
}

/// `word` occurs in `line` not as part of a longer name (`a` is not found in `name`).
fn contains_token(line: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// The line of each item of the top-level `rules:` sequence, found in the text because YAML
/// values carry no positions once parsed.
fn rule_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_rules = false;
    let mut indent: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("rules:") {
            in_rules = true;
            continue;
        }
        if !in_rules || line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let this = line.len() - line.trim_start().len();
        if this == 0 && !line.starts_with('-') {
            in_rules = false;
            continue;
        }
        if line.trim_start().starts_with("- ") || line.trim() == "-" {
            match indent {
                None => {
                    indent = Some(this);
                    out.push(n + 1);
                }
                Some(i) if i == this => out.push(n + 1),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_lines_follow_the_top_level_sequence() {
        let text = "# header\nversion: 1\nrules:\n  # first\n  - name: a\n    expect:\n      lines:\n        - x\n\n  - name: b\nother: 1\n  - not: a rule\n";
        assert_eq!(rule_lines(text), [5, 10]);
        assert_eq!(rule_lines("rules:\n- name: a\n- name: b\n"), [2, 3]);
    }

    #[test]
    fn a_file_without_rules_is_refused() {
        let err = Rules::parse("r.yaml", "# none yet\nrules: []\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.yaml:2: no rules: a rules file needs at least one rule"
        );
    }

    #[test]
    fn a_command_is_one_line_of_text() {
        let rule = |command: &str| {
            format!("rules:\n  - name: a\n    command: {command}\n    expect: {{ contains: x }}\n")
        };
        // A block scalar's closing line break is layout; inner blanks fold as before.
        let rules = Rules::parse("r.yaml", &rule("|\n      show   version\n")).unwrap();
        assert_eq!(rules.rules[0].command, "show version");
        for (command, what) in [
            (
                "\"echo first\\nreload\"",
                "a line break (\\n) at character 11",
            ),
            (
                "|\n      show clock\n      reload\n",
                "a line break (\\n) at character 11",
            ),
            ("\"show version\\r\"", "a carriage return (\\r)"),
            ("\"show run\\x03\"", "Ctrl-C"),
            ("\"conf t\\x1a\"", "Ctrl-Z"),
            ("\"show\\tversion\"", "a tab"),
        ] {
            let err = Rules::parse("r.yaml", &rule(command))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("r.yaml:3: rule `a`: command "), "{err}");
            assert!(err.contains(what), "{command}: {err}");
        }
    }

    #[test]
    fn a_bad_check_is_reported_at_its_own_line() {
        let text = "rules:\n  - name: a\n    command: show clock\n    expect: { contains: x }\n  - name: b\n    command: show version\n    expect:\n      contains: y\n      matchez: z\n";
        let err = Rules::parse("r.yaml", text).unwrap_err().to_string();
        assert!(
            err.starts_with("r.yaml:9: rule `b`: unknown check `matchez`"),
            "{err}"
        );
    }

    #[test]
    fn load_reads_the_file_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.yaml");
        std::fs::write(
            &path,
            "rules:\n  - name: a\n    command: show  clock\n    expect: { contains: UTC }\n",
        )
        .unwrap();
        let rules = Rules::load(&path).unwrap();
        assert_eq!(rules.file, path.display().to_string());
        assert_eq!(rules.rules[0].command, "show clock");
        assert_eq!(rules.rules[0].line, 2);
        let missing = dir.path().join("nope.yaml");
        assert!(
            matches!(Rules::load(&missing), Err(RuleError::Io { file, .. }) if file.ends_with("nope.yaml"))
        );
    }
}
