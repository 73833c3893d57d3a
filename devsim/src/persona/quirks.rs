//! Quirks that break naive prompt detection (the Netmiko issue tracker's favourites), each one
//! switchable so a client can be tested against it: a login banner full of `#` and `>`,
//! timestamp lines before every output, output lines that look exactly like the prompt, and a
//! device that sends its output and prompt in pieces.

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
}

impl Quirks {
    /// Every quirk on.
    pub const ALL: Quirks = Quirks {
        banner: true,
        timestamps: true,
        prompt_lines: true,
        split_writes: true,
    };

    /// The CLI names, for `--quirks`.
    pub const NAMES: [&str; 4] = ["banner", "timestamps", "prompt-lines", "split-writes"];

    /// Turns on the quirk named `name` (`all` for every one).
    pub fn enable(&mut self, name: &str) -> Result<(), String> {
        match name.trim() {
            "banner" => self.banner = true,
            "timestamps" => self.timestamps = true,
            "prompt-lines" => self.prompt_lines = true,
            "split-writes" => self.split_writes = true,
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
    }
}
