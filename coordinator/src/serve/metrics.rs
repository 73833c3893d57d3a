//! `GET /metrics` (Prometheus text format) and `GET /healthz` on a plain HTTP listener, for
//! scrapers and orchestrators' probes inside the deployment's network.
//!
//! Every value is read from the coordinator's state at scrape time, so the page is rendered
//! by hand from one snapshot rather than kept in a metrics registry that would duplicate it.

use super::hub::Hub;
use crate::backup::scheduled::{BackupRuns, RunsState};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::fmt::Write;
use std::sync::Arc;

/// What the page is rendered from: the jobs, and the scheduled backups when there are any.
type Sources = (Arc<Hub>, Option<Arc<BackupRuns>>);

pub fn router(hub: Arc<Hub>, backups: Option<Arc<BackupRuns>>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state((hub, backups))
}

async fn metrics(State((hub, backups)): State<Sources>) -> impl IntoResponse {
    let mut page = render(&hub);
    if let Some(backups) = backups {
        page.push_str(&render_backups(&backups.snapshot()));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], page)
}

/// The scheduled backups of `fanout serve --backup-repo`: the last run's outcome, for alerts
/// such as `time() - fanout_backup_last_success_timestamp > 2 * 3600`.
fn render_backups(runs: &RunsState) -> String {
    let mut page = Page::default();
    page.family(
        "fanout_backup_last_success_timestamp",
        "gauge",
        "Unix time the last successful scheduled backup ended (repository written and, with --push, pushed); 0 before the first.",
    );
    page.sample(
        "fanout_backup_last_success_timestamp",
        "",
        runs.last_success_unix,
    );
    page.family(
        "fanout_backup_last_run_timestamp",
        "gauge",
        "Unix time the last scheduled backup ended, whatever it came to; 0 before the first.",
    );
    page.sample("fanout_backup_last_run_timestamp", "", runs.last_run_unix);
    page.family(
        "fanout_backup_last_duration_seconds",
        "gauge",
        "How long the last scheduled backup took.",
    );
    let _ = writeln!(
        page.text,
        "fanout_backup_last_duration_seconds {:.3}",
        runs.last_duration.as_secs_f64()
    );
    page.family(
        "fanout_backup_last_devices",
        "gauge",
        "Devices of the last scheduled backup that wrote the repository, by outcome.",
    );
    for (outcome, n) in [
        ("changed", runs.last_changed),
        ("unchanged", runs.last_unchanged),
        ("failed", runs.last_failed),
    ] {
        page.sample(
            "fanout_backup_last_devices",
            &format!("outcome=\"{outcome}\""),
            n,
        );
    }
    page.family(
        "fanout_backup_runs_total",
        "counter",
        "Scheduled backups ended, by result (failed: nothing committed, or not pushed).",
    );
    page.sample("fanout_backup_runs_total", "result=\"ok\"", runs.succeeded);
    page.sample("fanout_backup_runs_total", "result=\"failed\"", runs.failed);
    page.family(
        "fanout_backup_running",
        "gauge",
        "1 while a scheduled backup runs.",
    );
    page.sample("fanout_backup_running", "", u64::from(runs.running));
    page.text
}

fn render(hub: &Hub) -> String {
    let totals = hub.totals();
    let workers = hub.shared().workers();
    let mut page = Page::default();
    page.family("fanout_workers_attached", "gauge", "Workers attached now.");
    page.sample("fanout_workers_attached", "", workers.len() as u64);
    page.family(
        "fanout_jobs",
        "gauge",
        "Jobs known to the coordinator, by state.",
    );
    for state in ["running", "finished", "cancelled"] {
        let n = totals.jobs_by_state.get(state).copied().unwrap_or(0);
        page.sample("fanout_jobs", &format!("state=\"{state}\""), n);
    }
    page.family(
        "fanout_hosts_done_total",
        "counter",
        "Hosts with a final result.",
    );
    page.sample("fanout_hosts_done_total", "", totals.hosts_done);
    page.family(
        "fanout_hosts_failed_total",
        "counter",
        "Hosts whose final result is a failure, by kind.",
    );
    for (kind, n) in &totals.failed_by_kind {
        page.sample("fanout_hosts_failed_total", &format!("kind=\"{kind}\""), *n);
    }
    page.family(
        "fanout_worker_sessions_in_flight",
        "gauge",
        "Device sessions running on each worker (from its last heartbeat).",
    );
    for worker in &workers {
        let labels = format!("worker=\"{}\"", escape(&worker.worker_id));
        page.sample(
            "fanout_worker_sessions_in_flight",
            &labels,
            u64::from(worker.in_flight),
        );
    }
    page.family(
        "fanout_lease_reassignments_total",
        "counter",
        "Hosts re-leased because their worker vanished.",
    );
    page.sample("fanout_lease_reassignments_total", "", totals.reassigned);
    page.text
}

/// The exposition text: each family's HELP and TYPE lines, then its samples.
#[derive(Default)]
struct Page {
    text: String,
}

impl Page {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: u64) {
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name} {value}");
        } else {
            let _ = writeln!(self.text, "{name}{{{labels}}} {value}");
        }
    }
}

/// Label values are quoted; a worker id is the user's text.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
