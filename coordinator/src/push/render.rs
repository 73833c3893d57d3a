//! The configuration lines of every host, rendered before any connection. MiniJinja renders
//! templates: it is Jinja2 (what Ansible and Nornir users already write), pure Rust with no
//! unsafe code of its own, well kept, and has strict undefined handling, so a typo in a
//! variable name is an error with the template's line instead of an empty string typed into a
//! device.

use fanout_common::inventory::Host;
use minijinja::{Environment, UndefinedBehavior};
use std::path::{Path, PathBuf};

/// Where the lines come from.
pub enum Source {
    /// A template rendered per host.
    Template { path: PathBuf, text: String },
    /// The same lines for every host, sent as written.
    Lines { path: PathBuf, text: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{file}:{line}: host {host:?}: {reason}")]
    Template {
        file: String,
        line: usize,
        host: String,
        reason: String,
    },
    #[error("{file}: {reason}")]
    Syntax { file: String, reason: String },
    #[error("{file}: host {host:?}: line {line:?} {reason}")]
    BadLine {
        file: String,
        host: String,
        line: String,
        reason: String,
    },
    #[error("{file}: host {host:?}: the change is empty")]
    Empty { file: String, host: String },
}

/// What a host's template sees: every field `fanout inventory` shows (never a secret) at the
/// top level (`name`, `platform`, `data.vlan_id`), and the same again as `host`.
fn context(host: &Host) -> serde_json::Value {
    let mut fields = host.describe();
    if let Some(map) = fields.as_object_mut() {
        let copy = serde_json::Value::Object(map.clone());
        map.insert("host".into(), copy);
    }
    fields
}

/// Each host's lines, in the hosts' order. Blank lines are dropped; every other line must be
/// one command line (no control characters).
pub fn render_all(source: &Source, hosts: &[Host]) -> Result<Vec<Vec<String>>, RenderError> {
    match source {
        Source::Lines { path, text } => {
            let file = path.display().to_string();
            hosts
                .iter()
                .map(|host| lines_of(text, &file, &host.name))
                .collect()
        }
        Source::Template { path, text } => {
            let file = path.display().to_string();
            let mut env = Environment::new();
            env.set_undefined_behavior(UndefinedBehavior::Strict);
            // Lines as written: a block tag leaves no blank line or stray indentation.
            env.set_trim_blocks(true);
            env.set_lstrip_blocks(true);
            env.add_template(&file, text)
                .map_err(|e| RenderError::Syntax {
                    file: file.clone(),
                    reason: describe(&e),
                })?;
            let template = env.get_template(&file).map_err(|e| RenderError::Syntax {
                file: file.clone(),
                reason: describe(&e),
            })?;
            hosts
                .iter()
                .map(|host| {
                    let rendered =
                        template
                            .render(context(host))
                            .map_err(|e| RenderError::Template {
                                file: file.clone(),
                                line: e.line().unwrap_or(0),
                                host: host.name.clone(),
                                reason: describe(&e),
                            })?;
                    lines_of(&rendered, &file, &host.name)
                })
                .collect()
        }
    }
}

/// The error's own words, without MiniJinja's location suffix (the file and line lead ours).
fn describe(e: &minijinja::Error) -> String {
    let mut text = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        text.push_str(" (a variable the host does not have; see `fanout inventory`)");
    }
    text
}

fn lines_of(text: &str, file: &str, host: &str) -> Result<Vec<String>, RenderError> {
    let mut lines = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            continue;
        }
        fanout_common::command_text::check_command(line).map_err(|e| RenderError::BadLine {
            file: file.to_string(),
            host: host.to_string(),
            line: line.to_string(),
            reason: e.to_string(),
        })?;
        lines.push(line.to_string());
    }
    if lines.is_empty() {
        return Err(RenderError::Empty {
            file: file.to_string(),
            host: host.to_string(),
        });
    }
    Ok(lines)
}

/// Reads the template or lines file (bounded, a regular file).
pub fn load(template: Option<&Path>, lines: Option<&Path>) -> Result<Source, String> {
    let read = |path: &Path| {
        fanout_common::input::read_text(path, fanout_common::input::MAX_CONFIG_BYTES)
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    match (template, lines) {
        (Some(path), _) => Ok(Source::Template {
            path: path.to_path_buf(),
            text: read(path)?,
        }),
        (None, Some(path)) => Ok(Source::Lines {
            path: path.to_path_buf(),
            text: read(path)?,
        }),
        (None, None) => Err("give --template FILE or --lines FILE".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(name: &str, vlan: u64) -> Host {
        let mut host = Host {
            name: name.into(),
            platform: "cisco_ios".into(),
            ..Host::default()
        };
        host.data.insert("vlan_id".into(), json!(vlan));
        host
    }

    fn template(text: &str) -> Source {
        Source::Template {
            path: "change.j2".into(),
            text: text.into(),
        }
    }

    #[test]
    fn each_host_gets_its_own_lines() {
        let source = template("vlan {{ data.vlan_id }}\n name FOR-{{ name | upper }}\n");
        let lines = render_all(&source, &[host("r1", 42), host("r2", 43)]).unwrap();
        assert_eq!(lines[0], ["vlan 42", " name FOR-R1"]);
        assert_eq!(lines[1], ["vlan 43", " name FOR-R2"]);
    }

    #[test]
    fn an_undefined_variable_names_the_file_line_and_host() {
        let source = template("vlan {{ data.vlan_id }}\n name {{ data.vlan_name }}\n");
        let err = render_all(&source, &[host("r1", 42)]).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("change.j2:2: host \"r1\": "), "{text}");
        assert!(text.contains("undefined"), "{text}");
    }

    #[test]
    fn blank_lines_go_and_an_empty_change_is_refused() {
        let source = template("{% if false %}vlan 1{% endif %}\n\n");
        assert!(matches!(
            render_all(&source, &[host("r1", 1)]),
            Err(RenderError::Empty { .. })
        ));
    }

    #[test]
    fn lines_files_are_sent_as_written() {
        let source = Source::Lines {
            path: "l.txt".into(),
            text: "vlan 7\n\n name {{ not_rendered }}\n".into(),
        };
        let lines = render_all(&source, &[host("r1", 1)]).unwrap();
        assert_eq!(lines[0], ["vlan 7", " name {{ not_rendered }}"]);
    }
}
