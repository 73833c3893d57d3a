//! Platform profiles: how to drive one kind of device, as data. A profile is a small YAML file
//! (prompt patterns, session setup commands, privilege and config mode, failure indicators,
//! transport); fanout embeds one per built-in platform and users add or override them from a
//! directory (`--platforms DIR`, `FANOUT_PLATFORMS`). Workers receive the profiles a job uses
//! as YAML text inside the job, so a worker on another machine needs no local files.
//!
//! This module only describes and checks profiles; driving a device from one is the worker's.

pub mod backup;
mod error;
mod registry;

pub use error::PlatformError;
pub use registry::{LoadedProfile, PlatformRegistry, ProfileSource};

use serde::{Deserialize, Serialize};

/// How commands reach the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// An interactive PTY shell read up to the device's prompt (network CLIs).
    Shell,
    /// One SSH `exec` channel per command, its exit status deciding success (Unix hosts).
    Exec,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Shell => "shell",
            Transport::Exec => "exec",
        }
    }
}

/// One platform, as its YAML file says. Unknown keys are errors: a typo must not silently turn
/// a setting off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformProfile {
    /// What inventories write in `platform:`.
    pub name: String,
    /// Other names inventories use for this platform: Netmiko `device_type`s and NAPALM driver
    /// names (`ios`, `eos`, `junos`), so an existing inventory works unchanged. An alias resolves
    /// to `name` when the inventory is loaded.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One line for `fanout platforms`.
    #[serde(default)]
    pub description: String,
    pub transport: Transport,
    /// Required for `shell`; unused for `exec`.
    #[serde(default)]
    pub prompt: Option<PromptPatterns>,
    /// Sent after the first prompt, in order, before any command: paging off, terminal width.
    #[serde(default)]
    pub session_setup: Vec<String>,
    /// How to reach privileged mode when the host has a `secret` and logs in unprivileged;
    /// absent for platforms without such a mode (NX-OS, XR, Junos).
    #[serde(default)]
    pub privilege: Option<Privilege>,
    /// How to enter and leave configuration mode (for config steps).
    #[serde(default)]
    pub config_mode: Option<ConfigMode>,
    /// Text that, at the start of an output line (after blanks), means the device refused the
    /// command: the host fails with `command_error`.
    #[serde(default)]
    pub failure_indicators: Vec<String>,
    /// Regular expressions for refusals that do not start their line (Junos `'sh' is
    /// ambiguous.`): a line of output that matches one fails the command like an indicator.
    #[serde(default)]
    pub failure_patterns: Vec<String>,
    /// Pager markers to answer with a space, should paging stay on: one text or a list
    /// (`--More--`, `-- More --`, `---(more)---`, `Press any key to continue`). A marker counts
    /// only at the end of what the device sent, escape sequences and trailing blanks aside.
    #[serde(default, deserialize_with = "one_or_many")]
    pub pager: Vec<String>,
    /// Remove ANSI escape sequences (colours, cursor movement) from command output. For CLIs
    /// that paint their screens (HP ProCurve, Aruba, MikroTik); prompts and echoes are read
    /// through such sequences whatever this says.
    #[serde(default)]
    pub strip_ansi: bool,
    /// Send one bare line ending when the device shows no prompt within a second of login:
    /// for CLIs that print nothing until a key is pressed. The only keystroke fanout ever
    /// types unasked, and only where the profile says so.
    #[serde(default)]
    pub wake_prompt: bool,
    /// What ends a line we send: `"\n"` (default) or `"\r\n"`.
    #[serde(default = "default_line_ending")]
    pub line_ending: String,
    /// Sent to leave the shell politely.
    #[serde(default = "default_exit_command")]
    pub exit_command: String,
    /// What `fanout backup` collects and how it cleans it; absent for a platform that has no
    /// configuration to back up.
    #[serde(default)]
    pub backup: Option<backup::BackupProfile>,
}

/// Regular expressions (Rust `regex` syntax) that match a whole prompt line, trailing blanks
/// excepted. A prompt is only ever looked for in the last line of what the device sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptPatterns {
    /// The unprivileged prompt (`router>`, `user@host>`).
    pub user: String,
    /// The privileged prompt, including config modes (`router#`, `router(config-if)#`).
    pub privileged: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privilege {
    /// `enable`.
    pub command: String,
    /// Regex matched at the end of the last line: the device asks for the secret.
    pub password_prompt: String,
    /// Text in the answer that means the secret was refused.
    #[serde(default)]
    pub refused: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMode {
    pub enter: String,
    pub exit: String,
    /// How `fanout push` commits and rolls back here; absent: it cannot push to the platform.
    #[serde(default)]
    pub push: Option<PushSteps>,
}

/// A platform's commit semantics, as data: `{name}` is the push's name (the archive's file
/// name, the EOS session's name), `{minutes}` the confirm timer, `{seconds}` the same in
/// seconds, `{timer}` the same as `HH:MM:SS`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PushSteps {
    /// The platform edits a candidate that only a commit applies (Junos, IOS-XR, EOS
    /// sessions); without one, each line takes effect as it is typed (IOS).
    #[serde(default)]
    pub candidate: bool,
    /// Enters the candidate, when `config_mode.enter` does not (EOS `configure session
    /// {name}`).
    #[serde(default)]
    pub enter: Option<String>,
    /// Prints the candidate's difference from the running configuration, in config mode.
    #[serde(default)]
    pub compare: Option<String>,
    /// Commits so that the device rolls back by itself unless confirmed (`commit confirmed
    /// {minutes}`).
    #[serde(default)]
    pub commit_confirmed: Option<String>,
    /// Commits (and confirms a confirmed commit).
    #[serde(default)]
    pub commit: Option<String>,
    /// Loads the configuration before the last commit into the candidate (`rollback 1`).
    #[serde(default)]
    pub rollback: Option<String>,
    /// Throws away an uncommitted candidate (`rollback 0`).
    #[serde(default)]
    pub discard: Option<String>,
    /// Confirms a commit confirmed from exec mode (EOS `configure session {name} commit`);
    /// without it, `commit` in configuration mode confirms.
    #[serde(default)]
    pub confirm: Option<String>,
    /// Undoes the change from exec mode, confirmed or not (IOS-XR `rollback configuration last
    /// 1`, EOS `configure session {name} abort` while its timer runs); without it, `rollback`
    /// then `commit` in configuration mode.
    #[serde(default)]
    pub undo: Option<String>,
    /// `discard` leaves configuration mode by itself (IOS-XR and EOS `abort`): no `exit`
    /// after it.
    #[serde(default)]
    pub discard_leaves: bool,
    /// The commits leave configuration mode by themselves (EOS sessions): no `exit` after them.
    #[serde(default)]
    pub commit_leaves: bool,
    /// Saves the running configuration before a change, in exec mode
    /// (`copy running-config flash:{name}`).
    #[serde(default)]
    pub archive: Option<String>,
    /// Puts an archived configuration back, in exec mode (`configure replace flash:{name}
    /// force`).
    #[serde(default)]
    pub replace: Option<String>,
    /// Shows the running configuration, to capture it and to diff against (no candidate).
    #[serde(default)]
    pub show_running: Option<String>,
}

/// Accepts `key: text` as well as `key: [text, ...]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(one)) => vec![one],
        Some(OneOrMany::Many(many)) => many,
    })
}

fn default_line_ending() -> String {
    "\n".to_string()
}

fn default_exit_command() -> String {
    "exit".to_string()
}

/// Compiles a prompt pattern so that it must match a whole line (trailing blanks allowed).
pub fn line_pattern(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    ascii_pattern(&format!("^(?:{pattern})[ \\t]*$"))
}

/// Compiles a pattern that must match at the end of a line (`Password:`).
pub fn end_pattern(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    ascii_pattern(&format!("(?:{pattern})[ \\t]*$"))
}

/// Compiles a failure pattern, searched for in each line of output.
pub fn failure_pattern(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    ascii_pattern(pattern)
}

/// Prompts are ASCII, so `\w`, `\d` and `\s` mean their ASCII classes (`(?u:\w)` still asks for
/// Unicode). With Unicode classes a bounded repeat such as `[\w.-]{1,63}` compiles to a huge
/// automaton: the built-in profiles took 40 MB of every worker's heap (valgrind massif), and a
/// 100-device run 6.6 ms of client CPU per device instead of 0.9 ms.
fn ascii_pattern(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
}

impl PlatformProfile {
    /// Parses and checks one profile; `origin` names it in errors (a path, or `built-in x`).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, PlatformError> {
        let profile: PlatformProfile =
            serde_yaml_ng::from_str(text).map_err(|e| PlatformError::yaml(origin, &e))?;
        profile.check(text, origin)?;
        Ok(profile)
    }

    /// The checks serde cannot make: patterns compile, a shell platform has prompts.
    fn check(&self, text: &str, origin: &str) -> Result<(), PlatformError> {
        let invalid =
            |field: &str, reason: String| PlatformError::invalid(origin, text, field, reason);
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".into()));
        }
        if !matches!(self.line_ending.as_str(), "\n" | "\r\n" | "\r") {
            return Err(invalid(
                "line_ending",
                "must be \"\\n\", \"\\r\\n\" or \"\\r\"".into(),
            ));
        }
        if let Some(prompt) = &self.prompt {
            for (field, pattern) in [("user", &prompt.user), ("privileged", &prompt.privileged)] {
                line_pattern(pattern).map_err(|e| invalid(field, format!("bad regex: {e}")))?;
            }
        } else if self.transport == Transport::Shell {
            return Err(invalid(
                "transport",
                "a `shell` platform needs `prompt: { user: ..., privileged: ... }`".into(),
            ));
        }
        if let Some(privilege) = &self.privilege {
            end_pattern(&privilege.password_prompt)
                .map_err(|e| invalid("password_prompt", format!("bad regex: {e}")))?;
        }
        for pattern in &self.failure_patterns {
            failure_pattern(pattern)
                .map_err(|e| invalid("failure_patterns", format!("bad regex: {e}")))?;
        }
        if self.pager.iter().any(|p| p.trim().is_empty()) {
            return Err(invalid("pager", "a pager marker is empty".into()));
        }
        if let Some(alias) = self
            .aliases
            .iter()
            .find(|a| a.trim().is_empty() || a.trim() != a.as_str() || **a == self.name)
        {
            return Err(invalid(
                "aliases",
                format!("{alias:?} is not a usable alias (empty, padded, or the name itself)"),
            ));
        }
        if let Some(backup) = &self.backup {
            if backup.commands.is_empty() {
                return Err(invalid("backup", "`commands` is empty".into()));
            }
            backup
                .check()
                .map_err(|e| invalid("backup", e.to_string()))?;
        }
        if self.failure_indicators.iter().any(|f| f.trim().is_empty()) {
            return Err(invalid(
                "failure_indicators",
                "an indicator is empty".into(),
            ));
        }
        Ok(())
    }
}
