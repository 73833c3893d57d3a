//! Quirks that break naive prompt detection (the Netmiko issue tracker's favourites), each one
//! switchable so a client can be tested against it: a login banner full of `#` and `>`,
//! timestamp lines before every output, output lines that look exactly like the prompt, a
//! device that sends its output and prompt in pieces, and the terminal habits of CLIs that
//! fanout did not see until it met an independent simulator: a line editor that ignores
//! backspace, a prompt printed straight after a message, `\n\r` line ends, and prompts
//! repainted with ANSI escapes.
//!
//! Some quirks change only how the screen is painted, not what it shows; the outputs a client
//! must collect are the same with or without them (see [`Quirks::content`]).

use crate::model::DeviceModel;

/// Which quirks a device shows; all off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quirks {
    /// The MOTD banner has `#` and `>` lines, some shaped like other devices' prompts; IOS and
    /// IOS XE print it in their running-config too.
    pub banner: bool,
    /// Every command's output starts with IOS `exec prompt timestamp` lines.
    pub timestamps: bool,
    /// Every command's output starts with a line that is exactly the device's prompt, and a
    /// `hostname#foo` line, as `show logging` quoting a session would.
    pub prompt_lines: bool,
    /// Output goes out in pieces: cut after every line end, `#` and `>`, the prompt a few bytes
    /// at a time, with a short pause after each `#` and `>`.
    pub split_writes: bool,
    /// The line editor erases only on DEL (0x7f), repainting with `ESC[1D ESC[1P`, and ignores
    /// backspace (0x08) without echoing anything, as `fake-switches` does: a client that
    /// types a word and backspaces gets the word glued to its next command.
    pub del_only: bool,
    /// Messages of setup commands and of entering or leaving configuration mode end without a
    /// line end, so the prompt follows on the same line (`Pagination disabled.r1#`, as EOS
    /// prints it). Personas that say nothing to `terminal length` say EOS's words.
    pub prompt_after_message: bool,
    /// Line ends go out as `\n\r` instead of `\r\n`.
    pub lf_cr: bool,
    /// The prompt is repainted: `\r ESC[K` (back to column one, erase the line) and a colour
    /// around it; on Enter the whole line, prompt and command, is repainted before the line end.
    pub ansi_prompt: bool,
}

impl Quirks {
    /// Every quirk on.
    pub const ALL: Quirks = Quirks {
        banner: true,
        timestamps: true,
        prompt_lines: true,
        split_writes: true,
        del_only: true,
        prompt_after_message: true,
        lf_cr: true,
        ansi_prompt: true,
    };

    /// The CLI names, for `--quirks`.
    pub const NAMES: [&str; 8] = [
        "banner",
        "timestamps",
        "prompt-lines",
        "split-writes",
        "del-only",
        "prompt-after-message",
        "lf-cr",
        "ansi-prompt",
    ];

    /// Every quirk on in `self` or in `other`.
    pub fn union(self, other: Quirks) -> Quirks {
        Quirks {
            banner: self.banner || other.banner,
            timestamps: self.timestamps || other.timestamps,
            prompt_lines: self.prompt_lines || other.prompt_lines,
            split_writes: self.split_writes || other.split_writes,
            del_only: self.del_only || other.del_only,
            prompt_after_message: self.prompt_after_message || other.prompt_after_message,
            lf_cr: self.lf_cr || other.lf_cr,
            ansi_prompt: self.ansi_prompt || other.ansi_prompt,
        }
    }

    /// Only the quirks that change what the screen shows, not how it is painted or sent: a
    /// client that renders what it reads (repaints applied, line ends normalized) collects the
    /// same outputs from a device with `self` as from one with `self.content()`.
    pub fn content(self) -> Quirks {
        Quirks {
            split_writes: false,
            del_only: false,
            lf_cr: false,
            ansi_prompt: false,
            ..self
        }
    }

    /// Each quirk alone, for tests that try them one by one.
    pub fn each() -> Vec<(&'static str, Quirks)> {
        Quirks::NAMES
            .iter()
            .map(|name| {
                let mut quirks = Quirks::default();
                quirks
                    .enable(name)
                    .unwrap_or_else(|e| panic!("quirk names are known: {e}"));
                (*name, quirks)
            })
            .collect()
    }

    /// Turns on the quirk named `name` (`all` for every one).
    pub fn enable(&mut self, name: &str) -> Result<(), String> {
        match name.trim() {
            "banner" => self.banner = true,
            "timestamps" => self.timestamps = true,
            "prompt-lines" => self.prompt_lines = true,
            "split-writes" => self.split_writes = true,
            "del-only" => self.del_only = true,
            "prompt-after-message" => self.prompt_after_message = true,
            "lf-cr" => self.lf_cr = true,
            "ansi-prompt" => self.ansi_prompt = true,
            "all" => *self = Quirks::ALL,
            other => {
                return Err(format!(
                    "unknown quirk {other:?} ({}, all)",
                    Quirks::NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// The banner of the `banner` quirk.
pub(crate) fn tricky_banner(m: &DeviceModel) -> String {
    format!(
        "#####################################################\n\
         # {host} ({site}/{role}) - authorised access only #\n\
         ## > all sessions are logged <\n\
         core-sw1#\n\
         backup-rtr>\n\
         Contact: noc@example.net #\n\
         #####################################################",
        host = m.hostname,
        site = m.site,
        role = m.role,
    )
}

/// The lines the `timestamps` quirk puts before an output; frozen at the model's last change so
/// the output stays deterministic.
pub(crate) fn timestamp_lines(m: &DeviceModel) -> String {
    format!(
        "Load for five secs: 2%/0%; one minute: 3%; five minutes: 2%\n\
         Time source is NTP, {}\n\n",
        m.last_change
    )
}

/// The lines the `prompt_lines` quirk puts before an output: the prompt's own last line, and
/// the prompt with more after it.
pub(crate) fn prompt_lines(prompt: &str, host: &str) -> String {
    let last = prompt.rsplit('\n').next().unwrap_or(prompt);
    format!("{last}\n{host}#foo\n")
}

/// What a setup command says when the persona says nothing and the `prompt_after_message`
/// quirk wants a message: EOS's words.
pub(crate) const DEFAULT_LENGTH_REPLY: &str = "Pagination disabled.";
pub(crate) const DEFAULT_WIDTH_REPLY: &str = "Width set to {n} columns.";

/// The prompt as the `ansi_prompt` quirk paints it: back to column one and erase the line (only
/// where the prompt starts a line: on a message's line that would rub the message out), then
/// the prompt's last line in bold. Earlier lines of the prompt (Junos `[edit]`) stay plain.
pub(crate) fn painted_prompt(prompt: &str, at_line_start: bool) -> String {
    let (before, last) = match prompt.rfind('\n') {
        Some(at) => prompt.split_at(at + 1),
        None => ("", prompt),
    };
    let erase = if at_line_start || !before.is_empty() {
        "\r\x1b[K"
    } else {
        ""
    };
    format!("{before}{erase}\x1b[1m{last}\x1b[0m")
}

/// `bytes` with every `\r\n` sent as `\n\r` (the `lf_cr` quirk).
pub(crate) fn lf_cr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
            out.extend_from_slice(b"\n\r");
            at += 2;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    out
}

/// Cuts `bytes` where the `split_writes` quirk sends them apart: after every `\n`, `#` and `>`,
/// and the trailing line (a prompt, usually) every three bytes. Returns each piece and whether
/// to pause after it.
pub(crate) fn split(bytes: &[u8]) -> Vec<(&[u8], bool)> {
    let last_line = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes[..last_line].iter().enumerate() {
        if matches!(b, b'\n' | b'#' | b'>') {
            pieces.push((&bytes[start..=i], b != b'\n'));
            start = i + 1;
        }
    }
    for chunk in bytes[last_line..].chunks(3) {
        let pause = chunk.last().is_some_and(|b| matches!(b, b'#' | b'>'));
        pieces.push((chunk, pause));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cuts_after_prompt_characters_and_chops_the_last_line() {
        let pieces: Vec<(&[u8], bool)> = split(b"a#b\r\nr1#\r\nr1#");
        let texts: Vec<&[u8]> = pieces.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            texts,
            [&b"a#"[..], b"b\r\n", b"r1#", b"\r\n", b"r1#"],
            "{pieces:?}"
        );
        assert!(pieces[0].1 && !pieces[1].1 && pieces[2].1);
        assert_eq!(split(b"").len(), 0);
        let joined: Vec<u8> = split(b"xx\nyyyyyyy>")
            .iter()
            .flat_map(|(p, _)| p.to_vec())
            .collect();
        assert_eq!(joined, b"xx\nyyyyyyy>");
    }

    #[test]
    fn quirks_by_name() {
        let mut q = Quirks::default();
        q.enable("timestamps").unwrap();
        assert!(q.timestamps && !q.banner);
        q.enable("all").unwrap();
        assert_eq!(q, Quirks::ALL);
        assert!(q.enable("wobbly").is_err());
        // Every name turns on exactly one quirk, and all of them together are `ALL`.
        let each = Quirks::each();
        assert_eq!(each.len(), Quirks::NAMES.len());
        let mut union = Quirks::default();
        for (name, quirks) in &each {
            assert_ne!(*quirks, Quirks::default(), "{name}");
            assert_ne!(union.union(*quirks), union, "{name} overlaps another quirk");
            union = union.union(*quirks);
        }
        assert_eq!(union, Quirks::ALL);
    }

    #[test]
    fn presentation_quirks_are_not_content() {
        let content = Quirks::ALL.content();
        assert!(content.banner && content.timestamps && content.prompt_lines);
        assert!(content.prompt_after_message);
        assert!(!content.split_writes && !content.del_only && !content.lf_cr);
        assert!(!content.ansi_prompt);
    }

    #[test]
    fn lf_cr_swaps_every_line_end_and_nothing_else() {
        assert_eq!(lf_cr(b"a\r\nb\r\n\r\nr1#"), b"a\n\rb\n\r\n\rr1#");
        assert_eq!(lf_cr(b"50%\r100%\n"), b"50%\r100%\n");
        assert_eq!(lf_cr(b"\r"), b"\r");
    }

    #[test]
    fn painted_prompts_erase_only_at_a_line_start() {
        assert_eq!(painted_prompt("r1#", true), "\r\x1b[K\x1b[1mr1#\x1b[0m");
        assert_eq!(painted_prompt("r1#", false), "\x1b[1mr1#\x1b[0m");
        assert_eq!(
            painted_prompt("[edit]\r\nadmin@r1# ", false),
            "[edit]\r\n\r\x1b[K\x1b[1madmin@r1# \x1b[0m"
        );
    }
}
