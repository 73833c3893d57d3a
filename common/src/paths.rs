//! Where fanout keeps per-user state when nobody says otherwise.

use std::path::PathBuf;

/// `$XDG_STATE_HOME/fanout`, else `~/.local/state/fanout`, else `./.fanout` when there is no home.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("fanout");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/state/fanout"),
        None => PathBuf::from(".fanout"),
    }
}

/// The known_hosts file used when a job does not name one.
pub fn default_known_hosts() -> PathBuf {
    state_dir().join("known_hosts")
}
