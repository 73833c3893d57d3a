//! `nornir.yaml` given as the inventory: the part of Nornir's configuration that says where
//! SimpleInventory's files are (`inventory.options.host_file`, `group_file`, `defaults_file`).
//!
//! Everything else in the file (`runner`, `logging`, `core`, ...) configures Nornir itself and
//! is read past. What fanout cannot do as Nornir would is refused with its line rather than
//! half-honoured: another inventory plugin, or a `transform_function` (Python code that would
//! change the hosts after loading).

use super::error::{InventoryError, InventoryErrorKind, SourceLocation};
use super::locate::{Step, locate};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

/// Nornir's configuration sections: a file whose top level has one of them is a configuration.
const CONFIG_KEYS: &[&str] = &[
    "inventory",
    "runner",
    "core",
    "logging",
    "ssh",
    "user_defined",
];

pub(super) fn is_config_key(key: &str) -> bool {
    CONFIG_KEYS.contains(&key)
}

/// The files a configuration points at, resolved against the configuration's directory.
pub(super) struct InventoryFiles {
    pub hosts: PathBuf,
    /// `None` when not named and `groups.yaml` is absent (Nornir then has no groups).
    pub groups: Option<PathBuf>,
    pub defaults: Option<PathBuf>,
}

/// The SimpleInventory options fanout reads.
const OPTIONS: &[&str] = &["host_file", "group_file", "defaults_file", "encoding"];

pub(super) fn read(path: &Path, text: &str) -> Result<InventoryFiles, InventoryError> {
    let error = |kind: InventoryErrorKind, at: &[Step<'_>]| {
        let mut location = SourceLocation::file(path);
        if let Some((line, column)) = locate(text, at) {
            location.line = Some(line);
            location.column = Some(column);
        }
        InventoryError::new(kind).at(location)
    };
    let invalid = |what: &str, reason: String, at: &[Step<'_>]| {
        let what = what.to_string();
        error(InventoryErrorKind::InvalidValue { what, reason }, at)
    };
    // The single-file parse already checked the YAML's shape and nesting.
    let config: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let message = e.to_string();
        error(InventoryErrorKind::Yaml { message }, &[])
    })?;
    let inventory = config.get("inventory").unwrap_or(&Value::Null);
    let at = |key| [Step::Key("inventory"), Step::Key(key)];
    if let Some(plugin) = inventory.get("plugin").filter(|p| !p.is_null()) {
        let name = plugin.as_str().unwrap_or_default();
        // Nornir 2 wrote the class path (`nornir.plugins.inventory.simple.SimpleInventory`).
        if !name.ends_with("SimpleInventory") {
            let reason = format!(
                "fanout reads SimpleInventory's files; plugin {plugin:?} is not supported \
                 (export its hosts with `-i exec:SCRIPT` instead)"
            );
            return Err(invalid("`inventory.plugin`", reason, &at("plugin")));
        }
    }
    if inventory
        .get("transform_function")
        .is_some_and(|f| !f.is_null())
    {
        let reason = "a transform function is Python code fanout cannot run; apply it to the \
                      files instead"
            .to_string();
        let what = "`inventory.transform_function`";
        return Err(invalid(what, reason, &at("transform_function")));
    }
    let base = path.parent().unwrap_or(Path::new(""));
    let options = inventory.get("options").unwrap_or(&Value::Null);
    let file = |key: &'static str| -> Result<Option<PathBuf>, InventoryError> {
        let at = [Step::Key("inventory"), Step::Key("options"), Step::Key(key)];
        match options.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(name)) if !name.is_empty() => Ok(Some(base.join(name))),
            Some(_) => Err(invalid(
                &format!("`inventory.options.{key}`"),
                "expected a file path".to_string(),
                &at,
            )),
        }
    };
    let hosts = file("host_file")?;
    let groups = file("group_file")?;
    let defaults = file("defaults_file")?;
    if let Value::Mapping(options) = options {
        for key in options.keys() {
            let name = key.as_str().unwrap_or_default();
            if !OPTIONS.contains(&name) {
                let kind = InventoryErrorKind::UnknownKey {
                    what: "SimpleInventory option",
                    key: name.to_string(),
                    suggestion: crate::suggest::closest(name, OPTIONS.iter().copied())
                        .map(str::to_string),
                    expected: OPTIONS,
                };
                return Err(error(
                    kind,
                    &[
                        Step::Key("inventory"),
                        Step::Key("options"),
                        Step::Key(name),
                    ],
                ));
            }
        }
    }
    // Nornir's defaults; the group and defaults files may be missing, as in Nornir.
    let existing = |named: Option<PathBuf>, default: &str| {
        named.or_else(|| Some(base.join(default)).filter(|p| p.exists()))
    };
    Ok(InventoryFiles {
        hosts: hosts.unwrap_or_else(|| base.join("hosts.yaml")),
        groups: existing(groups, "groups.yaml"),
        defaults: existing(defaults, "defaults.yaml"),
    })
}
