//! The dashboard: one self-contained page, live updates over Server-Sent Events, JSON views
//! of the same state, and Prometheus `/metrics`.
//!
//! `serve(listener, monitor, shutdown)` takes a bound listener so tests (and the CLI) choose
//! the address, and a token so it stops with the rest of the monitor.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;
use futures::{Stream, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_util::sync::CancellationToken;

use crate::monitor::Monitor;

/// The page, inline CSS and JS included: the dashboard must work where no CDN is reachable.
const PAGE: &str = include_str!("dashboard.html");

/// Serve the dashboard on `listener` until `shutdown` is cancelled; open event streams end
/// then too, so shutdown is not held up by a browser tab.
pub async fn serve(
    listener: TcpListener,
    monitor: Arc<Monitor>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(monitor, shutdown.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[derive(Clone)]
struct AppState {
    monitor: Arc<Monitor>,
    shutdown: CancellationToken,
}

fn router(monitor: Arc<Monitor>, shutdown: CancellationToken) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/api/hosts", get(hosts))
        .route("/api/alerts", get(alerts))
        .route("/metrics", get(metrics))
        .with_state(AppState { monitor, shutdown })
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn hosts(State(s): State<AppState>) -> impl IntoResponse {
    Json(s.monitor.hosts())
}

async fn alerts(State(s): State<AppState>) -> impl IntoResponse {
    Json(json!({
        "open": s.monitor.open_alerts(),
        "recent": s.monitor.recent_events(),
        "changes": s.monitor.recent_changes(),
    }))
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.monitor.metrics_text(),
    )
}

/// One SSE message per update; a viewer that lagged behind gets `resync` and refetches the
/// JSON state instead of seeing a wrong grid.
async fn events(
    State(s): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let updates = BroadcastStream::new(s.monitor.subscribe()).map(|u| {
        Ok(match u {
            Ok(update) => SseEvent::default()
                .json_data(&update)
                .unwrap_or_else(|_| SseEvent::default().event("resync").data("{}")),
            Err(BroadcastStreamRecvError::Lagged(_)) => {
                SseEvent::default().event("resync").data("{}")
            }
        })
    });
    // Tell a (re)connecting page to fetch the current state: updates before this point were
    // not seen by it.
    let hello = futures::stream::once(async { Ok(SseEvent::default().event("resync").data("{}")) });
    let stream = hello
        .chain(updates)
        .take_until(s.shutdown.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
