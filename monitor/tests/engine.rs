//! The alerting engine, driven by scripted poll sequences: every rule of issue 8 (flaps,
//! `for: N` thresholds, unreachable devices, one alert per incident, recoveries).

use std::collections::BTreeMap;
use std::path::Path;

use fanout_common::snmp_names::Names;
use std::time::{Duration, SystemTime};

use fanout_monitor::engine::REACHABILITY;
use fanout_monitor::{Engine, EventKind, MonitorConfig, PollOutcome, PollResult, Values};

const CHECKS: &str = r#"
unreachable_after: 2
checks:
  - name: interfaces
    command: show ip interface brief
    parse: textfsm
    track: { key: intf, field: status }
  - name: cpu
    command: show processes cpu | include CPU
    extract: 'five seconds: (\d+)%'
    alert_when: { above: 80, for: 2 }
"#;

fn engine() -> Engine {
    let c = MonitorConfig::parse(CHECKS, Path::new("m.yaml"), |_| None, Names::builtin())
        .expect("valid");
    Engine::new(&c)
}

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

fn intfs(t: u64, host: &str, rows: &[(&str, &str)]) -> PollResult {
    let table: BTreeMap<String, String> = rows
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PollResult {
        host: host.into(),
        at: at(t),
        check: "interfaces".into(),
        outcome: PollOutcome::Ok(Values::Table(table)),
    }
}

fn cpu(t: u64, host: &str, v: f64) -> PollResult {
    PollResult {
        host: host.into(),
        at: at(t),
        check: "cpu".into(),
        outcome: PollOutcome::Ok(Values::Number(v)),
    }
}

fn down(t: u64, host: &str, check: &str) -> PollResult {
    PollResult {
        host: host.into(),
        at: at(t),
        check: check.into(),
        outcome: PollOutcome::Unreachable("connect timed out".into()),
    }
}

/// (kind, incident) of every event produced by feeding `polls` in order.
fn run(e: &mut Engine, polls: &[PollResult]) -> Vec<(EventKind, String)> {
    polls
        .iter()
        .flat_map(|p| e.observe(p).events)
        .map(|ev| (ev.kind, ev.incident))
        .collect()
}

#[test]
fn a_flap_alerts_once_and_recovers_once() {
    let mut e = engine();
    let up = [("Gi0/1", "up"), ("Gi0/2", "up")];
    let gi1_down = [("Gi0/1", "down"), ("Gi0/2", "up")];
    let events = run(
        &mut e,
        &[
            intfs(0, "r1", &up),
            intfs(10, "r1", &gi1_down),
            intfs(20, "r1", &gi1_down),
            intfs(30, "r1", &gi1_down),
        ],
    );
    assert_eq!(
        events,
        vec![(EventKind::Alert, "r1/interfaces/Gi0/1".into())]
    );
    let open = e.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].from.as_deref(), Some("up"));
    assert_eq!(open[0].to.as_deref(), Some("down"));
    assert_eq!(open[0].at, at(10), "the alert carries the poll's time");

    let events = run(&mut e, &[intfs(40, "r1", &up), intfs(50, "r1", &up)]);
    assert_eq!(
        events,
        vec![(EventKind::Recovery, "r1/interfaces/Gi0/1".into())]
    );
    assert!(e.open_alerts().is_empty());
    let changes = e.recent_changes();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(
        (changes[1].from.as_str(), changes[1].to.as_str()),
        ("down", "up")
    );
}

#[test]
fn the_first_value_is_the_baseline_so_down_then_up_alerts_too() {
    let mut e = engine();
    let events = run(
        &mut e,
        &[
            intfs(0, "r1", &[("Gi0/3", "down")]),
            intfs(10, "r1", &[("Gi0/3", "up")]),
            intfs(20, "r1", &[("Gi0/3", "down")]),
        ],
    );
    assert_eq!(
        events,
        vec![
            (EventKind::Alert, "r1/interfaces/Gi0/3".into()),
            (EventKind::Recovery, "r1/interfaces/Gi0/3".into()),
        ]
    );
}

#[test]
fn a_second_change_during_an_incident_is_not_a_second_alert() {
    let mut e = engine();
    let events = run(
        &mut e,
        &[
            intfs(0, "r1", &[("Gi0/1", "up")]),
            intfs(10, "r1", &[("Gi0/1", "down")]),
            intfs(20, "r1", &[("Gi0/1", "administratively down")]),
            intfs(30, "r1", &[("Gi0/1", "up")]),
        ],
    );
    assert_eq!(
        events,
        vec![
            (EventKind::Alert, "r1/interfaces/Gi0/1".into()),
            (EventKind::Recovery, "r1/interfaces/Gi0/1".into()),
        ]
    );
}

#[test]
fn hosts_and_keys_are_independent() {
    let mut e = engine();
    let events = run(
        &mut e,
        &[
            intfs(0, "r1", &[("Gi0/1", "up")]),
            intfs(0, "r2", &[("Gi0/1", "up")]),
            intfs(10, "r2", &[("Gi0/1", "down")]),
            intfs(10, "r1", &[("Gi0/1", "up")]),
        ],
    );
    assert_eq!(
        events,
        vec![(EventKind::Alert, "r2/interfaces/Gi0/1".into())]
    );
}

#[test]
fn threshold_needs_n_consecutive_polls() {
    let mut e = engine();
    // 85 then 50 resets the streak; 90, 95 is two in a row.
    let events = run(
        &mut e,
        &[cpu(0, "r1", 85.0), cpu(10, "r1", 50.0), cpu(20, "r1", 90.0)],
    );
    assert!(events.is_empty(), "{events:?}");
    let events = run(
        &mut e,
        &[
            cpu(30, "r1", 95.0),
            cpu(40, "r1", 99.0),
            cpu(50, "r1", 97.0),
        ],
    );
    assert_eq!(events, vec![(EventKind::Alert, "r1/cpu".into())]);
    let open = e.open_alerts();
    assert_eq!(open[0].to.as_deref(), Some("95"));
    assert!(
        open[0].summary.contains("above 80 for 2 polls"),
        "{}",
        open[0].summary
    );
    // Equal to the limit is not above it.
    let events = run(&mut e, &[cpu(60, "r1", 80.0), cpu(70, "r1", 30.0)]);
    assert_eq!(events, vec![(EventKind::Recovery, "r1/cpu".into())]);
    // A new incident after recovery needs its own two polls.
    let events = run(&mut e, &[cpu(80, "r1", 81.0)]);
    assert!(events.is_empty());
    let events = run(&mut e, &[cpu(90, "r1", 82.0)]);
    assert_eq!(events, vec![(EventKind::Alert, "r1/cpu".into())]);
}

#[test]
fn a_device_that_stops_answering_alerts_after_n_failures_once() {
    let mut e = engine();
    let incident = format!("r1/{REACHABILITY}");
    let events = run(
        &mut e,
        &[
            intfs(0, "r1", &[("Gi0/1", "up")]),
            down(10, "r1", "interfaces"),
        ],
    );
    assert!(
        events.is_empty(),
        "one failure is not an incident: {events:?}"
    );
    let events = run(
        &mut e,
        &[
            down(20, "r1", "interfaces"),
            down(30, "r1", "interfaces"),
            down(30, "r1", "cpu"),
            down(40, "r1", "cpu"),
            down(50, "r1", "interfaces"),
        ],
    );
    assert_eq!(events, vec![(EventKind::Alert, incident.clone())]);
    let hosts = e.hosts();
    assert!(!hosts[0].reachable);
    assert_eq!(hosts[0].reason.as_deref(), Some("connect timed out"));
    // The first answer ends the incident; the interface did not change, so nothing else.
    let events = run(
        &mut e,
        &[intfs(60, "r1", &[("Gi0/1", "up")]), cpu(60, "r1", 5.0)],
    );
    assert_eq!(events, vec![(EventKind::Recovery, incident)]);
    assert!(e.hosts()[0].reachable);
}

#[test]
fn failures_must_be_consecutive() {
    let mut e = engine();
    let events = run(
        &mut e,
        &[
            down(0, "r1", "cpu"),
            cpu(10, "r1", 5.0),
            down(20, "r1", "cpu"),
            cpu(30, "r1", 5.0),
        ],
    );
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn unknown_checks_and_mismatched_values_change_nothing() {
    let mut e = engine();
    let mut p = cpu(0, "r1", 99.0);
    p.check = "memory".into();
    assert_eq!(e.observe(&p), Default::default());
    // A number for a tracked check: ignored, not a panic.
    let mut p = cpu(0, "r1", 99.0);
    p.check = "interfaces".into();
    assert!(e.observe(&p).events.is_empty());
    assert!(e.hosts()[0].cells.is_empty());
}

#[test]
fn cells_report_only_what_changed() {
    let mut e = engine();
    let first = e.observe(&intfs(0, "r1", &[("Gi0/1", "up"), ("Gi0/2", "down")]));
    assert_eq!(first.cells.len(), 2);
    assert!(first.cells.iter().any(|c| c.column == "Gi0/1" && c.ok));
    assert!(first.cells.iter().any(|c| c.column == "Gi0/2" && !c.ok));
    let same = e.observe(&intfs(10, "r1", &[("Gi0/1", "up"), ("Gi0/2", "down")]));
    assert!(same.cells.is_empty(), "{:?}", same.cells);
    let flap = e.observe(&intfs(20, "r1", &[("Gi0/1", "down"), ("Gi0/2", "down")]));
    assert_eq!(flap.cells.len(), 1);
    assert_eq!(
        (flap.cells[0].column.as_str(), flap.cells[0].ok),
        ("Gi0/1", false)
    );
    let c = e.observe(&cpu(30, "r1", 42.0));
    assert_eq!((c.cells[0].value.as_str(), c.cells[0].ok), ("42", true));
    assert!(e.observe(&cpu(40, "r1", 42.0)).cells.is_empty());
    e.observe(&cpu(50, "r1", 90.0));
    let red = e.observe(&cpu(60, "r1", 90.0));
    assert_eq!(
        red.cells.len(),
        1,
        "same value but now alerting: the colour changed"
    );
    assert!(!red.cells[0].ok);
    let host = &e.hosts()[0];
    assert_eq!(host.cells["cpu"].value, "90");
    assert!(!host.cells["Gi0/1"].ok);
}

#[test]
fn recent_changes_are_bounded() {
    let mut e = engine();
    for i in 0..500u64 {
        let v = if i % 2 == 0 { "up" } else { "down" };
        e.observe(&intfs(i, "r1", &[("Gi0/1", v)]));
    }
    let changes = e.recent_changes();
    assert_eq!(changes.len(), 200);
    assert_eq!(changes.last().map(|c| c.at), Some(at(499)));
}

const SNMP_CHECKS: &str = r#"
checks:
  - name: in_util
    snmp: { walk: ifHCInOctets, index_by: ifName, utilisation_of: ifHighSpeed }
    alert_when: { above: 80, for: 2 }
"#;

fn util(t: u64, host: &str, rows: &[(&str, f64)]) -> PollResult {
    PollResult {
        host: host.into(),
        at: at(t),
        check: "in_util".into(),
        outcome: PollOutcome::Ok(Values::Rows(
            rows.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        )),
    }
}

#[test]
fn each_row_of_an_snmp_check_alerts_and_recovers_on_its_own() {
    let c = MonitorConfig::parse(SNMP_CHECKS, Path::new("m.yaml"), |_| None, Names::builtin())
        .expect("valid");
    let mut e = Engine::new(&c);
    let events = run(
        &mut e,
        &[
            util(0, "r1", &[("Gi1/0/1", 10.0), ("Gi1/0/2", 95.0)]),
            util(1, "r1", &[("Gi1/0/1", 90.0), ("Gi1/0/2", 96.0)]),
            // A row missing from a poll (no rate yet) keeps its streak and state.
            util(2, "r1", &[("Gi1/0/1", 91.0)]),
            util(3, "r1", &[("Gi1/0/1", 92.0), ("Gi1/0/2", 97.0)]),
            util(4, "r1", &[("Gi1/0/1", 20.0), ("Gi1/0/2", 30.0)]),
        ],
    );
    assert_eq!(
        events,
        [
            (EventKind::Alert, "r1/in_util/Gi1/0/2".to_string()),
            (EventKind::Alert, "r1/in_util/Gi1/0/1".to_string()),
            (EventKind::Recovery, "r1/in_util/Gi1/0/1".to_string()),
            (EventKind::Recovery, "r1/in_util/Gi1/0/2".to_string()),
        ]
    );
    // One dashboard cell for the check: the worst row.
    let hosts = e.hosts();
    assert_eq!(hosts[0].cells["in_util"].value, "30");
    assert!(hosts[0].cells["in_util"].ok);
    // Every row in /metrics, and the bound holds.
    let (series, more) = e.series(10);
    assert_eq!(series.len(), 2);
    assert_eq!(more, 0);
    assert_eq!((series[0].key.as_str(), series[0].value), ("Gi1/0/1", 20.0));
    let (series, more) = e.series(1);
    assert_eq!((series.len(), more), (1, 1));
}
