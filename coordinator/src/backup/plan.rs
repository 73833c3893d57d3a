//! Before a backup runs: each host's configuration commands, its normaliser and its file, from
//! its platform profile's `backup:` section, the host's own overrides (`data.backup_commands`,
//! `data.backup_volatile`, `data.backup_secrets`, inherited from groups like any data) and the
//! run's extra patterns. After it: each host's result turned into what the repository takes.

use super::layout::Layout;
use super::store::{DeviceOutcome, Failure};
use crate::host_record::HostRecord;
use fanout_common::inventory::Host;
use fanout_common::platform::PlatformRegistry;
use fanout_common::platform::backup::Normaliser;
use fanout_common::proto::{BackupSecrets, CommandList, PatternList};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Patterns a run adds to every platform's, and whether secrets stay.
#[derive(Debug, Clone, Default)]
pub struct RunRules {
    pub volatile: Vec<String>,
    pub secrets: Vec<String>,
    pub keep_secrets: bool,
}

struct HostPlan {
    path: String,
    commands: Vec<String>,
    normaliser: Arc<Normaliser>,
}

pub struct BackupPlan {
    hosts: HashMap<String, HostPlan>,
    /// Each platform's configuration commands, for the job.
    platform_commands: HashMap<String, Vec<String>>,
    /// The secret patterns, for a coordinator that runs the job (see [`Self::backup_secrets`]).
    secrets: BackupSecrets,
}

impl BackupPlan {
    /// Fails, naming the hosts, when a host has no configuration command (its platform has no
    /// `backup:` and it sets no `data.backup_commands`) or a pattern does not compile.
    pub fn new(
        hosts: &[Host],
        registry: &PlatformRegistry,
        layout: &Layout,
        rules: &RunRules,
    ) -> Result<Self, String> {
        let mut per_platform: HashMap<String, Arc<Normaliser>> = HashMap::new();
        let mut platform_commands = HashMap::new();
        let mut plans = HashMap::new();
        let mut without = Vec::new();
        let mut secrets = BackupSecrets::default();
        for host in hosts {
            let profile = registry
                .get(&host.platform)
                .and_then(|loaded| loaded.profile.backup.clone())
                .unwrap_or_default();
            let own_commands = strings(host, "backup_commands")?;
            let commands = own_commands.clone().unwrap_or(profile.commands.clone());
            if commands.is_empty() {
                without.push(host.name.clone());
                continue;
            }
            if !profile.commands.is_empty() {
                platform_commands.insert(host.platform.clone(), profile.commands.clone());
            }
            let own_volatile = strings(host, "backup_volatile")?;
            let own_secrets = strings(host, "backup_secrets")?;
            let patterns = |extra: &[String]| PatternList {
                patterns: [&profile.secrets, &rules.secrets, extra]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect(),
            };
            if let Some(own) = &own_secrets {
                secrets.hosts.insert(host.name.clone(), patterns(own));
            } else if !secrets.platforms.contains_key(&host.platform) {
                secrets
                    .platforms
                    .insert(host.platform.clone(), patterns(&[]));
            }
            let build = |extra_volatile: &[String], extra_secrets: &[String]| {
                let volatile: Vec<String> = [&profile.volatile, &rules.volatile, extra_volatile]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                let secrets: Vec<String> = [&profile.secrets, &rules.secrets, extra_secrets]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                Normaliser::new(&volatile, &secrets, rules.keep_secrets)
                    .map(Arc::new)
                    .map_err(|e| format!("host {:?} (platform {}): {e}", host.name, host.platform))
            };
            let normaliser = if own_volatile.is_some() || own_secrets.is_some() {
                build(
                    &own_volatile.unwrap_or_default(),
                    &own_secrets.unwrap_or_default(),
                )?
            } else if let Some(shared) = per_platform.get(&host.platform) {
                shared.clone()
            } else {
                let shared = build(&[], &[])?;
                per_platform.insert(host.platform.clone(), shared.clone());
                shared
            };
            plans.insert(
                host.name.clone(),
                HostPlan {
                    path: layout.path(host),
                    commands,
                    normaliser,
                },
            );
        }
        if !without.is_empty() {
            let shown: Vec<&str> = without.iter().take(5).map(String::as_str).collect();
            return Err(format!(
                "{} host(s) have no configuration command ({}{}): their platform profile has no \
                 `backup:` section; give one with --platforms or set data.backup_commands",
                without.len(),
                shown.join(", "),
                if without.len() > 5 { ", ..." } else { "" }
            ));
        }
        Ok(BackupPlan {
            hosts: plans,
            platform_commands,
            secrets,
        })
    }

    /// The job's `platform_commands`.
    pub fn platform_commands(&self) -> HashMap<String, CommandList> {
        self.platform_commands
            .iter()
            .map(|(platform, commands)| {
                let list = CommandList {
                    commands: commands.clone(),
                };
                (platform.clone(), list)
            })
            .collect()
    }

    /// What a coordinator masks in the job's outputs before it keeps them: each host's secret
    /// patterns, as its normaliser has them. (A run that keeps secrets is never given to a
    /// coordinator: its state directory would keep them.)
    pub fn backup_secrets(&self) -> BackupSecrets {
        self.secrets.clone()
    }

    /// The job's `host_commands`: only the hosts that override their platform's.
    pub fn host_commands(&self, hosts: &[Host]) -> HashMap<String, CommandList> {
        hosts
            .iter()
            .filter_map(|host| {
                let plan = self.hosts.get(&host.name)?;
                let platform = self.platform_commands.get(&host.platform);
                (platform != Some(&plan.commands)).then(|| {
                    let list = CommandList {
                        commands: plan.commands.clone(),
                    };
                    (host.name.clone(), list)
                })
            })
            .collect()
    }

    /// The host's outcome from its result: its normalised configuration, or why there is
    /// none. Called on the recorder's thread as each result arrives, so normalising overlaps
    /// the collection instead of following it.
    pub fn outcome_of(&self, record: &HostRecord) -> Option<DeviceOutcome> {
        let plan = self.hosts.get(&record.host)?;
        Some(DeviceOutcome {
            host: record.host.clone(),
            path: plan.path.clone(),
            config: self.config(plan, record),
        })
    }

    /// Every host's outcome, sorted by host: those collected, and the hosts that never got a
    /// result (`unfinished`) failed as `not_run`.
    pub fn outcomes(
        &self,
        collected: Vec<DeviceOutcome>,
        unfinished: &[String],
    ) -> Vec<DeviceOutcome> {
        let mut outcomes: BTreeMap<String, DeviceOutcome> =
            collected.into_iter().map(|o| (o.host.clone(), o)).collect();
        for host in unfinished {
            if let Some(plan) = self.hosts.get(host) {
                let failure = failure(host, "not_run", "the run ended before this host ran");
                let outcome = DeviceOutcome {
                    host: host.clone(),
                    path: plan.path.clone(),
                    config: Err(failure),
                };
                outcomes.insert(host.clone(), outcome);
            }
        }
        outcomes.into_values().collect()
    }

    fn config(&self, plan: &HostPlan, record: &HostRecord) -> Result<String, Failure> {
        if let Some(f) = record.failure.as_ref().filter(|_| !record.ok) {
            return Err(failure(&record.host, f.kind.as_str(), &f.message));
        }
        if record.commands.len() != plan.commands.len() {
            let why = format!(
                "{} of {} configuration commands answered",
                record.commands.len(),
                plan.commands.len()
            );
            return Err(failure(&record.host, "incomplete", &why));
        }
        let mut text = String::new();
        for command in &record.commands {
            let output = command.output.as_deref().unwrap_or_default();
            if record.commands.len() > 1 {
                // Several commands: each output under its command, so the file says which is
                // which and a change in one never looks like a change in another.
                text.push_str(&format!("### {}\n", command.command));
            }
            text.push_str(output);
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        let config = plan.normaliser.normalise(&text);
        if config.trim().is_empty() {
            // Storing it would wipe the last good configuration.
            return Err(failure(
                &record.host,
                "empty_config",
                "the configuration command printed nothing",
            ));
        }
        Ok(config)
    }
}

fn failure(host: &str, kind: &str, message: &str) -> Failure {
    Failure {
        host: host.to_string(),
        kind: kind.to_string(),
        message: message.to_string(),
        kept: None,
    }
}

/// A list of strings in the host's data, if it sets one.
fn strings(host: &Host, key: &str) -> Result<Option<Vec<String>>, String> {
    let Some(value) = host.data.get(key) else {
        return Ok(None);
    };
    let bad = || format!("host {:?}: data.{key} must be a list of strings", host.name);
    let list = value.as_array().ok_or_else(bad)?;
    list.iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
