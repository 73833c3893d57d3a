//! One device session over SSH: connect, verify the host key, authenticate, prepare the session
//! by platform, run the commands in order, close. [`collect`] never panics and never hangs:
//! every await has a deadline and the whole host has `host_timeout`. A failure is data, in
//! [`HostOutcome::failure`], next to the outputs collected before it.
//!
//! Platforms are data ([`DeviceProfile`], from `fanout_common::platform`): a `transport: exec`
//! profile (`linux`) runs each command on its own `exec` channel (`exec.rs`); a `transport: shell`
//! profile drives an interactive shell by its prompt patterns (`shell.rs`).

mod deadline;
mod echo;
mod error;
mod exec;
mod known_hosts;
mod live;
mod prompt;
mod screen;
mod shell;
mod transcript;
mod transport;

use deadline::HostDeadline;
use error::SessionError;
use fanout_common::Secret;
use fanout_common::platform::{PlatformProfile, PlatformRegistry, Transport};
use fanout_common::proto::HostKeyPolicy;
use prompt::CliPatterns;
use shell::CliShell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tracing::{debug, instrument, warn};
use transport::SshHandle;

pub use crate::outcome::{CommandOutput, HostOutcome, SessionFailure};
pub use live::LiveSession;

/// Checks that a private key decrypts with its passphrase, so a coordinator can refuse a bad
/// key before anything connects.
pub fn check_private_key(key: &Secret, passphrase: &Secret) -> Result<(), String> {
    transport::decode_private_key(key, passphrase).map(drop)
}

pub use fanout_common::wire::DEFAULT_MAX_OUTPUT_BYTES;

/// How long the SSH disconnect may take before the connection is simply dropped.
const DISCONNECT_GRACE: Duration = Duration::from_millis(200);

/// One device to reach.
#[derive(Clone, Debug, Default)]
pub struct DeviceTarget {
    /// Inventory name, for logs and results.
    pub name: String,
    /// What to connect to: a DNS name or an IP address; also the known_hosts name.
    pub hostname: String,
    pub port: u16,
    pub username: String,
    /// Login password, also the answer to every keyboard-interactive prompt.
    pub password: Secret,
    /// Enable secret; empty means stay in whatever mode the login gives.
    pub secret: Secret,
    /// Platform profile name (`cisco_ios`, `juniper_junos`, `linux`, ...).
    pub platform: String,
    /// The platform's profile as the job sent it; `None` uses the built-in profile of that name.
    pub profile: Option<Arc<DeviceProfile>>,
    /// Public-key and agent authentication.
    pub keys: KeyAuth,
    /// Algorithm preferences for devices too old for fanout's defaults.
    pub algorithms: SshAlgorithms,
    /// Reach the device through this SSH host first, as `ProxyJump` does: `[user@]host[:port]`,
    /// parsed when the session starts so a bad one fails the host instead of being skipped.
    pub jump_host: Option<String>,
    /// Commands for this host alone, in place of the job's (a push's configuration steps).
    pub commands: Vec<String>,
    /// Typed when a command is rejected, before the session closes, so a device is not left
    /// in configuration mode or with a half-edited candidate.
    pub abort_commands: Vec<String>,
    /// How to poll the device over SNMP, when the inventory says.
    pub snmp: Option<crate::snmp::SnmpCredentials>,
}

/// Key-based ways to authenticate, tried before the password.
#[derive(Clone, Debug, Default)]
pub struct KeyAuth {
    /// A private key's text (OpenSSH or PEM); empty for none.
    pub private_key: Secret,
    /// Where it came from, for messages (never its contents).
    pub key_path: String,
    /// Passphrase of an encrypted key.
    pub passphrase: Secret,
    /// Offer the keys of the ssh-agent at `SSH_AUTH_SOCK`.
    pub agent: bool,
}

/// OpenSSH algorithm names; an empty list keeps fanout's defaults for that slot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SshAlgorithms {
    pub kex: Vec<String>,
    pub ciphers: Vec<String>,
    pub host_key: Vec<String>,
}

/// A bastion: `user@host:port`. Authenticates with the device's own credentials and keys; its
/// host key is checked against the same known_hosts with the same policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpHost {
    pub username: String,
    pub hostname: String,
    pub port: u16,
}

impl JumpHost {
    /// Parses `[user@]host[:port]` (`[v6addr]:port` too); a missing user means the device's.
    pub fn parse(spec: &str, default_user: &str) -> Result<Self, String> {
        let (user, rest) = match spec.rsplit_once('@') {
            Some((user, rest)) if !user.is_empty() => (user.to_string(), rest),
            Some(_) => return Err(format!("jump host {spec:?} has an empty user")),
            None => (default_user.to_string(), spec),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (host, after) = inner
                .split_once(']')
                .ok_or_else(|| format!("jump host {spec:?}: unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(format!("jump host {spec:?}: junk after `]`")),
            };
            (host, port)
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("jump host {spec:?}: bad port {p:?}"))?,
            None => 22,
        };
        if host.is_empty() {
            return Err(format!("jump host {spec:?} has an empty host"));
        }
        Ok(Self {
            username: user,
            hostname: host.to_string(),
            port,
        })
    }
}

/// A platform profile ready to drive sessions: the data and its compiled patterns.
#[derive(Debug)]
pub struct DeviceProfile {
    pub profile: PlatformProfile,
    patterns: CliPatterns,
}

impl DeviceProfile {
    /// Compiles `profile`; fails only for a profile that did not pass the loader's checks.
    pub fn new(profile: PlatformProfile) -> Result<Self, String> {
        let patterns = CliPatterns::compile(&profile)
            .map_err(|e| format!("platform {:?}: bad pattern: {e}", profile.name))?;
        Ok(Self { profile, patterns })
    }

    /// Parses a profile's YAML as a job carries it.
    pub fn from_yaml(name: &str, yaml: &str) -> Result<Self, String> {
        let profile =
            PlatformProfile::from_yaml(yaml, &format!("platform profile {name:?} from the job"))
                .map_err(|e| e.to_string())?;
        Self::new(profile)
    }

    /// The built-in profile of this name, compiled once per process.
    pub fn builtin(name: &str) -> Option<Arc<Self>> {
        static BUILTIN: LazyLock<HashMap<String, Arc<DeviceProfile>>> = LazyLock::new(|| {
            PlatformRegistry::builtin()
                .iter()
                .filter_map(|loaded| {
                    let compiled = DeviceProfile::new(loaded.profile.clone()).ok()?;
                    Some((loaded.profile.name.clone(), Arc::new(compiled)))
                })
                .collect()
        });
        BUILTIN.get(name).cloned()
    }
}

/// How to run a session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// For each of: TCP connect, SSH banner and key exchange, authentication.
    pub connect_timeout: Duration,
    /// For each command, and for each step of preparing the shell (first prompt, enable).
    pub command_timeout: Duration,
    /// For the whole host, first connect to last command.
    pub host_timeout: Duration,
    pub host_key_policy: HostKeyPolicy,
    /// OpenSSH-format known_hosts file; must be set unless the policy is `Off`.
    pub known_hosts: PathBuf,
    /// Cap on one command's output; 0 means [`DEFAULT_MAX_OUTPUT_BYTES`].
    pub max_output_bytes: u64,
    /// Keep a transcript of every byte sent and received (`--session-log`), secrets masked.
    pub session_log: bool,
}

impl From<&SessionError> for SessionFailure {
    fn from(e: &SessionError) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Connects, verifies the host key, authenticates, prepares the session by platform, runs
/// `commands` in order and closes. Stops at the first failure, keeping the outputs so far.
#[instrument(skip_all, fields(host = %target.name))]
pub async fn collect(
    target: &DeviceTarget,
    commands: &[String],
    options: &SessionOptions,
) -> HostOutcome {
    let mut options = options.clone();
    if options.max_output_bytes == 0 {
        options.max_output_bytes = DEFAULT_MAX_OUTPUT_BYTES;
    }
    let deadline = HostDeadline::start(options.host_timeout);
    let mut outcome = HostOutcome {
        outputs: Vec::with_capacity(commands.len()),
        failure: None,
        transcript: None,
    };
    if let Err(e) = run_host(target, commands, &options, &deadline, &mut outcome).await {
        warn!(kind = %e.kind(), error = %e, "session failed");
        outcome.failure = Some(SessionFailure::from(&e));
    } else {
        debug!(commands = commands.len(), "session done");
    }
    outcome
}

/// An authenticated SSH connection running one command on an `exec` channel, for the
/// coordinator's `git push` to an `ssh://` remote: the server is reached, its host key checked
/// against known_hosts under the policy, and the user authenticated (key file, agent,
/// password) exactly as a device is, so there is one SSH client to trust, not two.
pub struct ExecChannel {
    /// The command's channel; its data is the command's stdin and stdout.
    pub channel: russh::Channel<russh::client::Msg>,
    /// Keeps the connection open for as long as the channel is used.
    _connection: transport::Connection,
}

impl ExecChannel {
    /// The channel, and what keeps its connection open (drop it once the channel is done).
    pub fn into_parts(self) -> (Box<dyn Send>, russh::Channel<russh::client::Msg>) {
        (Box::new(self._connection), self.channel)
    }
}

/// Connects to `target`, authenticates, and starts `command` (`connect_timeout` for each step).
pub async fn exec_channel(
    target: &DeviceTarget,
    options: &SessionOptions,
    command: &str,
) -> Result<ExecChannel, String> {
    let deadline = HostDeadline::start(options.host_timeout);
    let connection = transport::connect(target, options, &deadline)
        .await
        .map_err(|e| e.to_string())?;
    let open = async {
        let channel = connection.device.channel_open_session().await?;
        channel.exec(true, command).await?;
        Ok::<_, russh::Error>(channel)
    };
    let channel = deadline
        .run(
            options.connect_timeout,
            || format!("starting {command:?}"),
            open,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExecChannel {
        channel,
        _connection: connection,
    })
}

async fn run_host(
    target: &DeviceTarget,
    commands: &[String],
    options: &SessionOptions,
    deadline: &HostDeadline,
    outcome: &mut HostOutcome,
) -> Result<(), SessionError> {
    let profile = match &target.profile {
        Some(profile) => profile.clone(),
        None => DeviceProfile::builtin(&target.platform).ok_or_else(|| {
            SessionError::Internal(format!(
                "no platform profile for {:?} in the job and no built-in one",
                target.platform
            ))
        })?,
    };
    // Boxed: connecting (key exchange, authentication, the jump host's too) is the largest
    // state of a host's future, about 10 KB of its 14 KB in a release build, and inline it
    // would be held for the whole session, commands included. Boxed, it is freed once the
    // connection is up (bench/PROFILE.md).
    let connection = Box::pin(transport::connect(target, options, deadline)).await?;
    let handle = &connection.device;
    let result = match profile.profile.transport {
        Transport::Shell => {
            let mut shell = CliShell::open(
                handle,
                profile,
                options,
                deadline,
                &[&target.password, &target.secret],
            )
            .await?;
            let result = run_in_shell(
                &mut shell,
                target,
                commands,
                options,
                deadline,
                &mut outcome.outputs,
            )
            .await;
            let result = match result {
                // The end-of-session check can still find more of the last output.
                Ok(()) => match shell.finish(options, deadline).await {
                    Ok(()) => give_back(&mut shell, &mut outcome.outputs),
                    Err(e) => Err(e),
                },
                Err(e) => {
                    shell.close(deadline).await;
                    Err(e)
                }
            };
            outcome.transcript = shell.take_transcript();
            result
        }
        Transport::Exec => {
            run_exec(handle, commands, options, deadline, &mut outcome.outputs).await
        }
    };
    connection
        .disconnect(DISCONNECT_GRACE.min(deadline.remaining()))
        .await;
    result
}

async fn run_in_shell(
    shell: &mut CliShell,
    target: &DeviceTarget,
    commands: &[String],
    options: &SessionOptions,
    deadline: &HostDeadline,
    outputs: &mut Vec<CommandOutput>,
) -> Result<(), SessionError> {
    let first = shell.first_prompt(options, deadline).await?;
    if !first.privileged && !target.secret.is_empty() {
        shell.enable(&target.secret, options, deadline).await?;
        debug!("enabled");
    }
    for setup in shell.setup_commands() {
        shell.setup(&setup, options, deadline).await?;
    }
    for command in commands {
        let output = shell.run(command, options, deadline).await?;
        // Reading this command can find more of the previous one's output.
        give_back(shell, outputs)?;
        let rejection = output.rejection.clone();
        outputs.push(output);
        if let Some(line) = rejection {
            abort(shell, target, options, deadline, outputs).await;
            return Err(rejected(command, &line));
        }
    }
    Ok(())
}

/// Types the target's abort commands after a rejected one, recording their outputs; their own
/// failures are not the host's (the rejection is), so they are logged and the rest still typed.
async fn abort(
    shell: &mut CliShell,
    target: &DeviceTarget,
    options: &SessionOptions,
    deadline: &HostDeadline,
    outputs: &mut Vec<CommandOutput>,
) {
    for command in &target.abort_commands {
        match shell.run(command, options, deadline).await {
            Ok(output) => outputs.push(output),
            Err(e) => {
                warn!(command = %command, error = %e, "abort command failed");
                return;
            }
        }
    }
}

/// Appends to the last output what the shell found of it later (see `shell.rs`); a refusal
/// in that part fails the host like one found at once.
fn give_back(shell: &mut CliShell, outputs: &mut [CommandOutput]) -> Result<(), SessionError> {
    let (Some(rest), Some(last)) = (shell.take_continuation(), outputs.last_mut()) else {
        return Ok(());
    };
    shell.append_output(last, &rest)?;
    match &last.rejection {
        Some(line) => Err(rejected(&last.command, line)),
        None => Ok(()),
    }
}

fn rejected(command: &str, line: &str) -> SessionError {
    SessionError::Rejected {
        command: command.to_owned(),
        detail: format!(": {}", error::quoted(line)),
    }
}

async fn run_exec(
    handle: &SshHandle,
    commands: &[String],
    options: &SessionOptions,
    deadline: &HostDeadline,
    outputs: &mut Vec<CommandOutput>,
) -> Result<(), SessionError> {
    for command in commands {
        let output = exec::run(handle, command, options, deadline).await?;
        let rejection = output.rejection.clone();
        outputs.push(output);
        if let Some(why) = rejection {
            return Err(SessionError::Rejected {
                command: command.clone(),
                detail: format!(": {why}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::FailureKind;

    #[test]
    fn every_builtin_platform_compiles_and_picks_its_transport() {
        assert_eq!(
            DeviceProfile::builtin("linux").unwrap().profile.transport,
            Transport::Exec
        );
        for cli in [
            "cisco_ios",
            "cisco_xe",
            "cisco_nxos",
            "cisco_xr",
            "arista_eos",
            "juniper_junos",
        ] {
            let profile = DeviceProfile::builtin(cli).expect(cli);
            assert_eq!(profile.profile.transport, Transport::Shell, "{cli}");
        }
        assert!(DeviceProfile::builtin("nonexistent").is_none());
    }

    #[test]
    fn jump_hosts_parse_like_proxyjump() {
        let j = JumpHost::parse("ops@bastion.example:2222", "admin").unwrap();
        assert_eq!(
            (j.username.as_str(), j.hostname.as_str(), j.port),
            ("ops", "bastion.example", 2222)
        );
        let j = JumpHost::parse("127.0.0.1", "admin").unwrap();
        assert_eq!((j.username.as_str(), j.port), ("admin", 22));
        let j = JumpHost::parse("u@[::1]:22", "admin").unwrap();
        assert_eq!(j.hostname, "::1");
        assert!(JumpHost::parse("u@host:0", "a").is_err());
        assert!(JumpHost::parse("u@host:x", "a").is_err());
        assert!(JumpHost::parse("@host", "a").is_err());
    }

    #[tokio::test]
    async fn an_unresolvable_name_is_unreachable_and_nothing_hangs() {
        let target = DeviceTarget {
            name: "nowhere".into(),
            hostname: "nonexistent.invalid".into(),
            port: 22,
            username: "admin".into(),
            password: Secret::new("hunter2"),
            secret: Secret::new("s3cret"),
            platform: "cisco_ios".into(),
            ..Default::default()
        };
        let options = SessionOptions {
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            host_timeout: Duration::from_secs(10),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: PathBuf::from("/nonexistent/known_hosts"),
            max_output_bytes: 0,
            session_log: false,
        };
        let outcome = collect(&target, &["show version".into()], &options).await;
        let failure = outcome.failure.expect("must fail");
        assert!(
            matches!(
                failure.kind,
                FailureKind::Unreachable | FailureKind::Timeout
            ),
            "{failure:?}"
        );
        assert!(!failure.message.contains("hunter2"));
        assert!(outcome.outputs.is_empty());
    }
}
