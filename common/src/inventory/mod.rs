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

mod error;
mod filter;
mod host;
mod locate;
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

use std::path::Path;

/// Every host of an inventory, resolved, in file order.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    hosts: Vec<Host>,
}

/// What the loader checks beyond the files themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Platforms the caller can drive; a host resolving to any other is an error. Empty: no check.
    pub known_platforms: Vec<String>,
    /// Other names for those platforms (Netmiko and NAPALM names, `ios` for `cisco_ios`); a
    /// host's platform written as an alias resolves to the platform's own name.
    pub platform_aliases: std::collections::BTreeMap<String, String>,
}

impl Inventory {
    /// Loads `path`: a directory holding hosts.yaml (required), groups.yaml and defaults.yaml
    /// (optional; `.yml` works too), or one YAML file with top-level `hosts`, `groups` and
    /// `defaults` sections. An empty hosts file gives an inventory without hosts.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Inventory, InventoryError> {
        let document = source::Document::read(path)?;
        let hosts = resolve::resolve(&document, options)?;
        Ok(Inventory { hosts })
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
