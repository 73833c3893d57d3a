//! The configuration each device has been given since the fleet started, kept apart from the
//! generated model: a device's running configuration is its generated model (with its drift)
//! and then these changes, in order. Keeping changes rather than text lets every persona render
//! them its own way, lets a session rebuild the model it shows, and makes an archive or a
//! commit history a cheap copy of a list.
//!
//! Junos's `commit confirmed N` is a deadline here; every access first rolls back a commit whose
//! deadline passed, so the device undoes it on its own whoever looks next (a session, the
//! fleet's [`crate::Fleet::running_config`], or the fleet's sweeper task).

use crate::model::{DeviceModel, Port, Vlan};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One change a configuration line made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// `vlan 42` (name `None`: created with IOS's default name unless it exists) or `name X`
    /// inside it.
    Vlan { id: u16, name: Option<String> },
    /// `no vlan 42`.
    NoVlan { id: u16 },
    /// Junos `set vlans NAME vlan-id N`: the VLAN of that name gets that id.
    NamedVlan { name: String, id: u16 },
    /// Junos `delete vlans NAME`.
    DeleteNamedVlan { name: String },
    /// `description ...` / `no description` inside `interface X`.
    Description {
        interface: String,
        text: Option<String>,
    },
    /// `switchport access vlan N` inside `interface X`.
    AccessVlan { interface: String, vlan: u16 },
    /// `shutdown` / `no shutdown` inside `interface X`.
    Shutdown { interface: String, down: bool },
    /// `ntp server A` / `no ntp server A`.
    Ntp { server: Ipv4Addr, present: bool },
    /// A Junos line devsim does not model: kept so a commit and `rollback` carry it, shown by
    /// nothing.
    Opaque(String),
}

/// Applies `changes` to `model`, in order.
pub(crate) fn apply(model: &mut DeviceModel, changes: &[Change]) {
    for change in changes {
        apply_one(model, change);
    }
}

fn apply_one(model: &mut DeviceModel, change: &Change) {
    match change {
        Change::Vlan { id, name } => match model.vlans.iter_mut().find(|v| v.id == *id) {
            Some(vlan) => {
                if let Some(name) = name {
                    vlan.name = name.clone();
                }
            }
            None => insert_vlan(
                model,
                *id,
                name.clone().unwrap_or_else(|| format!("VLAN{id:04}")),
            ),
        },
        Change::NoVlan { id } => model.vlans.retain(|v| v.id != *id),
        Change::NamedVlan { name, id } => {
            model.vlans.retain(|v| v.name != *name && v.id != *id);
            insert_vlan(model, *id, name.clone());
        }
        Change::DeleteNamedVlan { name } => model.vlans.retain(|v| v.name != *name),
        Change::Description { interface, text } => {
            if let Some(intf) = find_interface(model, interface) {
                intf.description = text.clone();
            }
        }
        Change::AccessVlan { interface, vlan } => {
            if let Some(intf) = find_interface(model, interface) {
                let voice = match intf.port {
                    Port::Access { voice, .. } => voice,
                    _ => None,
                };
                intf.port = Port::Access { vlan: *vlan, voice };
            }
        }
        Change::Shutdown { interface, down } => {
            if let Some(intf) = find_interface(model, interface) {
                intf.shutdown = *down;
            }
        }
        Change::Ntp { server, present } => {
            model.ntp_servers.retain(|s| s != server);
            if *present {
                model.ntp_servers.push(*server);
            }
        }
        Change::Opaque(_) => {}
    }
}

/// Keeps the VLAN list ascending, as every persona prints it.
fn insert_vlan(model: &mut DeviceModel, id: u16, name: String) {
    let at = model.vlans.partition_point(|v| v.id < id);
    model.vlans.insert(at, Vlan { id, name });
}

/// An interface by its full name or IOS's short one (`Gi1/0/1`), case-insensitively.
fn find_interface<'m>(
    model: &'m mut DeviceModel,
    name: &str,
) -> Option<&'m mut crate::model::Interface> {
    model
        .interfaces
        .iter_mut()
        .find(|i| i.name.eq_ignore_ascii_case(name) || i.short_name().eq_ignore_ascii_case(name))
}

/// What one device has committed.
#[derive(Debug, Default)]
pub(crate) struct Committed {
    /// Applied on the generated model, in order.
    pub changes: Vec<Change>,
    /// IOS `flash:` files written by `copy running-config flash:NAME`, for `configure replace`.
    pub archives: BTreeMap<String, Vec<Change>>,
    /// Junos: the configurations before each commit, newest first (`rollback 1` is `[0]`).
    pub history: Vec<Vec<Change>>,
    /// A `commit confirmed` not yet confirmed: when it rolls back by itself.
    pub confirm_by: Option<Instant>,
    /// Commits rolled back because nobody confirmed them, for tests and the log.
    pub rolled_back: u32,
    /// EOS: the configuration session whose `commit timer` runs `confirm_by`; `configure
    /// session NAME commit` confirms it, `... abort` rolls it back at once.
    pub timer_session: Option<String>,
    /// EOS configuration sessions left uncommitted: a session outlives the SSH session that
    /// edited it, as on a real switch, until it is committed or aborted.
    pub sessions: BTreeMap<String, Vec<Change>>,
    /// CLI sessions in configuration mode now.
    pub in_config: u32,
    /// CLI sessions that ended (the client left or was cut off) while in configuration mode.
    pub left_in_config: u32,
}

impl Committed {
    /// Commits `changes` as the new configuration, keeping the old one in the history.
    pub fn commit(&mut self, changes: Vec<Change>, confirm_within: Option<Duration>) {
        let previous = std::mem::replace(&mut self.changes, changes);
        self.history.insert(0, previous);
        // Junos keeps 50 rollbacks.
        self.history.truncate(50);
        self.confirm_by = confirm_within.map(|d| Instant::now() + d);
        self.timer_session = None;
    }

    /// Confirms a pending `commit confirmed`: the configuration stays as it is.
    pub fn confirm(&mut self) {
        self.confirm_by = None;
        self.timer_session = None;
    }

    /// Undoes the last commit now (EOS `configure session NAME abort` on a running timer, IOS-XR
    /// `rollback configuration last 1`); false when there is nothing to undo.
    pub fn undo_last(&mut self) -> bool {
        if self.history.is_empty() {
            return false;
        }
        self.changes = self.history.remove(0);
        self.confirm_by = None;
        self.timer_session = None;
        true
    }

    /// Rolls back an unconfirmed commit whose time is up; true when it did.
    fn expire(&mut self, now: Instant) -> bool {
        match self.confirm_by {
            Some(by) if by <= now => {
                self.confirm_by = None;
                self.timer_session = None;
                if !self.history.is_empty() {
                    self.changes = self.history.remove(0);
                }
                self.rolled_back += 1;
                true
            }
            _ => false,
        }
    }
}

/// Every device's committed configuration.
#[derive(Debug)]
pub(crate) struct ConfigStore {
    devices: Vec<Mutex<Committed>>,
    /// How long one of `commit confirmed`'s minutes lasts (a minute, unless a test shortens it).
    pub minute: Duration,
}

impl ConfigStore {
    pub fn new(count: usize, minute: Duration) -> Self {
        Self {
            devices: (0..count).map(|_| Mutex::default()).collect(),
            minute,
        }
    }

    /// The device's committed state, an expired `commit confirmed` already rolled back.
    pub fn device(&self, index: usize) -> MutexGuard<'_, Committed> {
        let mut guard = self.devices[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.expire(Instant::now()) {
            tracing::info!(index, "commit confirmed was not confirmed: rolled back");
        }
        guard
    }

    /// Rolls back every expired `commit confirmed` now, so it happens on its own even if
    /// nobody looks at the device.
    pub fn sweep(&self) {
        for index in 0..self.devices.len() {
            drop(self.device(index));
        }
    }
}

/// Where a device's configuration stands beyond its running configuration: what a change
/// that was interrupted could have left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigState {
    /// CLI sessions in configuration mode now.
    pub in_config: u32,
    /// CLI sessions that ended while in configuration mode.
    pub left_in_config: u32,
    /// Uncommitted EOS configuration sessions, by name.
    pub open_sessions: Vec<String>,
    /// A `commit confirmed` (or EOS `commit timer`) runs and nobody has confirmed it yet.
    pub awaiting_confirm: bool,
}

impl Committed {
    pub(crate) fn state(&self) -> ConfigState {
        ConfigState {
            in_config: self.in_config,
            left_in_config: self.left_in_config,
            open_sessions: self.sessions.keys().cloned().collect(),
            awaiting_confirm: self.confirm_by.is_some(),
        }
    }
}

/// One device's slot in the store, as a shell holds it.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub(crate) store: Arc<ConfigStore>,
    pub(crate) index: usize,
}

impl DeviceConfig {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Committed> {
        self.store.device(self.index)
    }
}

/// A line diff of two texts, `+`/`-` for the lines only one has, as `show | compare` prints
/// it (without Junos's hierarchy headers). Longest-common-subsequence over lines: configs are
/// a few hundred lines, so the quadratic table is small.
pub(crate) fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_only_what_changed() {
        let old = "a\nb\nc\n";
        let new = "a\nc\nd\n";
        assert_eq!(line_diff(old, new), "- b\n+ d\n");
        assert_eq!(line_diff(old, old), "");
    }

    #[test]
    fn an_unconfirmed_commit_rolls_back_when_its_time_is_up() {
        let store = ConfigStore::new(1, Duration::from_millis(20));
        let vlan = Change::Vlan { id: 42, name: None };
        store
            .device(0)
            .commit(vec![vlan.clone()], Some(Duration::from_millis(20)));
        assert_eq!(store.device(0).changes, [vlan]);
        std::thread::sleep(Duration::from_millis(30));
        let device = store.device(0);
        assert!(device.changes.is_empty());
        assert_eq!(device.rolled_back, 1);
    }

    #[test]
    fn a_confirmed_commit_stays() {
        let store = ConfigStore::new(1, Duration::from_millis(20));
        let vlan = Change::Vlan { id: 42, name: None };
        store
            .device(0)
            .commit(vec![vlan.clone()], Some(Duration::from_millis(20)));
        // Confirming is another commit of the same configuration, without a timer.
        let same = store.device(0).changes.clone();
        store.device(0).commit(same, None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(store.device(0).changes, [vlan]);
    }
}
