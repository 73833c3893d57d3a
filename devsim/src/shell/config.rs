//! Configuration mode, as each vendor moves through it: the words that climb a level or leave,
//! and the sub-modes a line enters, as the prompt names them (`r1(config-if)#`,
//! `[r1-GigabitEthernet0/0/1]`, `r1 (port1) # `). IOS-like devices apply the lines devsim
//! models (VLANs, interface descriptions, access VLANs, shutdown, NTP servers) at once and reject
//! any other with `% Invalid input`; Junos edits a candidate that `commit` applies (see
//! `config_lines.rs`), IOS-XR and EOS configuration sessions too, with IOS's lines (see
//! `candidate.rs`). Other vendors accept every line and apply nothing.

use super::{Mode, Outcome, Shell, ShellOptions};
use crate::config_store::{self, Change};
use crate::model::DeviceModel;
use crate::persona::Platform;

/// What the current sub-mode configures, so its lines know what they change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Object {
    Vlan(u16),
    Interface(String),
    /// A sub-mode devsim does not model (`line vty 0 4`, `router ospf 1`): lines are accepted.
    Other,
}

/// The device's model as the fleet's seed, its drift and quirks, and then `changes` make it.
pub(crate) fn build_model(
    hostname: &str,
    seed: u64,
    options: &ShellOptions,
    changes: &[Change],
) -> DeviceModel {
    let mut model = DeviceModel::generate(hostname, seed).drifted(&options.drift);
    config_store::apply(&mut model, changes);
    if options.quirks.banner {
        model.banner = Some(super::quirks::tricky_banner(&model));
    }
    model
}

/// Whether a configuration line enters a sub-mode.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entered {
    /// It does not (`description x`).
    No,
    /// It enters this one, named as the prompt shows it.
    Mode(String),
    /// It would, but its argument is missing (`interface` alone).
    Incomplete,
}

/// How a vendor moves through configuration mode.
pub(crate) struct ConfigModes {
    /// Words that leave configuration mode from anywhere in it (`end`; Huawei `return`).
    pub end: &'static [&'static str],
    /// Words that climb one level, leaving configuration mode from its top (`exit`; Huawei
    /// `quit`; FortiOS `next` out of an `edit`).
    pub up: &'static [&'static str],
    /// The sub-mode a line enters.
    pub sub_mode: fn(&[(usize, &str)]) -> Entered,
    /// Sub-modes nest (FortiOS `config` then `edit`); otherwise a sub-mode entered from
    /// another replaces it (IOS `interface` inside `router`).
    pub nests: bool,
    /// A configuration line that turns paging off for the whole device (FortiOS
    /// `set output standard`), where no session command does.
    pub paging_off: Option<&'static str>,
}

/// IOS and its relatives: a few sub-mode words, named `config-if` and the like.
pub(crate) fn ios_sub_mode(words: &[(usize, &str)]) -> Entered {
    let first = words[0].1.to_ascii_lowercase();
    let sub = [
        ("interface", "config-if"),
        ("line", "config-line"),
        ("router", "config-router"),
        ("vlan", "config-vlan"),
    ]
    .into_iter()
    .find(|(word, _)| first.len() >= 3 && word.starts_with(first.as_str()));
    match sub {
        None => Entered::No,
        Some(_) if words.len() < 2 => Entered::Incomplete,
        Some((_, name)) => Entered::Mode(name.to_string()),
    }
}

/// Configuration lines that leave no sub-mode (Junos and PAN-OS edit by `set` lines).
pub(crate) fn no_sub_mode(_words: &[(usize, &str)]) -> Entered {
    Entered::No
}

/// Cisco-style configuration mode: `end`, `exit`, the IOS sub-modes.
pub(crate) const IOS_CONFIG: ConfigModes = ConfigModes {
    end: &["end"],
    up: &["exit"],
    sub_mode: ios_sub_mode,
    nests: false,
    paging_off: None,
};

impl Shell {
    /// Configuration mode accepts any command without applying it (the running-config must
    /// stay what [`crate::running_config`] says), but tracks sub-modes so prompts look right.
    pub(super) fn run_config(
        &mut self,
        tokens: &[(usize, &str)],
        raw: &str,
        caret_base: usize,
    ) -> Outcome {
        let first = tokens[0].1.to_ascii_lowercase();
        // Words are abbreviated down to `min` letters (or the whole of a shorter word).
        let is = |word: &str, min: usize| {
            first.len() >= min.min(word.len()) && word.starts_with(first.as_str())
        };
        let persona = self.persona;
        let incomplete = persona.errors.incomplete;
        if let Some(line) = persona.config.paging_off
            && raw.trim().eq_ignore_ascii_case(line)
        {
            self.length = 0;
        }
        let Mode::Config(stack) = &mut self.mode else {
            return Outcome::Text(String::new());
        };
        if persona.config.end.iter().any(|word| is(word, 3)) {
            return self.leave_config();
        }
        if persona.config.up.iter().any(|word| is(word, 2)) {
            if stack.pop().is_none() {
                return self.leave_config();
            }
            self.object = None;
            return Outcome::Text(String::new());
        }
        if first == "do" {
            let rest = &tokens[1..];
            if rest.is_empty() {
                return Outcome::Text(incomplete.into());
            }
            let mode = std::mem::replace(&mut self.mode, Mode::Privileged);
            let outcome = self.run_exec(rest, raw, caret_base);
            // `do` never changes the mode, whatever the command was.
            self.mode = mode;
            return match outcome {
                Outcome::Exit | Outcome::AskSecret => Outcome::Text(String::new()),
                other => other,
            };
        }
        if self.session.is_some() || self.options.platform == Platform::CiscoXr {
            return self.candidate_line(tokens, raw, caret_base);
        }
        if matches!(
            self.options.platform,
            Platform::CiscoIos | Platform::CiscoXe
        ) {
            return self.ios_line(tokens, raw, caret_base);
        }
        if self.options.platform == Platform::JuniperJunos {
            return self.junos_line(tokens, raw, caret_base);
        }
        let Mode::Config(stack) = &mut self.mode else {
            return Outcome::Text(String::new());
        };
        match (persona.config.sub_mode)(tokens) {
            Entered::No => {}
            Entered::Incomplete => return Outcome::Text(incomplete.into()),
            Entered::Mode(sub) => {
                if !persona.config.nests {
                    stack.clear();
                }
                stack.push(sub);
            }
        }
        Outcome::Text(String::new())
    }

    /// Back to exec mode, with the vendor's farewell. A Junos or IOS-XR candidate not
    /// committed is discarded; an EOS session is kept.
    pub(super) fn leave_config(&mut self) -> Outcome {
        self.quit_config();
        Outcome::Text(self.message(self.persona.config_leave, ""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ios_sub_modes_are_named_like_ios_names_them() {
        assert_eq!(
            ios_sub_mode(&[(0, "int"), (4, "Gi1/0/1")]),
            Entered::Mode("config-if".into())
        );
        assert_eq!(ios_sub_mode(&[(0, "interface")]), Entered::Incomplete);
        assert_eq!(ios_sub_mode(&[(0, "description"), (12, "x")]), Entered::No);
        assert_eq!(ios_sub_mode(&[(0, "in"), (3, "x")]), Entered::No);
    }
}
