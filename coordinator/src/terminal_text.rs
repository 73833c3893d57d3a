//! Text that came from devices, inventories, rules files or other processes, made safe to
//! print for a person.
//!
//! A terminal obeys what it is sent: `ESC[2J` clears the screen, OSC 52 writes the clipboard,
//! `ESC[6n` makes the terminal type its answer into our input, a lone `\r` lets a line
//! overwrite the report line before it, and U+202E reorders what follows. A device's output,
//! an offending line quoted in a failure or a worker's id is data, so every control character
//! in it is shown as an escape (`\x1b`, `\r`, `\u{9b}`) instead of being sent.
//!
//! Only the human-facing text goes through here: JSON and JUnit escape by their own rules.

use std::borrow::Cow;
use std::fmt::Write as _;

/// One line of text: a host name, a worker id, a failure message. Every control character,
/// line breaks and tabs included, is escaped, so the field cannot spill onto other lines or
/// shift the columns of a table.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Text printed on purpose over several lines (a command's output): line breaks and tabs are
/// kept, every other control character (a `\r` without its `\n` too) is escaped. A CRLF
/// line end becomes a plain line end, since that is all it means on a terminal.
pub fn block(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape_in_block) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            c if is_control(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape_in_block(c: char) -> bool {
    is_control(c) && c != '\n' && c != '\t'
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_control(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_control(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// C0 controls (ESC among them), DEL, C1 controls (a lone U+009B is a CSI on some terminals)
/// and the bidirectional overrides that make a terminal show text in another order than it
/// is written.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_untouched_and_not_copied() {
        for text in [
            "r00001",
            "show ip route | include 0.0.0.0",
            "Gi1/0/1 up",
            "café ✓",
            "",
        ] {
            assert!(matches!(line(text), Cow::Borrowed(t) if t == text));
            assert!(matches!(block(text), Cow::Borrowed(t) if t == text));
        }
        let output = "Interface  Status\n\tGi1/0/1  up\n";
        assert!(matches!(block(output), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_commands_are_shown_not_obeyed() {
        let hostile = "ok\x1b[2J\x1b]52;c;cmVib290\x07\x1b[6n";
        assert_eq!(line(hostile), "ok\\x1b[2J\\x1b]52;c;cmVib290\\x07\\x1b[6n");
        assert_eq!(block(hostile), "ok\\x1b[2J\\x1b]52;c;cmVib290\\x07\\x1b[6n");
        assert_eq!(
            line("a\x7fb\u{9b}31m\u{202e}c"),
            "a\\x7fb\\u{9b}31m\\u{202e}c"
        );
        assert_eq!(line("\0\x03\x1a"), "\\x00\\x03\\x1a");
    }

    #[test]
    fn a_line_stays_one_line() {
        assert_eq!(line("r1\nFAKE ok\r\tx"), "r1\\nFAKE ok\\r\\tx");
    }

    #[test]
    fn a_block_keeps_its_lines_but_no_lone_carriage_return() {
        assert_eq!(block("a\r\nb\n\tc"), "a\nb\n\tc");
        // A lone \r would let the device overwrite what is already on the line.
        assert_eq!(block("all good\rFAILED"), "all good\\rFAILED");
        assert_eq!(block("end\r"), "end\\r");
        assert_eq!(block("x\r\r\ny"), "x\\r\ny");
    }

    #[test]
    fn nothing_dangerous_survives_either_form() {
        // Every char from 0 to U+2100: what comes out has no control character left but the
        // line breaks and tabs a block keeps.
        let all: String = (0u32..0x2100).filter_map(char::from_u32).collect();
        assert!(!line(&all).chars().any(is_control));
        assert!(
            !block(&all)
                .chars()
                .any(|c| is_control(c) && c != '\n' && c != '\t')
        );
    }
}
