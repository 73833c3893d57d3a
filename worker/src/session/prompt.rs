//! Reading an interactive CLI: where the device's prompt is, where the echo of a command ends,
//! what the device printed and whether it rejected the command. Pure functions over byte slices,
//! so every rule here is tested without a device.
//!
//! A read buffer only ever grows at its end, so every check looks at the last few dozen bytes
//! (or at the bytes that arrived since the last check), never at the whole buffer again.

use memchr::{memchr_iter, memmem};

/// Longest name part of a prompt (IOS caps hostnames at 63 characters).
const MAX_PROMPT_NAME: usize = 63;
/// Blanks tolerated after the `#` or `>` of a prompt.
const MAX_PROMPT_TRAILING: usize = 8;
/// Blanks tolerated around a `--More--` marker or after `Password:`.
const MAX_MARKER_BLANKS: usize = 8;

const MORE_MARKER: &[u8] = b"--More--";
const PASSWORD_PROMPT: &[u8] = b"password:";
const BACKSPACE: u8 = 0x08;

/// What IOS-like CLIs print when they refuse a command. Matched at the start of a line: that is
/// where the CLI prints them, and it keeps a log line quoting one from failing `show logging`.
const REJECTION_MARKERS: [&[u8]; 4] = [
    b"% Invalid input detected",
    b"% Incomplete command",
    b"% Ambiguous command",
    b"% Unknown command",
];

/// A prompt found as the last line of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// Index of the prompt line's first byte in the buffer; output ends here.
    pub start: usize,
    /// Index of the `#` or `>`; `start..mark` is the name, with any `(config)` mode suffix.
    pub mark: usize,
    /// `#` (privileged exec) rather than `>` (user exec).
    pub privileged: bool,
}

impl Prompt {
    /// The device's name as the prompt shows it: the part before any `(mode)` suffix, so a prompt
    /// learned in exec mode still recognises `router1(config-if)#`.
    pub fn base<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let name = buf.get(self.start..self.mark).unwrap_or_default();
        match memchr::memchr(b'(', name) {
            Some(paren) => name.get(..paren).unwrap_or_default(),
            None => name,
        }
    }
}

fn is_prompt_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@' | b'(' | b')' | b'/' | b':')
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_line_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// The prompt that ends `buf`, if its last line is one: `^[\w.\-@()/:]{1,63}[>#][ \t]*$`, with
/// the line starting after the last CR or LF, or at `from` (the end of a command's echo, which
/// output cannot precede). Data after the prompt, even a newline, means it is not a prompt: a
/// device waiting for input prints its prompt last. Looks at no more than ~73 bytes.
pub fn prompt_at_end(buf: &[u8], from: usize) -> Option<Prompt> {
    let from = from.min(buf.len());
    let mut end = buf.len();
    while end > from && buf.len() - end < MAX_PROMPT_TRAILING && is_blank(buf[end - 1]) {
        end -= 1;
    }
    if end == from {
        return None;
    }
    let mark = end - 1;
    let privileged = match buf[mark] {
        b'#' => true,
        b'>' => false,
        _ => return None,
    };
    let mut start = mark;
    while start > from {
        let b = buf[start - 1];
        if is_line_break(b) {
            break;
        }
        if !is_prompt_name_byte(b) || mark - start >= MAX_PROMPT_NAME {
            return None;
        }
        start -= 1;
    }
    if start == mark {
        return None;
    }
    Some(Prompt {
        start,
        mark,
        privileged,
    })
}

/// Where a `--More--` pager marker that ends `buf` starts (including the blanks before it), so
/// the caller can cut it off and answer with a space.
pub fn more_at_end(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while end > 0 && buf.len() - end < MAX_MARKER_BLANKS && is_blank(buf[end - 1]) {
        end -= 1;
    }
    let marker_start = end.checked_sub(MORE_MARKER.len())?;
    if buf.get(marker_start..end)? != MORE_MARKER {
        return None;
    }
    let mut start = marker_start;
    while start > 0 && marker_start - start < MAX_MARKER_BLANKS && is_blank(buf[start - 1]) {
        start -= 1;
    }
    Some(start)
}

/// After the pager is answered, IOS erases its marker with `k` backspaces, `k` spaces and `k`
/// backspaces before the next page. Returns how many leading bytes of `data` are that erasure,
/// or `None` if `data` could still be the beginning of one (wait for more bytes).
pub fn more_erasure_len(data: &[u8]) -> Option<usize> {
    let k = data.iter().take_while(|&&b| b == BACKSPACE).count();
    if k == 0 {
        return if data.is_empty() { None } else { Some(0) };
    }
    let mut at = k;
    for want in [b' ', BACKSPACE] {
        let run = data
            .get(at..)
            .unwrap_or_default()
            .iter()
            .take(k)
            .take_while(|&&b| b == want)
            .count();
        at += run;
        if run < k {
            // Either the erasure is still arriving, or this device erases differently: drop
            // what clearly belongs to it and keep the rest as output.
            return if at == data.len() { None } else { Some(at) };
        }
    }
    Some(at)
}

/// Whether `buf` ends with an enable `Password:` prompt (any case, blanks allowed after it).
pub fn password_prompt_at_end(buf: &[u8]) -> bool {
    let mut end = buf.len();
    while end > 0 && buf.len() - end < MAX_MARKER_BLANKS && is_blank(buf[end - 1]) {
        end -= 1;
    }
    end.checked_sub(PASSWORD_PROMPT.len())
        .and_then(|start| buf.get(start..end))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(PASSWORD_PROMPT))
}

/// Finds the echo of `command` in `buf`, searching from `search_from` (earlier bytes were
/// already searched; pass how far the previous search got). Returns the index just after the
/// end of the echoed line, or `None` if the echo or its line end has not arrived yet.
///
/// Anything before the echo is stale (a prompt repeated by the device, a banner's tail) and is
/// not part of the command's output.
pub fn echo_end(buf: &[u8], command: &[u8], search_from: usize) -> Option<usize> {
    let from = search_from.min(buf.len());
    let found = from + memmem::find(buf.get(from..)?, command)?;
    let after = found + command.len();
    let newline = memchr::memchr(b'\n', buf.get(after..)?)?;
    Some(after + newline + 1)
}

/// Where the next echo search may start once `buf` has been searched to its end without
/// finding `command`: the echo may straddle the boundary.
pub fn echo_search_resume(buf_len: usize, command_len: usize) -> usize {
    buf_len.saturating_sub(command_len)
}

/// Appends `raw` to `out` with every CRLF turned into LF; lone CRs are kept. One pass, copying
/// whole runs between carriage returns.
pub fn normalize_newlines(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len());
    let mut copied = 0;
    for cr in memchr_iter(b'\r', raw) {
        if raw.get(cr + 1) == Some(&b'\n') {
            out.extend_from_slice(&raw[copied..cr]);
            copied = cr + 1;
        }
    }
    out.extend_from_slice(&raw[copied..]);
}

/// Whether `output` has a line starting with one of the CLI's rejection markers.
pub fn is_rejected(output: &[u8]) -> bool {
    memchr_iter(b'%', output)
        .filter(|&at| at == 0 || is_line_break(output[at - 1]))
        .any(|at| {
            REJECTION_MARKERS
                .iter()
                .any(|marker| output[at..].starts_with(marker))
        })
}

/// Whether `output` says the enable secret was refused.
pub fn enable_refused(output: &[u8]) -> bool {
    [
        &b"% Access denied"[..],
        b"% Bad secrets",
        b"% Bad passwords",
    ]
    .iter()
    .any(|needle| memmem::find(output, needle).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt_line(buf: &[u8]) -> Option<&[u8]> {
        prompt_at_end(buf, 0).map(|p| &buf[p.start..])
    }

    #[test]
    fn finds_prompts_that_end_the_buffer() {
        assert_eq!(prompt_line(b"router1>"), Some(&b"router1>"[..]));
        assert_eq!(prompt_line(b"\r\nrouter1#"), Some(&b"router1#"[..]));
        assert_eq!(prompt_line(b"output\r\nrouter1# "), Some(&b"router1# "[..]));
        assert_eq!(
            prompt_line(b"x\nedge-01.ams(config-if)#"),
            Some(&b"edge-01.ams(config-if)#"[..])
        );
        assert_eq!(
            prompt_line(b"\nadmin@fw-1:/cfg>"),
            Some(&b"admin@fw-1:/cfg>"[..])
        );
        let p = prompt_at_end(b"\r\nrtr(config)#", 0).unwrap();
        assert!(p.privileged);
        assert_eq!(p.base(b"\r\nrtr(config)#"), b"rtr");
        assert!(!prompt_at_end(b"rtr>", 0).unwrap().privileged);
    }

    #[test]
    fn rejects_what_only_looks_like_a_prompt() {
        // Data after the prompt character: the device is still talking.
        assert_eq!(prompt_line(b"router1#\r\n"), None);
        assert_eq!(prompt_line(b"router1#x"), None);
        // Blanks, '#' or '!' in the name part: banner art and config lines.
        assert_eq!(prompt_line(b"\r\n#####"), None);
        assert_eq!(prompt_line(b"\r\n** access is monitored #"), None);
        assert_eq!(prompt_line(b"\r\ninterface Gi0/1 >"), None);
        assert_eq!(prompt_line(b"\r\n#"), None);
        assert_eq!(prompt_line(b""), None);
        // Names longer than 63 characters.
        let long = [b'a'; 64];
        let mut buf = long.to_vec();
        buf.push(b'#');
        assert_eq!(prompt_line(&buf), None);
        assert!(prompt_line(&buf[1..]).is_some());
        // Too many trailing blanks.
        assert_eq!(prompt_line(b"r1#              "), None);
    }

    #[test]
    fn a_banner_with_prompt_characters_is_not_a_prompt() {
        let banner = b"\r\n#######################\r\n# authorised use only #\r\n\
                       ## > no sharing < ##\r\n#######################\r\n";
        assert_eq!(prompt_line(banner), None);
        let mut buf = banner.to_vec();
        buf.extend_from_slice(b"\r\nsw-core-1>");
        assert_eq!(prompt_line(&buf), Some(&b"sw-core-1>"[..]));
    }

    #[test]
    fn a_prompt_arriving_in_pieces_is_found_once_complete() {
        let whole = b"show clock\r\n*10:00:00 UTC\r\nrouter1#";
        let mut buf = Vec::new();
        let mut found_at = None;
        for (i, byte) in whole.iter().enumerate() {
            buf.push(*byte);
            if prompt_at_end(&buf, 0).is_some() && found_at.is_none() {
                found_at = Some(i);
            }
        }
        // `router1` alone is not a prompt; the first hit is the complete line.
        assert_eq!(found_at, Some(whole.len() - 1));
        assert_eq!(prompt_line(&buf), Some(&b"router1#"[..]));
    }

    #[test]
    fn the_prompt_cannot_start_before_the_echo() {
        let buf = b"router1#show clock\r\nrouter1#";
        let echo = echo_end(buf, b"show clock", 0).unwrap();
        assert_eq!(echo, 20);
        let p = prompt_at_end(buf, echo).unwrap();
        assert_eq!(p.start, echo);
        // Only the echo so far: the prompt before it does not count.
        assert_eq!(prompt_at_end(b"router1#", 8), None);
    }

    #[test]
    fn echo_is_found_after_stale_output_and_across_chunks() {
        let buf = b"\r\nrouter1#show version\r\nCisco IOS\r\nrouter1#";
        let end = echo_end(buf, b"show version", 0).unwrap();
        assert_eq!(&buf[end..end + 9], b"Cisco IOS");
        // Echo line not finished yet.
        assert_eq!(echo_end(b"show vers", b"show version", 0), None);
        assert_eq!(echo_end(b"show version", b"show version", 0), None);
        // Resuming a search never misses an echo split over two chunks.
        let first = b"junk\r\nshow ver";
        let resume = echo_search_resume(first.len(), b"show version".len());
        let mut buf = first.to_vec();
        buf.extend_from_slice(b"sion\r\nout");
        assert_eq!(echo_end(&buf, b"show version", resume), Some(buf.len() - 3));
    }

    #[test]
    fn newlines_are_normalized_in_one_pass() {
        let mut out = Vec::new();
        normalize_newlines(b"a\r\nb\rc\r\n\r\nd\r", &mut out);
        assert_eq!(out, b"a\nb\rc\n\nd\r");
        out.clear();
        normalize_newlines(b"no breaks", &mut out);
        assert_eq!(out, b"no breaks");
    }

    #[test]
    fn pager_markers_and_their_erasure() {
        assert_eq!(more_at_end(b"line\r\n --More-- "), Some(6));
        assert_eq!(more_at_end(b"line\r\n--More--"), Some(6));
        assert_eq!(more_at_end(b"line\r\n--More-- x"), None);
        assert_eq!(more_at_end(b"More--"), None);
        let erase = b"\x08\x08\x08   \x08\x08\x08next";
        assert_eq!(more_erasure_len(erase), Some(9));
        assert_eq!(more_erasure_len(b"\x08\x08\x08  "), None);
        assert_eq!(more_erasure_len(b" indented"), Some(0));
        assert_eq!(more_erasure_len(b""), None);
        assert_eq!(more_erasure_len(b"\x08\x08x"), Some(2));
    }

    #[test]
    fn password_prompt() {
        assert!(password_prompt_at_end(b"enable\r\nPassword: "));
        assert!(password_prompt_at_end(b"Password:"));
        assert!(!password_prompt_at_end(b"Password: x"));
        assert!(!password_prompt_at_end(b"word:"));
    }

    #[test]
    fn rejection_markers_count_only_at_line_start() {
        assert!(is_rejected(
            b"show verison\r\n        ^\r\n% Invalid input detected at '^' marker.\r\n"
        ));
        assert!(is_rejected(b"% Incomplete command.\n"));
        assert!(is_rejected(b"x\n% Ambiguous command:  \"sh\"\n"));
        assert!(is_rejected(b"% Unknown command or computer name"));
        assert!(!is_rejected(b"log: user typed % Invalid input detected\n"));
        assert!(!is_rejected(b"cpu 5% idle 95%\n"));
        assert!(enable_refused(b"\r\n% Access denied\r\n\r\nr1>"));
        assert!(!enable_refused(b"\r\nr1#"));
    }
}
