//! What a person reads at the end of a run: each host's output (or, with `--output`, just the
//! failures) and a summary of how the run went.

use crate::host_record::HostRecord;
use crate::local_run::RunOutcome;
use crate::recorder::Format;
use crate::terminal_text;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Exit codes scripts rely on.
pub const EXIT_OK: u8 = 0;
pub const EXIT_HOST_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
/// Ctrl-C or SIGTERM stopped the command (as a shell reports a SIGINT): `fanout push`.
pub const EXIT_INTERRUPTED: u8 = 130;

impl RunOutcome {
    pub fn failed(&self) -> usize {
        self.records.iter().filter(|r| !r.ok).count()
    }

    /// 0 when every selected host succeeded, 1 when any failed or never ran, 2 when the run
    /// had to stop because its results could not be recorded.
    pub fn exit_code(&self) -> u8 {
        if self.results_error.is_some() {
            EXIT_BAD_INPUT
        } else if self.failed() > 0 || !self.unfinished.is_empty() || self.unlisted > 0 {
            EXIT_HOST_FAILED
        } else {
            EXIT_OK
        }
    }

    pub fn hosts_per_second(&self) -> f64 {
        self.records.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// How many hosts each worker process ran, by pid (including workers that ran none).
    pub fn hosts_per_worker(&self) -> BTreeMap<u32, usize> {
        let mut counts: BTreeMap<u32, usize> = self.worker_pids.iter().map(|p| (*p, 0)).collect();
        for record in &self.records {
            *counts.entry(record.worker.pid).or_default() += 1;
        }
        counts
    }
}

/// Per-host sections: `--- host` then each command's output, as Nornir's print_result does.
/// Device text is printed with its control characters escaped (see [`terminal_text`]).
pub fn host_outputs(records: &[HostRecord]) -> String {
    let mut out = String::new();
    for record in sorted(records) {
        let status = match &record.failure {
            None => "ok".to_string(),
            Some(f) => format!("FAILED {}: {}", f.kind, terminal_text::line(&f.message)),
        };
        let _ = writeln!(
            out,
            "--- {} ({}) {} in {:.2}s{}",
            terminal_text::line(&record.host),
            terminal_text::line(&record.hostname),
            status,
            record.duration_ms as f64 / 1000.0,
            attempts_note(record.attempts)
        );
        for command in &record.commands {
            let _ = writeln!(out, "# {}", terminal_text::line(&command.command));
            let text = terminal_text::block(command.output.as_deref().unwrap_or(""));
            out.push_str(&text);
            if !text.is_empty() && !text.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// A table of the hosts that failed, or nothing when none did. Every field is one line with
/// its control characters escaped, so no host name or device message can break the table.
pub fn failure_table(records: &[HostRecord], unfinished: &[String]) -> String {
    let failed: Vec<&HostRecord> = sorted(records).into_iter().filter(|r| !r.ok).collect();
    if failed.is_empty() && unfinished.is_empty() {
        return String::new();
    }
    let failed: Vec<(String, String, u32, String)> = failed
        .into_iter()
        .map(|record| {
            let (kind, message) = record
                .failure
                .as_ref()
                .map_or(("?", ""), |f| (f.kind.as_str(), f.message.as_str()));
            (
                terminal_text::line(&record.host).into_owned(),
                kind.to_string(),
                record.attempts,
                terminal_text::line(message).into_owned(),
            )
        })
        .collect();
    let unfinished: Vec<std::borrow::Cow<'_, str>> =
        unfinished.iter().map(|h| terminal_text::line(h)).collect();
    let width = failed
        .iter()
        .map(|(host, ..)| host.chars().count())
        .chain(unfinished.iter().map(|h| h.chars().count()))
        .max()
        .unwrap_or(4)
        .max(4);
    // KIND is 19 wide: the longest kind, `output_write_failed`.
    let mut out = format!(
        "{:width$}  {:19}  {:>8}  {}\n",
        "HOST", "KIND", "ATTEMPTS", "DETAIL"
    );
    for (host, kind, attempts, message) in failed {
        let _ = writeln!(out, "{host:width$}  {kind:19}  {attempts:>8}  {message}");
    }
    for host in unfinished {
        let _ = writeln!(out, "{host:width$}  {:19}  {:>8}  never ran", "not_run", 0);
    }
    out
}

/// ` after N attempts` when retries were needed, so a flaky device shows even when it ended ok.
fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

pub fn summary(outcome: &RunOutcome, output_dir: Option<&Path>) -> String {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for record in outcome.records.iter().filter(|r| !r.ok) {
        let kind = record
            .failure
            .as_ref()
            .map_or("unknown", |f| f.kind.as_str());
        *kinds.entry(kind).or_default() += 1;
    }
    let total = outcome.records.len() + outcome.unfinished.len() + outcome.unlisted;
    let mut line = format!(
        "hosts      {total} total, {} ok, {} failed",
        outcome.records.len() - outcome.failed(),
        outcome.failed()
    );
    if !kinds.is_empty() {
        let detail: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = write!(line, " ({})", detail.join(", "));
    }
    if !outcome.unfinished.is_empty() {
        let _ = write!(line, ", {} never ran", outcome.unfinished.len());
    }
    if outcome.unlisted > 0 {
        let _ = write!(
            line,
            ", {} without a result (not yet named by the coordinator)",
            outcome.unlisted
        );
    }
    let mut out = format!("{line}\n");
    let _ = writeln!(
        out,
        "wall time  {:.2} s, {:.1} hosts/s",
        outcome.wall.as_secs_f64(),
        outcome.hosts_per_second()
    );
    let per_worker: Vec<String> = outcome
        .hosts_per_worker()
        .iter()
        .map(|(pid, n)| format!("pid {pid} ran {n}"))
        .collect();
    let _ = writeln!(
        out,
        "workers    {} processes: {}",
        outcome.worker_pids.len(),
        per_worker.join(", ")
    );
    let retries: u32 = outcome
        .records
        .iter()
        .map(|r| r.attempts.saturating_sub(1))
        .sum();
    if retries > 0 || outcome.reassigned > 0 || outcome.workers_lost > 0 {
        let _ = writeln!(
            out,
            "recovery   {retries} retries, {} hosts reassigned, {} workers lost",
            outcome.reassigned, outcome.workers_lost
        );
    }
    if let Some(dir) = output_dir {
        let _ = writeln!(
            out,
            "output     {} (results.jsonl, {} files)",
            dir.display(),
            outcome.files_written
        );
    }
    if let Some(why) = &outcome.results_error {
        let _ = writeln!(
            out,
            "stopped: {why}; this report is the only complete record of the run, and the hosts \
             listed as never ran were not attempted"
        );
    } else if outcome.interrupted {
        out.push_str("interrupted: the hosts listed as never ran were not attempted\n");
    }
    out
}

/// Prints the whole report for `fanout run`: stdout for the human format; with JSON, stdout
/// already holds one line per host, so the summary goes to stderr.
pub fn print(outcome: &RunOutcome, format: Format, output_dir: Option<&Path>) {
    match format {
        Format::Human => {
            if output_dir.is_none() {
                crate::out!("{}", host_outputs(&outcome.records));
            }
            let failures = failure_table(&outcome.records, &outcome.unfinished);
            if !failures.is_empty() {
                crate::outln!("\nFailed hosts:\n{failures}");
            } else {
                crate::outln!();
            }
            crate::out!("{}", summary(outcome, output_dir));
        }
        Format::Json => {
            eprint!("{}", failure_table(&outcome.records, &outcome.unfinished));
            eprint!("{}", summary(outcome, output_dir));
        }
        Format::Csv => {
            crate::out!(
                "{}",
                crate::csv_report::run(&outcome.records, &outcome.unfinished)
            );
            eprint!("{}", failure_table(&outcome.records, &outcome.unfinished));
            eprint!("{}", summary(outcome, output_dir));
        }
    }
}

fn sorted(records: &[HostRecord]) -> Vec<&HostRecord> {
    let mut sorted: Vec<&HostRecord> = records.iter().collect();
    sorted.sort_by(|a, b| a.host.cmp(&b.host));
    sorted
}
