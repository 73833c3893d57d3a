//! Why a host failed. A device's failure is data, never a crashed worker: every failure has a
//! kind that scripts can match on and a flag saying whether trying again could help.

use crate::proto;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The TCP connection was refused.
    Refused,
    /// A deadline passed: connect, banner, authentication, a command or the whole host.
    Timeout,
    /// The device rejected the credentials.
    AuthFailed,
    /// The device's host key does not match the pinned one; no credentials were sent.
    HostkeyMismatch,
    /// The device rejected a command (`% Invalid input detected` and the like).
    CommandError,
    /// The device closed the session before the job was done.
    Disconnected,
    /// A command's output exceeded the configured cap.
    OutputTooLarge,
    /// No route, name did not resolve, network unreachable.
    Unreachable,
    /// The device spoke something we could not make sense of (no prompt, bad SSH).
    Protocol,
    /// `enable` failed: wrong or missing secret.
    EnableFailed,
    /// A bug or resource failure on our side.
    Internal,
    /// The job was cancelled before the host finished.
    Cancelled,
    /// No attached worker carries the labels the host is pinned to (e.g. its `site`).
    NoWorker,
    /// The device answered, but fanout could not store what it said under `--output` (a name
    /// too long for the file system, a full disk, no permission, a symbolic link in the way).
    OutputWriteFailed,
}

impl FailureKind {
    pub const ALL: [FailureKind; 14] = [
        Self::Refused,
        Self::Timeout,
        Self::AuthFailed,
        Self::HostkeyMismatch,
        Self::CommandError,
        Self::Disconnected,
        Self::OutputTooLarge,
        Self::Unreachable,
        Self::Protocol,
        Self::EnableFailed,
        Self::Internal,
        Self::Cancelled,
        Self::NoWorker,
        Self::OutputWriteFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::AuthFailed => "auth_failed",
            Self::HostkeyMismatch => "hostkey_mismatch",
            Self::CommandError => "command_error",
            Self::Disconnected => "disconnected",
            Self::OutputTooLarge => "output_too_large",
            Self::Unreachable => "unreachable",
            Self::Protocol => "protocol",
            Self::EnableFailed => "enable_failed",
            Self::Internal => "internal",
            Self::Cancelled => "cancelled",
            Self::NoWorker => "no_worker",
            Self::OutputWriteFailed => "output_write_failed",
        }
    }

    /// Whether a later attempt may succeed without anyone changing anything. Credentials, host
    /// keys and rejected commands stay wrong however often they are tried.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::Refused | Self::Timeout | Self::Disconnected | Self::Unreachable
        )
    }

    pub fn to_proto(self) -> proto::FailureKind {
        use proto::FailureKind as P;
        match self {
            Self::Refused => P::Refused,
            Self::Timeout => P::Timeout,
            Self::AuthFailed => P::AuthFailed,
            Self::HostkeyMismatch => P::HostkeyMismatch,
            Self::CommandError => P::CommandError,
            Self::Disconnected => P::Disconnected,
            Self::OutputTooLarge => P::OutputTooLarge,
            Self::Unreachable => P::Unreachable,
            Self::Protocol => P::Protocol,
            Self::EnableFailed => P::EnableFailed,
            Self::Internal => P::Internal,
            Self::Cancelled => P::Cancelled,
            Self::NoWorker => P::NoWorker,
            Self::OutputWriteFailed => P::OutputWriteFailed,
        }
    }

    /// `None` for `Unspecified`, which a well-behaved worker never sends.
    pub fn from_proto(kind: proto::FailureKind) -> Option<Self> {
        use proto::FailureKind as P;
        Some(match kind {
            P::Unspecified => return None,
            P::Refused => Self::Refused,
            P::Timeout => Self::Timeout,
            P::AuthFailed => Self::AuthFailed,
            P::HostkeyMismatch => Self::HostkeyMismatch,
            P::CommandError => Self::CommandError,
            P::Disconnected => Self::Disconnected,
            P::OutputTooLarge => Self::OutputTooLarge,
            P::Unreachable => Self::Unreachable,
            P::Protocol => Self::Protocol,
            P::EnableFailed => Self::EnableFailed,
            P::Internal => Self::Internal,
            P::Cancelled => Self::Cancelled,
            P::NoWorker => Self::NoWorker,
            P::OutputWriteFailed => Self::OutputWriteFailed,
        })
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_the_wire() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::from_proto(kind.to_proto()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn every_kind_on_the_wire_is_listed() {
        // A value added to the proto enum but not here would reach coordinators as `internal`.
        let on_wire: Vec<FailureKind> = (1..)
            .map_while(|n| proto::FailureKind::try_from(n).ok())
            .map(|p| FailureKind::from_proto(p).expect("only Unspecified has no kind"))
            .collect();
        assert_eq!(on_wire, FailureKind::ALL);
        assert_eq!(
            FailureKind::OutputWriteFailed.to_proto() as i32,
            14,
            "wire values never change"
        );
    }

    #[test]
    fn every_kind_is_documented_for_users() {
        let readme = include_str!("../../README.md");
        for kind in FailureKind::ALL {
            let named = format!("`{}`", kind.as_str());
            assert!(readme.contains(&named), "README.md never mentions {named}");
        }
    }
}
