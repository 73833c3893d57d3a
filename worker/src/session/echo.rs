//! The device's echo of a command: proof that it received the command exactly as sent. A CLI
//! echoes what it will run; if the echoed line (as the screen shows it) is not the command —
//! a word glued in front, a character lost — the device is about to run something else, and
//! its output must not be reported as the command's.
//!
//! One case looks like a wrong echo and is not: the previous command's output went on past a
//! line that looked exactly like the prompt. The device then finishes that output, prints its
//! real prompt and echoes the command typed ahead after it (`sw1#show clock`); CLIs hold keys
//! typed while they print. [`find_late`] finds that echo, so the rest of the previous output
//! can be given back to its command.

use super::prompt::{CliPatterns, Identity};
use super::screen::render_line;

/// A line longer than this without a line end is not an echo (a command line is a few hundred
/// bytes at most); stop waiting for its end.
const MAX_ECHO_LINE: usize = 64 * 1024;
/// How much of a mismatched line the error quotes.
const SHOWN_BYTES: usize = 200;

/// What the bytes read so far say about a command's echo.
#[derive(Debug, PartialEq, Eq)]
pub enum Echo {
    /// The echo's line has not ended yet.
    Incomplete,
    /// The device echoed the command; its output starts at this index of the buffer.
    Complete { output_from: usize },
    /// The device echoed another line ending in the command (a word glued in front): the
    /// screen shows `shown`.
    Mismatch { shown: Vec<u8> },
    /// The first line is something else entirely: another echo, or more of the previous
    /// command's output (see [`find_late`]).
    Unexpected { shown: Vec<u8> },
}

/// Checks the echo of `command` at the start of `buf` (everything read since it was sent).
/// Blank lines before the echo are skipped; the echoed line may start with the device's own
/// prompt (`r1#show version`, devices that repaint the whole line) carrying `identity`. Only
/// trailing blanks may differ.
pub fn check(
    buf: &[u8],
    command: &[u8],
    identity: Option<&Identity>,
    patterns: &CliPatterns,
) -> Echo {
    let want = trim_end(command);
    let mut start = 0;
    while let Some(lf) = memchr::memchr(b'\n', &buf[start..]) {
        let end = start + lf;
        let shown = render_line(&buf[start..end]);
        let text = trim_end(&shown);
        if text.is_empty() {
            start = end + 1;
            continue;
        }
        if echoes(text, want, identity, patterns) {
            return match output_start(buf, start, end) {
                Some(output_from) => Echo::Complete { output_from },
                None => Echo::Incomplete,
            };
        }
        let shown = text[..text.len().min(SHOWN_BYTES)].to_vec();
        return if text.ends_with(want) {
            Echo::Mismatch { shown }
        } else {
            Echo::Unexpected { shown }
        };
    }
    if buf.len() - start > MAX_ECHO_LINE {
        let shown = render_line(&buf[start..start + SHOWN_BYTES]);
        return Echo::Unexpected { shown };
    }
    Echo::Incomplete
}

/// For a buffer [`check`] found [`Echo::Incomplete`] when nothing more will come (the session
/// closed, or stayed quiet): what the screen shows of a last, unterminated line that cannot be
/// the start of `command`'s echo (with or without the device's prompt in front), or `None`
/// when there is no such line. Such a line is more of the previous output, never an echo.
pub fn unfinished_line(
    buf: &[u8],
    command: &[u8],
    identity: Option<&Identity>,
    patterns: &CliPatterns,
) -> Option<Vec<u8>> {
    let want = trim_end(command);
    let mut start = 0;
    while let Some(lf) = memchr::memchr(b'\n', &buf[start..]) {
        let end = start + lf;
        let shown = render_line(&buf[start..end]);
        if !trim_end(&shown).is_empty() {
            // A whole line before the partial one is the echo itself (its line end still
            // open), as `check` saw it: nothing is unfinished.
            return None;
        }
        start = end + 1;
    }
    let shown = render_line(&buf[start..]);
    let text = trim_end(&shown);
    let echo_begun = (0..=text.len()).any(|split| {
        let (lead, typed) = text.split_at(split);
        want.starts_with(typed)
            && (lead.is_empty() || identity.is_some_and(|id| patterns.is_own_prompt(lead, id)))
    });
    (!text.is_empty() && !echo_begun).then(|| text[..text.len().min(SHOWN_BYTES)].to_vec())
}

/// Where the output starts after the echo line `buf[start..end]` (`end` is its line feed), or
/// `None` while that is not known yet. Devices that end lines with `\n\r` put the carriage
/// return after the line feed: it belongs to the echo's line end, not to the output.
fn output_start(buf: &[u8], start: usize, end: usize) -> Option<usize> {
    let lf_cr = end == start || buf[end - 1] != b'\r';
    match buf.get(end + 1) {
        None if lf_cr => None,
        Some(b'\r') if lf_cr => Some(end + 2),
        _ => Some(end + 1),
    }
}

/// The echo of `command` typed ahead after the device's own prompt, later in `buf`: the line
/// where it starts and where the command's output starts. Only a line that begins with a
/// prompt carrying `identity` counts: that is the device back at its prompt, reading the
/// command.
pub fn find_late(
    buf: &[u8],
    command: &[u8],
    identity: &Identity,
    patterns: &CliPatterns,
) -> Option<(usize, usize)> {
    let want = trim_end(command);
    let mut start = 0;
    while let Some(lf) = memchr::memchr(b'\n', &buf[start..]) {
        let end = start + lf;
        let shown = render_line(&buf[start..end]);
        let text = trim_end(&shown);
        if let Some(lead) = text.strip_suffix(want)
            && !trim_end(lead).is_empty()
            && patterns.is_own_prompt(lead, identity)
        {
            return Some((start, output_start(buf, start, end)?));
        }
        start = end + 1;
    }
    None
}

/// Whether the shown line is `want`, alone or after the device's prompt.
fn echoes(text: &[u8], want: &[u8], identity: Option<&Identity>, patterns: &CliPatterns) -> bool {
    let Some(before) = text.strip_suffix(want) else {
        return false;
    };
    let before = trim_end(before);
    if before.is_empty() {
        return true;
    }
    // The prompt's own mark may be followed directly by the command (`r1#show`), so the
    // prompt is matched on what comes before the command, blanks and all.
    let lead = &text[..text.len() - want.len()];
    identity.is_some_and(|identity| patterns.is_own_prompt(lead, identity))
}

fn trim_end(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |at| at + 1);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::platform::PlatformRegistry;

    fn ios() -> CliPatterns {
        let registry = PlatformRegistry::builtin();
        CliPatterns::compile(&registry.get("cisco_ios").unwrap().profile).unwrap()
    }

    fn check_ios(buf: &[u8], command: &str) -> Echo {
        let ios = ios();
        check(
            buf,
            command.as_bytes(),
            Some(&ios.identity(b"sw1".to_vec())),
            &ios,
        )
    }

    fn sw1() -> Identity {
        ios().identity(b"sw1".to_vec())
    }

    #[test]
    fn an_exact_echo_marks_where_output_starts() {
        let buf = b"show version\r\nCisco IOS\r\nsw1#";
        assert_eq!(
            check_ios(buf, "show version"),
            Echo::Complete { output_from: 14 }
        );
        // Blank lines first, `\n\r` line ends, a repainted line, the prompt in front.
        assert_eq!(
            check_ios(b"\r\nshow clock\n\r*10:00\n\rsw1#", "show clock"),
            Echo::Complete { output_from: 14 }
        );
        assert_eq!(
            check_ios(b"show clokc\x08\x08ck\r\n", "show clock"),
            Echo::Complete { output_from: 16 }
        );
        assert_eq!(
            check_ios(b"sw1#show clock\r\n", "show clock"),
            Echo::Complete { output_from: 16 }
        );
        assert_eq!(
            check_ios(b"\r\x1b[Ksw1(config)# vlan 42  \r\n", "vlan 42"),
            Echo::Complete { output_from: 28 }
        );
    }

    #[test]
    fn an_echo_still_arriving_is_incomplete() {
        assert_eq!(check_ios(b"", "show clock"), Echo::Incomplete);
        assert_eq!(check_ios(b"show cl", "show clock"), Echo::Incomplete);
        assert_eq!(check_ios(b"\r\nshow clock", "show clock"), Echo::Incomplete);
        // A bare line feed: whether a carriage return follows it is not known yet.
        assert_eq!(check_ios(b"show clock\n", "show clock"), Echo::Incomplete);
        assert_eq!(
            check_ios(b"show clock\nsw1#", "show clock"),
            Echo::Complete { output_from: 11 }
        );
    }

    #[test]
    fn an_unterminated_line_left_at_the_end_is_output_unless_it_starts_the_echo() {
        let (ios, id) = (ios(), sw1());
        let left = |buf: &[u8]| unfinished_line(buf, b"exit", Some(&id), &ios);
        for begun in [
            &b""[..],
            b"\r\n",
            b"ex",
            b"exit",
            b"sw1#",
            b"sw1#ex",
            b"\r\nsw1#exit",
        ] {
            assert_eq!(left(begun), None, "{begun:?}");
        }
        // The echo's line is whole, only its line end is still open.
        assert_eq!(left(b"exit\n"), None);
        assert_eq!(
            left(b"  interface Gi0/2"),
            Some(b"  interface Gi0/2".to_vec())
        );
        assert_eq!(left(b"\r\nsw1#more"), Some(b"sw1#more".to_vec()));
        assert_eq!(left(b"sw2#"), Some(b"sw2#".to_vec()));
    }

    #[test]
    fn anything_else_on_the_echo_line_is_a_mismatch() {
        // The glued word a backspace did not erase (0x08 ignored by a DEL-only line editor).
        assert_eq!(
            check_ios(b"cfxhtgipkg7wshow vlan brief\r\n", "show vlan brief"),
            Echo::Mismatch {
                shown: b"cfxhtgipkg7wshow vlan brief".to_vec()
            }
        );
        // Another device's prompt in front; without a known identity no prompt is trusted.
        let sw1 = sw1();
        for (buf, identity) in [
            (&b"core-2#show version\r\n"[..], Some(&sw1)),
            (b"sw1#show version\r\n", None),
        ] {
            assert!(
                matches!(
                    check(buf, b"show version", identity, &ios()),
                    Echo::Mismatch { .. }
                ),
                "{buf:?}"
            );
        }
        // A lost character, a different command, output first: not this command's echo.
        for (buf, command) in [
            (&b"show vrsion\r\n"[..], "show version"),
            (b"reload\r\n", "show version"),
            (b"Building configuration...\r\nshow run\r\n", "show run"),
        ] {
            assert!(
                matches!(check_ios(buf, command), Echo::Unexpected { .. }),
                "{buf:?}"
            );
        }
        // A line without end is not waited for forever.
        let endless = vec![b'x'; 70 * 1024];
        assert!(matches!(
            check_ios(&endless, "show clock"),
            Echo::Unexpected { .. }
        ));
    }

    #[test]
    fn an_echo_typed_ahead_is_found_after_the_rest_of_the_previous_output() {
        // The previous output went on after a line that looked like the prompt; the device
        // then printed its prompt and echoed the command held since.
        let buf = b"\r\nmore of it\r\nend\r\nsw1#show clock\r\n*10:00\r\nsw1#";
        assert!(matches!(
            check_ios(buf, "show clock"),
            Echo::Unexpected { .. }
        ));
        assert_eq!(
            find_late(buf, b"show clock", &sw1(), &ios()),
            Some((19, 35))
        );
        // Only after the device's own prompt.
        let buf = b"more\r\ncore-2#show clock\r\nshow clock\r\n";
        assert_eq!(find_late(buf, b"show clock", &sw1(), &ios()), None);
        assert_eq!(find_late(b"more\r\n", b"show clock", &sw1(), &ios()), None);
    }
}
