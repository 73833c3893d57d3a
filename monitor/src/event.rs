//! What the engine tells the world: alerts, recoveries and dashboard cell changes.

use std::time::SystemTime;

use serde::{Serialize, Serializer};

/// Whether an incident opened or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Alert,
    Recovery,
}

/// One alert or recovery; the unit that notifiers send and `alerts.jsonl` records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Alert when an incident opens, recovery when it closes.
    pub kind: EventKind,
    /// Identity of the incident (`host/check/key`): an alert and its recovery share it, and
    /// the dashboard lists open alerts by it.
    pub incident: String,
    /// The device concerned.
    pub host: String,
    /// The check that saw it (`reachability` for a device that stopped answering).
    pub check: String,
    /// The tracked key (an interface), when the check tracks a table.
    pub key: Option<String>,
    /// Value before the change, for tracked keys.
    pub from: Option<String>,
    /// Value after the change (or the number that crossed the threshold).
    pub to: Option<String>,
    /// When the poll that caused it was taken.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
    /// One human line, used as the message text by every notifier.
    pub summary: String,
}

/// One dashboard cell that changed (host × column), so the page repaints only that cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellChange {
    pub host: String,
    /// The interface name for tracked tables, the check name for numbers.
    pub column: String,
    /// What to show.
    pub value: String,
    /// Green or red.
    pub ok: bool,
}

/// A device's reachability as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostChange {
    pub host: String,
    pub reachable: bool,
}

/// Everything one poll changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Observation {
    /// Alerts and recoveries, already deduplicated.
    pub events: Vec<Event>,
    /// Cells whose value or colour changed.
    pub cells: Vec<CellChange>,
    /// Set when the host's reachability flipped.
    pub host: Option<HostChange>,
}

/// Serialises a time as RFC 3339 UTC, which every log tool reads.
pub fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_rfc3339_millis(*t).to_string())
}
