//! `-i hosts.csv`: the spreadsheet every team has. The header row names the fields: `name`
//! (required), any field a host entry takes (`hostname`, `port`, `username`, `platform`,
//! `password_env`, `secret_file`, ...), `groups` (names separated by `;` or spaces) and
//! `data.KEY` columns for data. An empty cell leaves the field unset.

use super::error::{InventoryError, InventoryErrorKind, SourceLocation};
use super::raw::{Credential, CredentialSource, RawEntry};
use super::sections::Named;
use super::source::{Document, EntryPlaces, Place, Places, SourceFile};
use crate::Secret;
use serde_json::Value;
use std::path::Path;

const COLUMNS: &[&str] = &[
    "name",
    "hostname",
    "port",
    "username",
    "platform",
    "password",
    "password_env",
    "password_file",
    "secret",
    "secret_env",
    "secret_file",
    "groups",
    "ssh_key_file",
    "jump_host",
    "data.KEY",
];

pub(super) fn read(path: &Path, text: String) -> Result<Document, InventoryError> {
    let fail = |line: usize, column: usize, kind: InventoryErrorKind| {
        let mut location = SourceLocation::file(path);
        location.line = Some(line);
        location.column = Some(column);
        InventoryError::new(kind).at(location)
    };
    let invalid = |what: &str, reason: String| InventoryErrorKind::InvalidValue {
        what: what.to_string(),
        reason,
    };
    let rows = parse(&text).map_err(|(line, reason)| fail(line, 1, invalid("CSV", reason)))?;
    let Some((header_line, header)) = rows.first() else {
        return Ok(Document::converted(
            vec![SourceFile {
                path: path.to_path_buf(),
                text,
            }],
            Vec::new(),
            Vec::new(),
            RawEntry::default(),
            Places::default(),
        ));
    };
    let mut name_column = None;
    for (index, (column, cell)) in header.iter().enumerate() {
        let known = COLUMNS.contains(&cell.as_str())
            || cell.strip_prefix("data.").is_some_and(|k| !k.is_empty());
        if !known {
            let kind = InventoryErrorKind::UnknownKey {
                what: "column",
                key: cell.clone(),
                suggestion: crate::suggest::closest(cell, COLUMNS.iter().copied())
                    .map(str::to_string),
                expected: COLUMNS,
            };
            return Err(fail(*header_line, *column, kind));
        }
        if header[..index].iter().any(|(_, c)| c == cell) {
            return Err(fail(
                *header_line,
                *column,
                InventoryErrorKind::DuplicateKey { key: cell.clone() },
            ));
        }
        if cell == "name" {
            name_column = Some(index);
        }
    }
    let Some(name_column) = name_column else {
        return Err(fail(
            *header_line,
            1,
            invalid("header", "a `name` column is required".into()),
        ));
    };
    let mut hosts: Vec<Named> = Vec::new();
    let mut places = Places::default();
    let mut groups: Vec<String> = Vec::new();
    for (line, row) in &rows[1..] {
        if row.iter().all(|(_, c)| c.is_empty()) {
            continue;
        }
        let mut entry = RawEntry::default();
        let mut entry_places = EntryPlaces {
            at: Place::Line {
                source: 0,
                line: *line,
                column: 1,
            },
            keys: Vec::new(),
        };
        let mut name = String::new();
        for (index, (_, field)) in header.iter().enumerate() {
            let Some((column, cell)) = row.get(index) else {
                continue;
            };
            if cell.is_empty() {
                continue;
            }
            let (line, column) = (*line, *column);
            let at = Place::Line {
                source: 0,
                line,
                column,
            };
            let credential = |field: &'static str, source| Some(Credential { field, source });
            let field_name: &'static str = COLUMNS
                .iter()
                .copied()
                .find(|c| c == field)
                .unwrap_or("data");
            entry_places.keys.push((field_name, at));
            match field.as_str() {
                "name" => name = cell.clone(),
                "hostname" => entry.hostname = Some(cell.clone()),
                "port" => {
                    let port = cell
                        .trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| {
                            fail(
                                line,
                                column,
                                invalid(
                                    "`port`",
                                    format!(
                                        "expected a port number from 1 to 65535, found {cell:?}"
                                    ),
                                ),
                            )
                        })?;
                    entry.port = Some(port);
                }
                "username" => entry.username = Some(cell.clone()),
                "platform" => entry.platform = Some(cell.clone()),
                "password" => {
                    entry.password = credential(
                        "password",
                        CredentialSource::Literal(Secret::new(cell.clone())),
                    )
                }
                "password_env" => {
                    entry.password = credential("password_env", CredentialSource::Env(cell.clone()))
                }
                "password_file" => {
                    entry.password =
                        credential("password_file", CredentialSource::File(cell.clone()))
                }
                "secret" => {
                    entry.secret = credential(
                        "secret",
                        CredentialSource::Literal(Secret::new(cell.clone())),
                    )
                }
                "secret_env" => {
                    entry.secret = credential("secret_env", CredentialSource::Env(cell.clone()))
                }
                "secret_file" => {
                    entry.secret = credential("secret_file", CredentialSource::File(cell.clone()))
                }
                "ssh_key_file" => entry.ssh.key_file = Some(cell.clone()),
                "jump_host" => entry.ssh.jump_host = Some(cell.clone()),
                "groups" => {
                    let list: Vec<String> = cell
                        .split([';', ' ', ','])
                        .filter(|g| !g.is_empty())
                        .map(str::to_string)
                        .collect();
                    for group in &list {
                        if !groups.contains(group) {
                            groups.push(group.clone());
                        }
                    }
                    entry.groups = Some(list);
                }
                data => {
                    let key = data.trim_start_matches("data.").to_string();
                    entry.data.insert(key, cell_value(cell));
                }
            }
        }
        if name.is_empty() {
            let column = row.get(name_column).map_or(1, |(c, _)| *c);
            return Err(fail(
                *line,
                column,
                invalid("`name`", "every row needs a host name".into()),
            ));
        }
        if let Some(first) = hosts.iter().position(|h| h.name == name) {
            let first_line = match &places.hosts[first].at {
                Place::Line { line, .. } => Some(*line),
                _ => None,
            };
            return Err(fail(
                *line,
                1,
                InventoryErrorKind::DuplicateHost { name, first_line },
            ));
        }
        hosts.push(Named { name, entry });
        places.hosts.push(entry_places);
    }
    let groups: Vec<Named> = groups
        .into_iter()
        .map(|name| Named {
            name,
            entry: RawEntry::default(),
        })
        .collect();
    places.groups = vec![EntryPlaces::default(); groups.len()];
    Ok(Document::converted(
        vec![SourceFile {
            path: path.to_path_buf(),
            text,
        }],
        hosts,
        groups,
        RawEntry::default(),
        places,
    ))
}

/// A data cell: a number when it is one (so `data.asn` compares as JSON numbers do), else text.
fn cell_value(cell: &str) -> Value {
    match cell.parse::<i64>() {
        Ok(n) if !cell.starts_with('0') || cell == "0" => Value::from(n),
        _ => Value::String(cell.to_string()),
    }
}

/// Rows of cells, each row with its line and each cell with its column (RFC 4180: quoted
/// cells may hold commas, doubled quotes and line breaks).
type Row = (usize, Vec<(usize, String)>);

fn parse(text: &str) -> Result<Vec<Row>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row: Vec<(usize, String)> = Vec::new();
    let mut cell = String::new();
    let (mut line, mut column) = (1usize, 1usize);
    let mut row_line = 1;
    let mut cell_column = 1;
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    column += 1;
                    cell.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    column = 0;
                    cell.push(c);
                }
                _ => cell.push(c),
            }
            column += 1;
            continue;
        }
        match c {
            '"' if cell.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            ',' => {
                row.push((cell_column, finish(&mut cell, was_quoted)));
                was_quoted = false;
                cell_column = column + 1;
            }
            '\r' => {}
            '\n' => {
                row.push((cell_column, finish(&mut cell, was_quoted)));
                was_quoted = false;
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                column = 0;
                row_line = line;
                cell_column = 1;
            }
            _ => cell.push(c),
        }
        column += 1;
    }
    if quoted {
        return Err((row_line, "a quoted cell is not closed".to_string()));
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push((cell_column, finish(&mut cell, was_quoted)));
        rows.push((row_line, row));
    }
    Ok(rows)
}

fn finish(cell: &mut String, quoted: bool) -> String {
    let text = std::mem::take(cell);
    if quoted {
        text
    } else {
        text.trim().to_string()
    }
}
