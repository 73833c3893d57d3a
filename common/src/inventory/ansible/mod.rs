//! Ansible inventories as they are written: YAML and INI files, directories of them with
//! `group_vars/` and `host_vars/`, and the JSON of dynamic inventory scripts.
//!
//! Everything is read into Ansible's own model first (`model`), then converted to fanout's
//! hosts, groups and defaults, so the usual resolution, filters and checks apply unchanged:
//! `group=ios` selects the hosts of Ansible group `ios` and of its children.

mod ini;
mod model;
mod ssh_args;
mod vars;
mod yaml_format;

use super::error::{InventoryError, InventoryErrorKind, SourceLocation};
use super::source::{Document, Place, SourceFile};
use crate::input::{InputFileError, MAX_INVENTORY_BYTES, read_text as read_input};
use model::Model;
use std::fs;
use std::path::{Path, PathBuf};

/// Ansible's default `inventory_ignore_extensions`: files a directory inventory skips.
const IGNORED: &[&str] = &[
    "~", ".orig", ".ini", ".cfg", ".retry", ".pyc", ".pyo", ".swp", ".bak", ".rpm", ".md", ".txt",
    ".rst",
];

/// Reads `path` if it is an Ansible inventory; `None` leaves it to the Nornir reader.
pub(super) fn load(path: &Path) -> Result<Option<Document>, InventoryError> {
    let metadata = fs::metadata(path).map_err(|error| {
        InventoryError::new(InventoryErrorKind::Read { error }).at(SourceLocation::file(path))
    })?;
    let mut model = Model::default();
    if metadata.is_dir() {
        let has_vars_dirs = path.join("group_vars").is_dir() || path.join("host_vars").is_dir();
        let nornir_hosts = ["hosts.yaml", "hosts.yml"]
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file());
        if let Some(hosts) = &nornir_hosts
            && !has_vars_dirs
            && !is_ansible_yaml(hosts)?
        {
            return Ok(None);
        }
        let mut files: Vec<PathBuf> = fs::read_dir(path)
            .map_err(|error| read_error(path, error))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                !name.starts_with('.') && !IGNORED.iter().any(|ext| name.ends_with(ext))
            })
            .collect();
        files.sort();
        let mut other = Vec::new();
        for file in files {
            let text = read_text(&file)?;
            if !read_text_source(&mut model, &file, text)? {
                other.push(file);
            }
        }
        // Nothing Ansible here (a Nornir directory missing its hosts file, say): the Nornir
        // reader says what is wrong.
        if model.sources.is_empty() && !has_vars_dirs {
            return Ok(None);
        }
        // Every file of an Ansible directory is a source; a YAML mapping that is not in
        // Ansible's usual shape still defines groups.
        for file in other {
            let text = read_text(&file)?;
            let value = parse_yaml(&file, &text)?;
            let source = push_source(&mut model, &file, text);
            yaml_format::read(&mut model, source, &value)?;
        }
        read_vars_dirs(&mut model, path)?;
    } else {
        let text = read_text(path)?;
        // A Nornir single file (only `hosts`, `groups`, `defaults` at the top) is left to the
        // Nornir reader without a second parse.
        if nornir_sections_only(&text) {
            return Ok(None);
        }
        if !read_text_source(&mut model, path, text)? {
            return Ok(None);
        }
        if let Some(dir) = path.parent() {
            read_vars_dirs(&mut model, dir)?;
        }
    }
    model.into_document().map(Some)
}

/// The output of a dynamic inventory script, `origin` naming it in messages.
pub(super) fn from_script(
    origin: &str,
    output: &serde_json::Value,
) -> Result<Document, InventoryError> {
    let mut model = Model::default();
    model.origin = Some(PathBuf::from(origin));
    yaml_format::read_script(&mut model, output)?;
    model.into_document()
}

/// Whether every top-level key of a YAML text is a Nornir section name.
fn nornir_sections_only(text: &str) -> bool {
    let mut keys = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with([' ', '\t', '#', '-']))
        .filter(|l| !l.starts_with("..."))
        .map(|l| l.split(':').next().unwrap_or_default().trim());
    let mut any = false;
    let only = keys.all(|k| {
        any = true;
        matches!(k, "hosts" | "groups" | "defaults")
    });
    any && only
}

fn read_error(path: &Path, error: std::io::Error) -> InventoryError {
    InventoryError::new(InventoryErrorKind::Read { error }).at(SourceLocation::file(path))
}

fn read_text(path: &Path) -> Result<String, InventoryError> {
    read_input(path, MAX_INVENTORY_BYTES).map_err(|e| {
        let error = match e {
            InputFileError::Io(error) => error,
            other => std::io::Error::other(other),
        };
        read_error(path, error)
    })
}

fn is_ansible_yaml(path: &Path) -> Result<bool, InventoryError> {
    let text = read_text(path)?;
    Ok(serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text)
        .is_ok_and(|v| yaml_format::looks_ansible(&v)))
}

/// Reads a file in whichever Ansible format it is; `false` when it is a YAML mapping that is
/// not Ansible-shaped (a Nornir file).
fn read_text_source(model: &mut Model, path: &Path, text: String) -> Result<bool, InventoryError> {
    check_vault_file(path, &text)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let yaml_named = matches!(extension, "yaml" | "yml" | "json");
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) {
        // A script's `--list` output saved to a file.
        Ok(value) if yaml_format::looks_script(&value) => {
            let json = serde_json::to_value(&value).unwrap_or_default();
            yaml_format::read_script(model, &json)?;
            Ok(true)
        }
        Ok(value) if yaml_format::looks_ansible(&value) => {
            let source = push_source(model, path, text);
            yaml_format::read(model, source, &value)?;
            Ok(true)
        }
        Ok(serde_yaml_ng::Value::Mapping(_)) => Ok(false),
        _ if !yaml_named && ini::looks_ini(&text) => {
            let source = push_source(model, path, text);
            ini::read(model, source, &text_of(model, source))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn text_of(model: &Model, source: usize) -> String {
    model.sources[source].text.clone()
}

fn push_source(model: &mut Model, path: &Path, text: String) -> usize {
    model.sources.push(SourceFile {
        path: path.to_path_buf(),
        text,
    });
    model.sources.len() - 1
}

fn parse_yaml(path: &Path, text: &str) -> Result<serde_yaml_ng::Value, InventoryError> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        let mut location = SourceLocation::file(path);
        if let Some(at) = e.location() {
            location.line = Some(at.line());
            location.column = Some(at.column());
        }
        let message = e.to_string();
        InventoryError::new(InventoryErrorKind::Yaml { message }).at(location)
    })
}

/// A whole file encrypted with `ansible-vault encrypt` is refused, not read as text.
fn check_vault_file(path: &Path, text: &str) -> Result<(), InventoryError> {
    if text.trim_start().starts_with("$ANSIBLE_VAULT") {
        let kind = InventoryErrorKind::InvalidValue {
            what: "file".to_string(),
            reason: vars::VAULT.to_string(),
        };
        let mut location = SourceLocation::file(path);
        location.line = Some(1);
        return Err(InventoryError::new(kind).at(location));
    }
    Ok(())
}

/// `group_vars/NAME[.yml|.yaml|.json]` or `group_vars/NAME/*`, and the same under
/// `host_vars/`, beside the inventory. Vars for hosts or groups the inventory does not have are
/// ignored, as Ansible does.
fn read_vars_dirs(model: &mut Model, dir: &Path) -> Result<(), InventoryError> {
    for (kind, is_group) in [("group_vars", true), ("host_vars", false)] {
        let base = dir.join(kind);
        let Ok(entries) = fs::read_dir(&base) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let file_name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if file_name.starts_with('.') {
                continue;
            }
            let name = if path.is_dir() {
                file_name.to_string()
            } else {
                match file_name.rsplit_once('.') {
                    Some((stem, "yml" | "yaml" | "json")) => stem.to_string(),
                    Some(_) => continue,
                    None => file_name.to_string(),
                }
            };
            let exists = if is_group {
                model.has_group(&name)
            } else {
                model.has_host(&name)
            };
            if !exists {
                continue;
            }
            let files = if path.is_dir() {
                let mut files: Vec<PathBuf> = fs::read_dir(&path)
                    .map_err(|error| read_error(&path, error))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .filter(|p| {
                        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                        !n.starts_with('.') && !IGNORED.iter().any(|ext| n.ends_with(ext))
                    })
                    .collect();
                files.sort();
                files
            } else {
                vec![path.clone()]
            };
            for file in files {
                let text = read_text(&file)?;
                check_vault_file(&file, &text)?;
                let value = parse_yaml(&file, &text)?;
                let source = push_source(model, &file, text);
                let vars = yaml_format::vars_of(model, source, &value, &[])?;
                if is_group {
                    model.group(&name, Place::Nowhere).vars.extend(vars);
                } else {
                    model.host(&name, Place::Nowhere).vars.extend(vars);
                }
            }
        }
    }
    Ok(())
}
