//! What running a host produced, whichever way it ran (SSH session, HTTP steps, both): the
//! outputs in order and why it stopped early, if it did. The SSH session and the HTTP runner
//! both fill it; neither owns it.

use fanout_common::FailureKind;
use std::time::Duration;

/// What one command printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    pub command: String,
    /// Exactly what the device printed for the command: no echo, no prompt, LF line ends.
    /// For `linux`, stdout followed by stderr.
    pub output: Vec<u8>,
    pub duration: Duration,
    /// Why the device refused the command: its error line (`% Invalid input detected at '^'
    /// marker.`), or a non-zero exit status. `None` when it ran it.
    pub rejection: Option<String>,
}

impl CommandOutput {
    pub fn rejected(&self) -> bool {
        self.rejection.is_some()
    }
}

/// Everything a session produced: the outputs in command order, then why it stopped early, if
/// it did. A rejected command is the last output and the failure is `command_error`.
#[derive(Clone, Debug, Default)]
pub struct HostOutcome {
    pub outputs: Vec<CommandOutput>,
    pub failure: Option<SessionFailure>,
    /// Every byte sent and received, secrets masked, when the job asked for it (shell
    /// platforms only).
    pub transcript: Option<Vec<u8>>,
}

/// Why a host failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFailure {
    pub kind: FailureKind,
    /// For people; never contains a password or secret.
    pub message: String,
}
