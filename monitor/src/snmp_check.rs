//! SNMP checks in `monitor.yaml`: which column a check walks, which column names its rows, and
//! whether its counters become rates (and rates a share of the interface's speed).
//!
//! ```yaml
//! - name: links
//!   snmp: { walk: IF-MIB::ifOperStatus, index_by: IF-MIB::ifName }
//!   track: true                       # up -> down alerts, recovery when it returns
//! - name: in_util
//!   snmp: { walk: ifHCInOctets, index_by: ifName, rate: bits, utilisation_of: ifHighSpeed }
//!   alert_when: { above: 80, for: 2 }  # percent of line rate, two polls running
//! ```
//!
//! Names resolve through the built-in OID table when the file loads, so a typo is bad input
//! with the file's line, not a check that silently never matches.

use std::collections::{BTreeMap, HashMap};

use fanout_common::snmp_names::Names;
use serde::Deserialize;

use crate::engine::Values;
use crate::rate::{self, Reading, Step, Width};

/// `sysUpTime.0`: polled with every rate check; when it goes back the agent restarted and
/// its counters with it.
pub const SYS_UPTIME_0: &str = "1.3.6.1.2.1.1.3.0";
/// `IF-MIB::ifHighSpeed`, in Mbit/s.
const IF_HIGH_SPEED: &str = "1.3.6.1.2.1.31.1.1.1.15";
/// `IF-MIB::ifSpeed`, in bit/s (saturates at 4.29 Gbit/s: use ifHighSpeed above that).
const IF_SPEED: &str = "1.3.6.1.2.1.2.2.1.5";

/// What an SNMP check polls, names already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SnmpSource {
    /// The column walked: one value per row (interface).
    pub walk: Column,
    /// The column whose value names each row (`ifName`); without it rows are named by their
    /// index (`3`).
    pub index_by: Option<Column>,
    /// Turn the walked counters into per-second rates.
    pub rate: Option<RateUnit>,
    /// Divide the rate by this speed column and show a percentage.
    pub utilisation_of: Option<Speed>,
}

/// One column (or scalar) as written in the file and as a numeric OID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub written: String,
    pub oid: String,
}

/// How a counter's per-second rate is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateUnit {
    /// The counter's own unit per second (packets/s for a packet counter).
    PerSecond,
    /// An octet counter times 8: bits per second, as links are rated.
    Bits,
}

/// A speed column and what one of its units is in bit/s.
#[derive(Debug, Clone, PartialEq)]
pub struct Speed {
    pub column: Column,
    /// 1,000,000 for ifHighSpeed (Mbit/s), 1 for ifSpeed.
    pub bits_per_unit: f64,
}

/// `snmp:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSnmp {
    walk: String,
    index_by: Option<String>,
    rate: Option<RateUnit>,
    utilisation_of: Option<String>,
}

impl SnmpSource {
    /// The numeric OIDs this check walks, in the order the worker is asked for them (the
    /// column, its names, the speed), so their answers never overlap.
    pub fn walks(&self) -> Vec<&Column> {
        std::iter::once(&self.walk)
            .chain(&self.index_by)
            .chain(self.utilisation_of.as_ref().map(|s| &s.column))
            .collect()
    }

    /// Whether `sysUpTime.0` is polled with it (rates need it to see agent restarts).
    pub fn needs_uptime(&self) -> bool {
        self.rate.is_some()
    }
}

/// Checks an `snmp:` section: every name resolves, the columns do not contain one another,
/// utilisation has a known speed column and a bit rate. `Err` carries the text to point at
/// (for the line) and the reason.
pub(crate) fn from_raw(
    raw: RawSnmp,
    check: &str,
    names: &Names,
) -> Result<SnmpSource, (String, String)> {
    let column = |written: &str, key: &str| {
        names
            .resolve(written)
            .map(|oid| Column {
                written: written.trim().to_string(),
                oid,
            })
            .map_err(|e| {
                (
                    written.to_string(),
                    format!("check `{check}`: snmp.{key} {e}"),
                )
            })
    };
    let walk = column(&raw.walk, "walk")?;
    let index_by = raw
        .index_by
        .as_deref()
        .map(|t| column(t, "index_by"))
        .transpose()?;
    let utilisation_of = match raw.utilisation_of.as_deref() {
        None => None,
        Some(text) => {
            let column = column(text, "utilisation_of")?;
            let bits_per_unit = match column.oid.as_str() {
                IF_HIGH_SPEED => 1_000_000.0,
                IF_SPEED => 1.0,
                _ => {
                    return Err((
                        text.to_string(),
                        format!(
                            "check `{check}`: utilisation_of must be IF-MIB::ifHighSpeed \
                             (Mbit/s) or IF-MIB::ifSpeed (bit/s), whose units are known"
                        ),
                    ));
                }
            };
            Some(Speed {
                column,
                bits_per_unit,
            })
        }
    };
    let rate = match (raw.rate, &utilisation_of) {
        (Some(RateUnit::PerSecond), Some(speed)) => {
            return Err((
                speed.column.written.clone(),
                format!(
                    "check `{check}`: utilisation compares bits/s with the line rate; use \
                     `rate: bits` (or leave rate out) with utilisation_of"
                ),
            ));
        }
        (None, Some(_)) => Some(RateUnit::Bits),
        (rate, _) => rate,
    };
    let source = SnmpSource {
        walk,
        index_by,
        rate,
        utilisation_of,
    };
    let walks = source.walks();
    for (i, a) in walks.iter().enumerate() {
        for b in walks.iter().skip(i + 1) {
            let nested = |x: &str, y: &str| x == y || y.starts_with(&format!("{x}."));
            if nested(&a.oid, &b.oid) || nested(&b.oid, &a.oid) {
                return Err((
                    b.written.clone(),
                    format!(
                        "check `{check}`: {} and {} overlap; each must be its own column",
                        a.written, b.written
                    ),
                ));
            }
        }
    }
    Ok(source)
}

// ---- reading a poll ------------------------------------------------------------------------

/// What rates need from the previous poll of one host's check: the last reading of each row's
/// counter, by row index. The poll parser keeps one per host × check; rows that vanish from
/// the walk are forgotten, so it holds at most one reading per interface the agent has.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    readings: HashMap<String, Reading>,
}

/// One varbind line as the worker prints it (`fanout run --snmp-walk`'s records).
#[derive(Deserialize)]
struct Line {
    oid: String,
    #[serde(rename = "type")]
    kind: String,
    value: Option<serde_json::Value>,
    hex: Option<String>,
}

/// `ifAdminStatus` and `ifOperStatus`: INTEGER enumerations that people read as words, and the
/// dashboard colours green only when they read `up`.
const IF_STATUS: [&str; 2] = ["1.3.6.1.2.1.2.2.1.7", "1.3.6.1.2.1.2.2.1.8"];
const IF_STATUS_NAMES: [&str; 7] = [
    "up",
    "down",
    "testing",
    "unknown",
    "dormant",
    "notPresent",
    "lowerLayerDown",
];

impl SnmpSource {
    /// The engine's values from one poll's output (JSON lines of the walks, and `sysUpTime.0`
    /// when rates are asked), rows named by `index_by`:
    ///
    /// - `track`: each row's value as text (`up`/`down` for the IF-MIB status columns);
    /// - otherwise one number per row: the value itself, its per-second rate (bits/s for
    ///   `rate: bits`), or that rate as a percentage of the row's speed. A row whose rate
    ///   cannot be told yet (first poll, agent restart, cached answer) is left out this poll.
    pub fn read(
        &self,
        output: &[u8],
        at_ms: u64,
        track: bool,
        counters: &mut Counters,
    ) -> Result<Values, String> {
        let mut walked: BTreeMap<String, Line> = BTreeMap::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut speeds: HashMap<String, f64> = HashMap::new();
        let mut uptime = None;
        let under = |oid: &str, column: &Column| {
            oid.strip_prefix(column.oid.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .map(str::to_string)
        };
        for text in output.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let line: Line = serde_json::from_slice(text)
                .map_err(|e| format!("unreadable SNMP record ({e})"))?;
            if matches!(
                line.kind.as_str(),
                "no_such_object" | "no_such_instance" | "end_of_mib_view"
            ) {
                continue;
            }
            if line.oid == SYS_UPTIME_0 {
                uptime = line.value.as_ref().and_then(serde_json::Value::as_u64);
                uptime = uptime.filter(|t| *t <= u64::from(u32::MAX));
            } else if let Some(index) = under(&line.oid, &self.walk) {
                walked.insert(index, line);
            } else if let Some(index) = self.index_by.as_ref().and_then(|c| under(&line.oid, c)) {
                names.insert(index, text_of(&line));
            } else if let Some(index) = self
                .utilisation_of
                .as_ref()
                .and_then(|s| under(&line.oid, &s.column))
                && let Some(speed) = line.value.as_ref().and_then(serde_json::Value::as_f64)
            {
                speeds.insert(index, speed);
            }
        }
        if walked.is_empty() {
            return Err(format!(
                "the agent has no rows under {} ({})",
                self.walk.written, self.walk.oid
            ));
        }
        // A name the agent did not give (or gave twice) falls back to the row's index, so two
        // rows never merge into one.
        let mut taken = std::collections::HashSet::new();
        let mut name_of = |index: &str| match names.get(index) {
            Some(name) if !name.is_empty() && taken.insert(name.clone()) => name.clone(),
            _ => index.to_string(),
        };
        if track {
            let rows = walked
                .iter()
                .map(|(index, line)| (name_of(index), self.shown(line)))
                .collect();
            return Ok(Values::Table(rows));
        }
        let mut rows = BTreeMap::new();
        if self.rate.is_none() {
            for (index, line) in &walked {
                let number = line
                    .value
                    .as_ref()
                    .and_then(serde_json::Value::as_f64)
                    .ok_or_else(|| {
                        format!(
                            "{}.{index} is a {}, not a number",
                            self.walk.written, line.kind
                        )
                    })?;
                rows.insert(name_of(index), number);
            }
            return Ok(Values::Rows(rows));
        }
        let uptime = uptime.map(|t| t as u32);
        counters
            .readings
            .retain(|index, _| walked.contains_key(index));
        for (index, line) in &walked {
            let width = match line.kind.as_str() {
                "counter32" => Width::Bits32,
                "counter64" => Width::Bits64,
                other => {
                    return Err(format!(
                        "{}.{index} is a {other}, not a counter: a rate needs a Counter32 or \
                         Counter64 column",
                        self.walk.written
                    ));
                }
            };
            // A counter row without a number is a broken answer, not a row to leave out
            // quietly: the plain-number path above refuses it the same way.
            let value = line
                .value
                .as_ref()
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| {
                    format!(
                        "{}.{index} is a {} without a number",
                        self.walk.written, line.kind
                    )
                })?;
            let current = Reading {
                value,
                width,
                uptime,
                at_ms,
            };
            let step = match counters.readings.get(index) {
                Some(previous) => rate::step(previous, &current),
                None => Step::Rebase("first reading"),
            };
            let per_second = match step {
                Step::Unchanged => continue,
                Step::Rebase(_) => {
                    counters.readings.insert(index.clone(), current);
                    continue;
                }
                Step::Rate(r) => {
                    counters.readings.insert(index.clone(), current);
                    r
                }
            };
            let shown = match self.rate {
                Some(RateUnit::Bits) => per_second * 8.0,
                _ => per_second,
            };
            let number = match &self.utilisation_of {
                None => shown,
                Some(speed) => match speeds.get(index) {
                    Some(units) if *units > 0.0 => shown / (units * speed.bits_per_unit) * 100.0,
                    // No speed (or 0: a virtual interface) is no utilisation to judge.
                    _ => continue,
                },
            };
            rows.insert(name_of(index), number);
        }
        Ok(Values::Rows(rows))
    }

    /// A tracked row's value as shown: status words for the IF-MIB status columns.
    fn shown(&self, line: &Line) -> String {
        if IF_STATUS.contains(&self.walk.oid.as_str())
            && let Some(n) = line.value.as_ref().and_then(serde_json::Value::as_u64)
            && let Some(name) = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| IF_STATUS_NAMES.get(i))
        {
            return (*name).to_string();
        }
        text_of(line)
    }
}

fn text_of(line: &Line) -> String {
    match (&line.value, &line.hex) {
        (Some(serde_json::Value::String(s)), _) => s.clone(),
        (Some(other), _) => other.to_string(),
        (None, Some(hex)) => hex.clone(),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(
        walk: &str,
        index_by: Option<&str>,
        rate: Option<RateUnit>,
        of: Option<&str>,
    ) -> SnmpSource {
        from_raw(
            RawSnmp {
                walk: walk.into(),
                index_by: index_by.map(Into::into),
                rate,
                utilisation_of: of.map(Into::into),
            },
            "c",
            Names::builtin(),
        )
        .unwrap()
    }

    fn line(oid: &str, kind: &str, value: serde_json::Value) -> String {
        serde_json::json!({"oid": oid, "type": kind, "value": value}).to_string() + "\n"
    }

    const OPER: &str = "1.3.6.1.2.1.2.2.1.8";
    const NAME: &str = "1.3.6.1.2.1.31.1.1.1.1";
    const HC_IN: &str = "1.3.6.1.2.1.31.1.1.1.6";

    #[test]
    fn tracked_status_reads_as_words_by_interface_name() {
        let s = source("IF-MIB::ifOperStatus", Some("IF-MIB::ifName"), None, None);
        let out = [
            line(&format!("{OPER}.1"), "integer", 1.into()),
            line(&format!("{OPER}.2"), "integer", 2.into()),
            line(&format!("{OPER}.3"), "integer", 7.into()),
            line(&format!("{NAME}.1"), "octet_string", "Gi1/0/1".into()),
            line(&format!("{NAME}.2"), "octet_string", "Gi1/0/2".into()),
        ]
        .concat();
        let Values::Table(rows) = s
            .read(out.as_bytes(), 0, true, &mut Counters::default())
            .unwrap()
        else {
            panic!()
        };
        // Row 3 has no name: its index stands in, rather than it vanishing.
        assert_eq!(
            rows.into_iter().collect::<Vec<_>>(),
            [
                ("3".to_string(), "lowerLayerDown".to_string()),
                ("Gi1/0/1".to_string(), "up".to_string()),
                ("Gi1/0/2".to_string(), "down".to_string()),
            ]
        );
    }

    #[test]
    fn a_counter_without_a_number_is_an_error_not_a_missing_row() {
        let s = source("ifHCInOctets", None, Some(RateUnit::Bits), None);
        let out = [
            line(&format!("{HC_IN}.1"), "counter64", 5.into()),
            line(&format!("{HC_IN}.2"), "counter64", serde_json::Value::Null),
            line(SYS_UPTIME_0, "timeticks", 100.into()),
        ]
        .concat();
        let err = s
            .read(out.as_bytes(), 0, false, &mut Counters::default())
            .unwrap_err();
        assert!(
            err.contains("ifHCInOctets.2 is a counter64 without a number"),
            "{err}"
        );
    }

    #[test]
    fn utilisation_is_the_bit_rate_over_the_speed_timed_by_sys_uptime() {
        let s = source("ifHCInOctets", Some("ifName"), None, Some("ifHighSpeed"));
        assert_eq!(s.rate, Some(RateUnit::Bits));
        let poll = |octets: u64, uptime: u64| {
            [
                line(&format!("{HC_IN}.1"), "counter64", octets.into()),
                line(&format!("{HC_IN}.2"), "counter64", 0.into()),
                line(&format!("{NAME}.1"), "octet_string", "Gi1/0/1".into()),
                line(&format!("{NAME}.2"), "octet_string", "Vlan1".into()),
                // 1000 Mbit/s and 0 (no utilisation for a speedless row).
                line("1.3.6.1.2.1.31.1.1.1.15.1", "gauge32", 1000.into()),
                line("1.3.6.1.2.1.31.1.1.1.15.2", "gauge32", 0.into()),
                line(SYS_UPTIME_0, "timeticks", uptime.into()),
            ]
            .concat()
        };
        let mut counters = Counters::default();
        let rows = |v: Values| match v {
            Values::Rows(r) => r.into_iter().collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        // The first poll is the baseline: no rate yet.
        assert_eq!(
            rows(
                s.read(poll(0, 100).as_bytes(), 0, false, &mut counters)
                    .unwrap()
            ),
            []
        );
        // 1,250,000,000 octets in 10 s: 1 Gbit/s on a 1 Gbit/s port.
        let full = s.read(
            poll(1_250_000_000, 1_100).as_bytes(),
            0,
            false,
            &mut counters,
        );
        assert_eq!(rows(full.unwrap()), [("Gi1/0/1".to_string(), 100.0)]);
        // The same answer again (an agent's cache): nothing new to say.
        let same = s.read(
            poll(1_250_000_000, 1_100).as_bytes(),
            0,
            false,
            &mut counters,
        );
        assert_eq!(rows(same.unwrap()), []);
        // A quarter of the line for the next 10 s.
        let quarter = s.read(
            poll(1_562_500_000, 2_100).as_bytes(),
            0,
            false,
            &mut counters,
        );
        assert_eq!(rows(quarter.unwrap()), [("Gi1/0/1".to_string(), 25.0)]);
        // The agent restarted: no bogus rate, a new baseline.
        let restarted = s.read(poll(5, 50).as_bytes(), 0, false, &mut counters);
        assert_eq!(rows(restarted.unwrap()), []);
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        let s = source("ifHighSpeed", None, Some(RateUnit::PerSecond), None);
        let gauge = line("1.3.6.1.2.1.31.1.1.1.15.1", "gauge32", 1000.into());
        let err = s
            .read(gauge.as_bytes(), 0, false, &mut Counters::default())
            .unwrap_err();
        assert!(err.contains("not a counter"), "{err}");
        let err = s.read(b"", 0, false, &mut Counters::default()).unwrap_err();
        assert!(err.contains("no rows under ifHighSpeed"), "{err}");
        // Without a rate, a gauge is the number shown, by index when there is no index_by.
        let plain = source("ifHighSpeed", None, None, None);
        assert_eq!(
            plain.read(gauge.as_bytes(), 0, false, &mut Counters::default()),
            Ok(Values::Rows([("1".to_string(), 1000.0)].into()))
        );
    }
}
