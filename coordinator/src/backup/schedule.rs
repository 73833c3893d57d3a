//! When `fanout serve` runs its backups: every interval (measured from each run's start, so a
//! slow run does not push every later one back) or at the times of a crontab pattern in the
//! coordinator's local time zone.

use chrono::{DateTime, Local, TimeZone};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Schedule {
    /// A run at start, then one this long after each run started (at once if a run took
    /// longer than that).
    Every(Duration),
    /// A run at each time the pattern names; none at start unless the pattern names it.
    Cron {
        pattern: String,
        cron: Box<croner::Cron>,
    },
}

impl Schedule {
    /// `--backup-every` or `--backup-cron`; a bad pattern is refused with croner's reason.
    pub fn new(every: Option<Duration>, cron: Option<&str>) -> Result<Self, String> {
        match (every, cron) {
            (Some(every), None) => Ok(Schedule::Every(every)),
            (None, Some(pattern)) => {
                let parsed = croner::Cron::from_str(pattern)
                    .map_err(|e| format!("--backup-cron {pattern:?}: {e}"))?;
                // A pattern that never fires (`0 0 30 2 *`) is refused now, not by a schedule
                // that silently never runs.
                parsed
                    .find_next_occurrence(&Local::now(), false)
                    .map_err(|e| format!("--backup-cron {pattern:?}: {e}"))?;
                Ok(Schedule::Cron {
                    pattern: pattern.to_string(),
                    cron: Box::new(parsed),
                })
            }
            (None, None) => Err("--backup-repo needs --backup-every or --backup-cron".into()),
            (Some(_), Some(_)) => Err("--backup-every and --backup-cron exclude each other".into()),
        }
    }

    /// How long to wait before the first run.
    pub fn first_wait(&self) -> Duration {
        match self {
            Schedule::Every(_) => Duration::ZERO,
            Schedule::Cron { cron, .. } => until_next(cron, Local::now()),
        }
    }

    /// How long to wait after a run that started `elapsed` ago (and has ended).
    pub fn next_wait(&self, elapsed: Duration) -> Duration {
        match self {
            Schedule::Every(every) => every.saturating_sub(elapsed),
            Schedule::Cron { cron, .. } => until_next(cron, Local::now()),
        }
    }

    /// For logs and the listing: `every 1h` or `cron 0 * * * *`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every(every) => format!("every {}", humantime::format_duration(*every)),
            Schedule::Cron { pattern, .. } => format!("cron {pattern}"),
        }
    }
}

/// Time from `now` to the pattern's next time after it. A pattern that was checked to fire
/// cannot stop firing, but should croner find nothing, a day's wait keeps the loop from
/// spinning.
fn until_next<Tz: TimeZone>(cron: &croner::Cron, now: DateTime<Tz>) -> Duration {
    match cron.find_next_occurrence(&now, false) {
        Ok(next) => (next - now).to_std().unwrap_or(Duration::ZERO),
        Err(e) => {
            tracing::error!(error = %e, "the backup schedule has no next time; waiting a day");
            Duration::from_secs(24 * 3600)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn an_interval_counts_from_the_start_of_the_last_run() {
        let every = Schedule::new(Some(Duration::from_secs(3600)), None).unwrap();
        assert_eq!(every.first_wait(), Duration::ZERO);
        assert_eq!(
            every.next_wait(Duration::from_secs(600)),
            Duration::from_secs(3000)
        );
        assert_eq!(every.next_wait(Duration::from_secs(4000)), Duration::ZERO);
        assert_eq!(every.describe(), "every 1h");
    }

    #[test]
    fn a_cron_pattern_waits_for_its_next_time() {
        let cron = croner::Cron::from_str("0 * * * *").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 5, 59, 30).unwrap();
        assert_eq!(until_next(&cron, now), Duration::from_secs(30));
        let on_the_hour = Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
        assert_eq!(until_next(&cron, on_the_hour), Duration::from_secs(3600));
        let nightly = croner::Cron::from_str("0 2 * * *").unwrap();
        assert_eq!(
            until_next(&nightly, on_the_hour),
            Duration::from_secs(20 * 3600)
        );
    }

    #[test]
    fn bad_or_missing_schedules_are_refused() {
        let bad = Schedule::new(None, Some("61 * * * *")).unwrap_err();
        assert!(bad.contains("--backup-cron \"61 * * * *\""), "{bad}");
        assert!(Schedule::new(None, Some("every hour")).is_err());
        assert!(Schedule::new(None, None).is_err());
        let hourly = Schedule::new(None, Some("0 * * * *")).unwrap();
        assert_eq!(hourly.describe(), "cron 0 * * * *");
        assert!(hourly.first_wait() <= Duration::from_secs(3600));
    }
}
