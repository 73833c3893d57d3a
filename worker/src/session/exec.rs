//! The `linux` driver: one `exec` channel per command, no PTY and no prompt.
//!
//! A command's output is its stdout followed by its stderr (the protocol keeps them apart, so
//! their interleaving is lost; stderr comes last so an error message is still in the result).
//! A non-zero exit status or a signal marks the command rejected.

use super::deadline::HostDeadline;
use super::error::SessionError;
use super::transport::SshHandle;
use super::{CommandOutput, SessionOptions};
use russh::ChannelMsg;
use tokio::time::Instant;
use tracing::debug;

/// How an exec'd command ended.
enum Exit {
    Status(u32),
    Signal(String),
    /// The channel closed without saying.
    Unknown,
}

/// Runs `command` on its own channel. Returns the output, and `Err` only for failures of the
/// session itself (timeout, disconnect, size): a failed command is an output with a
/// `rejection`.
pub async fn run(
    handle: &SshHandle,
    command: &str,
    options: &SessionOptions,
    deadline: &HostDeadline,
) -> Result<CommandOutput, SessionError> {
    fanout_common::command_text::check_command(command).map_err(|e| SessionError::Untypable {
        command: command.to_owned(),
        why: e.to_string(),
    })?;
    let started = Instant::now();
    let limit = options.max_output_bytes;
    let (mut output, exit) = deadline
        .run(
            options.command_timeout,
            || format!("running `{command}`"),
            async {
                let mut channel = handle.channel_open_session().await?;
                channel.exec(true, command).await?;
                let mut stdout = Vec::new();
                let mut stderr = Vec::new();
                let mut exit = Exit::Unknown;
                let mut total = 0u64;
                while let Some(message) = channel.wait().await {
                    let (data, sink) = match message {
                        ChannelMsg::Data { ref data } => (data, &mut stdout),
                        ChannelMsg::ExtendedData { ref data, .. } => (data, &mut stderr),
                        ChannelMsg::ExitStatus { exit_status } => {
                            exit = Exit::Status(exit_status);
                            continue;
                        }
                        ChannelMsg::ExitSignal { signal_name, .. } => {
                            exit = Exit::Signal(format!("{signal_name:?}"));
                            continue;
                        }
                        ChannelMsg::Failure => {
                            return Err(SessionError::Rejected {
                                command: command.to_owned(),
                                detail: ": the server refused to run it".into(),
                            });
                        }
                        ChannelMsg::Close => break,
                        _ => continue,
                    };
                    total += data.len() as u64;
                    if total > limit {
                        return Err(SessionError::OutputTooLarge {
                            command: command.to_owned(),
                            limit,
                        });
                    }
                    sink.extend_from_slice(data);
                }
                // Closing our side is a courtesy; the server already finished the command.
                channel.close().await.ok();
                stdout.append(&mut stderr);
                Ok::<_, SessionError>((stdout, exit))
            },
        )
        .await?;
    output.shrink_to_fit();
    let failure = match exit {
        Exit::Status(0) => None,
        Exit::Status(status) => Some(format!("exit status {status}")),
        Exit::Signal(signal) => Some(format!("killed by signal {signal}")),
        Exit::Unknown => {
            if handle.is_closed() {
                return Err(SessionError::Disconnected {
                    during: format!("running `{command}`"),
                });
            }
            Some("it ended without an exit status".into())
        }
    };
    debug!(
        command,
        bytes = output.len(),
        ok = failure.is_none(),
        "command done"
    );
    Ok(CommandOutput {
        command: command.to_owned(),
        output,
        duration: started.elapsed(),
        rejection: failure,
    })
}
