//! The exec command table and the IOS-style parser: keywords may be abbreviated to any
//! unambiguous prefix, and errors point at the offending word with a `^` marker.

pub(super) const INVALID: &str = "% Invalid input detected at '^' marker.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmd {
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

/// An exec command: its keywords (abbreviations accepted), whether a number follows, and whether
/// it needs privileged mode (in user mode IOS reports such keywords as invalid input).
struct Spec {
    words: &'static [&'static str],
    number: bool,
    privileged: bool,
    cmd: Cmd,
}

const fn spec(words: &'static [&'static str], number: bool, privileged: bool, cmd: Cmd) -> Spec {
    Spec {
        words,
        number,
        privileged,
        cmd,
    }
}

const EXEC_COMMANDS: &[Spec] = &[
    spec(&["enable"], false, false, Cmd::Enable),
    spec(&["disable"], false, true, Cmd::Disable),
    spec(&["exit"], false, false, Cmd::Exit),
    spec(&["logout"], false, false, Cmd::Exit),
    spec(&["quit"], false, false, Cmd::Exit),
    spec(&["terminal", "length"], true, false, Cmd::TerminalLength),
    spec(&["terminal", "width"], true, false, Cmd::TerminalWidth),
    spec(
        &["show", "running-config"],
        false,
        true,
        Cmd::ShowRunningConfig,
    ),
    spec(&["show", "version"], false, false, Cmd::ShowVersion),
    spec(
        &["show", "ip", "interface", "brief"],
        false,
        false,
        Cmd::ShowIpInterfaceBrief,
    ),
    spec(&["show", "ip", "route"], false, false, Cmd::ShowIpRoute),
    spec(&["show", "vlan", "brief"], false, false, Cmd::ShowVlanBrief),
    spec(
        &["show", "processes", "cpu"],
        false,
        false,
        Cmd::ShowProcessesCpu,
    ),
    spec(&["show", "tech-support"], false, true, Cmd::ShowTechSupport),
    spec(
        &["configure", "terminal"],
        false,
        true,
        Cmd::ConfigureTerminal,
    ),
    spec(&["write", "memory"], false, true, Cmd::WriteMemory),
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
    tokens: &[(usize, &str)],
    privileged: bool,
) -> Result<(Cmd, Option<u32>), ParseError> {
    let mut candidates: Vec<&Spec> = EXEC_COMMANDS
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
                .find(|s| s.number && s.words.len() == depth);
            return match (numbered, token.parse::<u32>()) {
                (Some(s), Ok(n)) if n <= 512 && depth + 1 == tokens.len() => Ok((s.cmd, Some(n))),
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
        .find(|s| s.words.len() == tokens.len() && !s.number)
        .map(|s| (s.cmd, None))
        .ok_or(ParseError::Incomplete)
}

pub(super) fn error_text(error: ParseError, raw: &str, caret_base: usize) -> String {
    match error {
        ParseError::InvalidAt(col) => {
            format!("{:width$}^\n{INVALID}\n\n", "", width = caret_base + col)
        }
        ParseError::Ambiguous => format!("% Ambiguous command:  \"{}\"\n", raw.trim()),
        ParseError::Incomplete => "% Incomplete command.\n\n".to_string(),
    }
}
