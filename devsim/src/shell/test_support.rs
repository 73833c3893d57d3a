//! What the configuration tests of `config_lines` and `candidate` share: a shell logged in on
//! device 0 of a store, and what typing a line into it prints.

use crate::Platform;
use crate::config_store::{ConfigStore, DeviceConfig};
use crate::shell::{Action, Shell, ShellOptions};
use std::sync::Arc;

/// A logged-in, privileged shell with paging off on device 0 of `store`.
pub(super) fn shell(platform: Platform, store: &Arc<ConfigStore>) -> Shell {
    let mut sh = Shell::new(
        "r00001",
        7,
        ShellOptions {
            platform,
            config: Some(DeviceConfig {
                store: store.clone(),
                index: 0,
            }),
            ..ShellOptions::default()
        },
    );
    sh.start();
    sh.privileged_unpaged();
    sh
}

/// What the shell prints for `line` typed and Enter pressed, with `\n` line ends.
pub(super) fn typed(sh: &mut Shell, line: &str) -> String {
    let mut out = String::new();
    for action in sh.feed(format!("{line}\n").as_bytes()) {
        if let Action::Send(bytes) = action {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out.replace("\r\n", "\n")
}
