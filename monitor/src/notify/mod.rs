//! Notifiers: where alerts go. Each runs behind its own bounded queue and retry loop
//! ([`dispatch`]), so a dead mail server never delays the webhook or the engine.

pub mod dispatch;
pub mod email;
pub mod exec;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use crate::event::Event;

/// One message for a notifier: an alert/recovery, or the summary of those the rate limit held
/// back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Notice {
    /// An alert or recovery (`kind` tells which).
    Event(Event),
    /// `count` messages were not sent because of the rate limit.
    Suppressed { count: u32 },
}

impl Notice {
    /// The one line every notifier shows.
    pub fn text(&self) -> String {
        match self {
            Notice::Event(e) => match e.kind {
                crate::event::EventKind::Alert => format!("ALERT: {}", e.summary),
                crate::event::EventKind::Recovery => format!("RECOVERED: {}", e.summary),
            },
            Notice::Suppressed { count } => format!("{count} more alerts suppressed"),
        }
    }
}

/// Why one delivery attempt failed; the dispatcher retries, then counts it.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The attempt did not finish within its deadline.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The webhook could not be reached or answered with an error status.
    #[error("webhook: {0}")]
    Http(String),
    /// Building or sending the mail failed.
    #[error("smtp: {0}")]
    Smtp(String),
    /// The program could not run or exited unsuccessfully.
    #[error("exec: {0}")]
    Exec(String),
}

/// A boxed send future, so notifiers of different kinds share one queue type.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// Something that delivers one notice; one attempt per call, retries are the dispatcher's.
pub trait Notifier: Send + Sync + 'static {
    /// Deliver `notice` once, within the notifier's own deadline.
    fn send<'a>(&'a self, notice: &'a Notice) -> SendFuture<'a>;
}
