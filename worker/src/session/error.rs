//! Why a device session stopped, with the context a person needs (which step, which command,
//! which file). Each error maps to one [`FailureKind`]; none ever carries a password or secret.

use fanout_common::FailureKind;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Resolving the name or opening the TCP connection failed.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: io::Error,
    },

    /// The name resolved to no address at all.
    #[error("{hostname} resolved to no address")]
    NoAddress { hostname: String },

    /// A step's own deadline passed.
    #[error("timed out after {after:?} {during}")]
    Timeout { during: String, after: Duration },

    /// The whole host's deadline passed.
    #[error("host timeout of {after:?} reached {during}")]
    HostTimeout { during: String, after: Duration },

    /// The server's host key is not the pinned one, or (strict) is not pinned at all.
    #[error("{0}; no credentials were sent")]
    HostKey(String),

    /// The known_hosts file could not be read or written.
    #[error("known_hosts file {path}: {source}")]
    KnownHosts {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The device refused every authentication method we tried.
    #[error("authentication failed for user {user:?} (tried {tried})")]
    Auth { user: String, tried: String },

    /// The inventory's private key cannot be used: unreadable, or a wrong passphrase.
    #[error("ssh key {path}: {why}")]
    Key { path: String, why: String },

    /// `ssh_agent` was asked for and the agent failed.
    #[error("ssh-agent: {0}")]
    Agent(String),

    /// `enable` did not reach privileged mode.
    #[error("enable failed: {0}")]
    Enable(&'static str),

    /// The device rejected a command (a CLI error marker or a non-zero exit status).
    #[error("command `{command}` was rejected by the device{detail}")]
    Rejected { command: String, detail: String },

    /// A command the job asked for cannot be typed as one line (a line break, a control
    /// character): never sent. The coordinator refuses these; this guards against a client
    /// or coordinator that did not.
    #[error("command {} {why}; it was not sent", quoted(command))]
    Untypable { command: String, why: String },

    /// The device echoed something other than the command sent: it is not running that
    /// command, so its output is not the command's. Or the previous command's output went on
    /// past what looked like its prompt, and this is more of it.
    #[error(
        "the device echoed {} for `{command}`: it did not receive the command as sent{}",
        quoted(shown),
        previous.as_ref().map_or(String::new(), |p| format!(
            ", or the output of `{p}` went on past what looked like its prompt"
        ))
    )]
    EchoMismatch {
        command: String,
        shown: String,
        /// The command sent before, whose output this may be the rest of.
        previous: Option<String>,
    },

    /// After what looked like the prompt ending a command, the device went on printing: the
    /// output kept for the command may be incomplete.
    #[error(
        "after `{command}` the device went on printing ({}) past what looked like its prompt: \
         the output may be incomplete",
        quoted(shown)
    )]
    OutputContinued { command: String, shown: String },

    /// A command printed more than the configured cap.
    #[error("output of `{command}` exceeded {limit} bytes")]
    OutputTooLarge { command: String, limit: u64 },

    /// The device closed the channel or the connection before we were done.
    #[error("device closed the session {during}")]
    Disconnected { during: String },

    /// The device answered in a way the driver cannot work with.
    #[error("{0}")]
    Protocol(String),

    /// The SSH layer failed.
    #[error("ssh: {0}")]
    Ssh(#[from] russh::Error),

    /// A bug or resource failure on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Device text inside double quotes, for messages: quotes, backslashes and control characters
/// escaped, everything else (`'^' marker`) as the device printed it.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl SessionError {
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Connect { source, .. } => connect_error_kind(source),
            Self::NoAddress { .. } => FailureKind::Unreachable,
            Self::Timeout { .. } | Self::HostTimeout { .. } => FailureKind::Timeout,
            Self::HostKey(_) => FailureKind::HostkeyMismatch,
            Self::KnownHosts { .. } | Self::Internal(_) => FailureKind::Internal,
            Self::Auth { .. } | Self::Key { .. } | Self::Agent(_) => FailureKind::AuthFailed,
            Self::Enable(_) => FailureKind::EnableFailed,
            Self::Rejected { .. } | Self::EchoMismatch { .. } | Self::Untypable { .. } => {
                FailureKind::CommandError
            }
            Self::OutputContinued { .. } => FailureKind::Protocol,
            Self::OutputTooLarge { .. } => FailureKind::OutputTooLarge,
            Self::Disconnected { .. } => FailureKind::Disconnected,
            Self::Protocol(_) => FailureKind::Protocol,
            Self::Ssh(e) => ssh_error_kind(e),
        }
    }
}

/// Sorts a failed TCP connect or name lookup.
fn connect_error_kind(e: &io::Error) -> FailureKind {
    use io::ErrorKind as K;
    match e.kind() {
        // A reset while connecting is an active refusal too (a firewall's RST, or a listener
        // that accepts and drops at once), not a session that broke.
        K::ConnectionRefused | K::ConnectionReset => FailureKind::Refused,
        K::TimedOut => FailureKind::Timeout,
        K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => FailureKind::Disconnected,
        // Unreachable hosts and networks, failed lookups, and anything else that kept us from
        // ever reaching the device.
        _ => FailureKind::Unreachable,
    }
}

/// Sorts an error from the SSH layer.
fn ssh_error_kind(e: &russh::Error) -> FailureKind {
    use russh::Error as E;
    match e {
        E::Disconnect | E::HUP | E::SendError | E::RecvError | E::Join(_) => {
            FailureKind::Disconnected
        }
        E::IO(io) => match io.kind() {
            std::io::ErrorKind::TimedOut => FailureKind::Timeout,
            _ => FailureKind::Disconnected,
        },
        E::ConnectionTimeout | E::KeepaliveTimeout | E::InactivityTimeout | E::Elapsed(_) => {
            FailureKind::Timeout
        }
        E::UnknownKey | E::KeyChanged { .. } => FailureKind::HostkeyMismatch,
        E::NotAuthenticated | E::NoAuthMethod => FailureKind::AuthFailed,
        _ => FailureKind::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_text_is_quoted_as_printed_with_only_controls_escaped() {
        assert_eq!(
            quoted("% Invalid input detected at '^' marker."),
            "\"% Invalid input detected at '^' marker.\""
        );
        assert_eq!(quoted("a\"b\\c\x1b[2J\r"), r#""a\"b\\c\u{1b}[2J\r""#);
    }

    #[test]
    fn connect_errors_sort_into_kinds() {
        let kind = |k: io::ErrorKind| {
            SessionError::Connect {
                address: "192.0.2.1:22".into(),
                source: io::Error::from(k),
            }
            .kind()
        };
        assert_eq!(kind(io::ErrorKind::ConnectionRefused), FailureKind::Refused);
        assert_eq!(kind(io::ErrorKind::TimedOut), FailureKind::Timeout);
        assert_eq!(
            kind(io::ErrorKind::HostUnreachable),
            FailureKind::Unreachable
        );
        assert_eq!(
            kind(io::ErrorKind::NetworkUnreachable),
            FailureKind::Unreachable
        );
        assert_eq!(kind(io::ErrorKind::ConnectionReset), FailureKind::Refused);
        assert_eq!(
            kind(io::ErrorKind::ConnectionAborted),
            FailureKind::Disconnected
        );
        assert_eq!(
            SessionError::Ssh(russh::Error::Version).kind(),
            FailureKind::Protocol
        );
        assert_eq!(
            SessionError::Ssh(russh::Error::HUP).kind(),
            FailureKind::Disconnected
        );
    }
}
