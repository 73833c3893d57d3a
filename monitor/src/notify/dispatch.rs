//! One delivery task per notifier: a bounded drop-oldest queue in front, the rate limit, and
//! bounded retries with backoff behind. Pushing never blocks, so the engine never waits on a
//! notifier, and a notifier that is down costs a counter, not memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanout_common::Backoff;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{Notice, Notifier};
use crate::event::Event;
use crate::ratelimit::RateLimiter;

/// How every notifier queue and retry loop behaves.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Events waiting per notifier; when full the oldest is dropped (the newest state matters
    /// most and alerts.jsonl keeps everything anyway).
    pub queue_capacity: usize,
    /// Delivery attempts per notice, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled each time up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Deadline of one attempt (connect, send, answer).
    pub attempt_timeout: Duration,
    /// Notices per `rate_window` before the rest are summarised.
    pub max_per_window: u32,
    /// One minute outside tests.
    pub rate_window: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            queue_capacity: 1000,
            max_attempts: 4,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(10),
            max_per_window: 20,
            rate_window: crate::ratelimit::WINDOW,
        }
    }
}

/// Counters per notifier, read by `/metrics`.
#[derive(Debug, Default)]
pub struct NotifierStats {
    /// Notices delivered (alerts, recoveries and summaries).
    pub sent: AtomicU64,
    /// Notices given up on after every attempt failed.
    pub failed: AtomicU64,
    /// Failed attempts, retried or not.
    pub attempt_failures: AtomicU64,
    /// Events dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Events held back by the rate limit (and summarised).
    pub suppressed: AtomicU64,
}

/// The bounded queue shared by the pusher and the delivery task.
#[derive(Debug)]
struct Queue {
    items: Mutex<VecDeque<Event>>,
    capacity: usize,
    ready: Notify,
}

/// The engine's side of one notifier: push events, read counters.
#[derive(Debug, Clone)]
pub struct NotifierHandle {
    /// `kind` or `kind-N`, as in metrics labels and logs.
    pub name: String,
    queue: Arc<Queue>,
    pub stats: Arc<NotifierStats>,
}

impl NotifierHandle {
    /// Queue `event` without waiting; if the queue is full the oldest waiting event is dropped
    /// and counted.
    pub fn push(&self, event: Event) {
        {
            let mut items = self
                .queue
                .items
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if items.len() >= self.queue.capacity {
                items.pop_front();
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
            items.push_back(event);
        }
        self.queue.ready.notify_one();
    }

    /// Events waiting to be sent (the one being sent not included).
    pub fn queued(&self) -> usize {
        self.queue
            .items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    fn pop(&self) -> Option<Event> {
        self.queue
            .items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front()
    }
}

/// Start the delivery task for `notifier`; it stops when `shutdown` is cancelled.
pub fn spawn(
    name: String,
    notifier: Arc<dyn Notifier>,
    settings: DispatchSettings,
    shutdown: CancellationToken,
) -> NotifierHandle {
    let handle = NotifierHandle {
        name,
        queue: Arc::new(Queue {
            items: Mutex::new(VecDeque::new()),
            capacity: settings.queue_capacity.max(1),
            ready: Notify::new(),
        }),
        stats: Arc::new(NotifierStats::default()),
    };
    tokio::spawn(run(handle.clone(), notifier, settings, shutdown));
    handle
}

async fn run(
    handle: NotifierHandle,
    notifier: Arc<dyn Notifier>,
    settings: DispatchSettings,
    shutdown: CancellationToken,
) {
    let mut limiter = RateLimiter::new(settings.max_per_window, settings.rate_window);
    while !shutdown.is_cancelled() {
        let now = Instant::now().into_std();
        if let Some(count) = limiter.take_summary(now) {
            let notice = Notice::Suppressed { count };
            deliver(&handle, &*notifier, &notice, &settings, &shutdown).await;
            continue;
        }
        if let Some(event) = handle.pop() {
            if limiter.admit(now) {
                deliver(
                    &handle,
                    &*notifier,
                    &Notice::Event(event),
                    &settings,
                    &shutdown,
                )
                .await;
            } else {
                handle.stats.suppressed.fetch_add(1, Ordering::Relaxed);
                debug!(notifier = %handle.name, incident = %event.incident, "rate limited");
            }
            continue;
        }
        let summary_due = limiter.summary_due().map(Instant::from_std);
        tokio::select! {
            _ = handle.queue.ready.notified() => {}
            _ = sleep_until_opt(summary_due) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Try `notice` up to `max_attempts` times with doubling backoff; count the outcome.
async fn deliver(
    handle: &NotifierHandle,
    notifier: &dyn Notifier,
    notice: &Notice,
    settings: &DispatchSettings,
    shutdown: &CancellationToken,
) {
    // No jitter: each notifier retries on its own, so there is no herd to spread.
    let mut backoff = Backoff::new(settings.first_backoff, Duration::ZERO, settings.max_backoff)
        .with_jitter(1.0, 1.0);
    let attempts = settings.max_attempts.max(1);
    for attempt in 1..=attempts {
        // The notifiers keep their own deadlines; this outer one guards against one that
        // forgot, so a delivery task can never hang.
        let deadline = settings.attempt_timeout + Duration::from_secs(1);
        let error = match tokio::time::timeout(deadline, notifier.send(notice)).await {
            Ok(Ok(())) => {
                handle.stats.sent.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("timed out after {deadline:?}"),
        };
        handle
            .stats
            .attempt_failures
            .fetch_add(1, Ordering::Relaxed);
        if attempt == attempts {
            handle.stats.failed.fetch_add(1, Ordering::Relaxed);
            warn!(notifier = %handle.name, attempts, error = %error, "notification given up");
            return;
        }
        warn!(notifier = %handle.name, attempt, error = %error, "notification failed, retrying");
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_pause()) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
