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
            self.push.undo.is_some() || (self.push.rollback.is_some() && self.push.commit.is_some())
        } else {
            self.push.archive.is_some() && self.push.replace.is_some()
        }
    }

    /// The command that enters configuration mode for a change (`configure session {name}`
    /// filled in on EOS): once typed, the host's configuration steps have begun.
    pub fn enter_command(&self, name: &str) -> String {
        match (&self.push.enter, self.push.candidate) {
            (Some(enter), true) => fill(enter, name, 0),
            _ => self.mode.enter.clone(),
        }
    }

    /// The commands of `step` for these `lines`; `name` names the pre-change copy (or the EOS
    /// session) and `minutes` is the confirm timer. `None`: the step has nothing to do here.
    pub fn commands(
        &self,
        step: Step,
        lines: &[String],
        name: &str,
        minutes: u32,
    ) -> Option<Commands> {
        let p = &self.push;
        let fill = |text: &str| fill(text, name, minutes);
        let (enter, exit) = (self.enter_command(name), self.mode.exit.clone());
        let mut out = Commands::default();
        if p.candidate {
            let discard = p.discard.as_deref().map(fill);
            // After a rejected line: throw the candidate away and leave configuration mode.
            out.abort = discard.iter().cloned().collect();
            if discard.is_none() || !p.discard_leaves {
                out.abort.push(exit.clone());
            }
            match step {
                Step::DryRun | Step::Apply => {
                    out.commands.push(enter);
                    out.commands.extend(lines.iter().cloned());
                    if let Some(compare) = &p.compare {
                        out.diff_from = Some(out.commands.len());
                        out.commands.push(compare.clone());
                    }
                    let leaves = if step == Step::DryRun {
                        out.commands.extend(discard);
                        p.discard.is_some() && p.discard_leaves
                    } else {
                        let commit = p.commit_confirmed.as_ref().or(p.commit.as_ref())?;
                        out.commands.push(fill(commit));
                        p.commit_leaves
                    };
                    if !leaves {
                        out.commands.push(exit);
                    }
                }
                Step::Confirm => {
                    p.commit_confirmed.as_ref()?;
                    out.commands = match &p.confirm {
                        Some(confirm) => vec![fill(confirm)],
                        None if p.commit_leaves => vec![enter, p.commit.clone()?],
                        None => vec![enter, p.commit.clone()?, exit],
                    };
                }
                Step::Rollback => {
                    out.commands = match &p.undo {
                        Some(undo) => vec![fill(undo)],
                        None if p.commit_leaves => {
                            vec![enter, p.rollback.clone()?, p.commit.clone()?]
                        }
                        None => vec![enter, p.rollback.clone()?, p.commit.clone()?, exit],
                    };
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

/// A profile's command with the push's placeholders filled in.
fn fill(text: &str, name: &str, minutes: u32) -> String {
    let seconds = u64::from(minutes) * 60;
    let timer = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    text.replace("{name}", name)
        .replace("{minutes}", &minutes.to_string())
        .replace("{seconds}", &seconds.to_string())
        .replace("{timer}", &timer)
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

    #[test]
    fn eos_sessions_commit_with_a_timer_and_confirm_from_exec_mode() {
        let eos = builtin("arista_eos");
        let lines = vec!["vlan 42".to_string(), "   name X".to_string()];
        let apply = eos.commands(Step::Apply, &lines, "fanout-x", 10).unwrap();
        assert_eq!(
            apply.commands,
            [
                "configure session fanout-x",
                "vlan 42",
                "   name X",
                "show session-config diffs",
                "commit timer 00:10:00"
            ]
        );
        assert_eq!(apply.diff_from, Some(3));
        assert_eq!(apply.abort, ["abort"]);
        assert_eq!(eos.enter_command("fanout-x"), "configure session fanout-x");
        let dry = eos.commands(Step::DryRun, &lines, "fanout-x", 10).unwrap();
        assert_eq!(dry.commands.last().unwrap(), "abort");
        let confirm = eos.commands(Step::Confirm, &lines, "fanout-x", 10).unwrap();
        assert_eq!(confirm.commands, ["configure session fanout-x commit"]);
        let back = eos
            .commands(Step::Rollback, &lines, "fanout-x", 10)
            .unwrap();
        assert_eq!(back.commands, ["configure session fanout-x abort"]);
        assert!(eos.can_roll_back());
    }

    #[test]
    fn ios_xr_commits_confirmed_in_seconds_and_rolls_back_from_exec_mode() {
        let xr = builtin("cisco_xr");
        let lines = vec!["ntp server 192.0.2.1".to_string()];
        let apply = xr.commands(Step::Apply, &lines, "fanout-x", 2).unwrap();
        assert_eq!(
            apply.commands,
            [
                "configure terminal",
                "ntp server 192.0.2.1",
                "show commit changes diff",
                "commit confirmed 120",
                "end"
            ]
        );
        assert_eq!(apply.abort, ["abort"]);
        let dry = xr.commands(Step::DryRun, &lines, "x", 2).unwrap();
        assert_eq!(dry.commands.last().unwrap(), "abort");
        let confirm = xr.commands(Step::Confirm, &lines, "x", 2).unwrap();
        assert_eq!(confirm.commands, ["configure terminal", "commit", "end"]);
        let back = xr.commands(Step::Rollback, &lines, "x", 2).unwrap();
        assert_eq!(back.commands, ["rollback configuration last 1"]);
    }
}
