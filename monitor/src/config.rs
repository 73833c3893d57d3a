//! `monitor.yaml`: what to poll, how to read it, when to alert and whom to tell.
//!
//! The file is checked completely before anything runs, so a typo stops the monitor at start-up
//! with file and line instead of silently never alerting.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use fanout_common::command_text::check_command;
use fanout_common::input::{
    InputFileError, MAX_CONFIG_BYTES, MAX_YAML_DEPTH, check_yaml_nesting, read_text,
};
use regex::Regex;
use serde::Deserialize;

use crate::snmp_check::{self, RawSnmp, SnmpSource};
use fanout_common::snmp_names::Names;

/// Why a checks file was refused; every variant names the file and, where known, the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// YAML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// The file parses but says something that cannot work (bad regex, missing env var, ...).
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A whole checks file, validated.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Checks in file order; names are unique.
    pub checks: Vec<Check>,
    /// Notifiers in file order; each gets its own queue so a slow one delays no other.
    pub alerts: Vec<NotifierConfig>,
    /// Consecutive failed polls before a device counts as not answering (default 3): one lost
    /// poll on a busy network is not an incident.
    pub unreachable_after: u32,
    /// Alerts each notifier may send per minute before the rest are summarised (default 20),
    /// so a site outage produces one page, not a thousand.
    pub max_alerts_per_minute: u32,
    /// Per-host, per-row gauges `/metrics` shows at most (default 10,000): a label set per
    /// host × check × interface, bounded so a large fleet cannot make a scrape unbounded.
    pub metrics_max_series: usize,
}

/// Default of [`MonitorConfig::metrics_max_series`]: 200 switches × 48 ports, or 10,000
/// single-number checks, in one scrape of a few hundred kilobytes.
pub const DEFAULT_METRICS_MAX_SERIES: usize = 10_000;

/// One thing polled on every host.
#[derive(Debug, Clone)]
pub struct Check {
    /// Unique name, used in alerts and on the dashboard.
    pub name: String,
    /// What to run on the device.
    pub source: Source,
    /// How to turn the output into values and when those values are an incident.
    pub rule: Rule,
}

/// What a check runs on the device: a CLI command or SNMP walks. An HTTP check is refused
/// when the file loads rather than accepted here and refused later by `fanout monitor`.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A CLI command over the host's SSH session.
    Command(String),
    /// SNMP walks through the worker's shared UDP sockets.
    Snmp(SnmpSource),
}

/// How a check's output becomes state.
#[derive(Debug, Clone)]
pub enum Rule {
    /// Parse a table (TextFSM) and watch `field` of each row keyed by `key` for changes.
    Track(Track),
    /// Pull one number out with a regex; alert when it crosses a threshold.
    Extract {
        /// Compiled regex with exactly one capture group holding the number.
        regex: Regex,
        /// When to alert; without it the value is only shown.
        alert_when: Option<Threshold>,
    },
    /// SNMP: watch the walked value of each row (named by `index_by`) for changes.
    SnmpTrack,
    /// SNMP: one number per row (a gauge, a rate or a utilisation), each row judged on its
    /// own against the threshold.
    SnmpValues {
        /// When a row alerts; without it the values are only shown.
        alert_when: Option<Threshold>,
    },
}

/// Which column of a parsed table identifies a row and which column is watched.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    /// Row identity, e.g. the interface name.
    pub key: String,
    /// The watched value, e.g. the interface status.
    pub field: String,
}

/// A numeric alert condition held for `for_polls` consecutive polls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// Which side of `limit` is bad.
    pub direction: Direction,
    /// The limit itself; equal to the limit is not a breach.
    pub limit: f64,
    /// Consecutive breaching polls before alerting, so one spike does not page anyone.
    pub for_polls: u32,
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Above,
    Below,
}

impl Threshold {
    /// Whether `value` is on the bad side of the limit.
    pub fn breached_by(&self, value: f64) -> bool {
        match self.direction {
            Direction::Above => value > self.limit,
            Direction::Below => value < self.limit,
        }
    }
}

/// One alert destination.
#[derive(Debug, Clone)]
pub enum NotifierConfig {
    Webhook(WebhookConfig),
    Email(EmailConfig),
    Exec(Vec<String>),
}

impl NotifierConfig {
    /// A short stable name for metrics and logs (`webhook`, `email`, `exec`, with an index
    /// added by the caller when there are several).
    pub fn kind(&self) -> &'static str {
        match self {
            NotifierConfig::Webhook(_) => "webhook",
            NotifierConfig::Email(_) => "email",
            NotifierConfig::Exec(_) => "exec",
        }
    }
}

/// A Slack-compatible (or plain JSON) webhook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// Body shape: Slack's `text` + `blocks`, or the alert itself as JSON.
    #[serde(default)]
    pub format: WebhookFormat,
}

/// Body shape of a webhook POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Slack,
    Json,
}

/// SMTP email; the password is read from the environment at load time so a missing secret
/// fails at start-up, not at the first incident.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// SMTP server host name.
    pub host: String,
    /// SMTP server port (587 by default).
    pub port: u16,
    /// Sender address.
    pub from: String,
    /// Recipients; at least one.
    pub to: Vec<String>,
    /// Upgrade with STARTTLS and refuse to send otherwise; `false` only for local test servers.
    pub starttls: bool,
    /// Login name and password, when the server wants authentication.
    pub credentials: Option<(String, Password)>,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password read from somewhere other than a checks file (`fanout backup`'s
    /// FANOUT_SMTP_PASSWORD).
    pub fn new(secret: String) -> Self {
        Password(secret)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

// ---- the file as written -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    checks: Vec<RawCheck>,
    #[serde(default)]
    alerts: Vec<RawNotifier>,
    unreachable_after: Option<u32>,
    max_alerts_per_minute: Option<u32>,
    metrics_max_series: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: String,
    command: Option<String>,
    /// Parsed only to refuse it with a clear message: HTTP checks are not polled yet.
    http: Option<serde_yaml_ng::Value>,
    /// SNMP walks instead of a command.
    snmp: Option<RawSnmp>,
    parse: Option<ParseKind>,
    track: Option<RawTrack>,
    extract: Option<String>,
    alert_when: Option<RawThreshold>,
}

/// `track: {key, field}` for a parsed CLI table, `track: true` for an SNMP column (the row
/// names and the watched value are the check's `index_by` and `walk`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawTrack {
    Columns(Track),
    Flag(bool),
}

#[derive(Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ParseKind {
    Textfsm,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    above: Option<f64>,
    below: Option<f64>,
    #[serde(rename = "for", default = "one")]
    for_polls: u32,
}

fn one() -> u32 {
    1
}

fn default_true() -> bool {
    true
}

/// One `alerts:` item: a map with exactly one of these keys (a struct rather than an enum,
/// because YAML enums would want `!tags`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotifier {
    webhook: Option<WebhookConfig>,
    email: Option<RawEmail>,
    exec: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    smtp: String,
    from: String,
    to: Vec<String>,
    #[serde(default = "default_true")]
    starttls: bool,
    username: Option<String>,
    password_env: Option<String>,
}

impl MonitorConfig {
    /// Read and validate a checks file; environment variables named by `password_env` must be
    /// set, and every `exec` notifier's program must exist and be executable, so nothing that
    /// can be known now fails at the first incident instead.
    /// SNMP checks' object names resolve by `names` (the built-in table and any MIB files).
    pub fn load(path: &Path, names: &Names) -> Result<Self, ConfigError> {
        let text = read_text(path, MAX_CONFIG_BYTES).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            source: match e {
                InputFileError::Io(source) => source,
                other => std::io::Error::other(other),
            },
        })?;
        let config = Self::parse(&text, path, |name| std::env::var(name).ok(), names)?;
        for notifier in &config.alerts {
            if let NotifierConfig::Exec(argv) = notifier
                && let Err(why) = runnable(&argv[0])
            {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    line: line_of(&text, &argv[0]),
                    message: format!("exec program {:?} {why}", argv[0]),
                });
            }
        }
        Ok(config)
    }

    /// Validate `text` as if read from `path`, looking secrets up with `env` (tests pass a map)
    /// and SNMP object names up in `names`.
    pub fn parse(
        text: &str,
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
        names: &Names,
    ) -> Result<Self, ConfigError> {
        // Before serde_yaml_ng, whose parser takes quadratic time on a deep nest.
        check_yaml_nesting(text, MAX_YAML_DEPTH).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            line: e.line,
            message: e.to_string(),
        })?;
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            line: e.location().map_or(1, |l| l.line()),
            message: e.to_string(),
        })?;
        let invalid = |needle: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line: line_of(text, needle),
            message,
        };
        let mut check_names = HashSet::new();
        let mut checks = Vec::with_capacity(raw.checks.len());
        for c in raw.checks {
            if c.name.trim().is_empty() {
                return Err(invalid("name:", "a check needs a non-empty name".into()));
            }
            if !check_names.insert(c.name.clone()) {
                return Err(invalid(
                    &c.name,
                    format!("check name `{}` is used twice", c.name),
                ));
            }
            checks.push(check_from_raw(c, names, &invalid)?);
        }
        if checks.is_empty() {
            return Err(invalid("checks", "at least one check is needed".into()));
        }
        let mut alerts = Vec::with_capacity(raw.alerts.len());
        for a in raw.alerts {
            alerts.push(notifier_from_raw(a, &invalid, &env)?);
        }
        let unreachable_after = raw.unreachable_after.unwrap_or(3);
        let max_alerts_per_minute = raw.max_alerts_per_minute.unwrap_or(20);
        if unreachable_after == 0 {
            return Err(invalid(
                "unreachable_after",
                "unreachable_after must be at least 1".into(),
            ));
        }
        if max_alerts_per_minute == 0 {
            return Err(invalid(
                "max_alerts_per_minute",
                "max_alerts_per_minute must be at least 1".into(),
            ));
        }
        Ok(MonitorConfig {
            checks,
            alerts,
            unreachable_after,
            max_alerts_per_minute,
            metrics_max_series: raw.metrics_max_series.unwrap_or(DEFAULT_METRICS_MAX_SERIES),
        })
    }
}

fn check_from_raw(
    mut c: RawCheck,
    names: &Names,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<Check, ConfigError> {
    let name = std::mem::take(&mut c.name);
    if c.http.is_some() {
        return Err(invalid(
            &name,
            format!(
                "check `{name}`: HTTP checks are not supported by `fanout monitor` yet; \
                 poll with a `command`"
            ),
        ));
    }
    if let Some(raw) = c.snmp.take() {
        return snmp_check_from_raw(name, raw, c, names, invalid);
    }
    let source = match c.command {
        Some(cmd) if !cmd.trim().is_empty() => {
            // A block scalar's closing line break is layout; any other control character
            // would reach the device as a keystroke.
            let command = cmd.trim_end_matches('\n').trim_matches(' ');
            if let Err(e) = check_command(command) {
                return Err(invalid(
                    &name,
                    format!(
                        "check `{name}`: command {command:?} {e}; give each command its own check"
                    ),
                ));
            }
            Source::Command(command.to_string())
        }
        _ => {
            return Err(invalid(
                &name,
                format!("check `{name}`: give the `command` (or `snmp`) it polls"),
            ));
        }
    };
    let rule = match (c.parse, c.track, c.extract) {
        (Some(ParseKind::Textfsm), Some(RawTrack::Flag(_)), None) => {
            return Err(invalid(
                &name,
                format!(
                    "check `{name}`: a parsed table's track needs `{{ key: COLUMN, field: COLUMN }}`"
                ),
            ));
        }
        (Some(ParseKind::Textfsm), Some(RawTrack::Columns(track)), None) => {
            if c.alert_when.is_some() {
                return Err(invalid(
                    &name,
                    format!("check `{name}`: alert_when applies to `extract`, not to `track`"),
                ));
            }
            Rule::Track(track)
        }
        (None, None, Some(pattern)) => {
            let regex = Regex::new(&pattern).map_err(|e| {
                invalid(&pattern, format!("check `{name}`: bad extract regex: {e}"))
            })?;
            if regex.captures_len() != 2 {
                return Err(invalid(
                    &pattern,
                    format!(
                        "check `{name}`: extract regex needs exactly one capture group, has {}",
                        regex.captures_len() - 1
                    ),
                ));
            }
            let alert_when = c
                .alert_when
                .map(|t| threshold_from_raw(t, &name, invalid))
                .transpose()?;
            Rule::Extract { regex, alert_when }
        }
        _ => {
            return Err(invalid(
                &name,
                format!("check `{name}`: give either `parse: textfsm` with `track`, or `extract`"),
            ));
        }
    };
    Ok(Check { name, source, rule })
}

/// An `snmp:` check: walks instead of a command, `track: true` or numbers per row.
fn snmp_check_from_raw(
    name: String,
    raw: RawSnmp,
    c: RawCheck,
    names: &Names,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<Check, ConfigError> {
    if c.command.is_some() || c.parse.is_some() || c.extract.is_some() {
        return Err(invalid(
            &name,
            format!(
                "check `{name}`: an `snmp` check takes no `command`, `parse` or `extract` \
                 (give each source its own check)"
            ),
        ));
    }
    let source: SnmpSource =
        snmp_check::from_raw(raw, &name, names).map_err(|(needle, why)| invalid(&needle, why))?;
    let rule = match (c.track, c.alert_when) {
        (Some(RawTrack::Flag(true)), None) => {
            if source.rate.is_some() {
                return Err(invalid(
                    &name,
                    format!(
                        "check `{name}`: a rate changes every poll; give it `alert_when`, not `track`"
                    ),
                ));
            }
            Rule::SnmpTrack
        }
        (Some(RawTrack::Flag(true)), Some(_)) => {
            return Err(invalid(
                &name,
                format!("check `{name}`: give either `track: true` or `alert_when`, not both"),
            ));
        }
        (Some(RawTrack::Columns(_)), _) => {
            return Err(invalid(
                &name,
                format!(
                    "check `{name}`: an snmp check tracks its walked column by `index_by`: \
                     write `track: true`"
                ),
            ));
        }
        (Some(RawTrack::Flag(false)) | None, alert_when) => Rule::SnmpValues {
            alert_when: alert_when
                .map(|t| threshold_from_raw(t, &name, invalid))
                .transpose()?,
        },
    };
    Ok(Check {
        name,
        source: Source::Snmp(source),
        rule,
    })
}

fn threshold_from_raw(
    t: RawThreshold,
    name: &str,
    invalid: &impl Fn(&str, String) -> ConfigError,
) -> Result<Threshold, ConfigError> {
    let (direction, limit) = match (t.above, t.below) {
        (Some(v), None) => (Direction::Above, v),
        (None, Some(v)) => (Direction::Below, v),
        _ => {
            return Err(invalid(
                "alert_when",
                format!("check `{name}`: alert_when needs exactly one of `above` or `below`"),
            ));
        }
    };
    if t.for_polls == 0 {
        return Err(invalid(
            "for:",
            format!("check `{name}`: `for` must be at least 1"),
        ));
    }
    Ok(Threshold {
        direction,
        limit,
        for_polls: t.for_polls,
    })
}

enum Which {
    Webhook(WebhookConfig),
    Email(RawEmail),
    Exec(Vec<String>),
}

fn notifier_from_raw(
    a: RawNotifier,
    invalid: &impl Fn(&str, String) -> ConfigError,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<NotifierConfig, ConfigError> {
    let which = match (a.webhook, a.email, a.exec) {
        (Some(w), None, None) => Which::Webhook(w),
        (None, Some(e), None) => Which::Email(e),
        (None, None, Some(x)) => Which::Exec(x),
        _ => {
            return Err(invalid(
                "alerts",
                "each alerts item needs exactly one of `webhook`, `email` or `exec`".into(),
            ));
        }
    };
    Ok(match which {
        Which::Webhook(w) => {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return Err(invalid(
                    &w.url,
                    format!("webhook url `{}` is not http(s)", w.url),
                ));
            }
            NotifierConfig::Webhook(w)
        }
        Which::Exec(argv) => {
            if argv.first().is_none_or(|p| p.is_empty()) {
                return Err(invalid("exec", "exec needs a program".into()));
            }
            NotifierConfig::Exec(argv)
        }
        Which::Email(e) => {
            let (host, port) = match e.smtp.rsplit_once(':') {
                Some((h, p)) => match p.parse::<u16>() {
                    Ok(port) if !h.is_empty() => (h.to_owned(), port),
                    _ => {
                        return Err(invalid(
                            &e.smtp,
                            format!("smtp `{}` is not host:port", e.smtp),
                        ));
                    }
                },
                None => (e.smtp.clone(), 587),
            };
            if e.to.is_empty() {
                return Err(invalid("to:", "email needs at least one recipient".into()));
            }
            let credentials = match e.password_env {
                Some(var) => {
                    let password = env(&var).ok_or_else(|| {
                        invalid(
                            &var,
                            format!("environment variable {var} (password_env) is not set"),
                        )
                    })?;
                    let user = e.username.unwrap_or_else(|| e.from.clone());
                    Some((user, Password(password)))
                }
                None if e.username.is_some() => {
                    return Err(invalid("username", "username needs password_env".into()));
                }
                None => None,
            };
            NotifierConfig::Email(EmailConfig {
                host,
                port,
                from: e.from,
                to: e.to,
                starttls: e.starttls,
                credentials,
            })
        }
    })
}

/// Why `program` cannot be run as the exec notifier would run it (a name without a `/` is
/// looked up in `PATH`, as the notifier's `Command` does), or `Ok`.
fn runnable(program: &str) -> Result<(), &'static str> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = Path::new(program);
        return match std::fs::metadata(path) {
            Err(_) => Err("does not exist"),
            Ok(_) if !executable(path) => Err("is not an executable file"),
            Ok(_) => Ok(()),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| executable(&dir.join(program))) {
        Ok(())
    } else {
        Err("is not found in PATH")
    }
}

/// The 1-based line of the first occurrence of `needle`, or 1: semantic errors have no parser
/// position, and pointing at the offending text is what a user needs.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map_or(1, |at| text[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(command: &str) -> String {
        format!("checks:\n  - name: cpu\n    command: {command}\n    extract: '(\\d+)%'\n")
    }

    fn parse(text: &str) -> Result<MonitorConfig, ConfigError> {
        MonitorConfig::parse(text, Path::new("m.yaml"), |_| None, Names::builtin())
    }

    #[test]
    fn a_command_is_one_line_of_text() {
        let ok = parse(&check("|\n      show processes cpu\n")).unwrap();
        assert_eq!(
            ok.checks[0].source,
            Source::Command("show processes cpu".into())
        );
        for (command, what) in [
            ("\"show cpu\\nreload\"", "a line break (\\n) at character 9"),
            ("\"show cpu\\r\"", "a carriage return"),
            ("\"show cpu\\x03\"", "Ctrl-C"),
            ("\"show cpu\\x1a\"", "Ctrl-Z"),
        ] {
            let err = parse(&check(command)).unwrap_err().to_string();
            assert!(err.starts_with("m.yaml:2: check `cpu`: command "), "{err}");
            assert!(err.contains(what), "{command}: {err}");
        }
    }

    #[test]
    fn a_deep_nest_is_refused_before_parsing() {
        let text = format!("checks: {}", "[".repeat(1 << 20));
        let started = std::time::Instant::now();
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("nested more than 64 levels"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn exec_programs_must_exist_when_the_file_is_loaded() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("notify.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let config = dir.path().join("m.yaml");
        let with_exec = |program: &str| {
            let text = format!("{}alerts:\n  - exec: [{program:?}]\n", check("show cpu"));
            std::fs::write(&config, text).unwrap();
            MonitorConfig::load(&config, Names::builtin())
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let not_executable = with_exec(script.to_str().unwrap()).unwrap_err();
        assert!(
            not_executable.ends_with("is not an executable file"),
            "{not_executable}"
        );
        assert!(not_executable.contains("m.yaml:6:"), "{not_executable}");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(with_exec(script.to_str().unwrap()), Ok(()));
        let missing = dir.path().join("nope.sh");
        let err = with_exec(missing.to_str().unwrap()).unwrap_err();
        assert!(err.ends_with("does not exist"), "{err}");
        assert_eq!(with_exec("sh"), Ok(()));
        let err = with_exec("fanout-no-such-notifier").unwrap_err();
        assert!(err.ends_with("is not found in PATH"), "{err}");
    }

    #[test]
    fn snmp_checks_resolve_their_names_and_refuse_what_cannot_work() {
        let ok = parse(
            "checks:\n  - name: links\n    snmp: { walk: IF-MIB::ifOperStatus, index_by: IF-MIB::ifName }\n    track: true\n  - name: in_util\n    snmp: { walk: ifHCInOctets, index_by: ifName, utilisation_of: ifHighSpeed }\n    alert_when: { above: 80, for: 2 }\n",
        )
        .unwrap();
        assert!(matches!(ok.checks[0].rule, Rule::SnmpTrack));
        let Source::Snmp(links) = &ok.checks[0].source else {
            panic!()
        };
        assert_eq!(links.walk.oid, "1.3.6.1.2.1.2.2.1.8");
        assert!(matches!(
            ok.checks[1].rule,
            Rule::SnmpValues {
                alert_when: Some(_)
            }
        ));
        let snmp = |body: &str| {
            parse(&format!("checks:\n  - name: c\n    snmp: {body}\n"))
                .unwrap_err()
                .to_string()
        };
        for (body, line, why) in [
            (
                "{ walk: IF-MIB::ifOperStatsu }",
                3,
                "did you mean ifOperStatus?",
            ),
            (
                "{ walk: ifHCInOctets, index_by: ifNmae }",
                3,
                "snmp.index_by",
            ),
            (
                "{ walk: ifHCInOctets, utilisation_of: ifMtu }",
                3,
                "utilisation_of must be",
            ),
            (
                "{ walk: ifHCInOctets, rate: per_second, utilisation_of: ifSpeed }",
                3,
                "rate: bits",
            ),
            ("{ walk: ifTable, index_by: ifDescr }", 3, "overlap"),
            ("{ walk: ifInOctets, rat: bits }", 3, "unknown field `rat`"),
        ] {
            let err = snmp(body);
            assert!(err.starts_with(&format!("m.yaml:{line}:")), "{body}: {err}");
            assert!(err.contains(why), "{body}: {err}");
        }
        let rule = |extra: &str| {
            parse(&format!(
                "checks:\n  - name: c\n    snmp: {{ walk: ifHCInOctets, rate: bits }}\n{extra}"
            ))
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        assert!(
            rule("    track: true\n")
                .unwrap_err()
                .contains("give it `alert_when`")
        );
        assert!(
            rule("    command: show x\n")
                .unwrap_err()
                .contains("takes no `command`")
        );
        assert!(
            rule("    track: { key: a, field: b }\n")
                .unwrap_err()
                .contains("write `track: true`")
        );
        assert_eq!(rule("    alert_when: { above: 1000000 }\n"), Ok(()));
    }
}
