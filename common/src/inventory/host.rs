//! A host as a job sees it: every attribute resolved, credentials read.

use super::snmp::SnmpOptions;
use crate::Secret;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// One device, fully resolved: inheritance applied, credentials read from wherever the
/// inventory said. `Debug` shows credentials as `<redacted>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Host {
    /// The key in the hosts file: the name reports and filters use.
    pub name: String,
    /// Address to connect to; the name when nothing sets it (as Nornir does).
    pub hostname: String,
    /// SSH port; 22 when nothing sets it.
    pub port: u16,
    /// Login user; empty when nothing sets it (the session then fails authentication as data).
    pub username: String,
    pub password: Secret,
    /// Enable secret; empty means the session stays unprivileged.
    pub secret: Secret,
    /// Which driver and platform profile the worker uses; always set (loading checks it).
    pub platform: String,
    /// The host's `groups`, as written.
    pub groups: Vec<String>,
    /// `groups` plus every group they inherit from, in resolution order, each once: what
    /// `group=` filters match against.
    pub all_groups: Vec<String>,
    /// Free-form data, resolved key by key: host, then groups in order, then defaults.
    pub data: Map<String, Value>,
    pub ssh: SshOptions,
    /// Commands for this host alone, in place of the job's (a push's rendered lines); never
    /// read from an inventory file, and not part of [`Host::describe`].
    pub commands: Vec<String>,
    /// Typed when one of `commands` is rejected, to leave configuration mode cleanly.
    pub abort_commands: Vec<String>,
    /// How to poll it over SNMP; `None` when no level has an `snmp:` section.
    pub snmp: Option<SnmpOptions>,
}

/// SSH beyond a password: key and agent authentication, algorithms for old devices, a jump
/// host. Each option inherits on its own, like every other field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SshOptions {
    /// Where the private key was read from (`ssh_key_file`, resolved against its file).
    pub key_file: Option<PathBuf>,
    /// The private key's text, read at load time so a worker on another machine needs no files.
    pub key: Secret,
    /// Passphrase of an encrypted key; empty when the key is not encrypted.
    pub key_passphrase: Secret,
    /// Also offer the keys of the ssh-agent at `SSH_AUTH_SOCK`.
    pub agent: bool,
    /// OpenSSH algorithm names for old devices; empty keeps fanout's defaults.
    pub kex: Vec<String>,
    pub ciphers: Vec<String>,
    pub host_key_algorithms: Vec<String>,
    /// `[user@]host[:port]` to go through first, as OpenSSH's ProxyJump.
    pub jump_host: Option<String>,
}

impl Host {
    /// Every resolved field as JSON, for `fanout inventory` and reports. Credentials appear only
    /// as whether they are set.
    pub fn describe(&self) -> Value {
        let mut described = json!({
            "name": self.name,
            "hostname": self.hostname,
            "port": self.port,
            "username": self.username,
            "password_set": !self.password.is_empty(),
            "secret_set": !self.secret.is_empty(),
            "platform": self.platform,
            "groups": self.groups,
            "all_groups": self.all_groups,
            "data": self.data,
            "ssh_key_file": self.ssh.key_file,
            "ssh_key_passphrase_set": !self.ssh.key_passphrase.is_empty(),
            "ssh_agent": self.ssh.agent,
            "ssh_kex": self.ssh.kex,
            "ssh_ciphers": self.ssh.ciphers,
            "ssh_host_key_algorithms": self.ssh.host_key_algorithms,
            "jump_host": self.ssh.jump_host,
        });
        if let Some(snmp) = &self.snmp {
            described["snmp"] = json!({
                "version": snmp.version.as_str(),
                "port": snmp.port,
                "community_set": !snmp.community.is_empty(),
                "user": snmp.user,
                "auth": snmp.auth.map(|a| a.as_str()),
                "auth_password_set": !snmp.auth_password.is_empty(),
                "priv": snmp.privacy.map(|p| p.as_str()),
                "priv_password_set": !snmp.priv_password.is_empty(),
            });
        }
        described
    }
}
