//! Per-notifier rate limit: at most N messages a minute, the excess counted and summarised
//! in one "N more alerts suppressed" message when the minute is over.
//!
//! Pure (time passed in) so the windows are tested without waiting a minute.

use std::time::{Duration, Instant};

/// Length of one rate-limit window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Fixed-window counter; a window starts at the first message after the previous one ended.
#[derive(Debug)]
pub struct RateLimiter {
    max_per_window: u32,
    window: Duration,
    /// Start of the current window; `None` before the first message.
    started: Option<Instant>,
    sent: u32,
    /// Messages refused in the current window, reported when it ends.
    suppressed: u32,
}

impl RateLimiter {
    /// `max_per_window` messages per `window` (use [`WINDOW`] outside tests).
    pub fn new(max_per_window: u32, window: Duration) -> Self {
        RateLimiter {
            max_per_window: max_per_window.max(1),
            window,
            started: None,
            sent: 0,
            suppressed: 0,
        }
    }

    /// Whether a message may go now; a refused one is counted for the summary.
    pub fn admit(&mut self, now: Instant) -> bool {
        match self.started {
            Some(start) if now.duration_since(start) < self.window => {}
            _ => {
                self.started = Some(now);
                self.sent = 0;
            }
        }
        if self.sent < self.max_per_window {
            self.sent += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Once the window in which messages were suppressed has ended, how many were: the caller
    /// sends one summary. Returns `None` while the window lasts or when nothing was refused.
    pub fn take_summary(&mut self, now: Instant) -> Option<u32> {
        let start = self.started?;
        if self.suppressed == 0 || now.duration_since(start) < self.window {
            return None;
        }
        let n = std::mem::take(&mut self.suppressed);
        // The summary itself opens and counts in the next window, so a storm that goes on
        // still yields at most max+1 messages a window.
        self.started = Some(now);
        self.sent = 1;
        Some(n)
    }

    /// When a pending summary becomes due, so the sender can sleep until then.
    pub fn summary_due(&self) -> Option<Instant> {
        (self.suppressed > 0).then(|| self.started.map(|s| s + self.window))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_is_summarised_once_after_the_window() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(2, Duration::from_secs(60));
        assert!(rl.admit(t0));
        assert!(rl.admit(t0 + Duration::from_secs(1)));
        assert!(!rl.admit(t0 + Duration::from_secs(2)));
        assert!(!rl.admit(t0 + Duration::from_secs(3)));
        assert_eq!(rl.take_summary(t0 + Duration::from_secs(59)), None);
        assert_eq!(rl.summary_due(), Some(t0 + Duration::from_secs(60)));
        assert_eq!(rl.take_summary(t0 + Duration::from_secs(60)), Some(2));
        assert_eq!(rl.take_summary(t0 + Duration::from_secs(61)), None);
        // The summary used one slot of the new window.
        assert!(rl.admit(t0 + Duration::from_secs(62)));
        assert!(!rl.admit(t0 + Duration::from_secs(63)));
    }

    #[test]
    fn a_new_window_admits_again_after_the_summary() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(1, Duration::from_secs(60));
        assert!(rl.admit(t0));
        assert!(!rl.admit(t0));
        assert_eq!(rl.take_summary(t0 + Duration::from_secs(61)), Some(1));
        assert!(
            !rl.admit(t0 + Duration::from_secs(62)),
            "the summary took the slot"
        );
        assert_eq!(rl.summary_due(), Some(t0 + Duration::from_secs(121)));
        assert_eq!(rl.take_summary(t0 + Duration::from_secs(121)), Some(1));
        assert_eq!(rl.summary_due(), None);
        assert!(
            rl.admit(t0 + Duration::from_secs(190)),
            "a quiet new window admits"
        );
    }

    #[test]
    fn quiet_windows_need_no_summary() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(3, Duration::from_secs(60));
        for i in 0..3 {
            assert!(rl.admit(t0 + Duration::from_secs(i)));
        }
        assert_eq!(rl.take_summary(t0 + Duration::from_secs(100)), None);
    }
}
