//! What fanout types on one host for each step of a push, from its platform profile's
//! `config_mode.push` (data, not code): a candidate platform edits, compares and commits with a
//! timer; the others archive the running configuration, then type the lines in config mode.

use fanout_common::platform::{ConfigMode, PushSteps};

/// The steps of a push, in the order a host goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Show what would change; change nothing.
    DryRun,
    /// Apply: a commit confirmed on a candidate platform, the lines themselves elsewhere.
    Apply,
    /// Confirm a commit confirmed (nothing to do without a candidate).
    Confirm,
    /// Undo what `Apply` did.
    Rollback,
}

/// A platform's way of taking a change.
#[derive(Debug, Clone)]
pub struct Platform {
    pub mode: ConfigMode,
    pub push: PushSteps,
}

/// The commands of one step on one host, and what to type if one is rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands {
    pub commands: Vec<String>,
    pub abort: Vec<String>,
    /// Index in `commands` of the one whose output is the diff (candidate) or the running
    /// configuration to diff against (no candidate).
    pub diff_from: Option<usize>,
}

impl Platform {
    pub fn new(mode: &ConfigMode) -> Option<Self> {
        Some(Self {
            mode: mode.clone(),
            push: mode.push.clone()?,
        })
    }

    /// Whether this platform can undo an applied change.
    pub fn can_roll_back(&self) -> bool {
        if self.push.candidate {
            self.push.rollback.is_some() && self.push.commit.is_some()
        } else {
            self.push.archive.is_some() && self.push.replace.is_some()
        }
    }

    /// The commands of `step` for these `lines`; `archive` names the pre-change copy and
    /// `minutes` is the confirm timer. `None`: the step has nothing to do here.
    pub fn commands(
        &self,
        step: Step,
        lines: &[String],
        archive: &str,
        minutes: u32,
    ) -> Option<Commands> {
        let p = &self.push;
        let fill = |text: &str| {
            text.replace("{name}", archive)
                .replace("{minutes}", &minutes.to_string())
        };
        let (enter, exit) = (self.mode.enter.clone(), self.mode.exit.clone());
        let mut out = Commands::default();
        if p.candidate {
            let discard = p.discard.clone();
            out.abort = discard.into_iter().chain([exit.clone()]).collect();
            match step {
                Step::DryRun | Step::Apply => {
                    out.commands.push(enter);
                    out.commands.extend(lines.iter().cloned());
                    if let Some(compare) = &p.compare {
                        out.diff_from = Some(out.commands.len());
                        out.commands.push(compare.clone());
                    }
                    if step == Step::DryRun {
                        out.commands.extend(p.discard.clone());
                    } else {
                        let commit = p.commit_confirmed.as_ref().or(p.commit.as_ref())?;
                        out.commands.push(fill(commit));
                    }
                    out.commands.push(exit);
                }
                Step::Confirm => {
                    p.commit_confirmed.as_ref()?;
                    out.commands = vec![enter, p.commit.clone()?, exit];
                }
                Step::Rollback => {
                    out.commands = vec![enter, p.rollback.clone()?, p.commit.clone()?, exit];
                }
            }
        } else {
            out.abort = vec![exit.clone()];
            match step {
                Step::DryRun => {
                    out.diff_from = Some(0);
                    out.commands.push(p.show_running.clone()?);
                }
                Step::Apply => {
                    if let Some(show) = &p.show_running {
                        out.diff_from = Some(0);
                        out.commands.push(show.clone());
                    }
                    out.commands.extend(p.archive.as_deref().map(fill));
                    out.commands.push(enter);
                    out.commands.extend(lines.iter().cloned());
                    out.commands.push(exit);
                }
                Step::Confirm => return None,
                Step::Rollback => out.commands.push(fill(p.replace.as_deref()?)),
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::platform::PlatformRegistry;

    fn builtin(name: &str) -> Platform {
        let registry = PlatformRegistry::builtin();
        let loaded = registry.get(name).unwrap();
        Platform::new(loaded.profile.config_mode.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn ios_archives_then_types_the_lines_and_replaces_to_roll_back() {
        let ios = builtin("cisco_ios");
        let lines = vec!["vlan 42".to_string()];
        let apply = ios.commands(Step::Apply, &lines, "fanout-x", 10).unwrap();
        assert_eq!(
            apply.commands,
            [
                "show running-config",
                "copy running-config flash:fanout-x",
                "configure terminal",
                "vlan 42",
                "end"
            ]
        );
        assert_eq!(apply.abort, ["end"]);
        assert!(ios.commands(Step::Confirm, &lines, "x", 10).is_none());
        let back = ios
            .commands(Step::Rollback, &lines, "fanout-x", 10)
            .unwrap();
        assert_eq!(back.commands, ["configure replace flash:fanout-x force"]);
        let dry = ios.commands(Step::DryRun, &lines, "x", 10).unwrap();
        assert_eq!(dry.commands, ["show running-config"]);
    }

    #[test]
    fn junos_commits_confirmed_and_discards_a_dry_run() {
        let junos = builtin("juniper_junos");
        let lines = vec!["set vlans V vlan-id 42".to_string()];
        let apply = junos.commands(Step::Apply, &lines, "x", 3).unwrap();
        assert_eq!(
            apply.commands,
            [
                "configure",
                "set vlans V vlan-id 42",
                "show | compare",
                "commit confirmed 3",
                "exit configuration-mode"
            ]
        );
        assert_eq!(apply.diff_from, Some(2));
        assert_eq!(apply.abort, ["rollback 0", "exit configuration-mode"]);
        let dry = junos.commands(Step::DryRun, &lines, "x", 3).unwrap();
        assert_eq!(dry.commands[3], "rollback 0");
        let confirm = junos.commands(Step::Confirm, &lines, "x", 3).unwrap();
        assert_eq!(
            confirm.commands,
            ["configure", "commit", "exit configuration-mode"]
        );
        assert!(junos.can_roll_back());
    }
}
