//! monitor.yaml: the issue's example loads; every kind of mistake is refused with its line.

use std::collections::HashMap;
use std::path::Path;

use fanout_common::snmp_names::Names;

use fanout_monitor::MonitorConfig;
use fanout_monitor::config::{ConfigError, Direction, NotifierConfig, Rule, Source, WebhookFormat};

const ISSUE_EXAMPLE: &str = r#"# monitor.yaml
checks:
  - name: interfaces
    command: show ip interface brief       # or an HTTP step
    parse: textfsm
    track: { key: intf, field: status }    # alert on change (up -> down, down -> up)
  - name: cpu
    command: show processes cpu | include CPU
    extract: 'five seconds: (\d+)%'
    alert_when: { above: 80, for: 2 }      # two consecutive polls
alerts:
  - webhook: { url: "https://hooks.example/T000/B000", format: slack }   # Slack-compatible JSON
  - email: { smtp: "smtp.example:587", from: monitor@example.net, to: [noc@example.net], starttls: true, password_env: SMTP_PASS }
  - exec: ["./notify.sh"]
"#;

fn parse(text: &str, env: &[(&str, &str)]) -> Result<MonitorConfig, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    MonitorConfig::parse(
        text,
        Path::new("monitor.yaml"),
        |k| env.get(k).cloned(),
        Names::builtin(),
    )
}

fn error(text: &str) -> (usize, String) {
    match parse(text, &[("SMTP_PASS", "pw")]) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(
            ConfigError::Syntax { line, message, .. } | ConfigError::Invalid { line, message, .. },
        ) => (line, message),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn the_issue_example_loads() {
    let c = parse(ISSUE_EXAMPLE, &[("SMTP_PASS", "s3cret")]).expect("valid");
    assert_eq!(c.checks.len(), 2);
    assert_eq!(c.checks[0].name, "interfaces");
    assert_eq!(
        c.checks[0].source,
        Source::Command("show ip interface brief".into())
    );
    match &c.checks[0].rule {
        Rule::Track(t) => assert_eq!((t.key.as_str(), t.field.as_str()), ("intf", "status")),
        other => panic!("{other:?}"),
    }
    match &c.checks[1].rule {
        Rule::Extract { regex, alert_when } => {
            let caps = regex
                .captures("CPU utilization for five seconds: 93%/0%")
                .expect("match");
            assert_eq!(&caps[1], "93");
            let t = alert_when.expect("threshold");
            assert_eq!(
                (t.direction, t.limit, t.for_polls),
                (Direction::Above, 80.0, 2)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.alerts.len(), 3);
    match &c.alerts[0] {
        NotifierConfig::Webhook(w) => assert_eq!(w.format, WebhookFormat::Slack),
        other => panic!("{other:?}"),
    }
    match &c.alerts[1] {
        NotifierConfig::Email(e) => {
            assert_eq!(
                (e.host.as_str(), e.port, e.starttls),
                ("smtp.example", 587, true)
            );
            let (user, pw) = e.credentials.as_ref().expect("credentials");
            assert_eq!(
                (user.as_str(), pw.expose()),
                ("monitor@example.net", "s3cret")
            );
            assert!(
                !format!("{e:?}").contains("s3cret"),
                "password must not print"
            );
        }
        other => panic!("{other:?}"),
    }
    match &c.alerts[2] {
        NotifierConfig::Exec(argv) => assert_eq!(argv, &["./notify.sh"]),
        other => panic!("{other:?}"),
    }
    assert_eq!((c.unreachable_after, c.max_alerts_per_minute), (3, 20));
}

#[test]
fn http_checks_are_refused_with_their_line() {
    let (line, message) = error(
        "checks:\n  - name: cpu\n    command: show cpu\n    extract: '(\\d+)'\n  - name: temp\n    http: { path: /api/temp }\n    extract: 'temp=(\\d+)'\n",
    );
    assert_eq!(line, 5, "{message}");
    assert!(
        message.contains("check `temp`: HTTP checks are not supported"),
        "{message}"
    );
}

#[test]
fn extract_checks_and_settings_load() {
    let c = parse(
        "unreachable_after: 5\nmax_alerts_per_minute: 7\nchecks:\n  - name: temp\n    command: show temp\n    extract: 'temp=(\\d+)'\n    alert_when: { below: 10 }\n",
        &[],
    )
    .expect("valid");
    assert_eq!(c.checks[0].source, Source::Command("show temp".into()));
    assert_eq!((c.unreachable_after, c.max_alerts_per_minute), (5, 7));
    match &c.checks[0].rule {
        Rule::Extract {
            alert_when: Some(t),
            ..
        } => {
            assert_eq!((t.direction, t.for_polls), (Direction::Below, 1))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let text = ISSUE_EXAMPLE.replace("    parse: textfsm\n", "    parse: textfsm\n    trak: x\n");
    let (line, message) = error(&text);
    assert_eq!(line, 6, "{message}");
    assert!(message.contains("unknown field `trak`"), "{message}");
}

#[test]
fn unknown_key_inside_a_notifier_is_refused() {
    let text = ISSUE_EXAMPLE.replace("format: slack", "format: slack, channel: x");
    let (line, message) = error(&text);
    assert_eq!(line, 12, "{message}");
    assert!(message.contains("unknown field `channel`"), "{message}");
}

#[test]
fn unknown_webhook_format_is_refused() {
    let (line, message) = error(&ISSUE_EXAMPLE.replace("format: slack", "format: teams"));
    assert_eq!(line, 12, "{message}");
    assert!(message.contains("teams"), "{message}");
}

#[test]
fn bad_regex_is_refused_with_its_line() {
    let (line, message) = error(&ISSUE_EXAMPLE.replace(r"(\d+)%", r"(\d+%"));
    assert_eq!(line, 9, "{message}");
    assert!(message.contains("bad extract regex"), "{message}");
}

#[test]
fn regex_needs_exactly_one_group() {
    let (line, message) = error(&ISSUE_EXAMPLE.replace(r"(\d+)%", r"(\d+)(%)"));
    assert_eq!(line, 9);
    assert!(
        message.contains("exactly one capture group, has 2"),
        "{message}"
    );
    let (_, message) = error(&ISSUE_EXAMPLE.replace(r"(\d+)%", r"\d+%"));
    assert!(message.contains("has 0"), "{message}");
}

#[test]
fn missing_password_env_var_is_refused() {
    match parse(ISSUE_EXAMPLE, &[]) {
        Err(ConfigError::Invalid { line, message, .. }) => {
            assert_eq!(line, 13);
            assert!(message.contains("SMTP_PASS"), "{message}");
            assert!(message.contains("not set"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn contradictions_are_refused() {
    let both = ISSUE_EXAMPLE.replace(
        "    command: show ip interface brief",
        "    command: show ip interface brief\n    http: { path: /x }",
    );
    assert!(error(&both).1.contains("HTTP checks are not supported"));
    let both_thresholds = ISSUE_EXAMPLE.replace("above: 80", "above: 80, below: 5");
    assert!(
        error(&both_thresholds)
            .1
            .contains("exactly one of `above` or `below`")
    );
    let zero_for = ISSUE_EXAMPLE.replace("for: 2", "for: 0");
    assert!(error(&zero_for).1.contains("at least 1"));
    let track_without_parse = ISSUE_EXAMPLE.replace("    parse: textfsm\n", "");
    assert!(error(&track_without_parse).1.contains("parse: textfsm"));
    let dup = ISSUE_EXAMPLE.replace("name: cpu", "name: interfaces");
    let (line, message) = error(&dup);
    assert!(message.contains("used twice"), "{message}");
    assert_eq!(line, 3, "points at the first use of the name");
    let bad_smtp = ISSUE_EXAMPLE.replace("smtp.example:587", "smtp.example:x");
    assert!(error(&bad_smtp).1.contains("host:port"));
    let bad_url = ISSUE_EXAMPLE.replace("https://hooks.example", "ftp://hooks.example");
    assert!(error(&bad_url).1.contains("not http(s)"));
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("monitor.yaml");
    std::fs::write(
        &path,
        "checks:\n  - name: a\n    command: x\n    bogus: 1\n",
    )
    .expect("write");
    let e = MonitorConfig::load(&path, Names::builtin()).expect_err("refused");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{}:4:", path.display())),
        "{shown}"
    );
    let missing =
        MonitorConfig::load(&dir.path().join("nope.yaml"), Names::builtin()).expect_err("refused");
    assert!(missing.to_string().contains("cannot read"), "{missing}");
}
