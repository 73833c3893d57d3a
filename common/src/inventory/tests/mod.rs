//! Loader tests: real files in temp dirs, loaded through the public API.

mod ansible;
mod errors;
mod filters;
mod load;
mod nornir;
mod snmp;
mod sources;

use super::*;
use std::fs;
use tempfile::TempDir;

/// A temp dir holding the given files (paths relative to it).
fn dir_with(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create dirs");
        }
        fs::write(path, text).expect("write file");
    }
    dir
}

fn load_dir(files: &[(&str, &str)]) -> Result<Inventory, InventoryError> {
    let dir = dir_with(files);
    Inventory::load(dir.path(), &LoadOptions::default())
}

fn host<'i>(inventory: &'i Inventory, name: &str) -> &'i Host {
    inventory
        .hosts()
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

/// Load options knowing the built-in platforms and their aliases, as `fanout` loads.
fn builtin_options() -> LoadOptions {
    let registry = crate::platform::PlatformRegistry::builtin();
    LoadOptions {
        known_platforms: registry.names(),
        platform_aliases: registry.aliases().clone(),
        ..Default::default()
    }
}
