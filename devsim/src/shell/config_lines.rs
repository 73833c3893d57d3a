//! Configuration lines that change the device: IOS applies each line at once (and keeps the
//! `flash:` archives `configure replace` restores); Junos edits a candidate that `commit`,
//! `commit confirmed N` and `rollback N` act on. What devsim does not model, IOS rejects as a
//! real device rejects a typo, so a push that sends a bad line sees the error a device gives.

use super::commands::invalid_at;
use super::config::{Object, build_model};
use super::{Mode, Outcome, Shell};
use crate::config_store::{Change, line_diff};
use std::net::Ipv4Addr;

impl Shell {
    /// One IOS configuration line (not `end`, `exit` or `do`, handled before): applied at once.
    pub(super) fn ios_line(
        &mut self,
        tokens: &[(usize, &str)],
        raw: &str,
        caret_base: usize,
    ) -> Outcome {
        match self.ios_change(tokens, raw, caret_base) {
            Err(refused) => refused,
            Ok(None) => Outcome::Text(String::new()),
            Ok(Some(change)) => {
                crate::config_store::apply(&mut self.model, std::slice::from_ref(&change));
                if let Some(config) = &self.options.config {
                    config.lock().changes.push(change);
                }
                if self.fault() == Some(crate::Fault::DropMidConfig) {
                    return Outcome::Drop(String::new());
                }
                Outcome::Text(String::new())
            }
        }
    }

    /// What an IOS-style configuration line changes (entering the sub-mode it opens), or the
    /// device's refusal. IOS applies it at once; IOS-XR and EOS sessions add it to a candidate.
    pub(super) fn ios_change(
        &mut self,
        tokens: &[(usize, &str)],
        raw: &str,
        caret_base: usize,
    ) -> Result<Option<Change>, Outcome> {
        let words: Vec<String> = tokens.iter().map(|(_, w)| w.to_ascii_lowercase()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let errors = &self.persona.errors;
        let invalid = |word: usize| {
            let column = caret_base + tokens.get(word).map_or(raw.len(), |t| t.0);
            Err(Outcome::Text(invalid_at(errors, errors.invalid, column)))
        };
        let incomplete = || Err(Outcome::Text(errors.incomplete.into()));
        // The text after the first `n` words, as typed (a description keeps its case).
        let rest = |n: usize| {
            tokens
                .get(n)
                .map(|&(col, _)| raw[col..].trim_end().to_string())
        };
        let object = self.object.clone();
        // Sub-mode lines first; a global line also leaves the sub-mode, as on IOS.
        let change = match (object.as_ref(), words.as_slice()) {
            (Some(Object::Vlan(id)), ["name", ..]) => match rest(1) {
                Some(name) if !name.contains(' ') && name.len() <= 32 => Some(Change::Vlan {
                    id: *id,
                    name: Some(name),
                }),
                Some(_) => return invalid(2),
                None => return incomplete(),
            },
            (Some(Object::Interface(intf)), ["description", ..]) => match rest(1) {
                Some(text) => Some(Change::Description {
                    interface: intf.clone(),
                    text: Some(text),
                }),
                None => return incomplete(),
            },
            (Some(Object::Interface(intf)), ["no", "description"]) => Some(Change::Description {
                interface: intf.clone(),
                text: None,
            }),
            (Some(Object::Interface(intf)), ["switchport", "access", "vlan", id]) => {
                match vlan_id(id) {
                    Some(vlan) => Some(Change::AccessVlan {
                        interface: intf.clone(),
                        vlan,
                    }),
                    None => return invalid(3),
                }
            }
            (Some(Object::Interface(_)), ["switchport", ..]) => None,
            (Some(Object::Interface(intf)), ["shutdown"]) => Some(Change::Shutdown {
                interface: intf.clone(),
                down: true,
            }),
            (Some(Object::Interface(intf)), ["no", "shutdown"]) => Some(Change::Shutdown {
                interface: intf.clone(),
                down: false,
            }),
            (_, ["vlan", id]) => match vlan_id(id) {
                Some(id) => {
                    self.enter(Object::Vlan(id), "config-vlan");
                    Some(Change::Vlan { id, name: None })
                }
                None => return invalid(1),
            },
            (_, ["no", "vlan", id]) => match vlan_id(id) {
                Some(id) => Some(Change::NoVlan { id }),
                None => return invalid(2),
            },
            (_, ["interface", ..]) => match rest(1) {
                Some(name) => {
                    self.enter(Object::Interface(name.replace(' ', "")), "config-if");
                    None
                }
                None => return incomplete(),
            },
            (_, [first, _, ..]) if ["line", "router"].contains(first) => {
                self.enter(Object::Other, &format!("config-{first}"));
                None
            }
            (_, ["ntp", "server", address]) | (_, ["no", "ntp", "server", address]) => {
                match address.parse::<Ipv4Addr>() {
                    Ok(server) => Some(Change::Ntp {
                        server,
                        present: words[0] != "no",
                    }),
                    Err(_) => return invalid(words.len() - 1),
                }
            }
            // Lines inside sub-modes devsim does not model are accepted as they are.
            (Some(Object::Other), _) => None,
            _ => return invalid(0),
        };
        Ok(change)
    }

    /// Enters a sub-mode, leaving any other (IOS sub-modes do not nest).
    fn enter(&mut self, object: Object, mode: &str) {
        self.object = Some(object);
        self.mode = Mode::Config(vec![mode.to_string()]);
    }

    /// IOS's archive commands, typed in privileged exec: `copy running-config flash:NAME` keeps
    /// the configuration, `configure replace flash:NAME [force]` puts it back. `None` for any
    /// other line, or on a device that has neither.
    pub(super) fn run_archive(&mut self, tokens: &[(usize, &str)]) -> Option<Outcome> {
        if !matches!(
            self.options.platform,
            crate::Platform::CiscoIos | crate::Platform::CiscoXe
        ) {
            return None;
        }
        let words: Vec<String> = tokens.iter().map(|(_, w)| w.to_ascii_lowercase()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let file = |word: &str| word.strip_prefix("flash:").map(str::to_string);
        match words.as_slice() {
            ["copy", "running-config" | "run", target] => {
                let name = file(target)?;
                let changes = self.committed_changes();
                let size = self.model.running_config().len();
                if let Some(config) = &self.options.config {
                    config.lock().archives.insert(name, changes);
                }
                Some(Outcome::Text(format!(
                    "{size} bytes copied in 0.112 secs ({size} bytes/sec)\n"
                )))
            }
            ["configure", "replace", source] | ["configure", "replace", source, "force"] => {
                let name = file(source)?;
                let Some(config) = &self.options.config else {
                    return Some(Outcome::Text(format!(
                        "%Error opening flash:{name} (No such file or directory)\n"
                    )));
                };
                let mut committed = config.lock();
                let Some(archived) = committed.archives.get(&name).cloned() else {
                    return Some(Outcome::Text(format!(
                        "%Error opening flash:{name} (No such file or directory)\n"
                    )));
                };
                committed.changes = archived.clone();
                drop(committed);
                self.rebuild(&archived);
                Some(Outcome::Text(
                    "Total number of passes: 1\nRollback Done\n\n".to_string(),
                ))
            }
            _ => None,
        }
    }

    /// The configuration committed in the fleet (or this session's, without a fleet).
    pub(super) fn committed_changes(&self) -> Vec<Change> {
        self.options
            .config
            .as_ref()
            .map(|c| c.lock().changes.clone())
            .unwrap_or_default()
    }

    pub(super) fn rebuild(&mut self, changes: &[Change]) {
        self.model = build_model(&self.model.hostname, self.seed, &self.options, changes);
    }

    /// Junos `configure` and IOS-XR `configure terminal`: the candidate starts as the
    /// committed configuration.
    pub(super) fn enter_candidate(&mut self) {
        if matches!(
            self.options.platform,
            crate::Platform::JuniperJunos | crate::Platform::CiscoXr
        ) {
            self.candidate = Some(self.committed_changes());
        }
    }

    /// One Junos configuration-mode line (not `exit`, handled before).
    pub(super) fn junos_line(
        &mut self,
        tokens: &[(usize, &str)],
        raw: &str,
        caret_base: usize,
    ) -> Outcome {
        let words: Vec<&str> = tokens.iter().map(|(_, w)| *w).collect();
        let errors = &self.persona.errors;
        let invalid = |word: usize| {
            let column = caret_base + tokens.get(word).map_or(raw.len(), |t| t.0);
            Outcome::Text(invalid_at(errors, errors.invalid, column))
        };
        let line = raw.trim().to_string();
        let candidate = self.candidate.get_or_insert_with(Vec::new);
        match words.as_slice() {
            ["set", "vlans", name, "vlan-id", id] => match vlan_id(id) {
                Some(id) => candidate.push(Change::NamedVlan {
                    name: name.to_string(),
                    id,
                }),
                None => {
                    return Outcome::Text(format!(
                        "error: value {id} is not within range (1..4094)\n"
                    ));
                }
            },
            ["delete", "vlans", name] => candidate.push(Change::DeleteNamedVlan {
                name: name.to_string(),
            }),
            ["set" | "delete", _, ..] => candidate.push(Change::Opaque(line)),
            ["set" | "delete"] => return invalid(1),
            ["show", "|", "compare"] => {
                let candidate = candidate.clone();
                let before = (self.persona.running_config)(&self.model);
                let after = (self.persona.running_config)(&build_model(
                    &self.model.hostname,
                    self.seed,
                    &self.options,
                    &candidate,
                ));
                let mut diff = line_diff(&before, &after);
                // The commit-time line differs only because the candidate is uncommitted.
                diff.retain_lines_without("## Last commit");
                return Outcome::Text(diff);
            }
            ["commit"] | ["commit", "and-quit"] => {
                return self.junos_commit(None, words.len() == 2);
            }
            ["commit", "confirmed", minutes] => match minutes.parse::<u32>() {
                Ok(n @ 1..=65535) => return self.junos_commit(Some(n), false),
                _ => return invalid(2),
            },
            ["commit", "confirmed"] => return self.junos_commit(Some(10), false),
            ["commit", "check"] => {
                return Outcome::Text("configuration check succeeds\n".into());
            }
            ["rollback"] | ["rollback", _] => {
                let n: usize = match words.get(1).map(|w| w.parse()) {
                    None => 0,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => return invalid(1),
                };
                let loaded = match (&self.options.config, n) {
                    (_, 0) => Some(self.committed_changes()),
                    (Some(config), n) => config.lock().history.get(n - 1).cloned(),
                    (None, _) => None,
                };
                return match loaded {
                    Some(changes) => {
                        self.candidate = Some(changes);
                        Outcome::Text("load complete\n".into())
                    }
                    None => Outcome::Text(format!("error: rollback {n} does not exist\n")),
                };
            }
            _ => return invalid(0),
        }
        Outcome::Text(String::new())
    }

    /// Commits the candidate; `confirm_minutes` makes it roll back by itself unless another
    /// commit confirms it in time.
    fn junos_commit(&mut self, confirm_minutes: Option<u32>, and_quit: bool) -> Outcome {
        let candidate = self.candidate.clone().unwrap_or_default();
        let mut text = String::new();
        if let Some(config) = &self.options.config {
            let within = confirm_minutes.map(|n| config.store.minute * n);
            config.lock().commit(candidate.clone(), within);
        }
        self.rebuild(&candidate);
        if let Some(n) = confirm_minutes {
            text.push_str(&format!(
                "configuration check succeeds\ncommit confirmed will be automatically rolled \
                 back in {n} minutes unless confirmed\n"
            ));
        }
        text.push_str("commit complete\n");
        if and_quit && let Outcome::Text(bye) = self.leave_config() {
            text.push_str(&bye);
        }
        Outcome::Text(text)
    }
}

/// A VLAN id IOS and Junos accept: 1 to 4094.
fn vlan_id(word: &str) -> Option<u16> {
    word.parse().ok().filter(|id| (1..=4094).contains(id))
}

/// Drops the lines that contain a needle, keeping the others' ends.
trait RetainLines {
    fn retain_lines_without(&mut self, needle: &str);
}

impl RetainLines for String {
    fn retain_lines_without(&mut self, needle: &str) {
        *self = self
            .lines()
            .filter(|l| !l.contains(needle))
            .map(|l| format!("{l}\n"))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use crate::Platform;
    use crate::config_store::ConfigStore;
    use crate::shell::test_support::{shell, typed};
    use std::sync::Arc;
    use std::time::Duration;

    fn store() -> Arc<ConfigStore> {
        Arc::new(ConfigStore::new(1, Duration::from_millis(40)))
    }

    #[test]
    fn ios_lines_change_the_running_config_of_later_sessions() {
        let store = store();
        let mut sh = shell(Platform::CiscoIos, &store);
        typed(&mut sh, "configure terminal");
        assert!(typed(&mut sh, "vlan 42").ends_with("r00001(config-vlan)#"));
        typed(&mut sh, " name PUSHED-42");
        typed(&mut sh, "interface GigabitEthernet1/0/1");
        typed(&mut sh, " description pushed by fanout");
        assert!(typed(&mut sh, "end").ends_with("r00001#"));
        let later = &mut shell(Platform::CiscoIos, &store);
        let config = typed(later, "show running-config");
        assert!(config.contains("\nvlan 42\n name PUSHED-42\n"), "{config}");
        assert!(
            config.contains(" description pushed by fanout\n"),
            "{config}"
        );
        let vlans = typed(later, "show vlan brief");
        assert!(vlans.contains("\n42   PUSHED-42 "), "{vlans}");
    }

    #[test]
    fn ios_rejects_lines_it_does_not_know_and_changes_nothing() {
        let store = store();
        let mut sh = shell(Platform::CiscoIos, &store);
        typed(&mut sh, "configure terminal");
        let out = typed(&mut sh, "vlan 5000");
        assert!(
            out.contains("% Invalid input detected at '^' marker."),
            "{out}"
        );
        let out = typed(&mut sh, "frobnicate the network");
        assert!(out.contains("% Invalid input"), "{out}");
        assert!(store.device(0).changes.is_empty());
    }

    #[test]
    fn ios_configure_replace_restores_the_archived_config() {
        let store = store();
        let mut sh = shell(Platform::CiscoIos, &store);
        let before = typed(&mut sh, "show running-config");
        typed(&mut sh, "copy running-config flash:pre-change");
        typed(&mut sh, "configure terminal");
        typed(&mut sh, "vlan 42");
        typed(&mut sh, "end");
        assert_ne!(typed(&mut sh, "show running-config"), before);
        let out = typed(&mut sh, "configure replace flash:pre-change force");
        assert!(out.contains("Rollback Done"), "{out}");
        assert_eq!(typed(&mut sh, "show running-config"), before);
        let out = typed(&mut sh, "configure replace flash:nothing force");
        assert!(out.contains("%Error opening flash:nothing"), "{out}");
    }

    #[test]
    fn junos_candidate_compare_commit_and_rollback() {
        let store = store();
        let mut sh = shell(Platform::JuniperJunos, &store);
        typed(&mut sh, "configure");
        typed(&mut sh, "set vlans PUSHED vlan-id 42");
        let diff = typed(&mut sh, "show | compare");
        assert!(diff.contains("+ "), "{diff}");
        assert!(diff.contains("PUSHED"), "{diff}");
        // Nothing is committed before `commit`, and leaving discards the candidate.
        assert!(store.device(0).changes.is_empty());
        typed(&mut sh, "exit");
        typed(&mut sh, "configure");
        let diff = typed(&mut sh, "show | compare");
        assert!(!diff.contains("+ ") && !diff.contains("- "), "{diff}");
        typed(&mut sh, "set vlans PUSHED vlan-id 42");
        let out = typed(&mut sh, "commit");
        assert!(out.contains("commit complete"), "{out}");
        assert_eq!(store.device(0).changes.len(), 1);
        typed(&mut sh, "rollback 1");
        typed(&mut sh, "commit");
        assert!(store.device(0).changes.is_empty());
        let out = typed(&mut sh, "rollback 99");
        assert!(out.contains("error: rollback 99 does not exist"), "{out}");
    }

    #[test]
    fn junos_commit_confirmed_rolls_back_unless_confirmed() {
        let store = store();
        let mut sh = shell(Platform::JuniperJunos, &store);
        typed(&mut sh, "configure");
        typed(&mut sh, "set vlans PUSHED vlan-id 42");
        let out = typed(&mut sh, "commit confirmed 1");
        assert!(out.contains("rolled back in 1 minutes"), "{out}");
        assert_eq!(store.device(0).changes.len(), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert!(store.device(0).changes.is_empty(), "rolled back by itself");
        typed(&mut sh, "exit");
        typed(&mut sh, "configure");
        typed(&mut sh, "set vlans PUSHED vlan-id 42");
        typed(&mut sh, "commit confirmed 1");
        typed(&mut sh, "commit");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(store.device(0).changes.len(), 1, "confirmed in time");
    }
}
