//! Spaces out new connections so a run of thousands of devices does not hit the network's
//! AAA servers (TACACS+, RADIUS) with thousands of logins in the same second.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

pub struct Pacer {
    slots: Mutex<Slots>,
}

struct Slots {
    /// Time between two connection starts; `None` means no limit.
    interval: Option<Duration>,
    /// The earliest moment the next connection may start.
    next: Instant,
}

impl Pacer {
    /// `rate` connections per second; zero, negative or non-finite means unlimited.
    pub fn new(rate: f64) -> Self {
        Self {
            slots: Mutex::new(Slots {
                interval: interval_of(rate),
                next: Instant::now(),
            }),
        }
    }

    /// A new rate for the connections not yet started: the coordinator sends this worker's
    /// share of the job's rate with every lease, and the share shrinks as workers attach.
    pub fn set_rate(&self, rate: f64) {
        self.slots.lock().expect("pacer lock").interval = interval_of(rate);
    }

    /// Waits for this caller's turn. Slots are handed out in call order, so no caller starves.
    pub async fn wait_turn(&self) {
        let slot = {
            let mut slots = self.slots.lock().expect("pacer lock");
            let Some(interval) = slots.interval else {
                return;
            };
            let slot = slots.next.max(Instant::now());
            slots.next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

fn interval_of(rate: f64) -> Option<Duration> {
    (rate.is_finite() && rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn spaces_connections_at_the_rate() {
        let pacer = Arc::new(Pacer::new(10.0));
        let start = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..5 {
            let pacer = pacer.clone();
            waits.push(tokio::spawn(async move {
                pacer.wait_turn().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for w in waits {
            times.push(w.await.unwrap() - start);
        }
        times.sort();
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(times[4], Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_rate_spaces_the_connections_not_yet_started() {
        let pacer = Pacer::new(10.0);
        let start = Instant::now();
        pacer.wait_turn().await;
        pacer.wait_turn().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(100));
        // A second worker attached: this one's share halves.
        pacer.set_rate(5.0);
        pacer.wait_turn().await;
        pacer.wait_turn().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(400));
        pacer.set_rate(0.0);
        pacer.wait_turn().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_no_limit() {
        let pacer = Pacer::new(0.0);
        let start = Instant::now();
        for _ in 0..100 {
            pacer.wait_turn().await;
        }
        assert_eq!(Instant::now(), start);
    }
}
