//! Turns a worker's [`PollReport`] into the [`PollResult`] the monitor engine judges: TextFSM
//! tables for tracked checks, one regex capture for numeric ones, and for SNMP checks the
//! walked varbinds by row, counters turned into rates against the host's previous poll.
//! Parsing happens here, not in the worker, so workers stay generic (and keep no state per
//! host: a host moved to another worker keeps its rates) and every template problem shows in
//! one log.

use fanout_common::proto::PollReport;
use fanout_monitor::config::{Check, Rule, Source};
use fanout_monitor::snmp_check::Counters;
use fanout_monitor::{PollOutcome, PollResult, Values};
use fanout_rules::TemplateIndex;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses polls for one monitor job.
pub struct PollParser {
    checks: HashMap<String, Check>,
    /// Platform by host name: which templates apply.
    platforms: HashMap<String, String>,
    templates: TemplateIndex,
    /// The previous counter readings of each host's rate checks, by host and check.
    counters: HashMap<(String, String), Counters>,
}

/// Why a poll's output could not be read; the poll is skipped (and logged), never mistaken for
/// an unreachable device.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("poll for unknown check {0:?}")]
    UnknownCheck(String),
    #[error("check {check}: {message}")]
    Output { check: String, message: String },
}

impl PollParser {
    pub fn new(
        checks: &[Check],
        platforms: HashMap<String, String>,
        templates: TemplateIndex,
    ) -> Self {
        PollParser {
            checks: checks.iter().map(|c| (c.name.clone(), c.clone())).collect(),
            platforms,
            templates,
            counters: HashMap::new(),
        }
    }

    /// Checks, before anything runs, that every tracked check can be read on every platform
    /// the hosts run: a template exists for its command, and the template has the `key` and
    /// `field` columns it names. Otherwise every poll would fail at run time, silently to
    /// the person who started the monitor.
    pub fn check_tracked_columns(&self) -> Result<(), String> {
        let mut platforms: Vec<&str> = self.platforms.values().map(String::as_str).collect();
        platforms.sort_unstable();
        platforms.dedup();
        let mut checks: Vec<&Check> = self.checks.values().collect();
        checks.sort_by(|a, b| a.name.cmp(&b.name));
        for check in checks {
            let (Rule::Track(track), Source::Command(command)) = (&check.rule, &check.source)
            else {
                continue;
            };
            for platform in &platforms {
                let templates = self
                    .templates
                    .templates(platform, command)
                    .map_err(|e| format!("check `{}`: {e}", check.name))?;
                let header: Vec<String> = templates
                    .iter()
                    .flat_map(|t| t.header().into_iter().map(str::to_string))
                    .collect();
                for (role, name) in [("key", &track.key), ("field", &track.field)] {
                    column(&header, name).map_err(|_| {
                        format!(
                            "check `{}`: track.{role} `{name}` is not a column of the {platform} \
                             template for `{command}` (it has {})",
                            check.name,
                            header.join(", ")
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    /// The engine's view of one report.
    pub fn parse(&mut self, report: PollReport) -> Result<PollResult, ParseError> {
        let check = self
            .checks
            .get(&report.check)
            .ok_or_else(|| ParseError::UnknownCheck(report.check.clone()))?;
        let at = UNIX_EPOCH + Duration::from_millis(report.at_unix_ms);
        let at = if report.at_unix_ms == 0 {
            SystemTime::now()
        } else {
            at
        };
        let outcome = match &report.failure {
            Some(failure) => PollOutcome::Unreachable(failure.message.clone()),
            None if matches!(check.source, Source::Snmp(_)) => {
                let counters = self
                    .counters
                    .entry((report.host.clone(), report.check.clone()))
                    .or_default();
                PollOutcome::Ok(
                    snmp_values(check, &report.output, report.at_unix_ms, counters).map_err(
                        |message| ParseError::Output {
                            check: check.name.clone(),
                            message,
                        },
                    )?,
                )
            }
            None => {
                let text = String::from_utf8_lossy(&report.output);
                let platform = self
                    .platforms
                    .get(&report.host)
                    .map_or("cisco_ios", String::as_str);
                PollOutcome::Ok(self.values(check, platform, &text).map_err(|message| {
                    ParseError::Output {
                        check: check.name.clone(),
                        message,
                    }
                })?)
            }
        };
        Ok(PollResult {
            host: report.host,
            at,
            check: report.check,
            outcome,
        })
    }

    fn values(&self, check: &Check, platform: &str, text: &str) -> Result<Values, String> {
        match &check.rule {
            Rule::Extract { regex, .. } => {
                let captured = regex
                    .captures(text)
                    .and_then(|c| c.get(1))
                    .ok_or_else(|| format!("/{}/ does not match the output", regex.as_str()))?;
                captured
                    .as_str()
                    .trim()
                    .parse::<f64>()
                    .map(Values::Number)
                    .map_err(|_| format!("{:?} is not a number", captured.as_str()))
            }
            Rule::SnmpTrack | Rule::SnmpValues { .. } => {
                Err("an SNMP rule on a CLI check".to_string())
            }
            Rule::Track(track) => {
                let Source::Command(command) = &check.source else {
                    return Err("a CLI rule on an SNMP check".to_string());
                };
                let table = self
                    .templates
                    .parse(platform, command, text)
                    .map_err(|e| e.to_string())?;
                let key = column(&table.header, &track.key)?;
                let field = column(&table.header, &track.field)?;
                let rows: BTreeMap<String, String> = table
                    .rows
                    .iter()
                    .filter_map(|row| Some((display(row.get(&key)?), display(row.get(&field)?))))
                    .collect();
                Ok(Values::Table(rows))
            }
        }
    }
}

/// An SNMP check's values from its walks' varbinds.
fn snmp_values(
    check: &Check,
    output: &[u8],
    at_ms: u64,
    counters: &mut Counters,
) -> Result<Values, String> {
    let Source::Snmp(source) = &check.source else {
        return Err("not an SNMP check".to_string());
    };
    source.read(
        output,
        at_ms,
        matches!(check.rule, Rule::SnmpTrack),
        counters,
    )
}

/// The template column `name` refers to: case-insensitive, and `intf` for `INTERFACE` as
/// ntc-templates' older column name.
fn column(header: &[String], name: &str) -> Result<String, String> {
    let wanted = name.to_ascii_uppercase();
    let aliases: &[&str] = match wanted.as_str() {
        "INTF" => &["INTERFACE"],
        "INTERFACE" => &["INTF"],
        _ => &[],
    };
    header
        .iter()
        .find(|h| h.eq_ignore_ascii_case(&wanted))
        .or_else(|| {
            header
                .iter()
                .find(|h| aliases.iter().any(|a| h.eq_ignore_ascii_case(a)))
        })
        .cloned()
        .ok_or_else(|| {
            format!(
                "no column {name:?} in the parsed table ({})",
                header.join(", ")
            )
        })
}

fn display(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::proto::Failure;
    use fanout_common::snmp_names::Names;
    use fanout_monitor::MonitorConfig;
    use std::path::Path;

    const CHECKS: &str = r#"
checks:
  - name: interfaces
    command: show ip interface brief
    parse: textfsm
    track: { key: intf, field: status }
  - name: cpu
    command: show processes cpu | include CPU
    extract: 'five seconds: (\d+)%'
    alert_when: { above: 80, for: 2 }
alerts: []
"#;

    fn parser() -> PollParser {
        let config = MonitorConfig::parse(
            CHECKS,
            Path::new("monitor.yaml"),
            |_| None,
            Names::builtin(),
        )
        .unwrap();
        let platforms = HashMap::from([("r1".to_string(), "cisco_ios".to_string())]);
        PollParser::new(&config.checks, platforms, TemplateIndex::bundled())
    }

    fn report(check: &str, output: &str) -> PollReport {
        PollReport {
            host: "r1".into(),
            check: check.into(),
            at_unix_ms: 1_700_000_000_000,
            output: output.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn tracked_columns_are_checked_before_anything_runs() {
        assert_eq!(parser().check_tracked_columns(), Ok(()));
        let config = MonitorConfig::parse(
            &CHECKS.replace("key: intf", "key: port"),
            Path::new("monitor.yaml"),
            |_| None,
            Names::builtin(),
        )
        .unwrap();
        let platforms = HashMap::from([("r1".to_string(), "cisco_ios".to_string())]);
        let wrong = PollParser::new(&config.checks, platforms, TemplateIndex::bundled());
        let err = wrong.check_tracked_columns().unwrap_err();
        assert!(
            err.starts_with("check `interfaces`: track.key `port` is not a column of the cisco_ios template for `show ip interface brief` (it has INTERFACE, "),
            "{err}"
        );
        // A platform without a template for the command cannot be tracked either.
        let platforms = HashMap::from([("r1".to_string(), "no_such_os".to_string())]);
        let missing = PollParser::new(&parser_checks(), platforms, TemplateIndex::bundled());
        let err = missing.check_tracked_columns().unwrap_err();
        assert!(err.starts_with("check `interfaces`: "), "{err}");
    }

    fn parser_checks() -> Vec<Check> {
        MonitorConfig::parse(
            CHECKS,
            Path::new("monitor.yaml"),
            |_| None,
            Names::builtin(),
        )
        .unwrap()
        .checks
    }

    #[test]
    fn tables_numbers_and_failures() {
        let mut p = parser();
        let brief = "Interface              IP-Address      OK? Method Status                Protocol\n\
                     GigabitEthernet1/0/1   unassigned      YES unset  down                  down\n\
                     Loopback0              10.255.0.8      YES NVRAM  up                    up\n";
        let got = p.parse(report("interfaces", brief)).unwrap();
        let PollOutcome::Ok(Values::Table(rows)) = got.outcome else {
            panic!("{got:?}")
        };
        assert_eq!(rows["GigabitEthernet1/0/1"], "down");
        assert_eq!(rows["Loopback0"], "up");
        let cpu = "CPU utilization for five seconds: 96%/0%; one minute: 27%; five minutes: 16%\n";
        let got = p.parse(report("cpu", cpu)).unwrap();
        assert_eq!(got.outcome, PollOutcome::Ok(Values::Number(96.0)));
        let mut dead = report("cpu", "");
        dead.failure = Some(Failure {
            message: "connection refused".into(),
            ..Default::default()
        });
        assert_eq!(
            p.parse(dead).unwrap().outcome,
            PollOutcome::Unreachable("connection refused".into())
        );
        assert!(p.parse(report("cpu", "% Invalid input")).is_err());
        assert!(p.parse(report("nope", "")).is_err());
    }

    #[test]
    fn snmp_counters_become_rates_per_host_across_reports() {
        let config = MonitorConfig::parse(
            "checks:\n  - name: in_bps\n    snmp: { walk: ifHCInOctets, index_by: ifName, rate: bits }\n",
            Path::new("monitor.yaml"),
            |_| None,
            Names::builtin(),
        )
        .unwrap();
        let mut p = PollParser::new(&config.checks, HashMap::new(), TemplateIndex::bundled());
        let poll = |host: &str, octets: u64, uptime: u32| {
            let lines = format!(
                "{{\"oid\":\"1.3.6.1.2.1.31.1.1.1.6.1\",\"type\":\"counter64\",\"value\":{octets}}}\n\
                 {{\"oid\":\"1.3.6.1.2.1.31.1.1.1.1.1\",\"type\":\"octet_string\",\"value\":\"Gi1/0/1\"}}\n\
                 {{\"oid\":\"1.3.6.1.2.1.1.3.0\",\"type\":\"timeticks\",\"value\":{uptime}}}\n"
            );
            PollReport {
                host: host.into(),
                ..report("in_bps", &lines)
            }
        };
        let rows = |r: PollResult| match r.outcome {
            PollOutcome::Ok(Values::Rows(rows)) => rows.into_iter().collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(rows(p.parse(poll("r1", 1_000, 100)).unwrap()), []);
        // Another host's readings are its own: no rate from r1's baseline.
        assert_eq!(rows(p.parse(poll("r2", 9_000, 100)).unwrap()), []);
        // 1,000 octets in 1 s: 8,000 bit/s.
        assert_eq!(
            rows(p.parse(poll("r1", 2_000, 200)).unwrap()),
            [("Gi1/0/1".to_string(), 8_000.0)]
        );
    }
}
