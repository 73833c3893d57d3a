//! One device session over SSH: connect, verify the host key, authenticate, prepare the session
//! by platform, run the commands in order, close. [`collect`] never panics and never hangs:
//! every await has a deadline and the whole host has `host_timeout`. A failure is data, in
//! [`HostOutcome::failure`], next to the outputs collected before it.
//!
//! Platforms: `linux` runs each command on its own `exec` channel (`exec.rs`); everything else
//! (`cisco_ios`, `cisco_xe`, unknown IOS-like CLIs) drives an interactive shell (`shell.rs`).

mod deadline;
mod error;
mod exec;
mod known_hosts;
mod prompt;
mod shell;
mod transport;

use deadline::HostDeadline;
use error::SessionError;
use fanout_common::proto::HostKeyPolicy;
use fanout_common::{FailureKind, Secret};
use russh::Disconnect;
use shell::CliShell;
use std::path::PathBuf;
use std::time::Duration;
use tracing::{debug, instrument, warn};
use transport::SshHandle;

/// The output cap used when a job asks for none (`max_output_bytes == 0`).
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 64 * 1024 * 1024;

/// How long the SSH disconnect may take before the connection is simply dropped.
const DISCONNECT_GRACE: Duration = Duration::from_millis(200);

/// One device to reach.
#[derive(Clone, Debug)]
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
    /// Platform profile name (`cisco_ios`, `cisco_xe`, `linux`, ...).
    pub platform: String,
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
}

/// What one command printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    pub command: String,
    /// Exactly what the device printed for the command: no echo, no prompt, LF line ends.
    /// For `linux`, stdout followed by stderr.
    pub output: Vec<u8>,
    pub duration: Duration,
    /// The device refused the command (a CLI error marker, or a non-zero exit status).
    pub rejected: bool,
}

/// Everything a session produced: the outputs in command order, then why it stopped early, if
/// it did. A rejected command is the last output and the failure is `command_error`.
#[derive(Clone, Debug, Default)]
pub struct HostOutcome {
    pub outputs: Vec<CommandOutput>,
    pub failure: Option<SessionFailure>,
}

/// Why a host failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFailure {
    pub kind: FailureKind,
    /// For people; never contains a password or secret.
    pub message: String,
}

impl From<&SessionError> for SessionFailure {
    fn from(e: &SessionError) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// How a platform is driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PlatformProfile {
    /// An IOS-like interactive CLI.
    CiscoIos,
    /// A Unix host: one `exec` per command.
    Linux,
}

impl PlatformProfile {
    fn for_platform(platform: &str) -> Self {
        match platform {
            "linux" => Self::Linux,
            // cisco_ios, cisco_xe and anything not known yet: IOS conventions are the
            // common denominator of network CLIs.
            _ => Self::CiscoIos,
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
    };
    if let Err(e) = run_host(target, commands, &options, &deadline, &mut outcome.outputs).await {
        warn!(kind = %e.kind(), error = %e, "session failed");
        outcome.failure = Some(SessionFailure::from(&e));
    } else {
        debug!(commands = commands.len(), "session done");
    }
    outcome
}

async fn run_host(
    target: &DeviceTarget,
    commands: &[String],
    options: &SessionOptions,
    deadline: &HostDeadline,
    outputs: &mut Vec<CommandOutput>,
) -> Result<(), SessionError> {
    let handle = transport::connect(target, options, deadline).await?;
    let result = match PlatformProfile::for_platform(&target.platform) {
        PlatformProfile::CiscoIos => {
            run_cli(&handle, target, commands, options, deadline, outputs).await
        }
        PlatformProfile::Linux => run_exec(&handle, commands, options, deadline, outputs).await,
    };
    let grace = DISCONNECT_GRACE.min(deadline.remaining());
    tokio::time::timeout(
        grace,
        handle.disconnect(Disconnect::ByApplication, "", "en"),
    )
    .await
    .ok();
    result
}

async fn run_cli(
    handle: &SshHandle,
    target: &DeviceTarget,
    commands: &[String],
    options: &SessionOptions,
    deadline: &HostDeadline,
    outputs: &mut Vec<CommandOutput>,
) -> Result<(), SessionError> {
    let mut shell = CliShell::open(handle, options, deadline).await?;
    let result = run_in_shell(&mut shell, target, commands, options, deadline, outputs).await;
    shell.close(deadline).await;
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
    for setup in ["terminal length 0", "terminal width 511"] {
        shell.setup(setup, options, deadline).await?;
    }
    for command in commands {
        let output = shell.run(command, options, deadline).await?;
        let rejected = output.rejected;
        outputs.push(output);
        if rejected {
            return Err(SessionError::Rejected {
                command: command.clone(),
                detail: String::new(),
            });
        }
    }
    Ok(())
}

async fn run_exec(
    handle: &SshHandle,
    commands: &[String],
    options: &SessionOptions,
    deadline: &HostDeadline,
    outputs: &mut Vec<CommandOutput>,
) -> Result<(), SessionError> {
    for command in commands {
        let (output, failure) = exec::run(handle, command, options, deadline).await?;
        outputs.push(output);
        if let Some(detail) = failure {
            return Err(SessionError::Rejected {
                command: command.clone(),
                detail,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_pick_their_profile() {
        assert_eq!(
            PlatformProfile::for_platform("linux"),
            PlatformProfile::Linux
        );
        for ios in ["cisco_ios", "cisco_xe", "arista_eos", ""] {
            assert_eq!(
                PlatformProfile::for_platform(ios),
                PlatformProfile::CiscoIos
            );
        }
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
        };
        let options = SessionOptions {
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            host_timeout: Duration::from_secs(10),
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: PathBuf::from("/nonexistent/known_hosts"),
            max_output_bytes: 0,
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
