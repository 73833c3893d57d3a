//! Records every host's result the moment it arrives: a flushed line in `results.jsonl` and one
//! file per command under `--output`, a JSON line on stdout with `--format json`. Runs on its own
//! thread so file writes never stall the async runtime.

use crate::record::HostRecord;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable report: outputs (or a table with --output) and a summary.
    Human,
    /// One JSON object per host per line on stdout; the summary goes to stderr.
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

pub struct Recorder {
    format: Format,
    /// `--output` directory and its open `results.jsonl`.
    output: Option<(PathBuf, BufWriter<File>)>,
    /// Every record, outputs removed unless `keep_outputs`.
    kept: Vec<HostRecord>,
    /// Whether the final report needs the outputs (the human report without `--output`).
    keep_outputs: bool,
    files_written: usize,
    /// Hosts failed so far, for the live progress line.
    failed: usize,
    progress: indicatif::ProgressBar,
}

impl Recorder {
    pub fn new(
        format: Format,
        output_dir: Option<&Path>,
        keep_outputs: bool,
        progress: indicatif::ProgressBar,
    ) -> Result<Self, RecorderError> {
        let output = match output_dir {
            Some(dir) => {
                let path = dir.join("results.jsonl");
                let file = std::fs::create_dir_all(dir)
                    .and_then(|()| {
                        OpenOptions::new()
                            .create(true)
                            .write(true)
                            .truncate(true)
                            .open(&path)
                    })
                    .map_err(|source| RecorderError::Write {
                        path: path.clone(),
                        source,
                    })?;
                Some((dir.to_path_buf(), BufWriter::new(file)))
            }
            None => None,
        };
        Ok(Self {
            keep_outputs,
            format,
            output,
            kept: Vec::new(),
            files_written: 0,
            failed: 0,
            progress,
        })
    }

    pub fn record(&mut self, mut record: HostRecord) -> Result<(), RecorderError> {
        if let Some((dir, results)) = &mut self.output {
            for command in &mut record.commands {
                let relative = output_file_name(&record.host, &command.command);
                let path = dir.join(&relative);
                write_file(&path, &command.raw)?;
                command.file = Some(relative);
                self.files_written += 1;
            }
            let line = serde_json::to_string(&without_outputs(&record)).expect("records serialise");
            let path = || dir.join("results.jsonl");
            // Flushed per host: after a crash every line present is complete.
            writeln!(results, "{line}")
                .and_then(|()| results.flush())
                .map_err(|source| RecorderError::Write {
                    path: path(),
                    source,
                })?;
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
            without_outputs(&record)
        });
        Ok(())
    }

    /// The live progress bar, for whoever knows how many hosts are in flight.
    pub fn progress(&self) -> indicatif::ProgressBar {
        self.progress.clone()
    }

    pub fn files_written(&self) -> usize {
        self.files_written
    }

    pub fn output_dir(&self) -> Option<&Path> {
        self.output.as_ref().map(|(dir, _)| dir.as_path())
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

fn without_outputs(record: &HostRecord) -> HostRecord {
    let mut slim = record.clone();
    for command in &mut slim.commands {
        command.output = None;
        command.raw = Vec::new();
    }
    slim
}

fn strip_raw(mut record: HostRecord) -> HostRecord {
    for command in &mut record.commands {
        command.raw = Vec::new();
    }
    record
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), RecorderError> {
    let result = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, data));
    result.map_err(|source| RecorderError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `<host>/<command>.txt` with everything but letters, digits, `-` and `.` turned into `_`, so a
/// command like `show ip route | include 0.0.0.0` makes a safe, readable file name.
pub fn output_file_name(host: &str, command: &str) -> String {
    fn safe(s: &str) -> String {
        let mut out: String = s
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if out.is_empty() || out.starts_with('.') {
            out.insert(0, '_');
        }
        out
    }
    format!("{}/{}.txt", safe(host), safe(command))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_file_names_are_safe_and_readable() {
        assert_eq!(
            output_file_name("r00001", "show running-config"),
            "r00001/show_running-config.txt"
        );
        assert_eq!(
            output_file_name("../etc", "show ip route | include 0.0.0.0/0"),
            "_.._etc/show_ip_route___include_0.0.0.0_0.txt"
        );
    }
}
