//! The wire's shapes of a job and a host turned into the session's, in one place: a
//! `JobSpec` into `SessionOptions`, a `HostTarget` into a `DeviceTarget`. The host's data
//! (`facts_json`) is not part of the session's view; [`crate::host`] parses it once per host.

use crate::session::{DeviceTarget, KeyAuth, SessionOptions, SshAlgorithms};
use fanout_common::Secret;
use fanout_common::proto::{HostTarget, JobSpec};
use std::time::Duration;

impl From<&JobSpec> for SessionOptions {
    fn from(job: &JobSpec) -> Self {
        let known_hosts = if job.known_hosts.is_empty() {
            fanout_common::paths::default_known_hosts()
        } else {
            job.known_hosts.clone().into()
        };
        SessionOptions {
            connect_timeout: Duration::from_millis(job.connect_timeout_ms),
            command_timeout: Duration::from_millis(job.command_timeout_ms),
            host_timeout: Duration::from_millis(job.host_timeout_ms),
            host_key_policy: job.host_key_policy(),
            known_hosts,
            max_output_bytes: job.max_output_bytes,
            session_log: job.session_log,
        }
    }
}

/// With the built-in profile of its platform; a job's own profile is set by
/// [`crate::jobs::Job::target`].
impl From<HostTarget> for DeviceTarget {
    fn from(host: HostTarget) -> Self {
        let jump_host = (!host.jump_host.is_empty()).then_some(host.jump_host);
        DeviceTarget {
            name: host.name,
            hostname: host.hostname,
            // A port that does not fit came from a coordinator gone wrong: try SSH's.
            port: u16::try_from(host.port).unwrap_or(22),
            username: host.username,
            password: Secret::new(host.password),
            secret: Secret::new(host.secret),
            platform: host.platform,
            profile: None,
            keys: KeyAuth {
                private_key: Secret::new(host.ssh_key),
                key_path: host.ssh_key_path,
                passphrase: Secret::new(host.ssh_key_passphrase),
                agent: host.ssh_agent,
            },
            algorithms: SshAlgorithms {
                kex: host.ssh_kex,
                ciphers: host.ssh_ciphers,
                host_key: host.ssh_host_key_algorithms,
            },
            jump_host,
            commands: host.commands,
            abort_commands: host.abort_commands,
            snmp: host.snmp.map(Into::into),
        }
    }
}
