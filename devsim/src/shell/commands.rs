//! The exec command table and the IOS-style parser: keywords may be abbreviated to any
//! unambiguous prefix, and errors point at the offending word with a `^` marker.

use crate::persona::Errors;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Enable,
    Disable,
    Exit,
    TerminalLength,
    TerminalWidth,
    ShowRunningConfig,
    ShowVersion,
    ShowIpInterfaceBrief,
    ShowIpRoute,
    ShowVlanBrief,
    ShowProcessesCpu,
    ShowTechSupport,
    ConfigureTerminal,
    WriteMemory,
    /// Accepted and silent: a session setting devsim does not model (PAN-OS
    /// `set cli scripting-mode on`).
    Noop,
}

impl Cmd {
    /// Whether output modifiers (`| include ...`) may follow the command.
    pub(super) fn is_show(self) -> bool {
        matches!(
            self,
            Cmd::ShowRunningConfig
                | Cmd::ShowVersion
                | Cmd::ShowIpInterfaceBrief
                | Cmd::ShowIpRoute
                | Cmd::ShowVlanBrief
                | Cmd::ShowProcessesCpu
                | Cmd::ShowTechSupport
        )
    }
}

/// An exec command: its keywords (abbreviations accepted), the largest number that may follow
/// (`None`: no number), and whether it needs privileged mode (in user mode IOS reports such
/// keywords as invalid input). Each persona lists its own.
pub(crate) struct Spec {
    words: &'static [&'static str],
    number: Option<u32>,
    /// Keywords after the number (Huawei `screen-length 0 temporary`).
    tail: &'static [&'static str],
    privileged: bool,
    cmd: Cmd,
}

pub(crate) const fn spec(
    words: &'static [&'static str],
    number: Option<u32>,
    privileged: bool,
    cmd: Cmd,
) -> Spec {
    Spec {
        words,
        number,
        tail: &[],
        privileged,
        cmd,
    }
}

/// [`spec`] with keywords after the number.
pub(crate) const fn spec_tail(
    words: &'static [&'static str],
    number: u32,
    tail: &'static [&'static str],
    privileged: bool,
    cmd: Cmd,
) -> Spec {
    Spec {
        words,
        number: Some(number),
        tail,
        privileged,
        cmd,
    }
}

/// Cisco IOS's exec commands (IOS XE shares them).
pub(crate) const IOS_COMMANDS: &[Spec] = &[
    spec(&["enable"], None, false, Cmd::Enable),
    spec(&["disable"], None, true, Cmd::Disable),
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["logout"], None, false, Cmd::Exit),
    spec(&["quit"], None, false, Cmd::Exit),
    spec(
        &["terminal", "length"],
        Some(512),
        false,
        Cmd::TerminalLength,
    ),
    spec(&["terminal", "width"], Some(512), false, Cmd::TerminalWidth),
    spec(
        &["show", "running-config"],
        None,
        true,
        Cmd::ShowRunningConfig,
    ),
    spec(&["show", "version"], None, false, Cmd::ShowVersion),
    spec(
        &["show", "ip", "interface", "brief"],
        None,
        false,
        Cmd::ShowIpInterfaceBrief,
    ),
    spec(&["show", "ip", "route"], None, false, Cmd::ShowIpRoute),
    spec(&["show", "vlan", "brief"], None, false, Cmd::ShowVlanBrief),
    spec(
        &["show", "processes", "cpu"],
        None,
        false,
        Cmd::ShowProcessesCpu,
    ),
    spec(&["show", "tech-support"], None, true, Cmd::ShowTechSupport),
    spec(
        &["configure", "terminal"],
        None,
        true,
        Cmd::ConfigureTerminal,
    ),
    spec(&["write", "memory"], None, true, Cmd::WriteMemory),
];

/// Why a command line did not resolve to a command.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ParseError {
    /// The token starting at this column of the line matches nothing.
    InvalidAt(usize),
    Ambiguous,
    Incomplete,
}

/// Splits a line into words, keeping each word's starting column for the `^` marker.
pub(super) fn tokenize(line: &[u8]) -> Vec<(usize, &str)> {
    let text = std::str::from_utf8(line).unwrap_or("");
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                tokens.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push((s, &text[s..]));
    }
    tokens
}

/// Matches words against the command table the way IOS does: any unambiguous prefix of a keyword.
pub(super) fn resolve(
    table: &[Spec],
    tokens: &[(usize, &str)],
    privileged: bool,
) -> Result<(Cmd, Option<u32>), ParseError> {
    let mut candidates: Vec<&Spec> = table
        .iter()
        .filter(|s| privileged || !s.privileged)
        .collect();
    for (depth, &(col, token)) in tokens.iter().enumerate() {
        let token = token.to_ascii_lowercase();
        let matching: Vec<&Spec> = candidates
            .iter()
            .copied()
            .filter(|s| s.words.get(depth).is_some_and(|w| w.starts_with(&token)))
            .collect();
        if matching.is_empty() {
            let numbered = candidates
                .iter()
                .find(|s| s.number.is_some() && s.words.len() == depth);
            return match (numbered, token.parse::<u32>()) {
                (Some(s), Ok(n)) if s.number.is_some_and(|max| n <= max) => {
                    after_number(s, &tokens[depth + 1..]).map(|()| (s.cmd, Some(n)))
                }
                (Some(_), Ok(_)) if depth + 1 < tokens.len() => {
                    Err(ParseError::InvalidAt(tokens[depth + 1].0))
                }
                _ => Err(ParseError::InvalidAt(col)),
            };
        }
        let exact: Vec<&Spec> = matching
            .iter()
            .copied()
            .filter(|s| s.words[depth] == token)
            .collect();
        if !exact.is_empty() {
            candidates = exact;
        } else {
            let mut words: Vec<&str> = matching.iter().map(|s| s.words[depth]).collect();
            words.dedup();
            if words.len() > 1 {
                return Err(ParseError::Ambiguous);
            }
            candidates = matching;
        }
    }
    candidates
        .iter()
        .find(|s| s.words.len() == tokens.len() && s.number.is_none())
        .map(|s| (s.cmd, None))
        .ok_or(ParseError::Incomplete)
}

/// Checks the words after a command's number against its tail keywords.
fn after_number(spec: &Spec, rest: &[(usize, &str)]) -> Result<(), ParseError> {
    for (i, &(col, token)) in rest.iter().enumerate() {
        let token = token.to_ascii_lowercase();
        match spec.tail.get(i) {
            Some(word) if word.starts_with(&token) => {}
            _ => return Err(ParseError::InvalidAt(col)),
        }
    }
    if rest.len() < spec.tail.len() {
        return Err(ParseError::Incomplete);
    }
    Ok(())
}

/// The vendor's words for a command that did not resolve; `first_col` is where the line's first
/// word starts (Junos says `unknown command.` for that one and a syntax error after it).
pub(super) fn error_text(
    errors: &Errors,
    error: ParseError,
    raw: &str,
    caret_base: usize,
    first_col: usize,
) -> String {
    match error {
        ParseError::InvalidAt(col) => {
            let message = match errors.unknown_command {
                Some(unknown) if col == first_col => unknown,
                _ => errors.invalid,
            };
            let word = raw.get(col..).unwrap_or("").split_whitespace().next();
            let message = message
                .replace("{word}", word.unwrap_or(""))
                .replace("{column}", &(col + 1).to_string());
            invalid_at(errors, &message, caret_base + col)
        }
        ParseError::Ambiguous => errors.ambiguous.replace("{command}", raw.trim()),
        ParseError::Incomplete => errors.incomplete.to_string(),
    }
}

/// `message` under a `^` at `column`, or alone where the vendor prints no marker.
pub(super) fn invalid_at(errors: &Errors, message: &str, column: usize) -> String {
    if errors.caret {
        format!("{:column$}^\n{message}", "")
    } else {
        message.to_string()
    }
}
