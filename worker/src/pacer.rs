//! Spaces out new connections so a run of thousands of devices does not hit the network's
//! AAA servers (TACACS+, RADIUS) with thousands of logins in the same second.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct Pacer {
    /// Time between two connection starts; `None` means no limit.
    interval: Option<Duration>,
    /// The earliest moment the next connection may start.
    next_slot: Mutex<Instant>,
}

impl Pacer {
    /// `rate` connections per second; zero, negative or non-finite means unlimited.
    pub fn new(rate: f64) -> Self {
        let interval =
            (rate.is_finite() && rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
        Self {
            interval,
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's turn. Slots are handed out in call order, so no caller starves.
    pub async fn wait_turn(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
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
    async fn zero_means_no_limit() {
        let pacer = Pacer::new(0.0);
        let start = Instant::now();
        for _ in 0..100 {
            pacer.wait_turn().await;
        }
        assert_eq!(Instant::now(), start);
    }
}
