//! Counters to rates: the per-second rate between two readings of an SNMP counter, handling
//! the 32-bit wrap and agent restarts. Pure, so every case is a unit test.
//!
//! - Time is the agent's own clock, `sysUpTime` (hundredths of a second), read in the same poll
//!   as the counters: poll jitter and network delay do not distort the rate, and an agent that
//!   caches its counters (most do, for a few seconds) answers the same `sysUpTime` with the
//!   same counters, which is no new reading rather than a zero rate.
//! - `sysUpTime` going back means the agent restarted, and its counters with it: no rate from
//!   that pair, the new reading is the new baseline.
//! - A Counter32 that went down wrapped once at 2^32 (at 10 Gbit/s an octet counter wraps every
//!   3.4 s, so a 32-bit counter on a fast link polled slower than that cannot be trusted: use
//!   the 64-bit `ifHC*` columns). A Counter64 that went down was reset (a 64-bit octet counter
//!   takes 58 years to wrap at 10 Gbit/s): no rate, new baseline.
//! - Without `sysUpTime` (an agent that does not answer it) the poll's wall-clock times are
//!   used instead, and a restart shows only as a counter going down.

/// Counter width: how a decrease is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    Bits32,
    Bits64,
}

/// One reading of a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub value: u64,
    pub width: Width,
    /// The agent's `sysUpTime` in the same poll, hundredths of a second.
    pub uptime: Option<u32>,
    /// When the poll was taken (milliseconds since the epoch, the worker's clock).
    pub at_ms: u64,
}

/// What a new reading gives against the previous one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Units per second since the previous reading; the new reading becomes the baseline.
    Rate(f64),
    /// No time passed on the agent's clock (a cached answer): keep the previous baseline.
    Unchanged,
    /// No rate can be told from this pair (restart, reset, width change); the new reading is
    /// the new baseline. The reason is for logs and tests.
    Rebase(&'static str),
}

/// The rate from `previous` to `current`.
pub fn step(previous: &Reading, current: &Reading) -> Step {
    if previous.width != current.width {
        return Step::Rebase("the counter changed width");
    }
    let seconds = match (previous.uptime, current.uptime) {
        (Some(before), Some(now)) => {
            if now < before {
                return Step::Rebase("sysUpTime went back: the agent restarted");
            }
            f64::from(now - before) / 100.0
        }
        _ => {
            if current.at_ms <= previous.at_ms {
                return Step::Unchanged;
            }
            (current.at_ms - previous.at_ms) as f64 / 1000.0
        }
    };
    if seconds <= 0.0 {
        return Step::Unchanged;
    }
    let delta = if current.value >= previous.value {
        current.value - previous.value
    } else {
        match current.width {
            Width::Bits32 => {
                // Wrapped once: what was left to 2^32, plus what came after.
                (1u64 << 32) - (previous.value & 0xffff_ffff) + (current.value & 0xffff_ffff)
            }
            Width::Bits64 => return Step::Rebase("the 64-bit counter went down: it was reset"),
        }
    };
    Step::Rate(delta as f64 / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r32(value: u64, uptime: u32) -> Reading {
        Reading {
            value,
            width: Width::Bits32,
            uptime: Some(uptime),
            at_ms: 0,
        }
    }

    fn r64(value: u64, uptime: u32) -> Reading {
        Reading {
            width: Width::Bits64,
            ..r32(value, uptime)
        }
    }

    #[test]
    fn a_rate_is_the_difference_over_the_agents_clock() {
        // 1,250,000 octets in 10 s of sysUpTime: 125,000 octets/s.
        assert_eq!(
            step(&r64(1_000_000, 1_000), &r64(2_250_000, 2_000)),
            Step::Rate(125_000.0)
        );
        // The poll's wall clock is ignored when sysUpTime is there.
        let mut later = r64(2_250_000, 2_000);
        later.at_ms = 999_999;
        assert_eq!(step(&r64(1_000_000, 1_000), &later), Step::Rate(125_000.0));
        assert_eq!(step(&r64(5, 100), &r64(5, 200)), Step::Rate(0.0));
    }

    #[test]
    fn a_counter32_that_went_down_wrapped_once() {
        let before = r32(u64::from(u32::MAX) - 99, 0);
        // 100 octets to the wrap, 400 after it, in 1 s.
        assert_eq!(step(&before, &r32(400, 100)), Step::Rate(500.0));
        assert_eq!(
            step(&r32(u64::from(u32::MAX), 0), &r32(0, 100)),
            Step::Rate(1.0)
        );
    }

    #[test]
    fn a_counter64_that_went_down_was_reset_not_wrapped() {
        assert!(matches!(
            step(&r64(u64::MAX - 10, 0), &r64(5, 100)),
            Step::Rebase(_)
        ));
        // Had it been read as a wrap, this would be a rate of 16 per second: no bogus rate.
    }

    #[test]
    fn an_agent_restart_gives_no_rate() {
        // The counter started again from zero and so did sysUpTime: the difference would be
        // a huge wrap for a Counter32.
        assert!(matches!(
            step(&r32(4_000_000_000, 360_000), &r32(10_000, 500)),
            Step::Rebase(why) if why.contains("restarted")
        ));
        // Even a counter that happens to be higher after the restart gives no rate.
        assert!(matches!(
            step(&r64(100, 360_000), &r64(9_999_999, 500)),
            Step::Rebase(_)
        ));
    }

    #[test]
    fn a_cached_answer_is_no_new_reading() {
        assert_eq!(step(&r64(7, 100), &r64(7, 100)), Step::Unchanged);
    }

    #[test]
    fn without_uptime_the_poll_clock_is_used() {
        let at = |value, at_ms| Reading {
            value,
            width: Width::Bits64,
            uptime: None,
            at_ms,
        };
        assert_eq!(step(&at(0, 1_000), &at(3_000, 4_000)), Step::Rate(1_000.0));
        assert_eq!(step(&at(0, 4_000), &at(3_000, 4_000)), Step::Unchanged);
        assert!(matches!(step(&at(10, 0), &at(3, 1_000)), Step::Rebase(_)));
    }

    #[test]
    fn a_width_change_rebases() {
        assert!(matches!(step(&r32(1, 0), &r64(2, 100)), Step::Rebase(_)));
    }
}
