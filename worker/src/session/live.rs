//! A device session kept open between commands, for monitoring: connecting, authenticating and
//! preparing the shell happen once, so each poll afterwards costs one command round trip. Any
//! failure ends the session; the caller opens a new one on its next poll.

use super::deadline::HostDeadline;
use super::error::SessionError;
use super::shell::CliShell;
use super::transport::{self, Connection};
use super::{
    CommandOutput, DEFAULT_MAX_OUTPUT_BYTES, DISCONNECT_GRACE, DeviceProfile, DeviceTarget,
    SessionFailure, SessionOptions, exec,
};
use fanout_common::platform::Transport;
use tracing::debug;

/// An authenticated, prepared session to one device.
pub struct LiveSession {
    connection: Connection,
    /// The prepared CLI for `transport: shell` platforms; `None` for `exec` platforms, which
    /// open a channel per command.
    shell: Option<CliShell>,
    options: SessionOptions,
}

impl LiveSession {
    /// Connects, authenticates and prepares the session (first prompt, enable, paging off),
    /// within `options.host_timeout`.
    pub async fn open(
        target: &DeviceTarget,
        options: &SessionOptions,
    ) -> Result<Self, SessionFailure> {
        let mut options = options.clone();
        if options.max_output_bytes == 0 {
            options.max_output_bytes = DEFAULT_MAX_OUTPUT_BYTES;
        }
        let deadline = HostDeadline::start(options.host_timeout);
        Self::open_within(target, options, &deadline)
            .await
            .map_err(|e| SessionFailure::from(&e))
    }

    async fn open_within(
        target: &DeviceTarget,
        options: SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<Self, SessionError> {
        let profile = match &target.profile {
            Some(profile) => profile.clone(),
            None => DeviceProfile::builtin(&target.platform).ok_or_else(|| {
                SessionError::Internal(format!(
                    "no platform profile for {:?} in the job and no built-in one",
                    target.platform
                ))
            })?,
        };
        let connection = transport::connect(target, &options, deadline).await?;
        let shell = match profile.profile.transport {
            Transport::Exec => None,
            Transport::Shell => {
                let prepared = async {
                    // Monitoring keeps no transcripts: a session lives for days.
                    let mut shell =
                        CliShell::open(&connection.device, profile, &options, deadline, &[])
                            .await?;
                    let first = shell.first_prompt(&options, deadline).await?;
                    if !first.privileged && !target.secret.is_empty() {
                        shell.enable(&target.secret, &options, deadline).await?;
                    }
                    for setup in shell.setup_commands() {
                        shell.setup(&setup, &options, deadline).await?;
                    }
                    Ok::<_, SessionError>(shell)
                };
                match prepared.await {
                    Ok(shell) => Some(shell),
                    Err(e) => {
                        connection.disconnect(DISCONNECT_GRACE).await;
                        return Err(e);
                    }
                }
            }
        };
        debug!(host = %target.name, "live session open");
        Ok(Self {
            connection,
            shell,
            options,
        })
    }

    /// Runs one command within `command_timeout`. An error means the session is no longer
    /// usable: close it and open another.
    pub async fn run(&mut self, command: &str) -> Result<CommandOutput, SessionFailure> {
        let deadline = HostDeadline::start(self.options.command_timeout);
        let result = match &mut self.shell {
            Some(shell) => shell.run(command, &self.options, &deadline).await,
            None => exec::run(&self.connection.device, command, &self.options, &deadline).await,
        };
        result.map_err(|e| SessionFailure::from(&e))
    }

    /// Says goodbye, briefly.
    pub async fn close(self) {
        let deadline = HostDeadline::start(DISCONNECT_GRACE);
        if let Some(mut shell) = self.shell {
            shell.close(&deadline).await;
        }
        self.connection.disconnect(DISCONNECT_GRACE).await;
    }
}
