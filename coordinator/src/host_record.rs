//! The coordinator's record of one host's final result: what `results.jsonl` holds one line of,
//! and what `--format json` prints.

use fanout_common::FailureKind;
use fanout_common::proto::JobRecord;
use serde::Serialize;
use serde_json::value::RawValue;

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
    /// Held as the JSON array itself, the worker's lines joined: the worker already wrote
    /// each varbind as a JSON object with its keys in serde_json's order, so parsing them into
    /// `serde_json::Value`s only to write the same bytes back cost the coordinator CPU per
    /// varbind (a profile of `fanout bench --snmp` put it at the top of its own work).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub varbinds: Option<Box<RawValue>>,
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
        let mut failure = result.failure.map(|f| FailureRecord {
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
                varbinds: snmp_varbinds(&status.command, &raw).unwrap_or_else(|why| {
                    // Varbinds that cannot be read are not a host with fewer of them: the
                    // host fails, its output kept as it came.
                    failure.get_or_insert(FailureRecord {
                        kind: FailureKind::Internal,
                        retryable: false,
                        message: format!("`{}`: {why}", status.command),
                    });
                    None
                }),
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
/// them) as one JSON array; `None` for other commands, and why for an output that is not
/// such lines (each line checked by a lexing pass that builds no values).
fn snmp_varbinds(command: &str, raw: &[u8]) -> Result<Option<Box<RawValue>>, String> {
    if !(command.starts_with("snmp-get ") || command.starts_with("snmp-walk ")) {
        return Ok(None);
    }
    let unreadable = |n: usize| format!("varbind line {n} from the worker is not JSON");
    let mut array = Vec::with_capacity(raw.len() + 2);
    array.push(b'[');
    for (n, line) in raw.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        // Each line on its own must be one JSON value (as parsing it into a `Value` required);
        // a borrowed `RawValue` only lexes it.
        serde_json::from_slice::<&RawValue>(line).map_err(|_| unreadable(n + 1))?;
        if array.len() > 1 {
            array.push(b',');
        }
        array.extend_from_slice(line);
    }
    array.push(b']');
    // Valid JSON lines are UTF-8, and joined by commas in brackets they are an array.
    let text =
        String::from_utf8(array).map_err(|_| "the varbind lines are not UTF-8".to_string())?;
    RawValue::from_string(text)
        .map(Some)
        .map_err(|e| format!("the varbinds are not a JSON array: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker's lines, passed through, serialise to the bytes parsing them into values and
    /// writing those gave: keys in serde_json's order, strings escaped as serde_json escapes.
    #[test]
    fn varbinds_pass_through_as_the_values_would_serialise() {
        let raw = concat!(
            r#"{"name":"IF-MIB::ifDescr.1","oid":"1.3.6.1.2.1.2.2.1.2.1","type":"octet_string","value":"Gi0/1 \"up\" é\\"}"#,
            "\n",
            r#"{"name":"IF-MIB::ifHCInOctets.1","oid":"1.3.6.1.2.1.31.1.1.1.6.1","type":"counter64","value":18446744073709551615}"#,
            "\n"
        );
        let raw_value = snmp_varbinds("snmp-walk 1.3.6.1.2.1.2.2", raw.as_bytes())
            .unwrap()
            .unwrap();
        let values: Vec<serde_json::Value> = raw
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            serde_json::to_string(&raw_value).unwrap(),
            serde_json::to_string(&values).unwrap()
        );
        let empty = snmp_varbinds("snmp-get 1.3.6.1.2.1.1.3.0", b"")
            .unwrap()
            .unwrap();
        assert_eq!(empty.get(), "[]");
        // Not the worker's lines: said, with the line.
        let e = snmp_varbinds("snmp-walk 1.3", b"{\"oid\":\"1\"},{\"oid\":\"2\"}\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = snmp_varbinds("snmp-walk 1.3", b"{\"oid\":\"1\"}\nTimeout\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(snmp_varbinds("show version", b"{}\n").unwrap().is_none());
    }

    /// A host whose varbinds cannot be read fails, rather than being ok with none of them.
    #[test]
    fn unreadable_varbinds_fail_the_host_and_keep_the_output() {
        use fanout_common::proto::{CommandStatus, HostResult};
        let command = |name: &str| CommandStatus {
            command: name.to_string(),
            ..CommandStatus::default()
        };
        let good = b"{\"oid\":\"1.3\"}\n".to_vec();
        let record = |second: &[u8]| {
            HostRecord::from_job_record(JobRecord {
                result: Some(HostResult {
                    host: "r1".into(),
                    ok: true,
                    commands: vec![command("snmp-get 1.3"), command("snmp-walk 1.3.6")],
                    ..HostResult::default()
                }),
                outputs: vec![good.clone(), second.to_vec()],
                ..JobRecord::default()
            })
        };
        let fine = record(&good);
        assert!(fine.ok && fine.failure.is_none());
        let broken = record(b"{\"oid\":\"1.3.6.1\"}\nnot json\n");
        assert!(!broken.ok);
        let failure = broken.failure.as_ref().unwrap();
        assert_eq!(failure.kind, FailureKind::Internal);
        assert!(
            failure.message.contains("snmp-walk 1.3.6") && failure.message.contains("line 2"),
            "{}",
            failure.message
        );
        assert!(broken.commands[1].varbinds.is_none());
        assert_eq!(broken.commands[1].raw, b"{\"oid\":\"1.3.6.1\"}\nnot json\n");
        assert!(broken.commands[0].varbinds.is_some());
    }
}
