//! Pauses between attempts at something that may work a moment later: a device that refused a
//! connection, a coordinator that is restarting (for a worker or a client following a job), a
//! descriptor table that is full for now, a webhook that is down. The one backoff of fanout.
//!
//! Each pause doubles from the first, is jittered so that a fleet that failed together does not
//! come back together, and always lies between a floor and a cap: a first pause of zero cannot
//! turn retries into a busy loop against a device, and no number of failures makes a pause
//! longer than the cap. [`Backoff::wait_until`] also never sleeps past a deadline, so attempts
//! and pauses together stay within it.

use std::ops::Range;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Backoff {
    /// The first pause, before jitter (never below the floor); each later one doubles it.
    first: Duration,
    /// No pause is shorter, whatever `first` and the jitter say.
    floor: Duration,
    /// No pause is longer, however many failures came before.
    cap: Duration,
    /// Each pause is the nominal one times a factor drawn from this range.
    jitter: Range<f64>,
    /// Pauses handed out since the start or the last [`Backoff::reset`].
    pauses: u32,
}

impl Backoff {
    /// Pauses of `first`, `2 × first`, `4 × first`... kept within `floor..=cap`, each times a
    /// random factor in [0.5, 1.5). A first pause below the floor starts at the floor, so the
    /// pauses grow from there (zero doubled would stay zero); a cap below the floor is raised
    /// to it.
    pub fn new(first: Duration, floor: Duration, cap: Duration) -> Self {
        Self {
            first: first.max(floor),
            floor,
            cap: cap.max(floor),
            jitter: 0.5..1.5,
            pauses: 0,
        }
    }

    /// Draws the jitter factor from `low..high` instead (`1.0..1.0`: none). A reversed or
    /// negative range means no jitter.
    pub fn with_jitter(mut self, low: f64, high: f64) -> Self {
        self.jitter = if low >= 0.0 && low < high {
            low..high
        } else {
            1.0..1.0
        };
        self
    }

    /// Pauses handed out since the start or the last reset.
    pub fn pauses(&self) -> u32 {
        self.pauses
    }

    /// Starts over from the first pause (after a success).
    pub fn reset(&mut self) {
        self.pauses = 0;
    }

    /// The next pause, and counts it.
    pub fn next_pause(&mut self) -> Duration {
        // 2^16 × any first pause worth having is past every sensible cap already.
        let doubled = self.first.saturating_mul(1u32 << self.pauses.min(16));
        self.pauses = self.pauses.saturating_add(1);
        let nominal = doubled.min(self.cap);
        let jittered = if self.jitter.is_empty() {
            nominal
        } else {
            nominal.mul_f64(rand::random_range(self.jitter.clone()))
        };
        jittered.clamp(self.floor, self.cap)
    }

    /// Sleeps the next pause and returns true, or returns false at once (and counts nothing)
    /// when that pause would end after `deadline`: there is no time left for another attempt.
    /// `None` is no deadline.
    pub async fn wait_until(&mut self, deadline: Option<Instant>) -> bool {
        let before = self.pauses;
        let pause = self.next_pause();
        let wake = Instant::now() + pause;
        if deadline.is_some_and(|deadline| wake >= deadline) {
            self.pauses = before;
            return false;
        }
        tokio::time::sleep_until(wake).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn pauses_double_from_the_first_and_stay_between_floor_and_cap() {
        for _ in 0..200 {
            let mut backoff = Backoff::new(100 * MS, 100 * MS, 60_000 * MS);
            let first = backoff.next_pause();
            assert!(first >= 100 * MS && first < 150 * MS, "{first:?}");
            let second = backoff.next_pause();
            assert!(second >= 100 * MS && second < 300 * MS, "{second:?}");
            let third = backoff.next_pause();
            assert!(third >= 200 * MS && third < 600 * MS, "{third:?}");
            for _ in 0..100 {
                let pause = backoff.next_pause();
                assert!(pause >= 100 * MS && pause <= 60_000 * MS, "{pause:?}");
            }
            assert_eq!(backoff.pauses(), 103);
            backoff.reset();
            assert!(backoff.next_pause() < 150 * MS);
        }
    }

    #[test]
    fn a_zero_or_tiny_first_pause_starts_at_the_floor_and_grows_to_the_cap() {
        for first in [Duration::ZERO, MS] {
            let mut backoff = Backoff::new(first, 100 * MS, 60_000 * MS).with_jitter(1.0, 1.0);
            let pauses: Vec<Duration> = (0..30).map(|_| backoff.next_pause()).collect();
            assert_eq!(&pauses[..4], [100 * MS, 200 * MS, 400 * MS, 800 * MS]);
            assert_eq!(pauses[9], 51_200 * MS);
            assert_eq!(pauses[10], 60_000 * MS);
            assert_eq!(pauses[29], 60_000 * MS);
        }
        let mut jittered = Backoff::new(Duration::ZERO, 100 * MS, 60_000 * MS);
        for _ in 0..50 {
            assert!(jittered.next_pause() >= 100 * MS, "never below the floor");
        }
    }

    #[test]
    fn jitter_never_leaves_the_bounds() {
        let mut backoff = Backoff::new(500 * MS, 500 * MS, 30_000 * MS).with_jitter(0.8, 1.2);
        for attempt in 0..40 {
            let pause = backoff.next_pause();
            assert!(
                pause >= 500 * MS && pause <= 30_000 * MS,
                "{attempt}: {pause:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_stops_at_the_deadline_instead_of_sleeping_past_it() {
        let start = Instant::now();
        let deadline = start + 5_000 * MS;
        let mut backoff = Backoff::new(1_000 * MS, 100 * MS, 60_000 * MS).with_jitter(1.0, 1.0);
        let mut slept = Vec::new();
        while backoff.wait_until(Some(deadline)).await {
            slept.push(Instant::now() - start);
        }
        // 1 s, then 2 s (3 s in); 4 s more would end at 7 s, past the deadline.
        assert_eq!(slept, vec![1_000 * MS, 3_000 * MS]);
        assert_eq!(
            Instant::now() - start,
            3_000 * MS,
            "gave up without sleeping"
        );
        assert_eq!(backoff.pauses(), 2, "the refused pause is not counted");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_deadline_it_always_waits() {
        let start = Instant::now();
        let mut backoff = Backoff::new(Duration::ZERO, 100 * MS, 400 * MS).with_jitter(1.0, 1.0);
        for _ in 0..5 {
            assert!(backoff.wait_until(None).await);
        }
        assert_eq!(
            Instant::now() - start,
            1_500 * MS,
            "100 + 200 + 400 + 400 + 400 ms"
        );
    }
}
