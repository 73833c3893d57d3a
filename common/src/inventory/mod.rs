//! The inventory: which devices exist and how to reach them.
//!
//! Loads Nornir SimpleInventory files as they are (a directory with hosts.yaml, groups.yaml and
//! defaults.yaml, or one file with `hosts`, `groups` and `defaults` sections), applies Nornir's
//! inheritance, reads credentials from the environment or files, and checks everything before
//! anything connects. Every problem comes back as an [`InventoryError`] naming the file, line
//! and entry.
//!
//! Reading goes in one pass per file (serde_yaml_ng with visitors that check as they go, see
//! `yaml`), then resolution walks the hosts once (`resolve`); line numbers for problems found
//! after reading are looked up again only when there is a problem (`locate`).

mod ansible;
mod connection;
mod csv;
mod error;
mod exec;
mod filter;
mod host;
mod locate;
mod nornir_config;
mod raw;
mod resolve;
mod sections;
mod snmp;
mod source;
mod values;
mod yaml;

#[cfg(test)]
mod tests;

pub use error::{InventoryError, InventoryErrorKind, SourceLocation};
pub use filter::Filter;
pub use host::{Host, SshOptions};
pub use snmp::{DEFAULT_SNMP_PORT, SnmpAuth, SnmpOptions, SnmpPriv, SnmpVersion};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Every host of an inventory, resolved, in file order.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    hosts: Vec<Host>,
    /// Settings the files hold that fanout reads but does not use (Netmiko's
    /// `global_delay_factor`), one line each with file:line, for the caller to show.
    notes: Vec<String>,
}

/// What the loader checks beyond the files themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Platforms the caller can drive; a host resolving to any other is an error. Empty: no check.
    pub known_platforms: Vec<String>,
    /// Other names for those platforms (Netmiko and NAPALM names, `ios` for `cisco_ios`); a
    /// host's platform written as an alias resolves to the platform's own name.
    pub platform_aliases: std::collections::BTreeMap<String, String>,
    /// How long an `exec:` inventory program may run; `None` is [`DEFAULT_SCRIPT_TIMEOUT`].
    pub script_timeout: Option<std::time::Duration>,
}

pub use exec::DEFAULT_TIMEOUT as DEFAULT_SCRIPT_TIMEOUT;

impl Inventory {
    /// Loads `path`: a directory holding hosts.yaml (required), groups.yaml and defaults.yaml
    /// (optional; `.yml` works too), or one YAML file with top-level `hosts`, `groups` and
    /// `defaults` sections. An empty hosts file gives an inventory without hosts.
    ///
    /// Also: an Ansible inventory (YAML or INI file, or a directory with `group_vars/` and
    /// `host_vars/`), a `.csv` file with a header row, a `nornir.yaml`, and `exec:PROGRAM`, a
    /// dynamic inventory program printing Ansible's `--list` JSON.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Inventory, InventoryError> {
        let spec = path.to_str().unwrap_or_default();
        let document = if let Some(program) = spec.strip_prefix("exec:") {
            let timeout = options.script_timeout.unwrap_or(DEFAULT_SCRIPT_TIMEOUT);
            let output = exec::run(program, timeout)?;
            ansible::from_script(spec, &output)?
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            let text =
                crate::input::read_text(path, crate::input::MAX_INVENTORY_BYTES).map_err(|e| {
                    let error = match e {
                        crate::input::InputFileError::Io(error) => error,
                        other => std::io::Error::other(other),
                    };
                    InventoryError::new(InventoryErrorKind::Read { error })
                        .at(SourceLocation::file(path))
                })?;
            csv::read(path, text)?
        } else {
            match ansible::load(path)? {
                Some(document) => document,
                None => source::Document::read(path)?,
            }
        };
        let mut notes = resolve::Notes::default();
        let hosts = resolve::resolve(&document, options, &mut notes)?;
        Ok(Inventory {
            hosts,
            notes: notes.into_notes(),
        })
    }

    /// Settings read but without effect in fanout, each with its file:line and why.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Loads several inventories into one: a host defined in more than one keeps the last
    /// definition (whole, not merged field by field), and each such conflict is noted with
    /// the sources involved. Each inventory resolves its own groups and defaults.
    pub fn load_all(paths: &[PathBuf], options: &LoadOptions) -> Result<Inventory, InventoryError> {
        let mut merged = Inventory::default();
        let mut index: HashMap<String, (usize, usize)> = HashMap::new();
        let mut conflicts: Vec<(String, usize, usize)> = Vec::new();
        for (source, path) in paths.iter().enumerate() {
            let inventory = Inventory::load(path, options)?;
            merged.notes.extend(inventory.notes);
            for host in inventory.hosts {
                match index.get_mut(&host.name) {
                    Some((position, from)) => {
                        conflicts.push((host.name.clone(), *from, source));
                        *from = source;
                        merged.hosts[*position] = host;
                    }
                    None => {
                        index.insert(host.name.clone(), (merged.hosts.len(), source));
                        merged.hosts.push(host);
                    }
                }
            }
        }
        // One note per pair of sources, naming the hosts (the first few of many).
        let mut pairs: Vec<((usize, usize), Vec<String>)> = Vec::new();
        for (name, from, to) in conflicts {
            match pairs.iter_mut().find(|(p, _)| *p == (from, to)) {
                Some((_, names)) => names.push(name),
                None => pairs.push(((from, to), vec![name])),
            }
        }
        for ((from, to), names) in pairs {
            const SHOWN: usize = 5;
            let mut listed = names
                .iter()
                .take(SHOWN)
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            if names.len() > SHOWN {
                listed.push_str(&format!(" and {} more", names.len() - SHOWN));
            }
            let (later, earlier) = (paths[to].display(), paths[from].display());
            let hosts = if names.len() == 1 { "host" } else { "hosts" };
            merged.notes.push(format!(
                "{later}: {hosts} {listed} also in {earlier}; {later}'s definition is used \
                 (the later -i wins)"
            ));
        }
        Ok(merged)
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The hosts matching every filter, in file order. No filters selects every host.
    pub fn select(&self, filters: &[Filter]) -> Vec<&Host> {
        self.hosts
            .iter()
            .filter(|host| filters.iter().all(|filter| filter.matches(host)))
            .collect()
    }
}
