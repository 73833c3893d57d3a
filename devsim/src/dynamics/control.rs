//! The fleet's control API: one HTTP listener through which tests force a flap or a CPU spike
//! on a chosen device, and read back what that device shows now.
//!
//! ```text
//! GET  /devices/{name}         {"name": "r00003", "cpu": 3, "interfaces": [{"name": .., "status": "up"}, ..]}
//! POST /devices/{name}/link    {"interface": "GigabitEthernet1/0/1", "up": false}
//! POST /devices/{name}/cpu     {"percent": 95}      (null clears)
//! POST /devices/{name}/traffic {"interface": "GigabitEthernet1/0/1", "percent": 80}
//!                              extra traffic, percent of line rate, on top of the usual
//!                              (null stops it; SNMP octet counters show it)
//! POST /devices/{name}/clear   drop everything forced on the device
//! POST /churn                  {"percent": 1, "seed": 7, "moving_stamps": true}
//!                              → {"changed": ["r00012", ..]}: configurations changed now
//! ```
//!
//! Every POST answers with the device's new state, as GET does. An unknown device is 404, an
//! unknown interface or impossible percentage 400 with the reason as plain text.

use super::{Dynamics, InterfaceState};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// What GET and every POST answer.
#[derive(Debug, Serialize)]
struct DeviceState {
    name: String,
    /// Five-second CPU percentage.
    cpu: u8,
    interfaces: Vec<InterfaceState>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    interface: String,
    up: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficRequest {
    interface: String,
    percent: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CpuRequest {
    percent: Option<u8>,
}

/// `POST /churn`: change this share of the configurations now (between two backup runs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChurnRequest {
    percent: f64,
    #[serde(default)]
    seed: u64,
    /// Also turn moving stamps on (or off); left as it is when absent.
    #[serde(default)]
    moving_stamps: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Churned {
    changed: Vec<String>,
}

/// A failed control request: the status and the reason for the caller.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

type Reply = Result<Json<DeviceState>, Refusal>;

/// Serves the control API on `listener` until `cancel` fires.
pub(crate) async fn serve(
    listener: TcpListener,
    dynamics: Arc<Dynamics>,
    cancel: CancellationToken,
) {
    let app = Router::new()
        .route("/devices/{name}", get(show))
        .route("/devices/{name}/link", post(link))
        .route("/devices/{name}/cpu", post(cpu))
        .route("/devices/{name}/traffic", post(traffic))
        .route("/devices/{name}/clear", post(clear))
        .route("/churn", post(churn))
        .with_state(dynamics);
    if let Ok(address) = listener.local_addr() {
        info!(%address, "control api listening");
    }
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await
    {
        warn!(error = %e, "control api stopped");
    }
}

fn index(dynamics: &Dynamics, name: &str) -> Result<usize, Refusal> {
    dynamics
        .index_of(name)
        .ok_or_else(|| Refusal(StatusCode::NOT_FOUND, format!("no device named {name:?}")))
}

fn state(dynamics: &Dynamics, index: usize, name: String) -> Reply {
    let bad = |reason| Refusal(StatusCode::BAD_REQUEST, reason);
    Ok(Json(DeviceState {
        cpu: dynamics.cpu(index).map_err(bad)?,
        interfaces: dynamics.interfaces(index).map_err(bad)?,
        name,
    }))
}

async fn show(State(dynamics): State<Arc<Dynamics>>, Path(name): Path<String>) -> Reply {
    let index = index(&dynamics, &name)?;
    state(&dynamics, index, name)
}

async fn link(
    State(dynamics): State<Arc<Dynamics>>,
    Path(name): Path<String>,
    Json(request): Json<LinkRequest>,
) -> Reply {
    let index = index(&dynamics, &name)?;
    dynamics
        .set_link(index, &request.interface, request.up)
        .map_err(|reason| Refusal(StatusCode::BAD_REQUEST, reason))?;
    info!(device = %name, interface = %request.interface, up = request.up, "link forced");
    state(&dynamics, index, name)
}

async fn cpu(
    State(dynamics): State<Arc<Dynamics>>,
    Path(name): Path<String>,
    Json(request): Json<CpuRequest>,
) -> Reply {
    let index = index(&dynamics, &name)?;
    dynamics
        .set_cpu(index, request.percent)
        .map_err(|reason| Refusal(StatusCode::BAD_REQUEST, reason))?;
    info!(device = %name, percent = ?request.percent, "cpu forced");
    state(&dynamics, index, name)
}

async fn traffic(
    State(dynamics): State<Arc<Dynamics>>,
    Path(name): Path<String>,
    Json(request): Json<TrafficRequest>,
) -> Reply {
    let index = index(&dynamics, &name)?;
    dynamics
        .set_traffic(index, &request.interface, request.percent)
        .map_err(|reason| Refusal(StatusCode::BAD_REQUEST, reason))?;
    info!(device = %name, interface = %request.interface, percent = ?request.percent, "traffic forced");
    state(&dynamics, index, name)
}

async fn clear(State(dynamics): State<Arc<Dynamics>>, Path(name): Path<String>) -> Reply {
    let index = index(&dynamics, &name)?;
    dynamics
        .clear(index)
        .map_err(|reason| Refusal(StatusCode::BAD_REQUEST, reason))?;
    info!(device = %name, "forced state cleared");
    state(&dynamics, index, name)
}

async fn churn(
    State(dynamics): State<Arc<Dynamics>>,
    Json(request): Json<ChurnRequest>,
) -> Result<Json<Churned>, Refusal> {
    if !(0.0..=100.0).contains(&request.percent) {
        let why = format!("percent {} is outside 0..=100", request.percent);
        return Err(Refusal(StatusCode::BAD_REQUEST, why));
    }
    if let Some(on) = request.moving_stamps {
        dynamics.churn().set_moving_stamps(on);
    }
    let changed = dynamics.churn().step(request.percent, request.seed);
    info!(devices = changed.len(), "configurations changed");
    let names = changed
        .into_iter()
        .filter_map(|index| dynamics.device_name(index).ok())
        .collect();
    Ok(Json(Churned { changed: names }))
}
