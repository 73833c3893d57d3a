//! What a job asks every host for, and the limits it runs under.

use fanout_common::proto::{
    BackupSecrets, CommandList, HostKeyPolicy, HttpJob, JobSpec, Validation,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct JobSettings {
    /// CLI commands run in order on every host.
    pub commands: Vec<String>,
    /// TCP connect plus SSH handshake.
    pub connect_timeout: Duration,
    /// From sending a command to its prompt coming back.
    pub command_timeout: Duration,
    /// Everything for one host, however many commands.
    pub host_timeout: Duration,
    pub host_key_policy: HostKeyPolicy,
    /// The known_hosts file the workers check and pin keys in.
    pub known_hosts: PathBuf,
    /// One command's output beyond this is `output_too_large`.
    pub max_output_bytes: u64,
    /// Further attempts for a host whose failure is retryable.
    pub retries: u32,
    /// First pause before a retry; doubles each time, with jitter.
    pub retry_backoff: Duration,
    /// New connections per second across all workers; 0 = unlimited.
    pub connect_rate: f64,
    /// Set for `fanout validate`: the rules the workers evaluate on each host's outputs.
    pub validation: Option<Validation>,
    /// Set for `fanout run --http`: requests sent to every host after its commands.
    pub http: Option<HttpJob>,
    /// Set for `fanout run --snmp-get/--snmp-walk`: requests sent to every host after the rest.
    pub snmp: Option<fanout_common::proto::SnmpJob>,
    /// YAML of the profiles from `--platforms` that the hosts use, by platform name; workers
    /// use their built-in profiles for every other platform.
    pub platform_profiles: HashMap<String, String>,
    /// Workers keep a transcript of each host's session and send it with the result.
    pub session_log: bool,
    /// `fanout backup`: each platform's configuration commands, run instead of `commands`.
    pub platform_commands: HashMap<String, CommandList>,
    /// `fanout backup`: the hosts whose inventory overrides their platform's commands.
    pub host_commands: HashMap<String, CommandList>,
    /// `fanout backup` through a coordinator: what it masks before it keeps any output.
    pub backup_secrets: Option<BackupSecrets>,
}

/// The job as workers receive it, its id left for the coordinator that runs it to give. The
/// connect rate is the whole job's: the scheduler gives each worker its share with each lease.
impl From<&JobSettings> for JobSpec {
    fn from(s: &JobSettings) -> Self {
        JobSpec {
            commands: s.commands.clone(),
            connect_timeout_ms: millis(s.connect_timeout),
            command_timeout_ms: millis(s.command_timeout),
            host_timeout_ms: millis(s.host_timeout),
            host_key_policy: s.host_key_policy as i32,
            known_hosts: s.known_hosts.to_string_lossy().into_owned(),
            max_output_bytes: s.max_output_bytes,
            retries: s.retries,
            retry_backoff_ms: millis(s.retry_backoff),
            connect_rate: s.connect_rate,
            validation: s.validation.clone(),
            http: s.http.clone(),
            snmp: s.snmp.clone(),
            platform_profiles: s.platform_profiles.clone(),
            session_log: s.session_log,
            platform_commands: s.platform_commands.clone(),
            host_commands: s.host_commands.clone(),
            backup_secrets: s.backup_secrets.clone(),
            ..JobSpec::default()
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
