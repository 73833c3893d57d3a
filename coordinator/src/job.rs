//! What a job asks every host for, and the limits it runs under.

use fanout_common::proto::{HostKeyPolicy, HttpJob, JobSpec, Validation};
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
    /// YAML of the profiles from `--platforms` that the hosts use, by platform name; workers
    /// use their built-in profiles for every other platform.
    pub platform_profiles: HashMap<String, String>,
    /// Workers keep a transcript of each host's session and send it with the result.
    pub session_log: bool,
}

impl JobSettings {
    /// The job as workers receive it; each of `workers` gets an equal share of the rate.
    pub fn to_proto(&self, job_id: &str, workers: usize) -> JobSpec {
        JobSpec {
            job_id: job_id.to_string(),
            commands: self.commands.clone(),
            connect_timeout_ms: millis(self.connect_timeout),
            command_timeout_ms: millis(self.command_timeout),
            host_timeout_ms: millis(self.host_timeout),
            host_key_policy: self.host_key_policy as i32,
            known_hosts: self.known_hosts.to_string_lossy().into_owned(),
            max_output_bytes: self.max_output_bytes,
            retries: self.retries,
            retry_backoff_ms: millis(self.retry_backoff),
            connect_rate: self.connect_rate / workers.max(1) as f64,
            validation: self.validation.clone(),
            http: self.http.clone(),
            platform_profiles: self.platform_profiles.clone(),
            session_log: self.session_log,
            ..JobSpec::default()
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
