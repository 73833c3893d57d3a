//! The inventory's shapes turned into the wire's, beside the proto: a resolved inventory host
//! into the `HostTarget` a worker receives. (The worker turns that into its session's view in
//! `fanout_worker`'s `from_proto`; the coordinator's job settings into a `JobSpec` in its
//! `job` module, since those settings are the coordinator's own.)

use crate::inventory::Host;
use crate::inventory::SnmpOptions;
use crate::proto::{HostTarget, SnmpTarget};

/// What a worker needs to reach the host. The secrets leave the coordinator only here, over an
/// authenticated worker stream; `facts_json` carries the rest of the host (data included,
/// secrets never) for rules and HTTP templates, and the worker parses it once per host.
impl From<&Host> for HostTarget {
    fn from(host: &Host) -> Self {
        HostTarget {
            name: host.name.clone(),
            hostname: host.hostname.clone(),
            port: u32::from(host.port),
            username: host.username.clone(),
            password: host.password.expose().to_string(),
            secret: host.secret.expose().to_string(),
            platform: host.platform.clone(),
            facts_json: host.describe().to_string(),
            ssh_key: host.ssh.key.expose().to_string(),
            ssh_key_path: host
                .ssh
                .key_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            ssh_key_passphrase: host.ssh.key_passphrase.expose().to_string(),
            ssh_agent: host.ssh.agent,
            ssh_kex: host.ssh.kex.clone(),
            ssh_ciphers: host.ssh.ciphers.clone(),
            ssh_host_key_algorithms: host.ssh.host_key_algorithms.clone(),
            jump_host: host.ssh.jump_host.clone().unwrap_or_default(),
            commands: host.commands.clone(),
            abort_commands: host.abort_commands.clone(),
            snmp: host.snmp.as_ref().map(snmp_target),
        }
    }
}

/// The SNMP credentials as the worker's client takes them.
fn snmp_target(snmp: &SnmpOptions) -> SnmpTarget {
    SnmpTarget {
        version: snmp.version.as_str().to_string(),
        port: u32::from(snmp.port),
        community: snmp.community.expose().to_string(),
        user: snmp.user.clone(),
        auth: snmp
            .auth
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        auth_password: snmp.auth_password.expose().to_string(),
        privacy: snmp
            .privacy
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        priv_password: snmp.priv_password.expose().to_string(),
    }
}
