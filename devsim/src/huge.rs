//! The `Huge` fault's output: about 100 MB of tech-support-like text, produced chunk by chunk so
//! the device never holds more than one chunk of it.

use std::fmt::Write as _;

/// What `show tech-support` (and `show running-config`) print on a `Huge` device.
pub const HUGE_OUTPUT_BYTES: u64 = 100 * 1024 * 1024;
/// Roughly one SSH packet's worth; the writer waits for the client's window between chunks.
const CHUNK: usize = 32 * 1024;

/// Chunks of `total` bytes of text with `\r\n` line ends, deterministic in the line number.
pub(crate) struct HugeText {
    /// Bytes still to produce.
    remaining: u64,
    /// Next line's number, so the text looks like a counter dump and not one repeated line.
    line: u64,
}

impl HugeText {
    pub(crate) fn new(total: u64) -> Self {
        HugeText {
            remaining: total,
            line: 0,
        }
    }
}

impl Iterator for HugeText {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.remaining == 0 {
            return None;
        }
        let mut chunk = String::with_capacity(CHUNK + 128);
        while chunk.len() < CHUNK {
            let n = self.line;
            self.line += 1;
            let _ = write!(
                chunk,
                "GigabitEthernet1/0/{} is up, line protocol is up  {:>12} packets input, {:>14} bytes, 0 no buffer\r\n",
                1 + n % 48,
                n.wrapping_mul(7919) % 1_000_000_007,
                n.wrapping_mul(104_729) % 1_000_000_000_007,
            );
        }
        let take = (chunk.len() as u64).min(self.remaining) as usize;
        self.remaining -= take as u64;
        let mut bytes = chunk.into_bytes();
        bytes.truncate(take);
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produces_exactly_the_total_in_bounded_chunks() {
        let mut total = 0u64;
        for chunk in HugeText::new(1_000_003) {
            assert!(chunk.len() <= CHUNK + 128);
            total += chunk.len() as u64;
        }
        assert_eq!(total, 1_000_003);
    }
}
