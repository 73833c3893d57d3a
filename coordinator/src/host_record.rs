//! The coordinator's record of one host's final result: what `results.jsonl` holds one line of,
//! and what `--format json` prints.

use fanout_common::FailureKind;
use fanout_common::proto::JobRecord;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct HostRecord {
    pub host: String,
    pub hostname: String,
    pub platform: String,
    pub ok: bool,
    pub failure: Option<FailureRecord>,
    pub worker: WorkerRef,
    pub attempts: u32,
    pub started_unix_ms: u64,
    pub duration_ms: u64,
    pub commands: Vec<CommandRecord>,
    /// Validation jobs: one verdict per rule (empty when the host could not be evaluated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleRecord>,
    /// The session transcript (`--session-log`), for its file; never serialised.
    #[serde(skip)]
    pub transcript: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleRecord {
    pub rule: String,
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offending_line: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailureRecord {
    pub kind: FailureKind,
    pub retryable: bool,
    pub message: String,
}

/// Which worker process ran the host.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerRef {
    pub id: String,
    pub pid: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRecord {
    pub command: String,
    /// The device's output, exactly as it printed it (lossy only if it was not UTF-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    pub output_bytes: u64,
    pub duration_ms: u64,
    pub rejected: bool,
    /// Where `--output` wrote it, relative to the output directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `--parse textfsm`: the output's records, as Netmiko's `use_textfsm=True` gives them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parsed: Option<serde_json::Value>,
    /// Where `--output` wrote the records (`<host>/<command>.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parsed_file: Option<String>,
    /// `--parse textfsm`: why this output has no records (no template, a template error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// SNMP requests: the varbinds, typed (`{"oid", "name", "type", "value"}`), kept in the
    /// JSON records even when the output itself goes to a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub varbinds: Option<Vec<serde_json::Value>>,
    /// The raw bytes, for the output files; never serialised.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

impl HostRecord {
    /// Builds the record from an accepted result and the outputs its chunks carried.
    pub fn from_job_record(record: JobRecord) -> Self {
        let JobRecord {
            result,
            mut outputs,
            worker_id,
            worker_pid,
            hostname,
            platform,
            transcript,
        } = record;
        let result = result.unwrap_or_default();
        let worker = WorkerRef {
            id: worker_id,
            pid: worker_pid,
        };
        let failure = result.failure.map(|f| FailureRecord {
            // A worker that sends an unknown kind is a bug on our side, and says so.
            kind: FailureKind::from_proto(f.kind()).unwrap_or(FailureKind::Internal),
            retryable: f.retryable,
            message: f.message,
        });
        outputs.resize_with(result.commands.len(), Vec::new);
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let rules = result
            .rules
            .into_iter()
            .map(|v| RuleRecord {
                rule: v.rule,
                passed: v.passed,
                reason: non_empty(v.reason),
                offending_line: non_empty(v.offending_line),
            })
            .collect();
        let commands = result
            .commands
            .into_iter()
            .zip(outputs)
            .map(|(status, raw)| CommandRecord {
                varbinds: snmp_varbinds(&status.command, &raw),
                command: status.command,
                output: Some(String::from_utf8_lossy(&raw).into_owned()),
                output_bytes: raw.len() as u64,
                duration_ms: status.duration_ms,
                rejected: status.rejected,
                file: None,
                parsed: None,
                parsed_file: None,
                parse_error: None,
                raw,
            })
            .collect();
        HostRecord {
            host: result.host,
            hostname,
            platform,
            ok: result.ok && failure.is_none(),
            failure,
            worker,
            attempts: result.attempts,
            started_unix_ms: result.started_unix_ms,
            duration_ms: result.duration_ms,
            commands,
            rules,
            transcript,
        }
    }
}

/// The varbinds of an SNMP request's output (one JSON object per line, as the worker writes
/// them); `None` for other commands.
fn snmp_varbinds(command: &str, raw: &[u8]) -> Option<Vec<serde_json::Value>> {
    if !(command.starts_with("snmp-get ") || command.starts_with("snmp-walk ")) {
        return None;
    }
    let lines = raw.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    lines.map(|l| serde_json::from_slice(l).ok()).collect()
}
