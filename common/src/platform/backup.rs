//! What `fanout backup` collects from a platform and how it cleans the text before it is
//! stored: lines that change without the configuration changing (timestamps, byte counts,
//! clock drift) are dropped, and secrets are masked. Both are data in the platform profile
//! (`backup:`), so a user fixes a noisy platform with a YAML file, not a release.
//!
//! The normaliser is pure: the same text and rules always give the same bytes, which is what
//! makes "unchanged device, unchanged file" hold in the repository.

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

/// The text a masked secret is replaced with. Fixed, so that a password changed on the device
/// does not show as a change (the line itself changing does, e.g. a new user).
pub const MASK: &str = "<removed>";

/// A profile's `backup:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupProfile {
    /// The commands whose outputs, in order, make the stored configuration.
    pub commands: Vec<String>,
    /// Regular expressions; a line that matches one is left out of the stored file.
    #[serde(default)]
    pub volatile: Vec<String>,
    /// Regular expressions with capture groups; what each group captured is replaced by
    /// [`MASK`] unless the run keeps secrets.
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// A pattern that does not compile, or a secret pattern that captures nothing.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("volatile pattern {pattern:?}: {reason}")]
    Volatile { pattern: String, reason: String },
    #[error("secret pattern {pattern:?}: {reason}")]
    Secret { pattern: String, reason: String },
}

/// Compiled rules for one platform (and whatever a run or a host adds).
#[derive(Debug, Clone)]
pub struct Normaliser {
    /// All volatile patterns in one automaton: a line is matched once, not once per pattern.
    volatile: RegexSet,
    secrets: Vec<Regex>,
    /// The secret patterns as one set, so the common line that holds no secret costs one scan.
    secret_set: RegexSet,
    keep_secrets: bool,
}

impl BackupProfile {
    /// Compiles the rules; `check` uses it so a profile with a bad pattern never loads.
    pub fn check(&self) -> Result<(), RuleError> {
        Normaliser::new(&self.volatile, &self.secrets, false).map(|_| ())
    }
}

impl Normaliser {
    pub fn new(
        volatile: &[String],
        secrets: &[String],
        keep_secrets: bool,
    ) -> Result<Self, RuleError> {
        for p in volatile {
            Regex::new(p).map_err(|e| RuleError::Volatile {
                pattern: p.clone(),
                reason: e.to_string(),
            })?;
        }
        let volatile = RegexSet::new(volatile).map_err(|e| RuleError::Volatile {
            pattern: volatile.join(" | "),
            reason: e.to_string(),
        })?;
        let secrets: Vec<Regex> = secrets
            .iter()
            .map(|p| {
                let regex = Regex::new(p).map_err(|e| RuleError::Secret {
                    pattern: p.clone(),
                    reason: e.to_string(),
                })?;
                // A secret rule without a group would mask nothing: refuse it rather than let
                // the secret through silently.
                if regex.captures_len() < 2 {
                    return Err(RuleError::Secret {
                        pattern: p.clone(),
                        reason: "has no capture group: put the secret in ( )".into(),
                    });
                }
                Ok(regex)
            })
            .collect::<Result<_, _>>()?;
        let secret_set =
            RegexSet::new(secrets.iter().map(Regex::as_str)).map_err(|e| RuleError::Secret {
                pattern: secrets
                    .iter()
                    .map(Regex::as_str)
                    .collect::<Vec<_>>()
                    .join(" | "),
                reason: e.to_string(),
            })?;
        Ok(Normaliser {
            volatile,
            secrets,
            secret_set,
            keep_secrets,
        })
    }

    /// The stored form of a configuration: `\r` and trailing blanks gone, volatile lines left
    /// out, secrets masked, blank lines at the start and end dropped, one `\n` at the end.
    pub fn normalise(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            let line = line.trim_end();
            if self.volatile.is_match(line) {
                continue;
            }
            if out.is_empty() && line.is_empty() {
                continue;
            }
            if self.keep_secrets {
                out.push_str(line);
            } else {
                out.push_str(&self.mask(line));
            }
            out.push('\n');
        }
        let kept = out.trim_end_matches('\n').len();
        out.truncate(kept);
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }

    /// The text with its secrets masked and nothing else changed but each line's trailing
    /// blanks and `\r` (which [`Normaliser::normalise`] drops anyway): what a coordinator keeps of
    /// a backup job's output, so no secret reaches its state directory. Normalising the result
    /// gives what normalising the raw text gives (the masks themselves are masked again, to the
    /// same bytes). Lines are trimmed first so a pattern anchored at `$` matches as it does in
    /// [`Normaliser::normalise`].
    pub fn mask_secrets(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            out.push_str(&self.mask(line.trim_end()));
            out.push('\n');
        }
        out
    }

    /// The line with every group of every secret rule that matches replaced by [`MASK`].
    fn mask(&self, line: &str) -> String {
        let matching = self.secret_set.matches(line);
        let mut line = line.to_string();
        if !matching.matched_any() {
            return line;
        }
        for rule in matching.iter().map(|i| &self.secrets[i]) {
            // Rules may match several times on a line; mask from the end so earlier offsets
            // stay valid.
            let mut spans: Vec<(usize, usize)> = rule
                .captures_iter(&line)
                .flat_map(|caps| {
                    caps.iter()
                        .skip(1)
                        .flatten()
                        .map(|m| (m.start(), m.end()))
                        .collect::<Vec<_>>()
                })
                .filter(|(start, end)| start < end)
                .collect();
            spans.sort_unstable();
            spans.dedup();
            for (start, end) in spans.into_iter().rev() {
                line.replace_range(start..end, MASK);
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::PlatformRegistry;

    fn builtin(platform: &str, keep_secrets: bool) -> Normaliser {
        let registry = PlatformRegistry::load(None).unwrap();
        let backup = registry.get(platform).unwrap().profile.backup.clone();
        let backup = backup.unwrap_or_else(|| panic!("{platform} has no backup section"));
        Normaliser::new(&backup.volatile, &backup.secrets, keep_secrets).unwrap()
    }

    const IOS: &str = "Building configuration...\r\n\r\nCurrent configuration : 4242 bytes\r\n!\n\
        ! Last configuration change at 10:01:02 UTC Mon Mar 1 2026 by admin\n\
        ! NVRAM config last updated at 10:01:03 UTC Mon Mar 1 2026 by admin\n!\n\
        version 15.2   \nhostname r1\n\
        enable secret 5 $1$abcd$0123456789abcdefghij\n\
        enable password 7 0822455D0A16\n\
        username admin privilege 15 secret 5 $1$efgh$zyxwvut\n\
        username ops password 7 094F471A1A0A\n\
        snmp-server community s3cr3tRO RO\n\
        snmp-server community wr1te RW 10\n\
        key chain K\n key 1\n  key-string 7 045802150C2E\n\
        tacacs-server key 7 13061E010803\n\
        ntp clock-period 17179869\n\
        ntp server 10.0.0.1\n\
        interface Gi0/1\n description uplink\n!\nend\n\n";

    #[test]
    fn ios_volatile_lines_are_dropped_and_the_rest_kept_in_order() {
        let out = builtin("cisco_ios", false).normalise(IOS);
        for gone in [
            "Building configuration",
            "Current configuration",
            "Last configuration change",
            "NVRAM config last updated",
            "ntp clock-period",
        ] {
            assert!(!out.contains(gone), "{gone} still in:\n{out}");
        }
        assert!(
            out.starts_with("!\n!\nversion 15.2\nhostname r1\n"),
            "{out}"
        );
        assert!(
            out.ends_with("interface Gi0/1\n description uplink\n!\nend\n"),
            "{out}"
        );
        assert!(!out.contains('\r'));
        assert!(out.contains("ntp server 10.0.0.1\n"));
    }

    #[test]
    fn ios_secrets_are_masked_and_the_lines_stay() {
        let out = builtin("cisco_ios", false).normalise(IOS);
        for secret in [
            "$1$abcd$0123456789abcdefghij",
            "0822455D0A16",
            "$1$efgh$zyxwvut",
            "094F471A1A0A",
            "s3cr3tRO",
            "wr1te",
            "045802150C2E",
            "13061E010803",
        ] {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
        for line in [
            "enable secret 5 <removed>",
            "username admin privilege 15 secret 5 <removed>",
            "username ops password 7 <removed>",
            "snmp-server community <removed> RO",
            "snmp-server community <removed> RW 10",
            "  key-string 7 <removed>",
            "tacacs-server key 7 <removed>",
        ] {
            assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
        }
    }

    #[test]
    fn keep_secrets_keeps_them_but_still_drops_volatile_lines() {
        let out = builtin("cisco_ios", true).normalise(IOS);
        assert!(out.contains("enable secret 5 $1$abcd$0123456789abcdefghij\n"));
        assert!(out.contains("snmp-server community s3cr3tRO RO\n"));
        assert!(!out.contains("Last configuration change"));
    }

    const JUNOS: &str = "## Last commit: 2026-03-01 10:00:00 UTC by admin\n\
        set version 21.4R3\n\
        set system root-authentication encrypted-password \"$6$abc$xyz\"\n\
        set system login user ops authentication encrypted-password \"$6$def$uvw\"\n\
        set snmp community public authorization read-only\n\
        set protocols ospf area 0 interface ge-0/0/0.0 authentication md5 1 key \"$9$secretkey\"\n\
        set system host-name r2\n";

    #[test]
    fn junos_commit_stamp_and_encrypted_passwords() {
        let text = JUNOS;
        let out = builtin("juniper_junos", false).normalise(text);
        assert!(!out.contains("Last commit"), "{out}");
        for secret in ["$6$abc$xyz", "$6$def$uvw", "$9$secretkey", "public"] {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
        assert!(out.contains("set system host-name r2\n"));
        assert!(out.contains("encrypted-password \"<removed>\""), "{out}");
    }

    #[test]
    fn the_same_config_with_new_timestamps_normalises_to_the_same_bytes() {
        let later = IOS
            .replace("10:01:02 UTC", "23:59:59 UTC")
            .replace("4242 bytes", "4243 bytes")
            .replace("17179869", "17179870");
        let n = builtin("cisco_ios", false);
        assert_eq!(n.normalise(IOS), n.normalise(&later));
        let changed = IOS.replace("description uplink", "description core");
        assert_ne!(n.normalise(IOS), n.normalise(&changed));
    }

    #[test]
    fn masking_first_then_normalising_gives_the_same_file_and_no_secret() {
        for (platform, text) in [("cisco_ios", IOS), ("juniper_junos", JUNOS)] {
            let registry = PlatformRegistry::load(None).unwrap();
            let backup = registry
                .get(platform)
                .unwrap()
                .profile
                .backup
                .clone()
                .unwrap();
            let masker = Normaliser::new(&[], &backup.secrets, false).unwrap();
            let masked = masker.mask_secrets(text);
            let n = builtin(platform, false);
            assert_eq!(n.normalise(&masked), n.normalise(text), "{platform}");
            for secret in [
                "$1$abcd$0123456789abcdefghij",
                "s3cr3tRO",
                "$6$abc$xyz",
                "$9$secretkey",
            ] {
                assert!(!masked.contains(secret), "{secret} kept:\n{masked}");
            }
            // Volatile lines stay: only the repository's normaliser decides what to leave out.
            assert!(masked.contains("Last c"), "{masked}");
        }
    }

    #[test]
    fn every_group_of_a_match_is_masked_and_a_rule_without_a_group_is_refused() {
        let n = Normaliser::new(&[], &[r"user (\S+) pass (\S+)".into()], false).unwrap();
        assert_eq!(
            n.normalise("user bob pass hunter2\n"),
            "user <removed> pass <removed>\n"
        );
        let err = Normaliser::new(&[], &[r"password \S+".into()], false).unwrap_err();
        assert!(err.to_string().contains("capture group"), "{err}");
        let err = Normaliser::new(&["(".into()], &[], false).unwrap_err();
        assert!(err.to_string().contains("volatile"), "{err}");
    }

    #[test]
    fn every_network_builtin_has_backup_commands() {
        let registry = PlatformRegistry::load(None).unwrap();
        for name in registry.names() {
            if name == "linux" {
                continue;
            }
            let profile = &registry.get(&name).unwrap().profile;
            let backup = profile.backup.as_ref();
            assert!(
                backup.is_some_and(|b| !b.commands.is_empty()),
                "{name} has no backup commands"
            );
        }
    }
}
