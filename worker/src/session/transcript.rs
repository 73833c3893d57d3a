//! A session's transcript (`--session-log`): every byte fanout sent the device and every byte
//! it received, in order, with the time since the session's shell opened. It is what a person
//! needs to see why a new device type misbehaves, like Netmiko's `session_log`.
//!
//! One record per run of bytes in one direction, printed with control bytes escaped (`\r`,
//! `\x1b`), so line editors' repaints and prompts without line ends are visible:
//!
//! ```text
//! [   0.012s] < "\r\nsw1>"
//! [   0.064s] > "enable\n"
//! ```
//!
//! The login password and the enable secret are replaced by `********` wherever they appear,
//! sent or received; a run is masked whole, so a secret split across packets is masked too.

use fanout_common::Secret;
use std::time::Instant;

/// What a secret becomes in the transcript.
const MASK: &[u8] = b"********";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Sent,
    Received,
}

pub struct Transcript {
    started: Instant,
    /// Finished records, as text.
    text: Vec<u8>,
    /// The run of bytes in one direction still being gathered, and when it started.
    run: Option<(Direction, f64, Vec<u8>)>,
    /// Texts to mask: the password and the enable secret, longest first so that one that
    /// contains the other is masked whole.
    secrets: Vec<Vec<u8>>,
    /// Bytes kept at most; past it the transcript says it was cut and records nothing more.
    cap: usize,
    truncated: bool,
}

impl Transcript {
    pub fn new(secrets: &[&Secret], cap: usize) -> Self {
        let mut secrets: Vec<Vec<u8>> = secrets
            .iter()
            .map(|s| s.expose().as_bytes().to_vec())
            .filter(|s| !s.is_empty())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self {
            started: Instant::now(),
            text: Vec::new(),
            run: None,
            secrets,
            cap,
            truncated: false,
        }
    }

    pub fn sent(&mut self, bytes: &[u8]) {
        self.add(Direction::Sent, bytes);
    }

    pub fn received(&mut self, bytes: &[u8]) {
        self.add(Direction::Received, bytes);
    }

    fn add(&mut self, direction: Direction, bytes: &[u8]) {
        if self.truncated {
            return;
        }
        match &mut self.run {
            Some((current, _, run)) if *current == direction => run.extend_from_slice(bytes),
            _ => {
                self.flush();
                let at = self.started.elapsed().as_secs_f64();
                self.run = Some((direction, at, bytes.to_vec()));
            }
        }
        let pending = self.run.as_ref().map_or(0, |(_, _, run)| run.len());
        if self.text.len() + pending > self.cap {
            self.flush();
        }
    }

    /// Turns the pending run into a record.
    fn flush(&mut self) {
        let Some((direction, at, run)) = self.run.take() else {
            return;
        };
        if self.truncated {
            return;
        }
        let masked = self.mask(&run);
        let arrow = match direction {
            Direction::Sent => '>',
            Direction::Received => '<',
        };
        let record = format!("[{at:9.3}s] {arrow} \"{}\"\n", masked.escape_ascii());
        if self.text.len() + record.len() > self.cap {
            self.text
                .extend_from_slice(b"[transcript cut: it reached its size limit]\n");
            self.truncated = true;
            return;
        }
        self.text.extend_from_slice(record.as_bytes());
    }

    fn mask(&self, run: &[u8]) -> Vec<u8> {
        let mut out = run.to_vec();
        for secret in &self.secrets {
            let mut masked = Vec::with_capacity(out.len());
            let mut at = 0;
            for found in memchr::memmem::find_iter(&out, secret) {
                if found < at {
                    continue;
                }
                masked.extend_from_slice(&out[at..found]);
                masked.extend_from_slice(MASK);
                at = found + secret.len();
            }
            masked.extend_from_slice(&out[at..]);
            out = masked;
        }
        out
    }

    /// The whole transcript.
    pub fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(t: Transcript) -> Vec<String> {
        String::from_utf8(t.finish())
            .unwrap()
            .lines()
            .map(|l| l.split_once("] ").unwrap().1.to_string())
            .collect()
    }

    #[test]
    fn records_each_direction_in_order_with_controls_escaped() {
        let mut t = Transcript::new(&[], 1 << 20);
        t.received(b"\r\nsw1");
        t.received(b">");
        t.sent(b"enable\n");
        t.received(b"enable\r\nPassword: ");
        t.received(b"\x1b[K");
        assert_eq!(
            lines(t),
            [
                r#"< "\r\nsw1>""#,
                r#"> "enable\n""#,
                r#"< "enable\r\nPassword: \x1b[K""#,
            ]
        );
    }

    #[test]
    fn secrets_are_masked_in_both_directions_even_when_split() {
        let password = Secret::new("hunter2");
        let secret = Secret::new("en4ble-hunter2");
        let mut t = Transcript::new(&[&password, &secret], 1 << 20);
        t.sent(b"en4ble-hun");
        t.sent(b"ter2\n");
        t.received(b"username admin password hun");
        t.received(b"ter2\r\n");
        let all = lines(t).join("\n");
        assert!(!all.contains("hunter2"), "{all}");
        assert!(!all.contains("en4ble"), "{all}");
        assert!(all.contains(r#"> "********\n""#), "{all}");
        assert!(all.contains("password ********"), "{all}");
    }

    #[test]
    fn a_transcript_stops_at_its_cap_and_says_so() {
        let mut t = Transcript::new(&[], 200);
        for _ in 0..100 {
            t.received(b"0123456789");
            t.sent(b"x");
        }
        let text = String::from_utf8(t.finish()).unwrap();
        assert!(text.len() <= 260, "{text}");
        assert!(text.ends_with("[transcript cut: it reached its size limit]\n"));
    }
}
