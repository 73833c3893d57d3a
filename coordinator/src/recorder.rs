//! Records every host's result the moment it arrives: a line in `results.jsonl` and one file per
//! command under `--output` (through [`OutputTree`]: injective names, no links followed, 0600),
//! a JSON line on stdout with `--format json`. Runs on its own thread so file writes never stall
//! the async runtime.
//!
//! Storage failing is data like a device failing: a host whose files cannot be written fails as
//! `output_write_failed` and the run goes on. Only `results.jsonl` failing stops the run, and
//! even then every record is kept in memory for the report.

use crate::host_record::{FailureRecord, HostRecord};
use crate::output_tree::{Collisions, OutputTree, Reuse, TreeError, command_file, host_dir};
use fanout_common::FailureKind;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable report: outputs (or a table with --output) and a summary.
    Human,
    /// One JSON object per host per line on stdout; the summary goes to stderr.
    Json,
    /// CSV on stdout when the run ends (run: a row per host and command; inventory: a row
    /// per host); the summary goes to stderr.
    Csv,
}

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error(transparent)]
    Output(#[from] TreeError),
    /// Two hosts, or two commands of a host, would be stored in one file.
    #[error("{0}; nothing was run")]
    Collision(String),
    /// `results.jsonl` could not take a host's line: the run stops, the report still lists
    /// every host.
    #[error("cannot write {path}: {source}")]
    Results { path: PathBuf, source: io::Error },
}

/// Where `--output` goes: the tree and its `results.jsonl`.
struct Saved {
    tree: OutputTree,
    results: File,
    /// Bytes of complete lines in `results.jsonl`: a line that fails halfway is cut back to it.
    results_len: u64,
}

pub struct Recorder {
    format: Format,
    /// `--output`, while it can still be written.
    output: Option<Saved>,
    /// `--session-log`: one transcript per host.
    session_log: Option<OutputTree>,
    /// Applied to each record before anything else (`fanout backup` takes the outputs here,
    /// normalising them while the run goes on, and leaves the record without them).
    transform: Option<Transform>,
    /// Why `results.jsonl` stopped taking lines, once it did. Later hosts are kept in memory
    /// only (and fail as `output_write_failed`), so the report still accounts for them.
    stopped: Option<String>,
    /// Every record, outputs removed unless `keep_outputs`.
    kept: Vec<HostRecord>,
    /// Whether the final report needs the outputs (the human report without `--output`).
    keep_outputs: bool,
    files_written: usize,
    /// Hosts failed so far, for the live progress line.
    failed: usize,
    progress: indicatif::ProgressBar,
    /// `--parse textfsm`: adds records to each host's outputs before they are written.
    parser: Option<crate::parsed_output::OutputParser>,
}

/// What [`Recorder::with_transform`] takes.
type Transform = Box<dyn FnMut(&mut HostRecord) + Send>;

/// The file `results.jsonl` is, in the output directory.
const RESULTS: &str = "results.jsonl";
/// The file that marks a `--session-log` directory as fanout's (for `--overwrite`).
const SESSION_LOG_MARKER: &str = "fanout-session-logs.txt";

impl Recorder {
    /// Opens `--output` (see [`OutputTree::open`]: a new or empty directory, or with
    /// `overwrite` an earlier run's, which is removed first) and creates `results.jsonl`.
    pub fn new(
        format: Format,
        output_dir: Option<&Path>,
        overwrite: bool,
        keep_outputs: bool,
        progress: indicatif::ProgressBar,
    ) -> Result<Self, RecorderError> {
        let output = match output_dir {
            Some(dir) => {
                let reuse = if overwrite {
                    Reuse::Overwrite { marker: RESULTS }
                } else {
                    Reuse::Refuse
                };
                let tree = OutputTree::open(dir, reuse)?;
                let results = tree.create(&[RESULTS])?;
                Some(Saved {
                    tree,
                    results,
                    results_len: 0,
                })
            }
            None => None,
        };
        Ok(Self {
            keep_outputs,
            format,
            output,
            session_log: None,
            transform: None,
            stopped: None,
            kept: Vec::new(),
            files_written: 0,
            failed: 0,
            progress,
            parser: None,
        })
    }

    /// Also writes each host's session transcript (`--session-log`) into `dir`, as
    /// `<host>.log` (names escaped as for `--output`), under the same rules as `--output`: a new
    /// or empty directory, or with `overwrite` an earlier run's transcripts, removed first.
    /// See [`Recorder::transform`]'s field.
    pub fn with_transform(
        mut self,
        transform: impl FnMut(&mut HostRecord) + Send + 'static,
    ) -> Self {
        self.transform = Some(Box::new(transform));
        self
    }

    pub fn with_session_log(
        mut self,
        dir: Option<&Path>,
        overwrite: bool,
    ) -> Result<Self, RecorderError> {
        if let Some(dir) = dir {
            let reuse = if overwrite {
                Reuse::Overwrite {
                    marker: SESSION_LOG_MARKER,
                }
            } else {
                Reuse::Refuse
            };
            let tree = OutputTree::open(dir, reuse)?;
            tree.write(
                &[SESSION_LOG_MARKER],
                b"fanout --session-log: one transcript per host, <host>.log\n",
            )?;
            self.session_log = Some(tree);
        }
        Ok(self)
    }

    /// Parses outputs into records (`--parse`) as each host arrives.
    pub fn with_parser(mut self, parser: Option<crate::parsed_output::OutputParser>) -> Self {
        self.parser = parser;
        self
    }

    /// Keeps `record`, writing its outputs and its line in `results.jsonl` first. A host whose
    /// outputs cannot be stored fails as `output_write_failed` and the run goes on; `Err` means
    /// `results.jsonl` itself can no longer be written, and the caller should stop the run
    /// (this and every later record are still kept for the report).
    pub fn record(&mut self, mut record: HostRecord) -> Result<(), RecorderError> {
        if let Some(transform) = &mut self.transform {
            transform(&mut record);
        }
        let mut outcome = Ok(());
        if let Some(parser) = &self.parser {
            parser.apply(&mut record);
        }
        let transcript = std::mem::take(&mut record.transcript);
        if let Some(tree) = &self.session_log
            && !transcript.is_empty()
        {
            let file = format!("{}.log", host_dir(&record.host));
            if let Err(e) = tree.write(&[&file], &transcript) {
                // A diagnostic that could not be kept does not fail the host.
                let why = e.to_string();
                self.progress
                    .suspend(|| eprintln!("fanout: session log of {}: {why}", record.host));
            }
        }
        if let Some(saved) = &mut self.output {
            if let Some(why) = &self.stopped {
                not_saved(&mut record, format!("not saved: {why}"));
            } else {
                self.files_written += saved.save_outputs(&mut record);
                if let Err(e) = saved.append(&mut record) {
                    not_saved(
                        &mut record,
                        format!("its line in {RESULTS} was not written"),
                    );
                    let why = e.to_string();
                    self.progress.suspend(|| {
                        eprintln!(
                            "fanout: {why}: stopping the run (no new host starts); the report lists every host"
                        );
                    });
                    self.stopped = Some(why);
                    outcome = Err(e);
                }
            }
        }
        if self.format == Format::Json {
            let line = serde_json::to_string(&record).expect("records serialise");
            self.progress.suspend(|| crate::outln!("{line}"));
        }
        self.progress.inc(1);
        if !record.ok {
            self.failed += 1;
            self.progress.set_prefix(format!(
                "{} failed, last {} ({})",
                self.failed,
                crate::terminal_text::line(&record.host),
                failure_kind(&record)
            ));
        }
        self.kept.push(if self.keep_outputs {
            strip_raw(record)
        } else {
            without_outputs(record)
        });
        outcome
    }

    /// Why `results.jsonl` stopped taking lines, if it did.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// The live progress bar, for whoever knows how many hosts are in flight.
    pub fn progress(&self) -> indicatif::ProgressBar {
        self.progress.clone()
    }

    pub fn files_written(&self) -> usize {
        self.files_written
    }

    pub fn output_dir(&self) -> Option<&Path> {
        self.output.as_ref().map(|saved| saved.tree.path())
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn into_records(self) -> Vec<HostRecord> {
        self.progress.finish_and_clear();
        self.kept
    }
}

fn failure_kind(record: &HostRecord) -> &'static str {
    record.failure.as_ref().map_or("?", |f| f.kind.as_str())
}

/// The record without its outputs, in place: cloning it first would copy every SNMP varbind
/// (a third of the coordinator's CPU in `fanout bench --snmp`) only to drop the outputs.
fn without_outputs(mut record: HostRecord) -> HostRecord {
    for command in &mut record.commands {
        command.output = None;
        command.parsed = None;
        command.raw = Vec::new();
    }
    record
}

fn strip_raw(mut record: HostRecord) -> HostRecord {
    for command in &mut record.commands {
        command.raw = Vec::new();
    }
    record
}

impl Saved {
    /// Writes each command's output to its file; returns how many were written. The first
    /// that cannot be written fails the host (its other files stay: each is complete).
    fn save_outputs(&mut self, record: &mut HostRecord) -> usize {
        let dir = host_dir(&record.host);
        let mut written = 0;
        let mut failure = None;
        for command in &mut record.commands {
            let file = command_file(&command.command);
            match self.tree.write(&[&dir, &file], &command.raw) {
                Ok(()) => {
                    command.file = Some(format!("{dir}/{file}"));
                    written += 1;
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
            if let Some(parsed) = &command.parsed {
                let records = crate::parsed_output::records_file(&file);
                let mut json = serde_json::to_vec_pretty(parsed).expect("records serialise");
                json.push(b'\n');
                match self.tree.write(&[&dir, &records], &json) {
                    Ok(()) => {
                        command.parsed_file = Some(format!("{dir}/{records}"));
                        written += 1;
                    }
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
        }
        if let Some(why) = failure {
            not_saved(record, why);
        }
        written
    }

    /// Appends the record's line, without outputs, to `results.jsonl`; a line that does not
    /// fit whole is cut off again, so every line there is complete.
    fn append(&mut self, record: &mut HostRecord) -> Result<(), RecorderError> {
        // The outputs are lent out while the line is written, not copied away.
        let outputs: Vec<_> = record
            .commands
            .iter_mut()
            .map(|c| (c.output.take(), c.parsed.take()))
            .collect();
        let mut line = serde_json::to_string(&*record).expect("records serialise");
        for (command, (output, parsed)) in record.commands.iter_mut().zip(outputs) {
            (command.output, command.parsed) = (output, parsed);
        }
        line.push('\n');
        // One write per line, no buffer: after a crash (or a full disk) every line present is
        // complete and nothing is left to be flushed later.
        if let Err(source) = self.results.write_all(line.as_bytes()) {
            let _ = self.results.set_len(self.results_len);
            let _ = self.results.seek(SeekFrom::Start(self.results_len));
            return Err(RecorderError::Results {
                path: self.tree.display(&[RESULTS]),
                source,
            });
        }
        self.results_len += line.len() as u64;
        Ok(())
    }
}

/// Marks a host whose output could not be stored: `output_write_failed` if it was ok, and the
/// reason added to its failure if it had already failed (on the device, or another write).
fn not_saved(record: &mut HostRecord, why: String) {
    match &mut record.failure {
        Some(failure) => {
            failure.message = format!("{}; {why}", failure.message);
        }
        None => {
            record.failure = Some(FailureRecord {
                kind: FailureKind::OutputWriteFailed,
                retryable: false,
                message: why,
            });
        }
    }
    record.ok = false;
}

/// [`check_file_names`] for a job's hosts, its commands and its HTTP steps (stored under their
/// labels, `GET /log`).
pub fn check_job_file_names(
    hosts: &[fanout_common::inventory::Host],
    job: &crate::job::JobSettings,
) -> Result<(), RecorderError> {
    let steps = job.http.iter().flat_map(|http| &http.steps);
    let mut labels: Vec<String> = steps.map(fanout_common::http::step_label).collect();
    let requests = job.snmp.iter().flat_map(|snmp| &snmp.requests);
    labels.extend(requests.map(|r| r.label.clone()));
    check_file_names(
        hosts.iter().map(|h| h.name.as_str()),
        job.commands.iter().chain(&labels).map(String::as_str),
    )
}

/// Refuses, before anything runs, a job whose hosts or commands would share an output file:
/// names are escaped injectively, so only commands equal after trimming can.
pub fn check_file_names<'a>(
    hosts: impl IntoIterator<Item = &'a str>,
    commands: impl IntoIterator<Item = &'a str>,
) -> Result<(), RecorderError> {
    let mut names = Collisions::default();
    for host in hosts {
        names.host(host).map_err(RecorderError::Collision)?;
    }
    for command in commands {
        names.command(command).map_err(RecorderError::Collision)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_record::{CommandRecord, WorkerRef};

    fn record(host: &str, outputs: &[(&str, &str)]) -> HostRecord {
        HostRecord {
            host: host.into(),
            hostname: "127.0.0.1".into(),
            platform: "cisco_ios".into(),
            ok: true,
            failure: None,
            worker: WorkerRef {
                id: "w".into(),
                pid: 1,
            },
            attempts: 1,
            started_unix_ms: 0,
            duration_ms: 1,
            commands: outputs
                .iter()
                .map(|(command, output)| CommandRecord {
                    command: (*command).into(),
                    output: Some((*output).into()),
                    output_bytes: output.len() as u64,
                    duration_ms: 1,
                    rejected: false,
                    file: None,
                    parsed: None,
                    parsed_file: None,
                    parse_error: None,
                    varbinds: None,
                    raw: output.as_bytes().to_vec(),
                })
                .collect(),
            rules: Vec::new(),
            transcript: Vec::new(),
        }
    }

    fn recorder(out: &Path) -> Recorder {
        let hidden = indicatif::ProgressBar::hidden();
        Recorder::new(Format::Human, Some(out), false, false, hidden).unwrap()
    }

    fn lines(out: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(out.join(RESULTS))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn session_logs_go_to_their_own_tree_one_file_per_host() {
        let scratch = tempfile::tempdir().unwrap();
        let logs = scratch.path().join("logs");
        let hidden = indicatif::ProgressBar::hidden();
        let mut recorder = Recorder::new(Format::Json, None, false, false, hidden)
            .unwrap()
            .with_session_log(Some(&logs), false)
            .unwrap();
        for host in ["r1", "a/b"] {
            let mut r = record(host, &[]);
            r.transcript = format!("transcript of {host}\n").into_bytes();
            recorder.record(r).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(logs.join("r1.log")).unwrap(),
            "transcript of r1\n"
        );
        assert_eq!(
            std::fs::read_to_string(logs.join("a%2Fb.log")).unwrap(),
            "transcript of a/b\n"
        );
        // Reusing it needs --overwrite, which replaces the earlier run's logs.
        let hidden = indicatif::ProgressBar::hidden();
        let again = Recorder::new(Format::Json, None, false, false, hidden.clone()).unwrap();
        assert!(again.with_session_log(Some(&logs), false).is_err());
        let again = Recorder::new(Format::Json, None, false, false, hidden).unwrap();
        again.with_session_log(Some(&logs), true).unwrap();
        assert!(!logs.join("r1.log").exists());
    }

    #[test]
    fn hosts_and_commands_that_used_to_share_a_file_each_get_their_own() {
        let scratch = tempfile::tempdir().unwrap();
        let out = scratch.path().join("out");
        let mut recorder = recorder(&out);
        for host in ["a/b", "a_b", "a:b"] {
            let outputs = [("show version", host), ("show_version", "other")];
            recorder.record(record(host, &outputs)).unwrap();
        }
        for (dir, host) in [("a%2Fb", "a/b"), ("a_b", "a_b"), ("a%3Ab", "a:b")] {
            let saved = std::fs::read_to_string(out.join(dir).join("show_version.txt"));
            assert_eq!(saved.unwrap(), host);
            let other = std::fs::read_to_string(out.join(dir).join("show%5Fversion.txt"));
            assert_eq!(other.unwrap(), "other");
        }
        let files: Vec<String> = lines(&out)
            .iter()
            .flat_map(|l| l["commands"].as_array().unwrap().clone())
            .map(|c| c["file"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(files.len(), 6);
        assert_eq!(files[0], "a%2Fb/show_version.txt");
    }

    #[test]
    fn a_host_whose_output_cannot_be_stored_fails_alone_and_the_run_goes_on() {
        let scratch = tempfile::tempdir().unwrap();
        let out = scratch.path().join("out");
        let elsewhere = scratch.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let mut recorder = recorder(&out);
        std::os::unix::fs::symlink(&elsewhere, out.join("r2")).unwrap();
        let long = "r".repeat(300);
        for host in ["r1", "r2", long.as_str(), "r4"] {
            let result = recorder.record(record(host, &[("show version", "12.2")]));
            assert!(result.is_ok(), "{host}: {result:?}");
        }
        assert!(recorder.stopped().is_none());
        let recorded = lines(&out);
        let kinds: Vec<&str> = recorded
            .iter()
            .map(|l| l["failure"]["kind"].as_str().unwrap_or("ok"))
            .collect();
        assert_eq!(
            kinds,
            ["ok", "output_write_failed", "output_write_failed", "ok"]
        );
        let why = recorded[1]["failure"]["message"].as_str().unwrap();
        assert!(why.contains("symbolic link"), "{why}");
        let why = recorded[2]["failure"]["message"].as_str().unwrap();
        assert!(why.contains("too long"), "{why}");
        assert_eq!(recorded[2]["commands"][0]["file"], serde_json::Value::Null);
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        assert_eq!(recorder.files_written(), 2);
        assert_eq!(recorder.into_records().len(), 4);
    }

    #[test]
    fn a_device_failure_keeps_its_kind_when_its_output_cannot_be_stored_either() {
        let mut failed = record("r1", &[("show version", "12.2")]);
        failed.ok = false;
        failed.failure = Some(FailureRecord {
            kind: FailureKind::Timeout,
            retryable: true,
            message: "no prompt".into(),
        });
        not_saved(&mut failed, "disk full".into());
        let failure = failed.failure.unwrap();
        assert_eq!(failure.kind, FailureKind::Timeout);
        assert!(failure.message.contains("disk full"), "{}", failure.message);
    }

    #[test]
    fn when_results_jsonl_fails_the_caller_is_told_and_every_host_is_still_kept() {
        let scratch = tempfile::tempdir().unwrap();
        let out = scratch.path().join("out");
        let mut recorder = recorder(&out);
        recorder
            .record(record("r1", &[("show version", "12.2")]))
            .unwrap();
        // A device that is always full: every further write fails with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        recorder.output.as_mut().unwrap().results = full;
        let err = recorder
            .record(record("r2", &[("show version", "12.2")]))
            .unwrap_err();
        assert!(err.to_string().contains("results.jsonl"), "{err}");
        assert!(recorder.stopped().is_some());
        recorder
            .record(record("r3", &[("show version", "12.2")]))
            .unwrap();
        // r3 came after the stop: nothing of it is written.
        assert!(!out.join("r3").exists());
        let records = recorder.into_records();
        let kinds: Vec<Option<FailureKind>> = records
            .iter()
            .map(|r| r.failure.as_ref().map(|f| f.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                None,
                Some(FailureKind::OutputWriteFailed),
                Some(FailureKind::OutputWriteFailed)
            ]
        );
        assert_eq!(lines(&out).len(), 1);
    }

    #[test]
    fn names_equal_after_trimming_are_refused_before_a_run() {
        let hosts = ["r1", "r2"];
        assert!(check_file_names(hosts, ["show version", "show_version"]).is_ok());
        let err = check_file_names(hosts, ["show version", "show version "]).unwrap_err();
        assert!(err.to_string().contains("show_version.txt"), "{err}");
        assert!(check_file_names(hosts, ["show clock", "show clock"]).is_err());
    }

    #[test]
    fn outputs_and_results_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = tempfile::tempdir().unwrap();
        let out = scratch.path().join("out");
        let mut recorder = recorder(&out);
        recorder
            .record(record(
                "r1",
                &[("show running-config", "enable secret 5 x")],
            ))
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out.join(RESULTS)), 0o600);
        assert_eq!(mode(&out.join("r1/show_running-config.txt")), 0o600);
        assert_eq!(mode(&out.join("r1")), 0o700);
    }
}
