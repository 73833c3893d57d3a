//! `--format csv` for `run` and `validate`: one row per host and command (run) or per host and
//! rule (validate), for spreadsheets and `csvkit`. RFC 4180: a field holding a comma, a quote
//! or a line break is quoted, its quotes doubled. A field that a spreadsheet would take as a
//! formula (`=`, `+`, `-`, `@` first) gets a leading `'`, since failure messages quote what
//! devices said.

use crate::host_record::HostRecord;

/// One CSV line (with its line end) of `fields`.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = String::new();
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let field = field.as_ref();
        let field = if field.starts_with(['=', '+', '-', '@']) {
            format!("'{field}")
        } else {
            field.to_string()
        };
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
    out
}

const RUN_HEADER: &[&str] = &[
    "host",
    "hostname",
    "platform",
    "ok",
    "failure_kind",
    "failure_message",
    "attempts",
    "duration_ms",
    "worker_pid",
    "command",
    "output_bytes",
    "rejected",
    "file",
    "parsed_file",
    "parse_error",
];

/// `fanout run --format csv`: hosts in name order, a row per command (one row for a host that
/// ran none), then the hosts that never ran.
pub fn run(records: &[HostRecord], never_ran: &[String]) -> String {
    let mut out = line(RUN_HEADER);
    let mut sorted: Vec<&HostRecord> = records.iter().collect();
    sorted.sort_by(|a, b| a.host.cmp(&b.host));
    for record in sorted {
        let (kind, message) = match &record.failure {
            Some(f) => (f.kind.as_str().to_string(), f.message.clone()),
            None => (String::new(), String::new()),
        };
        let host = [
            record.host.clone(),
            record.hostname.clone(),
            record.platform.clone(),
            record.ok.to_string(),
            kind,
            message,
            record.attempts.to_string(),
            record.duration_ms.to_string(),
            record.worker.pid.to_string(),
        ];
        if record.commands.is_empty() {
            let mut row = host.to_vec();
            row.extend(std::iter::repeat_n(String::new(), 6));
            out.push_str(&line(&row));
        }
        for command in &record.commands {
            let mut row = host.to_vec();
            row.extend([
                command.command.clone(),
                command.output_bytes.to_string(),
                command.rejected.to_string(),
                command.file.clone().unwrap_or_default(),
                command.parsed_file.clone().unwrap_or_default(),
                command.parse_error.clone().unwrap_or_default(),
            ]);
            out.push_str(&line(&row));
        }
    }
    for host in never_ran {
        let mut row = vec![host.clone(), String::new(), String::new(), "false".into()];
        row.push("not_run".into());
        row.push("never ran".into());
        row.extend(std::iter::repeat_n(
            String::new(),
            RUN_HEADER.len() - row.len(),
        ));
        out.push_str(&line(&row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_formulas() {
        assert_eq!(line(&["a", "b c", "d,e"]), "a,b c,\"d,e\"\r\n");
        assert_eq!(
            line(&["say \"hi\"\nthere"]),
            "\"say \"\"hi\"\"\nthere\"\r\n"
        );
        assert_eq!(
            line(&["=cmd|' /C calc'!A0", "-1"]),
            "'=cmd|' /C calc'!A0,'-1\r\n"
        );
    }
}
