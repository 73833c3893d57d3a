//! Reading an interactive CLI: where the device's prompt is, what the device printed and
//! whether it rejected the command. Pure functions over lines as the screen shows them (see
//! `screen.rs`), so every rule here is tested without a device.
//!
//! The first prompt after login is recognised by the profile's patterns alone, as a whole line.
//! It teaches the session the device's *identity*: the `host` group of the pattern that matched
//! (the hostname in `sw1#`, `<sw1>`, `[sw1-GigabitEthernet0/1]`), or the prompt's text before
//! any `(mode)` suffix when the pattern names no group. From then on a prompt must match a
//! pattern and carry that identity, and may follow a message on the same line
//! (`Pagination disabled.sw1#`), as devices print them.

use fanout_common::platform::{
    PlatformProfile, PromptPatterns, end_pattern, failure_pattern, line_pattern,
};
use memchr::memmem;
use regex::bytes::Regex;

/// The longest prompt looked at (XR's `RP/0/RP0/CPU0:` plus a 63-character name and a config
/// mode fit easily); a longer one is output, not a prompt.
const MAX_PROMPT: usize = 160;
/// How far before the identity a prompt may start (`RP/0/RP0/CPU0:`, `<`, `[`, `user@`).
const MAX_PROMPT_LEAD: usize = 32;
/// How far after the identity a prompt may end (`(config-router-af)#`, `-GigabitEthernet0/1]`).
const MAX_PROMPT_TAIL: usize = 64;
/// The name of the pattern group that holds the device's identity.
const HOST_GROUP: &str = "host";

/// A prompt found at the end of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// Where the prompt starts in the line; anything before it is output (a message the device
    /// printed without a line end).
    pub start: usize,
    /// The profile's privileged pattern matched rather than its user one.
    pub privileged: bool,
    /// The device's identity as this prompt shows it.
    pub identity: Vec<u8>,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_end_blanks(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(0, |at| at + 1);
    &line[..end]
}

/// Everything the shell driver matches, compiled once per platform per job from its profile.
#[derive(Debug)]
pub struct CliPatterns {
    user: Regex,
    privileged: Regex,
    /// The patterns with their `host` group matching only [`NAME_MARK`], where they have one:
    /// a session's name is put into the line, not into a pattern (see [`Identity`]).
    bound: Option<(Regex, Regex)>,
    /// The enable password prompt, when the platform has a privilege command.
    password: Option<Regex>,
    /// Output-line prefixes that mean the command was refused.
    failure_indicators: Vec<Vec<u8>>,
    /// Patterns anywhere in an output line that mean the command was refused.
    failure_patterns: Vec<Regex>,
    /// Answers that mean the enable secret was refused.
    enable_refused: Vec<Vec<u8>>,
    /// The pager's markers, if the platform has any.
    pagers: Vec<Vec<u8>>,
}

impl CliPatterns {
    /// Compiles a profile's patterns; fails only for a profile that skipped its checks.
    pub fn compile(profile: &PlatformProfile) -> Result<Self, regex::Error> {
        let default_prompts = PromptPatterns {
            user: "(?P<host>[\\w.\\-@/:]{1,63})>".into(),
            privileged: "(?P<host>[\\w.\\-@/:]{1,63})(\\([\\w.\\-/]+\\))?#".into(),
        };
        let prompts = profile.prompt.as_ref().unwrap_or(&default_prompts);
        let privilege = profile.privilege.as_ref();
        Ok(Self {
            user: line_pattern(&prompts.user)?,
            privileged: line_pattern(&prompts.privileged)?,
            bound: bind_host_group(&prompts.user, NAME_MARK_PATTERN)
                .zip(bind_host_group(&prompts.privileged, NAME_MARK_PATTERN))
                .map(|(user, privileged)| {
                    Ok::<_, regex::Error>((line_pattern(&user)?, line_pattern(&privileged)?))
                })
                .transpose()?,
            password: privilege
                .map(|p| end_pattern(&p.password_prompt))
                .transpose()?,
            failure_indicators: bytes_of(&profile.failure_indicators),
            failure_patterns: profile
                .failure_patterns
                .iter()
                .map(|p| failure_pattern(p))
                .collect::<Result<_, _>>()?,
            enable_refused: privilege.map(|p| bytes_of(&p.refused)).unwrap_or_default(),
            pagers: bytes_of(&profile.pager),
        })
    }

    /// The prompt that `line` is, as a whole (trailing blanks allowed): how the first prompt
    /// after login is recognised, before the device's identity is known.
    pub fn whole_line_prompt(&self, line: &[u8]) -> Option<Prompt> {
        if trim_end_blanks(line).len() > MAX_PROMPT {
            return None;
        }
        self.match_at(line, 0)
    }

    /// A session's identity, learned from its first prompt. A name and the view or mode after
    /// it may share characters (`[core-ospf-1-ospf-1]`), so where the patterns name a `host`
    /// group the prompt is recognised by the name it knows, not by where a pattern would guess
    /// the name ends: an occurrence of the name in the line is replaced by [`NAME_MARK`] and
    /// the line matched against the patterns whose group matches only that mark. Those are
    /// compiled once per profile; compiling a pattern per session cost about 0.2 ms of CPU
    /// and tens of KB of automaton per device.
    pub fn identity(&self, name: Vec<u8>) -> Identity {
        Identity { name }
    }

    /// The prompt carrying `identity` that ends `line`, possibly after a message on the same
    /// line. Tries the last two places the identity appears, and for each the starts a little
    /// before it, earliest first, so a prompt's own lead (`RP/0/RP0/CPU0:`) is not taken for a
    /// message.
    pub fn prompt_ending(&self, line: &[u8], identity: &Identity) -> Option<Prompt> {
        let name = identity.name.as_slice();
        if name.is_empty() {
            return None;
        }
        let text = trim_end_blanks(line);
        let floor = text.len().saturating_sub(MAX_PROMPT);
        let mut end = text.len();
        for _ in 0..2 {
            let at = memmem::rfind(&text[floor..end], name)? + floor;
            if text.len() - (at + name.len()) > MAX_PROMPT_TAIL {
                return None;
            }
            let starts = at.saturating_sub(MAX_PROMPT_LEAD).max(floor)..=at;
            if let Some(prompt) = self.known_with_name_at(line, at, starts, identity) {
                return Some(prompt);
            }
            end = at + name.len() - 1;
        }
        None
    }

    /// Whether `line`, as a whole, is a prompt carrying `identity`.
    pub fn is_own_prompt(&self, line: &[u8], identity: &Identity) -> bool {
        let name = identity.name.as_slice();
        !name.is_empty()
            && trim_end_blanks(line).len() <= MAX_PROMPT
            && memmem::find_iter(line, name)
                .any(|at| self.known_with_name_at(line, at, 0..=0, identity).is_some())
    }

    /// The prompt carrying `identity`, its name at `at`, that `line[start..]` is for the first
    /// of `starts` where there is one. With a `host` group, the name is replaced by
    /// [`NAME_MARK`] once and the bound patterns tried from each start.
    fn known_with_name_at(
        &self,
        line: &[u8],
        at: usize,
        starts: std::ops::RangeInclusive<usize>,
        identity: &Identity,
    ) -> Option<Prompt> {
        let name = identity.name.as_slice();
        let found = |start, privileged| Prompt {
            start,
            privileged,
            identity: identity.name.clone(),
        };
        let Some((user, privileged)) = &self.bound else {
            return starts.into_iter().find_map(|start| {
                self.match_at(line, start)
                    .filter(|prompt| prompt.identity == name)
            });
        };
        if memchr::memchr(NAME_MARK, line).is_some() {
            return None;
        }
        let mut marked = Vec::with_capacity(line.len() + 1 - name.len());
        marked.extend_from_slice(&line[..at]);
        marked.push(NAME_MARK);
        marked.extend_from_slice(&line[at + name.len()..]);
        starts.into_iter().find_map(|start| {
            let rest = marked.get(start..)?;
            if privileged.is_match(rest) {
                Some(found(start, true))
            } else if user.is_match(rest) {
                Some(found(start, false))
            } else {
                None
            }
        })
    }

    /// The prompt that `line[start..]` is, if either pattern matches all of it.
    fn match_at(&self, line: &[u8], start: usize) -> Option<Prompt> {
        let rest = line.get(start..)?;
        let (pattern, privileged) = if self.privileged.is_match(rest) {
            (&self.privileged, true)
        } else if self.user.is_match(rest) {
            (&self.user, false)
        } else {
            return None;
        };
        let captures = pattern.captures(rest)?;
        let identity = match captures.name(HOST_GROUP) {
            Some(host) => host.as_bytes().to_vec(),
            None => name_before_mode(rest).to_vec(),
        };
        Some(Prompt {
            start,
            privileged,
            identity,
        })
    }

    /// Whether `line` (the last line the device sent) ends with the enable password prompt.
    pub fn password_prompt(&self, line: &[u8]) -> bool {
        self.password.as_ref().is_some_and(|p| p.is_match(line))
    }

    /// The first line of `output` that starts (after blanks) with a failure indicator, or
    /// matches a failure pattern: the device refused the command. Indicators count only at
    /// line starts: that is where CLIs print them, and it keeps a log line quoting one from
    /// failing `show logging`.
    pub fn rejection<'a>(&self, output: &'a [u8]) -> Option<&'a [u8]> {
        if self.failure_indicators.is_empty() && self.failure_patterns.is_empty() {
            return None;
        }
        // Lines found with memchr: `split` with a closure compares byte by byte, which was
        // most of this function's cost in a `perf` profile (bench/PROFILE.md).
        lines(output).find_map(|line| {
            let first = line
                .iter()
                .position(|&b| !is_blank(b))
                .unwrap_or(line.len());
            let text = &line[first..];
            let refused = self.failure_indicators.iter().any(|f| text.starts_with(f))
                || self.failure_patterns.iter().any(|p| p.is_match(text));
            refused.then(|| trim_end_blanks(text.strip_suffix(b"\r").unwrap_or(text)))
        })
    }

    /// Whether `output` says the enable secret was refused.
    pub fn enable_refused(&self, output: &[u8]) -> bool {
        self.enable_refused
            .iter()
            .any(|needle| memmem::find(output, needle).is_some())
    }

    /// Whether `line` (the last line the device sent, as shown) ends with a pager marker.
    pub fn pager_at_end(&self, line: &[u8]) -> bool {
        let text = trim_end_blanks(line);
        self.pagers.iter().any(|marker| text.ends_with(marker))
    }

    /// Whether the pager marker `line` ends with may be the start of a longer one of the
    /// profile's (`--More--` of `--More-- or (q)uit`): the rest may still be on its way.
    pub fn pager_may_grow(&self, line: &[u8]) -> bool {
        let text = trim_end_blanks(line);
        self.pagers.iter().any(|short| {
            text.ends_with(short)
                && self
                    .pagers
                    .iter()
                    .any(|long| long.len() > short.len() && long.starts_with(short))
        })
    }

    /// The profile's pager markers.
    pub fn pagers(&self) -> &[Vec<u8>] {
        &self.pagers
    }
}

/// The device's identity in a session: the name its prompts carry (see
/// [`CliPatterns::identity`]).
#[derive(Clone, Debug)]
pub struct Identity {
    pub name: Vec<u8>,
}

/// What stands for the session's name in a line matched against the bound patterns: a control
/// byte, which no rendered prompt line holds (a line that does is never a known prompt).
const NAME_MARK: u8 = 0x01;
/// [`NAME_MARK`] as a pattern.
const NAME_MARK_PATTERN: &str = r"\x01";

/// `pattern` with the body of its `(?P<host>...)` (or `(?<host>...)`) group replaced by
/// `body`, a pattern; `None` if the pattern has no such group.
fn bind_host_group(pattern: &str, body: &str) -> Option<String> {
    let open = ["(?P<host>", "(?<host>"]
        .iter()
        .find_map(|head| pattern.find(head).map(|at| (at, head.len())))?;
    let (start, head_len) = open;
    let close = group_end(pattern, start + head_len)?;
    Some(format!(
        "{}(?P<{HOST_GROUP}>{}){}",
        &pattern[..start],
        body,
        &pattern[close + 1..]
    ))
}

/// The index of the `)` that closes a group whose body starts at `from`: escapes and
/// character classes (whose brackets and parentheses are literal) skipped.
fn group_end(pattern: &str, from: usize) -> Option<usize> {
    let bytes = pattern.as_bytes();
    let mut depth = 0usize;
    let mut at = from;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 1,
            b'[' => {
                // A class: `]` right after `[` or `[^` is literal; nested `[:alpha:]` too.
                at += 1;
                if bytes.get(at) == Some(&b'^') {
                    at += 1;
                }
                if bytes.get(at) == Some(&b']') {
                    at += 1;
                }
                let mut nested = 0usize;
                while at < bytes.len() {
                    match bytes[at] {
                        b'\\' => at += 1,
                        b'[' => nested += 1,
                        b']' if nested == 0 => break,
                        b']' => nested -= 1,
                        _ => {}
                    }
                    at += 1;
                }
            }
            b'(' => depth += 1,
            b')' if depth == 0 => return Some(at),
            b')' => depth -= 1,
            _ => {}
        }
        at += 1;
    }
    None
}

/// A prompt's text before its `(mode)` suffix and its mark: `rtr` in `rtr(config-if)#`.
fn name_before_mode(prompt: &[u8]) -> &[u8] {
    let text = trim_end_blanks(prompt);
    let name = &text[..text.len().saturating_sub(1)];
    match memchr::memchr(b'(', name) {
        Some(paren) => &name[..paren],
        None => name,
    }
}

fn bytes_of(texts: &[String]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

/// The `\n`-separated lines of `text`, as `text.split(|&b| b == b'\n')` gives them (the last
/// one possibly empty).
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_what_split_gives() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\nb",
            b"\n\na\r\n\nb\n",
            b"% x\r\n",
        ] {
            let split: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                split,
                "{:?}",
                text.escape_ascii()
            );
        }
    }
    use crate::session::screen::render_line;
    use fanout_common::platform::PlatformRegistry;

    fn patterns(platform: &str) -> CliPatterns {
        let registry = PlatformRegistry::builtin();
        CliPatterns::compile(&registry.get(platform).expect(platform).profile).unwrap()
    }

    /// The last line of `buf` as the screen shows it.
    fn last(buf: &[u8]) -> Vec<u8> {
        let start = memchr::memrchr(b'\n', buf).map_or(0, |at| at + 1);
        render_line(&buf[start..])
    }

    fn first_prompt(p: &CliPatterns, buf: &[u8]) -> Option<Prompt> {
        p.whole_line_prompt(&last(buf))
    }

    #[test]
    fn finds_each_platforms_prompts_and_identity() {
        let ios = patterns("cisco_ios");
        let p = first_prompt(&ios, b"router1>").unwrap();
        assert_eq!(
            (p.identity.as_slice(), p.privileged),
            (&b"router1"[..], false)
        );
        assert!(first_prompt(&ios, b"\r\nrouter1#").unwrap().privileged);
        assert!(first_prompt(&ios, b"out\r\nrouter1# ").is_some());
        let p = first_prompt(&ios, b"\r\nrtr(config)#").unwrap();
        assert_eq!((p.identity.as_slice(), p.privileged), (&b"rtr"[..], true));

        let junos = patterns("juniper_junos");
        let p = first_prompt(&junos, b"\r\n{master:0}\r\nadmin@mx-1.ams>").unwrap();
        assert_eq!(
            (p.identity.as_slice(), p.privileged),
            (&b"admin@mx-1.ams"[..], false)
        );
        let p = first_prompt(&junos, b"\r\n[edit interfaces]\r\nadmin@mx-1.ams# ").unwrap();
        assert!(p.privileged);
        // An IOS prompt is not a Junos one.
        assert_eq!(first_prompt(&junos, b"\r\nrouter1#"), None);

        let xr = patterns("cisco_xr");
        let p = first_prompt(&xr, b"\r\nRP/0/RP0/CPU0:core-1#").unwrap();
        assert_eq!(
            (p.identity.as_slice(), p.privileged),
            (&b"core-1"[..], true)
        );
        let p = first_prompt(&xr, b"\r\nRP/0/RSP0/CPU0:core-1(config-if)#").unwrap();
        assert_eq!(p.identity, b"core-1");

        let nxos = patterns("cisco_nxos");
        assert!(
            first_prompt(&nxos, b"\nleaf-101(config-if)# ")
                .unwrap()
                .privileged
        );
        let eos = patterns("arista_eos");
        assert!(!first_prompt(&eos, b"\nspine-1>").unwrap().privileged);
    }

    #[test]
    fn rejects_what_only_looks_like_a_prompt() {
        let ios = patterns("cisco_ios");
        // Data after the prompt character: the device is still talking.
        assert_eq!(first_prompt(&ios, b"router1#\r\n"), None);
        assert_eq!(first_prompt(&ios, b"router1#x"), None);
        // Blanks, '#' or '!' in the name part: banner art and config lines.
        assert_eq!(first_prompt(&ios, b"\r\n#####"), None);
        assert_eq!(first_prompt(&ios, b"\r\n** access is monitored #"), None);
        assert_eq!(first_prompt(&ios, b"\r\ninterface Gi0/1 >"), None);
        assert_eq!(first_prompt(&ios, b"\r\n#"), None);
        assert_eq!(first_prompt(&ios, b""), None);
        // Names longer than 63 characters.
        let mut buf = vec![b'a'; 64];
        buf.push(b'#');
        assert_eq!(first_prompt(&ios, &buf), None);
        assert!(first_prompt(&ios, &buf[1..]).is_some());
        // A very long last line is output even if it ends in `#`.
        let mut long = vec![b'x'; 400];
        long.push(b'#');
        assert_eq!(first_prompt(&ios, &long), None);
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
            assert_eq!(first_prompt(&p, banner), None, "{platform}");
            assert_eq!(
                first_prompt(&p, b"\r\nWelcome to fanout lab >"),
                None,
                "{platform}"
            );
            assert_eq!(
                first_prompt(&p, b"\r\nContact: noc@example.net #"),
                None,
                "{platform}"
            );
        }
        let ios = patterns("cisco_ios");
        let mut buf = banner.to_vec();
        buf.extend_from_slice(b"\r\nsw-core-1>");
        assert_eq!(first_prompt(&ios, &buf).unwrap().identity, b"sw-core-1");
    }

    #[test]
    fn later_prompts_must_carry_the_identity() {
        let ios = patterns("cisco_ios");
        let ending = |line: &[u8]| ios.prompt_ending(line, &ios.identity(b"router1".to_vec()));
        assert_eq!(ending(b"router1#").unwrap().start, 0);
        assert!(ending(b"router1(config-if)# ").unwrap().privileged);
        assert!(!ending(b"router1>").unwrap().privileged);
        // Another device's prompt in output (`show cdp neighbors`), the name inside a word or
        // followed by more: output, not the prompt.
        assert_eq!(ending(b"core-2#"), None);
        assert_eq!(ending(b"router1#foo"), None);
        assert_eq!(ending(b"router1 is up#x"), None);
        assert_eq!(ending(b""), None);
        let xr = patterns("cisco_xr");
        let p = xr
            .prompt_ending(
                b"RP/0/RP0/CPU0:pe-1(config)#",
                &xr.identity(b"pe-1".to_vec()),
            )
            .unwrap();
        // The node path is part of the prompt, not a message before it.
        assert_eq!(p.start, 0);
    }

    #[test]
    fn patterns_bound_to_the_identity_know_where_the_name_ends() {
        // The name and the view both hold `-`: only the known name tells them apart.
        let huawei = patterns("huawei_vrp");
        let id = huawei.identity(b"core-ospf-1".to_vec());
        for line in [
            &b"<core-ospf-1>"[..],
            b"[core-ospf-1]",
            b"[core-ospf-1-ospf-1]",
            b"[core-ospf-1-GigabitEthernet0/0/1]",
            b"[~core-ospf-1-Vlanif10]",
        ] {
            assert!(huawei.prompt_ending(line, &id).is_some(), "{line:?}");
        }
        assert!(huawei.prompt_ending(b"[core-ospf-2]", &id).is_none());
        assert!(huawei.prompt_ending(b"<core-ospf>", &id).is_none());
        // The group is replaced wherever it is, and only it.
        assert_eq!(
            bind_host_group(
                r"((RP|LC)/\d+:)?(?P<host>[\w.\-]{1,63})(\([\w)\]]+\))?#",
                &regex::escape("pe-1")
            ),
            Some(r"((RP|LC)/\d+:)?(?P<host>pe\-1)(\([\w)\]]+\))?#".to_string())
        );
        assert_eq!(bind_host_group(r"[\w.]{1,63}#", "r1"), None);
        // A name with regex metacharacters stays literal.
        let ios = patterns("cisco_ios");
        let id = ios.identity(b"a.b".to_vec());
        assert!(ios.prompt_ending(b"a.b#", &id).is_some());
        assert!(ios.prompt_ending(b"axb#", &id).is_none());
    }

    #[test]
    fn a_prompt_after_a_message_on_the_same_line() {
        // EOS prints `Pagination disabled.` with no line end before the prompt.
        let eos = patterns("arista_eos");
        let p = eos
            .prompt_ending(
                b"Pagination disabled.sw0000#",
                &eos.identity(b"sw0000".to_vec()),
            )
            .unwrap();
        assert_eq!(p.start, 20);
        let p = eos.prompt_ending(
            b"Width set to 32767 columns.sw0000# ",
            &eos.identity(b"sw0000".to_vec()),
        );
        assert_eq!(p.unwrap().start, 27);
        // The identity twice: the prompt is the last one.
        let ios = patterns("cisco_ios");
        let p = ios
            .prompt_ending(
                b"router1 says hi router1#",
                &ios.identity(b"router1".to_vec()),
            )
            .unwrap();
        assert_eq!(p.start, 16);
        // A repainted line, as the screen shows it.
        let line = render_line(b"garbage\r\x1b[Krouter1#");
        assert_eq!(
            ios.prompt_ending(&line, &ios.identity(b"router1".to_vec()))
                .unwrap()
                .start,
            0
        );
    }

    #[test]
    fn a_prompt_arriving_in_pieces_is_found_once_complete() {
        for (platform, identity, whole) in [
            (
                "cisco_ios",
                &b"router1"[..],
                &b"*10:00:00 UTC\r\nrouter1#"[..],
            ),
            (
                "juniper_junos",
                b"admin@mx-1",
                b"up 3 days\r\n\r\nadmin@mx-1>",
            ),
            ("cisco_xr", b"pe-1", b"10:00\r\nRP/0/RP0/CPU0:pe-1#"),
        ] {
            let p = patterns(platform);
            let mut found_at = None;
            for end in 1..=whole.len() {
                let line = last(&whole[..end]);
                if p.prompt_ending(&line, &p.identity(identity.to_vec()))
                    .is_some()
                    && found_at.is_none()
                {
                    found_at = Some(end);
                }
            }
            // No prefix of the prompt is a prompt; the first hit is the complete line.
            assert_eq!(found_at, Some(whole.len()), "{platform}");
        }
    }

    #[test]
    fn pager_markers_of_every_style() {
        let ios = patterns("cisco_ios");
        assert!(ios.pager_at_end(b" --More-- "));
        assert!(ios.pager_at_end(b"--More--"));
        assert!(!ios.pager_at_end(b"--More-- x"));
        assert!(!ios.pager_at_end(b"More--"));
        let junos = patterns("juniper_junos");
        assert!(junos.pager_at_end(b"---(more)---"));
        assert!(!patterns("linux").pager_at_end(b"--More--"));
        // A marker that starts a longer one may be cut off by a packet boundary.
        let os6 = patterns("dell_os6");
        assert!(os6.pager_may_grow(b"--More-- "));
        assert!(!os6.pager_may_grow(b"--More-- or (q)uit"));
        assert!(!ios.pager_may_grow(b" --More-- "));
    }

    #[test]
    fn password_prompt() {
        let ios = patterns("cisco_ios");
        assert!(ios.password_prompt(b"Password: "));
        assert!(ios.password_prompt(b"Password:"));
        assert!(!ios.password_prompt(b"Password: x"));
        assert!(!ios.password_prompt(b"word"));
        // No privilege section: never a password prompt.
        assert!(!patterns("cisco_nxos").password_prompt(b"Password:"));
    }

    #[test]
    fn failure_lines_count_only_at_line_start_and_are_quoted() {
        let ios = patterns("cisco_ios");
        assert_eq!(
            ios.rejection(b"show verison\n        ^\n% Invalid input detected at '^' marker.\n"),
            Some(&b"% Invalid input detected at '^' marker."[..])
        );
        assert!(ios.rejection(b"% Incomplete command.\n").is_some());
        assert!(
            ios.rejection(b"x\n% Ambiguous command:  \"sh\"\n")
                .is_some()
        );
        assert!(
            ios.rejection(b"% Unknown command or computer name")
                .is_some()
        );
        assert_eq!(
            ios.rejection(b"No such command : cfxhtshow vlan brief\n"),
            Some(&b"No such command : cfxhtshow vlan brief"[..])
        );
        assert_eq!(
            ios.rejection(b"log: user typed % Invalid input detected\n"),
            None
        );
        assert_eq!(ios.rejection(b"cpu 5% idle 95%\n"), None);
        assert!(ios.enable_refused(b"\r\n% Access denied\r\n\r\nr1>"));
        assert!(!ios.enable_refused(b"\r\nr1#"));
        let junos = patterns("juniper_junos");
        assert!(
            junos
                .rejection(b"                  ^\nsyntax error, expecting <command>.\n")
                .is_some()
        );
        assert!(
            junos
                .rejection(b"error: configuration database locked\n")
                .is_some()
        );
        assert!(
            junos
                .rejection(b"'s' is ambiguous.\nPossible completions:\n")
                .is_some()
        );
        assert_eq!(
            junos.rejection(b"Interface ge-0/0/0 has no syntax error\n"),
            None
        );
        assert!(
            patterns("cisco_nxos")
                .rejection(b"% Invalid command at '^' marker.\n")
                .is_some()
        );
    }
}
