//! Reading an interactive CLI: where the device's prompt is, where the echo of a command ends,
//! what the device printed and whether it rejected the command. Pure functions over byte slices,
//! so every rule here is tested without a device.
//!
//! A read buffer only ever grows at its end, so every check looks at the last few dozen bytes
//! (or at the bytes that arrived since the last check), never at the whole buffer again.

use fanout_common::platform::{PlatformProfile, PromptPatterns, end_pattern, line_pattern};
use memchr::{memchr_iter, memmem};
use regex::bytes::Regex;

/// The longest prompt line looked at (XR's `RP/0/RP0/CPU0:` plus a 63-character name and a
/// config mode fit easily); a longer last line is output, not a prompt.
const MAX_PROMPT_LINE: usize = 160;
/// Blanks tolerated after the `#` or `>` of a prompt.
const MAX_PROMPT_TRAILING: usize = 8;
/// Blanks tolerated around a `--More--` marker or after `Password:`.
const MAX_MARKER_BLANKS: usize = 8;

pub(super) const BACKSPACE: u8 = 0x08;

/// A prompt found as the last line of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// Index of the prompt line's first byte in the buffer; output ends here.
    pub start: usize,
    /// Index of the prompt's last non-blank byte (`#`, `>`); `start..mark` is the name, with
    /// any `(config)` mode suffix.
    pub mark: usize,
    /// The profile's privileged pattern matched rather than its user one.
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

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_line_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Everything the shell driver matches, compiled once per platform per job from its profile.
#[derive(Debug)]
pub struct CliPatterns {
    user: Regex,
    privileged: Regex,
    /// The enable password prompt, when the platform has a privilege command.
    password: Option<Regex>,
    /// Output-line prefixes that mean the command was refused.
    failure_indicators: Vec<Vec<u8>>,
    /// Answers that mean the enable secret was refused.
    enable_refused: Vec<Vec<u8>>,
    /// The pager's marker, if the platform has one.
    pager: Option<Vec<u8>>,
}

impl CliPatterns {
    /// Compiles a profile's patterns; fails only for a profile that skipped its checks.
    pub fn compile(profile: &PlatformProfile) -> Result<Self, regex::Error> {
        let default_prompts = PromptPatterns {
            user: "[\\w.\\-@/:]{1,63}>".into(),
            privileged: "[\\w.\\-@/:]{1,63}(\\([\\w.\\-/]+\\))?#".into(),
        };
        let prompts = profile.prompt.as_ref().unwrap_or(&default_prompts);
        let privilege = profile.privilege.as_ref();
        Ok(Self {
            user: line_pattern(&prompts.user)?,
            privileged: line_pattern(&prompts.privileged)?,
            password: privilege
                .map(|p| end_pattern(&p.password_prompt))
                .transpose()?,
            failure_indicators: bytes_of(&profile.failure_indicators),
            enable_refused: privilege.map(|p| bytes_of(&p.refused)).unwrap_or_default(),
            pager: profile.pager.as_ref().map(|p| p.as_bytes().to_vec()),
        })
    }

    /// The prompt that ends `buf`, if its last line matches the profile's user or privileged
    /// pattern, with the line starting after the last CR or LF, or at `from` (the end of a
    /// command's echo, which output cannot precede). Data after the prompt, even a newline,
    /// means it is not a prompt: a device waiting for input prints its prompt last. Looks at no
    /// more than [`MAX_PROMPT_LINE`] bytes, so a growing buffer costs nothing extra.
    pub fn prompt_at_end(&self, buf: &[u8], from: usize) -> Option<Prompt> {
        let from = from.min(buf.len());
        let mut end = buf.len();
        while end > from && buf.len() - end < MAX_PROMPT_TRAILING && is_blank(buf[end - 1]) {
            end -= 1;
        }
        if end == from {
            return None;
        }
        let floor = from.max(end.saturating_sub(MAX_PROMPT_LINE + 1));
        let start = match buf[floor..end].iter().rposition(|&b| is_line_break(b)) {
            Some(at) => floor + at + 1,
            None if floor == from => from,
            // No line break within reach: a very long last line is output.
            None => return None,
        };
        let line = &buf[start..buf.len()];
        let privileged = if self.privileged.is_match(line) {
            true
        } else if self.user.is_match(line) {
            false
        } else {
            return None;
        };
        Some(Prompt {
            start,
            mark: end - 1,
            privileged,
        })
    }

    /// Whether `buf` ends with the enable password prompt.
    pub fn password_prompt_at_end(&self, buf: &[u8]) -> bool {
        let Some(password) = &self.password else {
            return false;
        };
        let from = buf.len().saturating_sub(MAX_PROMPT_LINE);
        let tail = &buf[from..];
        let line = match tail.iter().rposition(|&b| is_line_break(b)) {
            Some(at) => &tail[at + 1..],
            None => tail,
        };
        password.is_match(line)
    }

    /// Whether `output` has a line starting (after blanks) with one of the failure indicators.
    /// Only line starts count: that is where CLIs print them, and it keeps a log line quoting
    /// one from failing `show logging`.
    pub fn is_rejected(&self, output: &[u8]) -> bool {
        if self.failure_indicators.is_empty() {
            return false;
        }
        output.split(|&b| b == b'\n').any(|line| {
            let first = line
                .iter()
                .position(|&b| !is_blank(b))
                .unwrap_or(line.len());
            let line = &line[first..];
            self.failure_indicators.iter().any(|f| line.starts_with(f))
        })
    }

    /// Whether `output` says the enable secret was refused.
    pub fn enable_refused(&self, output: &[u8]) -> bool {
        self.enable_refused
            .iter()
            .any(|needle| memmem::find(output, needle).is_some())
    }

    /// Where the pager marker that ends `buf` starts (including the blanks before it), so the
    /// caller can cut it off and answer with a space.
    pub fn more_at_end(&self, buf: &[u8]) -> Option<usize> {
        more_at_end(buf, self.pager.as_deref()?)
    }
}

fn bytes_of(texts: &[String]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

/// Where a pager `marker` (`--More--`) that ends `buf` starts (including the blanks before it).
fn more_at_end(buf: &[u8], marker: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while end > 0 && buf.len() - end < MAX_MARKER_BLANKS && is_blank(buf[end - 1]) {
        end -= 1;
    }
    let marker_start = end.checked_sub(marker.len())?;
    if buf.get(marker_start..end)? != marker {
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

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::platform::PlatformRegistry;

    fn patterns(platform: &str) -> CliPatterns {
        let registry = PlatformRegistry::builtin();
        CliPatterns::compile(&registry.get(platform).expect(platform).profile).unwrap()
    }

    fn prompt_line<'a>(p: &CliPatterns, buf: &'a [u8]) -> Option<&'a [u8]> {
        p.prompt_at_end(buf, 0).map(|found| &buf[found.start..])
    }

    #[test]
    fn finds_each_platforms_prompts() {
        let ios = patterns("cisco_ios");
        assert_eq!(prompt_line(&ios, b"router1>"), Some(&b"router1>"[..]));
        assert_eq!(prompt_line(&ios, b"\r\nrouter1#"), Some(&b"router1#"[..]));
        assert_eq!(
            prompt_line(&ios, b"out\r\nrouter1# "),
            Some(&b"router1# "[..])
        );
        let p = ios.prompt_at_end(b"\r\nrtr(config)#", 0).unwrap();
        assert!(p.privileged);
        assert_eq!(p.base(b"\r\nrtr(config)#"), b"rtr");
        assert!(!ios.prompt_at_end(b"rtr>", 0).unwrap().privileged);

        let junos = patterns("juniper_junos");
        let p = junos
            .prompt_at_end(b"\r\n{master:0}\r\nadmin@mx-1.ams>", 0)
            .unwrap();
        assert!(!p.privileged);
        assert_eq!(
            p.base(b"\r\n{master:0}\r\nadmin@mx-1.ams>"),
            b"admin@mx-1.ams"
        );
        let config = b"\r\n[edit interfaces]\r\nadmin@mx-1.ams# ";
        assert!(junos.prompt_at_end(config, 0).unwrap().privileged);
        // An IOS prompt is not a Junos one.
        assert_eq!(prompt_line(&junos, b"\r\nrouter1#"), None);

        let xr = patterns("cisco_xr");
        let buf = b"\r\nRP/0/RP0/CPU0:core-1#";
        let p = xr.prompt_at_end(buf, 0).unwrap();
        assert!(p.privileged);
        assert_eq!(p.base(buf), b"RP/0/RP0/CPU0:core-1");
        let buf = b"\r\nRP/0/RSP0/CPU0:core-1(config-if)#";
        assert_eq!(
            xr.prompt_at_end(buf, 0).unwrap().base(buf),
            b"RP/0/RSP0/CPU0:core-1"
        );

        let nxos = patterns("cisco_nxos");
        assert!(
            nxos.prompt_at_end(b"\nleaf-101(config-if)# ", 0)
                .unwrap()
                .privileged
        );
        let eos = patterns("arista_eos");
        assert!(!eos.prompt_at_end(b"\nspine-1>", 0).unwrap().privileged);
    }

    #[test]
    fn rejects_what_only_looks_like_a_prompt() {
        let ios = patterns("cisco_ios");
        // Data after the prompt character: the device is still talking.
        assert_eq!(prompt_line(&ios, b"router1#\r\n"), None);
        assert_eq!(prompt_line(&ios, b"router1#x"), None);
        // Blanks, '#' or '!' in the name part: banner art and config lines.
        assert_eq!(prompt_line(&ios, b"\r\n#####"), None);
        assert_eq!(prompt_line(&ios, b"\r\n** access is monitored #"), None);
        assert_eq!(prompt_line(&ios, b"\r\ninterface Gi0/1 >"), None);
        assert_eq!(prompt_line(&ios, b"\r\n#"), None);
        assert_eq!(prompt_line(&ios, b""), None);
        // Names longer than 63 characters.
        let mut buf = vec![b'a'; 64];
        buf.push(b'#');
        assert_eq!(prompt_line(&ios, &buf), None);
        assert!(prompt_line(&ios, &buf[1..]).is_some());
        // A very long last line is output even if it ends in `#`.
        let mut long = vec![b'x'; 400];
        long.push(b'#');
        assert_eq!(prompt_line(&ios, &long), None);
    }

    #[test]
    fn a_banner_with_prompt_characters_is_not_a_prompt() {
        let banner = b"\r\n#######################\r\n# authorised use only #\r\n\
                       ## > no sharing < ##\r\n#######################\r\n";
        for platform in [
            "cisco_ios",
            "cisco_nxos",
            "cisco_xr",
            "arista_eos",
            "juniper_junos",
        ] {
            let p = patterns(platform);
            assert_eq!(prompt_line(&p, banner), None, "{platform}");
            // The banner's last line ending in `>` or `#`.
            assert_eq!(
                prompt_line(&p, b"\r\nWelcome to fanout lab >"),
                None,
                "{platform}"
            );
            assert_eq!(
                prompt_line(&p, b"\r\nContact: noc@example.net #"),
                None,
                "{platform}"
            );
        }
        let ios = patterns("cisco_ios");
        let mut buf = banner.to_vec();
        buf.extend_from_slice(b"\r\nsw-core-1>");
        assert_eq!(prompt_line(&ios, &buf), Some(&b"sw-core-1>"[..]));
    }

    #[test]
    fn timestamps_and_config_modes_before_the_prompt() {
        let ios = patterns("cisco_ios");
        let buf = b"show clock\r\nLoad for five secs: 1%/0%; one minute: 1%\r\n\
                    Time source is NTP, 10:00:00.123 UTC Wed Nov 25 2026\r\n\r\n\
                    *10:00:00.123 UTC Wed Nov 25 2026\r\nrouter1#";
        assert_eq!(prompt_line(&ios, buf), Some(&b"router1#"[..]));
        // A timestamp line ending in `#`-free text right before a config-if prompt.
        let buf = b"Nov 25 10:00:00.001: %SYS-5-CONFIG_I: Configured\r\nrouter1(config-if)#";
        let p = ios.prompt_at_end(buf, 0).unwrap();
        assert_eq!(p.base(buf), b"router1");
        let xr = patterns("cisco_xr");
        let buf = b"Wed Nov 25 10:00:00.000 UTC\r\nRP/0/RP0/CPU0:pe-1#";
        assert_eq!(prompt_line(&xr, buf), Some(&b"RP/0/RP0/CPU0:pe-1#"[..]));
    }

    #[test]
    fn a_prompt_arriving_in_pieces_is_found_once_complete() {
        for (platform, whole) in [
            ("cisco_ios", &b"show clock\r\n*10:00:00 UTC\r\nrouter1#"[..]),
            (
                "juniper_junos",
                b"show system uptime\r\nup 3 days\r\n\r\nadmin@mx-1>",
            ),
            ("cisco_xr", b"show clock\r\n10:00\r\nRP/0/RP0/CPU0:pe-1#"),
        ] {
            let p = patterns(platform);
            let mut buf = Vec::new();
            let mut found_at = None;
            for (i, byte) in whole.iter().enumerate() {
                buf.push(*byte);
                if p.prompt_at_end(&buf, 0).is_some() && found_at.is_none() {
                    found_at = Some(i);
                }
            }
            // No prefix of the prompt is a prompt; the first hit is the complete line.
            assert_eq!(found_at, Some(whole.len() - 1), "{platform}");
        }
    }

    #[test]
    fn the_prompt_cannot_start_before_the_echo() {
        let ios = patterns("cisco_ios");
        let buf = b"router1#show clock\r\nrouter1#";
        let echo = echo_end(buf, b"show clock", 0).unwrap();
        assert_eq!(echo, 20);
        let p = ios.prompt_at_end(buf, echo).unwrap();
        assert_eq!(p.start, echo);
        // Only the echo so far: the prompt before it does not count.
        assert_eq!(ios.prompt_at_end(b"router1#", 8), None);
    }

    #[test]
    fn output_lines_that_look_like_prompts_differ_in_base() {
        // `show run | include #` style output ends a chunk with another device's prompt-shaped
        // line; the shell compares bases so it does not end the command early.
        let ios = patterns("cisco_ios");
        let buf = b"show cdp neighbors detail\r\nDevice ID: core-2\r\ncore-2#";
        let p = ios.prompt_at_end(buf, 0).unwrap();
        assert_ne!(p.base(buf), b"router1");
    }

    #[test]
    fn echo_is_found_after_stale_output_and_across_chunks() {
        let buf = b"\r\nrouter1#show version\r\nCisco IOS\r\nrouter1#";
        let end = echo_end(buf, b"show version", 0).unwrap();
        assert_eq!(&buf[end..end + 9], b"Cisco IOS");
        assert_eq!(echo_end(b"show vers", b"show version", 0), None);
        assert_eq!(echo_end(b"show version", b"show version", 0), None);
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
        let ios = patterns("cisco_ios");
        assert_eq!(ios.more_at_end(b"line\r\n --More-- "), Some(6));
        assert_eq!(ios.more_at_end(b"line\r\n--More--"), Some(6));
        assert_eq!(ios.more_at_end(b"line\r\n--More-- x"), None);
        assert_eq!(ios.more_at_end(b"More--"), None);
        let junos = patterns("juniper_junos");
        assert_eq!(junos.more_at_end(b"line\n---(more)---"), Some(5));
        assert_eq!(patterns("linux").more_at_end(b"--More--"), None);
        let erase = b"\x08\x08\x08   \x08\x08\x08next";
        assert_eq!(more_erasure_len(erase), Some(9));
        assert_eq!(more_erasure_len(b"\x08\x08\x08  "), None);
        assert_eq!(more_erasure_len(b" indented"), Some(0));
        assert_eq!(more_erasure_len(b""), None);
        assert_eq!(more_erasure_len(b"\x08\x08x"), Some(2));
    }

    #[test]
    fn password_prompt() {
        let ios = patterns("cisco_ios");
        assert!(ios.password_prompt_at_end(b"enable\r\nPassword: "));
        assert!(ios.password_prompt_at_end(b"Password:"));
        assert!(!ios.password_prompt_at_end(b"Password: x"));
        assert!(!ios.password_prompt_at_end(b"word:"));
        // No privilege section: never a password prompt.
        assert!(!patterns("cisco_nxos").password_prompt_at_end(b"Password:"));
    }

    #[test]
    fn failure_indicators_count_only_at_line_start() {
        let ios = patterns("cisco_ios");
        assert!(
            ios.is_rejected(b"show verison\n        ^\n% Invalid input detected at '^' marker.\n")
        );
        assert!(ios.is_rejected(b"% Incomplete command.\n"));
        assert!(ios.is_rejected(b"x\n% Ambiguous command:  \"sh\"\n"));
        assert!(ios.is_rejected(b"% Unknown command or computer name"));
        assert!(!ios.is_rejected(b"log: user typed % Invalid input detected\n"));
        assert!(!ios.is_rejected(b"cpu 5% idle 95%\n"));
        assert!(ios.enable_refused(b"\r\n% Access denied\r\n\r\nr1>"));
        assert!(!ios.enable_refused(b"\r\nr1#"));
        let junos = patterns("juniper_junos");
        assert!(junos.is_rejected(b"                  ^\nsyntax error, expecting <command>.\n"));
        assert!(junos.is_rejected(b"error: configuration database locked\n"));
        assert!(!junos.is_rejected(b"Interface ge-0/0/0 has no syntax error\n"));
        assert!(patterns("cisco_nxos").is_rejected(b"% Invalid command at '^' marker.\n"));
    }
}
