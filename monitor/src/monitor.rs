//! The running monitor: the engine behind a lock, the alert journal, the notifier queues and
//! the live-update channel. This is the handle the poll loop feeds and the dashboard reads.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::config::{MonitorConfig, NotifierConfig};
use crate::engine::{Engine, HostView, PollOutcome, PollResult, RecentChange};
use crate::event::{CellChange, Event, HostChange};
use crate::journal::{Journal, JournalError};
use crate::notify::dispatch::{self, DispatchSettings, NotifierHandle};
use crate::notify::email::EmailNotifier;
use crate::notify::exec::ExecNotifier;
use crate::notify::webhook::WebhookNotifier;
use crate::notify::{Notifier, NotifyError};

/// Live updates buffered per dashboard viewer; a viewer that falls further behind is told to
/// reload its state rather than slowing anyone down.
const UPDATE_BUFFER: usize = 4096;

/// Alerts and recoveries kept for the dashboard's history.
const RECENT_EVENTS: usize = 200;

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// `alerts.jsonl` could not be opened.
    #[error("alert journal: {0}")]
    Journal(#[from] JournalError),
    /// A notifier's settings are unusable (bad address, ...).
    #[error("notifier {name}: {source}")]
    Notifier { name: String, source: NotifyError },
}

/// One live update for dashboard viewers (sent as one SSE message).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Update {
    /// A cell's value or colour changed.
    Cell(CellChange),
    /// A host became reachable or unreachable.
    Host(HostChange),
    /// An alert or recovery.
    Event(Event),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
struct Counters {
    polls: AtomicU64,
    polls_failed: AtomicU64,
    alerts: AtomicU64,
    recoveries: AtomicU64,
    journal_failures: AtomicU64,
}

/// The shared monitor state; clone the `Arc` into the poll loop and the dashboard.
#[derive(Debug)]
pub struct Monitor {
    engine: Mutex<Engine>,
    journal: Mutex<Journal>,
    recent_events: Mutex<VecDeque<Event>>,
    notifiers: Vec<NotifierHandle>,
    updates: broadcast::Sender<Update>,
    counters: Counters,
    /// Per-host, per-row series `/metrics` shows at most (see [`crate::config::MonitorConfig::metrics_max_series`]).
    max_series: AtomicUsize,
}

impl Monitor {
    /// Start a monitor for `config`: open (append to) the journal at `journal_path` and start
    /// one delivery task per configured notifier, all stopped by `shutdown`.
    pub fn start(
        config: &MonitorConfig,
        journal_path: &Path,
        mut settings: DispatchSettings,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, MonitorError> {
        settings.max_per_window = config.max_alerts_per_minute;
        let mut notifiers: Vec<(String, Arc<dyn Notifier>)> = Vec::new();
        for (i, n) in config.alerts.iter().enumerate() {
            let name = notifier_name(&config.alerts, i);
            let t = settings.attempt_timeout;
            let built: Result<Arc<dyn Notifier>, NotifyError> = match n {
                NotifierConfig::Webhook(w) => WebhookNotifier::new(w, t).map(|n| Arc::new(n) as _),
                NotifierConfig::Email(e) => EmailNotifier::new(e, t).map(|n| Arc::new(n) as _),
                NotifierConfig::Exec(argv) => {
                    ExecNotifier::new(argv.clone(), t).map(|n| Arc::new(n) as _)
                }
            };
            let notifier = built.map_err(|source| MonitorError::Notifier {
                name: name.clone(),
                source,
            })?;
            notifiers.push((name, notifier));
        }
        let monitor = Self::with_notifiers(
            Engine::new(config),
            journal_path,
            notifiers,
            settings,
            shutdown,
        )?;
        monitor.set_max_series(config.metrics_max_series);
        Ok(monitor)
    }

    /// Caps the per-host, per-row series of `/metrics`.
    pub fn set_max_series(&self, limit: usize) {
        self.max_series.store(limit, Ordering::Relaxed);
    }

    /// Start a monitor around `engine` with the given notifiers (tests bring their own).
    pub fn with_notifiers(
        engine: Engine,
        journal_path: &Path,
        notifiers: Vec<(String, Arc<dyn Notifier>)>,
        settings: DispatchSettings,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, MonitorError> {
        let journal = Journal::open(journal_path)?;
        let notifiers = notifiers
            .into_iter()
            .map(|(name, n)| dispatch::spawn(name, n, settings.clone(), shutdown.clone()))
            .collect();
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        Ok(Arc::new(Monitor {
            engine: Mutex::new(engine),
            journal: Mutex::new(journal),
            recent_events: Mutex::new(VecDeque::with_capacity(RECENT_EVENTS)),
            notifiers,
            updates,
            counters: Counters::default(),
            max_series: AtomicUsize::new(crate::config::DEFAULT_METRICS_MAX_SERIES),
        }))
    }

    /// Take one poll result: update state, record and send any alert or recovery, push the
    /// changed cells to dashboard viewers. Never waits on a notifier.
    pub fn ingest(&self, poll: &PollResult) -> Vec<Event> {
        self.counters.polls.fetch_add(1, Ordering::Relaxed);
        if matches!(poll.outcome, PollOutcome::Unreachable(_)) {
            self.counters.polls_failed.fetch_add(1, Ordering::Relaxed);
        }
        let obs = lock(&self.engine).observe(poll);
        if !obs.events.is_empty() {
            if let Err(e) = lock(&self.journal).append(&obs.events) {
                self.counters
                    .journal_failures
                    .fetch_add(1, Ordering::Relaxed);
                warn!(error = %e, "alert journal write failed");
            }
            let mut recent = lock(&self.recent_events);
            for e in &obs.events {
                let counter = match e.kind {
                    crate::event::EventKind::Alert => &self.counters.alerts,
                    crate::event::EventKind::Recovery => &self.counters.recoveries,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if recent.len() == RECENT_EVENTS {
                    recent.pop_front();
                }
                recent.push_back(e.clone());
                for n in &self.notifiers {
                    n.push(e.clone());
                }
            }
        }
        // No viewer is not an error: send fails only when nobody listens.
        if let Some(h) = obs.host {
            let _ = self.updates.send(Update::Host(h));
        }
        for c in obs.cells {
            let _ = self.updates.send(Update::Cell(c));
        }
        for e in &obs.events {
            let _ = self.updates.send(Update::Event(e.clone()));
        }
        obs.events
    }

    /// A receiver of live updates from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// Every host's current view.
    pub fn hosts(&self) -> Vec<HostView> {
        lock(&self.engine).hosts()
    }

    /// Open incidents.
    pub fn open_alerts(&self) -> Vec<Event> {
        lock(&self.engine).open_alerts()
    }

    /// Recent tracked-value changes, newest last.
    pub fn recent_changes(&self) -> Vec<RecentChange> {
        lock(&self.engine).recent_changes()
    }

    /// Recent alerts and recoveries, newest last.
    pub fn recent_events(&self) -> Vec<Event> {
        lock(&self.recent_events).iter().cloned().collect()
    }

    /// The notifier queues, for their counters.
    pub fn notifiers(&self) -> &[NotifierHandle] {
        &self.notifiers
    }

    /// Wait until every notifier queue is empty or `timeout` passes; true if drained. Used at
    /// shutdown (and by tests) to let the last alerts go out.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.notifiers.iter().all(|n| n.queued() == 0) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The Prometheus text exposition of the monitor's counters.
    pub fn metrics_text(&self) -> String {
        let c = &self.counters;
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, rows: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let plain = |v: &AtomicU64| vec![(String::new(), v.load(Ordering::Relaxed))];
        metric(
            "fanout_monitor_polls_total",
            "counter",
            "Poll results received.",
            plain(&c.polls),
        );
        metric(
            "fanout_monitor_polls_failed_total",
            "counter",
            "Poll results where the device did not answer.",
            plain(&c.polls_failed),
        );
        metric(
            "fanout_monitor_open_alerts",
            "gauge",
            "Incidents open now.",
            vec![(String::new(), lock(&self.engine).open_count() as u64)],
        );
        metric(
            "fanout_monitor_alerts_total",
            "counter",
            "Alerts raised.",
            plain(&c.alerts),
        );
        metric(
            "fanout_monitor_recoveries_total",
            "counter",
            "Recoveries raised.",
            plain(&c.recoveries),
        );
        metric(
            "fanout_monitor_journal_failures_total",
            "counter",
            "Failed writes to alerts.jsonl.",
            plain(&c.journal_failures),
        );
        let per = |f: fn(&dispatch::NotifierStats) -> &AtomicU64| {
            self.notifiers
                .iter()
                .map(|n| {
                    (
                        format!("{{notifier=\"{}\"}}", n.name),
                        f(&n.stats).load(Ordering::Relaxed),
                    )
                })
                .collect::<Vec<_>>()
        };
        metric(
            "fanout_monitor_notifications_sent_total",
            "counter",
            "Notices delivered per notifier.",
            per(|s| &s.sent),
        );
        metric(
            "fanout_monitor_notifier_failures_total",
            "counter",
            "Notices given up on after all retries, per notifier.",
            per(|s| &s.failed),
        );
        metric(
            "fanout_monitor_notifier_attempt_failures_total",
            "counter",
            "Failed delivery attempts per notifier, retries included.",
            per(|s| &s.attempt_failures),
        );
        metric(
            "fanout_monitor_notifications_dropped_total",
            "counter",
            "Notices dropped from a full queue per notifier.",
            per(|s| &s.dropped),
        );
        metric(
            "fanout_monitor_notifications_suppressed_total",
            "counter",
            "Notices held back by the rate limit per notifier.",
            per(|s| &s.suppressed),
        );
        self.series_text(&mut out);
        out
    }

    /// Per-host, per-row gauges: `fanout_monitor_value` for numbers (a rate, a utilisation,
    /// an extracted CPU figure), `fanout_monitor_up` for tracked values. Their label sets are
    /// host × check × row, so a fleet of 10,000 switches with 48 ports each would be millions
    /// of series; the first `max_series` (by host, check, row) are shown and the rest
    /// counted in `fanout_monitor_series_dropped`, so a scrape stays bounded.
    fn series_text(&self, out: &mut String) {
        let limit = self.max_series.load(Ordering::Relaxed);
        let (series, dropped) = lock(&self.engine).series(limit);
        let _ = writeln!(
            out,
            "# HELP fanout_monitor_series_dropped Per-host series left out of this scrape (metrics_max_series).\n\
             # TYPE fanout_monitor_series_dropped gauge\nfanout_monitor_series_dropped {dropped}"
        );
        for (name, help, up) in [
            (
                "fanout_monitor_value",
                "Each host's number per check and row (interface): a rate, utilisation or extracted value.",
                false,
            ),
            (
                "fanout_monitor_up",
                "Each host's tracked value per check and row: 1 when it reads up, else 0.",
                true,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for s in series.iter().filter(|s| s.up == up) {
                let _ = writeln!(
                    out,
                    "{name}{{host=\"{}\",check=\"{}\",key=\"{}\"}} {}",
                    label(&s.host),
                    label(&s.check),
                    label(&s.key),
                    s.value
                );
            }
        }
    }
}

/// A Prometheus label value: backslash, quote and line break escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `kind`, or `kind-N` when several notifiers share a kind, so metric labels stay unique.
fn notifier_name(all: &[NotifierConfig], i: usize) -> String {
    let kind = all[i].kind();
    if all.iter().filter(|n| n.kind() == kind).count() > 1 {
        let nth = all[..i].iter().filter(|n| n.kind() == kind).count() + 1;
        format!("{kind}-{nth}")
    } else {
        kind.to_owned()
    }
}

/// A poisoned lock means a panic elsewhere mid-update; the state is still the best we have.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
