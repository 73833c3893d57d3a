//! The state and alerting engine: pure, no I/O, time comes in with each poll.
//!
//! Keeping it pure means every alerting rule (flaps, thresholds with `for`, unreachable,
//! deduplication) is tested with scripted poll sequences instead of clocks and sockets.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::SystemTime;

use serde::Serialize;

use crate::config::{Check, MonitorConfig, Rule, Threshold, Track};
use crate::event::{CellChange, Event, EventKind, HostChange, Observation, rfc3339};

/// Check name used for "device stopped answering" incidents.
pub const REACHABILITY: &str = "reachability";

/// How many recent changes the dashboard keeps: enough to read, bounded for a long run.
const RECENT_CHANGES: usize = 200;

/// One poll of one check on one host, as a worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PollResult {
    pub host: String,
    /// When the poll was taken; the engine never reads a clock.
    pub at: SystemTime,
    /// Name of the check in `monitor.yaml`.
    pub check: String,
    pub outcome: PollOutcome,
}

/// What the device answered.
#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    Ok(Values),
    /// No answer (connect refused, timeout, session died): the reason is shown, not parsed.
    Unreachable(String),
}

/// A check's output after parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Tracked key → watched field (interface → status).
    Table(BTreeMap<String, String>),
    /// The number an `extract` regex pulled out.
    Number(f64),
    /// One number per row (interface → utilisation): an SNMP column, each row judged alone.
    Rows(BTreeMap<String, f64>),
}

/// What the engine knows about how to judge each check.
#[derive(Debug, Clone)]
enum Judge {
    Track,
    Number(Option<Threshold>),
    Rows(Option<Threshold>),
}

/// Per host × tracked key: the baseline and whether it is currently changed.
#[derive(Debug, Clone)]
struct KeyState {
    /// The first value seen: a change away from it is an incident, a return is the recovery.
    baseline: String,
    current: String,
}

/// Per host × numeric check.
#[derive(Debug, Clone, Default)]
struct NumberState {
    current: Option<f64>,
    /// Consecutive breaching polls so far.
    streak: u32,
    open: bool,
}

#[derive(Debug, Clone, Default)]
struct HostState {
    /// Consecutive unanswered polls per check; the device is unreachable when any check
    /// reaches the limit, and reachable again at its first answer.
    failures: HashMap<String, u32>,
    unreachable: bool,
    reason: Option<String>,
    last_poll: Option<SystemTime>,
    keys: HashMap<String, BTreeMap<String, KeyState>>,
    numbers: HashMap<String, NumberState>,
    /// Per-row numbers by check, then row (interface).
    rows: HashMap<String, BTreeMap<String, NumberState>>,
}

/// A recent change of a tracked value, for the dashboard's list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentChange {
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
    pub host: String,
    pub column: String,
    pub from: String,
    pub to: String,
}

/// One dashboard cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellView {
    pub value: String,
    pub ok: bool,
}

/// One host as the dashboard and `/api/hosts` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostView {
    pub host: String,
    pub reachable: bool,
    /// Why it is unreachable, when it is.
    pub reason: Option<String>,
    #[serde(serialize_with = "opt_rfc3339")]
    pub last_poll: Option<SystemTime>,
    /// Column → cell, columns being interface names and numeric check names.
    pub cells: BTreeMap<String, CellView>,
}

fn opt_rfc3339<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

/// All monitoring state; feed it polls with [`Engine::observe`].
#[derive(Debug)]
pub struct Engine {
    judges: HashMap<String, Judge>,
    unreachable_after: u32,
    hosts: BTreeMap<String, HostState>,
    /// Open incidents by id: the dedup set (an incident alerts once) and the dashboard list.
    open: BTreeMap<String, Event>,
    recent: VecDeque<RecentChange>,
}

impl Engine {
    /// An engine for the checks of `config`.
    pub fn new(config: &MonitorConfig) -> Self {
        Self::with_checks(&config.checks, config.unreachable_after)
    }

    /// An engine for `checks`, calling a device unreachable after `unreachable_after`
    /// consecutive failed polls of any one check.
    pub fn with_checks(checks: &[Check], unreachable_after: u32) -> Self {
        let judges = checks
            .iter()
            .map(|c| {
                let judge = match &c.rule {
                    Rule::Track(Track { .. }) | Rule::SnmpTrack => Judge::Track,
                    Rule::Extract { alert_when, .. } => Judge::Number(*alert_when),
                    Rule::SnmpValues { alert_when } => Judge::Rows(*alert_when),
                };
                (c.name.clone(), judge)
            })
            .collect();
        Engine {
            judges,
            unreachable_after: unreachable_after.max(1),
            hosts: BTreeMap::new(),
            open: BTreeMap::new(),
            recent: VecDeque::with_capacity(RECENT_CHANGES),
        }
    }

    /// Take one poll result and say what it changed. Results for unknown checks, or values of
    /// the wrong shape for their check, change nothing (the worker and this file disagree;
    /// the caller logs it).
    pub fn observe(&mut self, poll: &PollResult) -> Observation {
        let mut obs = Observation::default();
        let Some(judge) = self.judges.get(&poll.check).cloned() else {
            return obs;
        };
        let host = self.hosts.entry(poll.host.clone()).or_default();
        host.last_poll = Some(poll.at);
        match &poll.outcome {
            PollOutcome::Unreachable(reason) => {
                let n = host.failures.entry(poll.check.clone()).or_default();
                *n = n.saturating_add(1);
                host.reason = Some(reason.clone());
                if *n >= self.unreachable_after && !host.unreachable {
                    host.unreachable = true;
                    obs.host = Some(HostChange {
                        host: poll.host.clone(),
                        reachable: false,
                    });
                    let incident = format!("{}/{REACHABILITY}", poll.host);
                    let event = Event {
                        kind: EventKind::Alert,
                        incident: incident.clone(),
                        host: poll.host.clone(),
                        check: REACHABILITY.into(),
                        key: None,
                        from: None,
                        to: Some(reason.clone()),
                        at: poll.at,
                        summary: format!(
                            "{} is not answering ({} failed polls): {reason}",
                            poll.host, self.unreachable_after
                        ),
                    };
                    self.open.insert(incident, event.clone());
                    obs.events.push(event);
                }
                return obs;
            }
            PollOutcome::Ok(values) => {
                host.failures.clear();
                host.reason = None;
                if host.unreachable {
                    host.unreachable = false;
                    obs.host = Some(HostChange {
                        host: poll.host.clone(),
                        reachable: true,
                    });
                    let incident = format!("{}/{REACHABILITY}", poll.host);
                    self.open.remove(&incident);
                    obs.events.push(Event {
                        kind: EventKind::Recovery,
                        incident,
                        host: poll.host.clone(),
                        check: REACHABILITY.into(),
                        key: None,
                        from: None,
                        to: None,
                        at: poll.at,
                        summary: format!("{} is answering again", poll.host),
                    });
                }
                match (judge, values) {
                    (Judge::Track, Values::Table(rows)) => self.track(poll, rows, &mut obs),
                    (Judge::Number(t), Values::Number(v)) => self.number(poll, *v, t, &mut obs),
                    (Judge::Rows(t), Values::Rows(rows)) => self.rows(poll, rows, t, &mut obs),
                    _ => {}
                }
            }
        }
        obs
    }

    fn track(&mut self, poll: &PollResult, rows: &BTreeMap<String, String>, obs: &mut Observation) {
        let Some(host) = self.hosts.get_mut(&poll.host) else {
            return;
        };
        let keys = host.keys.entry(poll.check.clone()).or_default();
        for (key, value) in rows {
            let incident = format!("{}/{}/{key}", poll.host, poll.check);
            let Some(state) = keys.get_mut(key) else {
                keys.insert(
                    key.clone(),
                    KeyState {
                        baseline: value.clone(),
                        current: value.clone(),
                    },
                );
                obs.cells.push(cell(&poll.host, key, value));
                continue;
            };
            if state.current == *value {
                continue;
            }
            let from = std::mem::replace(&mut state.current, value.clone());
            obs.cells.push(cell(&poll.host, key, value));
            if self.recent.len() == RECENT_CHANGES {
                self.recent.pop_front();
            }
            self.recent.push_back(RecentChange {
                at: poll.at,
                host: poll.host.clone(),
                column: key.clone(),
                from: from.clone(),
                to: value.clone(),
            });
            let back_to_baseline = *value == state.baseline;
            let event = |kind, summary| Event {
                kind,
                incident: incident.clone(),
                host: poll.host.clone(),
                check: poll.check.clone(),
                key: Some(key.clone()),
                from: Some(from.clone()),
                to: Some(value.clone()),
                at: poll.at,
                summary,
            };
            if back_to_baseline {
                if self.open.remove(&incident).is_some() {
                    obs.events.push(event(
                        EventKind::Recovery,
                        format!("{} {key} {from} -> {value} (recovered)", poll.host),
                    ));
                }
            } else if !self.open.contains_key(&incident) {
                let e = event(
                    EventKind::Alert,
                    format!("{} {key} {from} -> {value}", poll.host),
                );
                self.open.insert(incident.clone(), e.clone());
                obs.events.push(e);
            }
        }
    }

    fn number(
        &mut self,
        poll: &PollResult,
        value: f64,
        threshold: Option<Threshold>,
        obs: &mut Observation,
    ) {
        let Some(host) = self.hosts.get_mut(&poll.host) else {
            return;
        };
        let state = host.numbers.entry(poll.check.clone()).or_default();
        let was_open = state.open;
        let previous = state.current;
        if let Some(event) = judge(state, poll, None, value, threshold) {
            apply(&mut self.open, &event);
            obs.events.push(event);
        }
        if previous != Some(value) || was_open != state.open {
            obs.cells.push(CellChange {
                host: poll.host.clone(),
                column: poll.check.clone(),
                value: fmt_number(value),
                ok: !state.open,
            });
        }
    }

    /// Per-row numbers: each row is judged (and alerts) on its own; the dashboard's one cell
    /// for the check shows the worst row, so a 48-port switch is one column, not 48.
    fn rows(
        &mut self,
        poll: &PollResult,
        rows: &BTreeMap<String, f64>,
        threshold: Option<Threshold>,
        obs: &mut Observation,
    ) {
        let Some(host) = self.hosts.get_mut(&poll.host) else {
            return;
        };
        let states = host.rows.entry(poll.check.clone()).or_default();
        let before = worst(states, threshold);
        for (key, value) in rows {
            let state = states.entry(key.clone()).or_default();
            if let Some(event) = judge(state, poll, Some(key), *value, threshold) {
                apply(&mut self.open, &event);
                obs.events.push(event);
            }
        }
        let after = worst(states, threshold);
        if let Some((value, ok)) = after
            && before != after
        {
            obs.cells.push(CellChange {
                host: poll.host.clone(),
                column: poll.check.clone(),
                value: fmt_number(value),
                ok,
            });
        }
    }

    /// Every host, sorted by name, for `/api/hosts` and the page's first paint.
    pub fn hosts(&self) -> Vec<HostView> {
        self.hosts
            .iter()
            .map(|(name, h)| {
                let mut cells = BTreeMap::new();
                for keys in h.keys.values() {
                    for (key, s) in keys {
                        cells.insert(key.clone(), cell_view(&s.current));
                    }
                }
                for (check, n) in &h.numbers {
                    if let Some(v) = n.current {
                        cells.insert(
                            check.clone(),
                            CellView {
                                value: fmt_number(v),
                                ok: !n.open,
                            },
                        );
                    }
                }
                for (check, rows) in &h.rows {
                    let threshold = match self.judges.get(check) {
                        Some(Judge::Rows(t)) => *t,
                        _ => None,
                    };
                    if let Some((v, ok)) = worst(rows, threshold) {
                        cells.insert(
                            check.clone(),
                            CellView {
                                value: fmt_number(v),
                                ok,
                            },
                        );
                    }
                }
                HostView {
                    host: name.clone(),
                    reachable: !h.unreachable,
                    reason: h.reason.clone(),
                    last_poll: h.last_poll,
                    cells,
                }
            })
            .collect()
    }

    /// Open incidents (their opening alerts), oldest id first.
    pub fn open_alerts(&self) -> Vec<Event> {
        self.open.values().cloned().collect()
    }

    /// How many incidents are open now.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Every per-host, per-row value for `/metrics`, sorted by host, check and row: numbers as
    /// they are, tracked values as 1 when `up` and 0 otherwise. At most `limit` series; the
    /// second value is how many more there were.
    pub fn series(&self, limit: usize) -> (Vec<Series>, usize) {
        let mut out = Vec::new();
        let mut more = 0usize;
        for (host, h) in &self.hosts {
            let mut checks: Vec<&String> = h
                .keys
                .keys()
                .chain(h.numbers.keys())
                .chain(h.rows.keys())
                .collect();
            checks.sort_unstable();
            checks.dedup();
            for check in checks {
                // Labels are built only for the series shown: past the limit a scrape of a
                // large fleet only counts.
                let mut push = |key: &str, value, up| {
                    if out.len() < limit {
                        out.push(Series {
                            host: host.clone(),
                            check: check.clone(),
                            key: key.to_string(),
                            value,
                            up,
                        });
                    } else {
                        more += 1;
                    }
                };
                if let Some(n) = h.numbers.get(check).and_then(|n| n.current) {
                    push("", n, false);
                }
                for (key, state) in h.rows.get(check).into_iter().flatten() {
                    if let Some(v) = state.current {
                        push(key, v, false);
                    }
                }
                for (key, state) in h.keys.get(check).into_iter().flatten() {
                    let up = cell_view(&state.current).ok;
                    push(key, if up { 1.0 } else { 0.0 }, true);
                }
            }
        }
        (out, more)
    }

    /// The most recent tracked-value changes, newest last.
    pub fn recent_changes(&self) -> Vec<RecentChange> {
        self.recent.iter().cloned().collect()
    }
}

/// Interface-like values are green only when they read `up`; anything else is worth a look.
fn cell_view(value: &str) -> CellView {
    CellView {
        value: value.to_owned(),
        ok: value.trim().eq_ignore_ascii_case("up"),
    }
}

fn cell(host: &str, column: &str, value: &str) -> CellChange {
    let v = cell_view(value);
    CellChange {
        host: host.to_owned(),
        column: column.to_owned(),
        value: v.value,
        ok: v.ok,
    }
}

/// One `/metrics` sample: a host's check, one row of it (empty for a single-number check).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub host: String,
    pub check: String,
    pub key: String,
    pub value: f64,
    /// A tracked value shown as 1 (`up`) or 0, rather than a number the device gave.
    pub up: bool,
}

/// Judges one number of one host's check (one row of it, for per-row checks): the alert when
/// it has breached for long enough, the recovery when it is back on the good side.
fn judge(
    state: &mut NumberState,
    poll: &PollResult,
    key: Option<&str>,
    value: f64,
    threshold: Option<Threshold>,
) -> Option<Event> {
    state.current = Some(value);
    let breached = threshold.is_some_and(|t| t.breached_by(value));
    let (incident, what) = match key {
        Some(key) => (
            format!("{}/{}/{key}", poll.host, poll.check),
            format!("{} {} {key}", poll.host, poll.check),
        ),
        None => (
            format!("{}/{}", poll.host, poll.check),
            format!("{} {}", poll.host, poll.check),
        ),
    };
    let event = |kind, summary| Event {
        kind,
        incident: incident.clone(),
        host: poll.host.clone(),
        check: poll.check.clone(),
        key: key.map(str::to_string),
        from: None,
        to: Some(fmt_number(value)),
        at: poll.at,
        summary,
    };
    if let (true, Some(t)) = (breached, threshold) {
        state.streak = state.streak.saturating_add(1);
        if state.streak >= t.for_polls && !state.open {
            state.open = true;
            return Some(event(
                EventKind::Alert,
                format!(
                    "{what} is {} ({} {} for {} polls)",
                    fmt_number(value),
                    match t.direction {
                        crate::config::Direction::Above => "above",
                        crate::config::Direction::Below => "below",
                    },
                    fmt_number(t.limit),
                    t.for_polls
                ),
            ));
        }
    } else {
        state.streak = 0;
        if state.open {
            state.open = false;
            return Some(event(
                EventKind::Recovery,
                format!("{what} is {} (recovered)", fmt_number(value)),
            ));
        }
    }
    None
}

/// Records an alert as open, or closes the incident a recovery ends.
fn apply(open: &mut BTreeMap<String, Event>, event: &Event) {
    match event.kind {
        EventKind::Alert => {
            open.insert(event.incident.clone(), event.clone());
        }
        EventKind::Recovery => {
            open.remove(&event.incident);
        }
    }
}

/// The row the dashboard shows for a per-row check: the one furthest on the bad side (the
/// highest without a threshold), and whether every row is fine.
fn worst(
    rows: &BTreeMap<String, NumberState>,
    threshold: Option<Threshold>,
) -> Option<(f64, bool)> {
    let below = threshold.is_some_and(|t| t.direction == crate::config::Direction::Below);
    let value = rows
        .values()
        .filter_map(|s| s.current)
        .reduce(|a, b| if below { a.min(b) } else { a.max(b) })?;
    Some((value, rows.values().all(|s| !s.open)))
}

fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
