//! Every await in a session runs under two deadlines: its step's own (connect, a command) and
//! the whole host's. Keeping the host deadline as an instant rather than wrapping the session in
//! one big `timeout` lets a late step fail cleanly with the outputs collected so far.

use super::error::SessionError;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub struct HostDeadline {
    /// When the host's time is up.
    at: Instant,
    /// The budget it was given, for the message.
    budget: Duration,
}

impl HostDeadline {
    pub fn start(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            budget,
        }
    }

    /// Time left for the host, zero once it is over.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Runs `step` until it finishes, `limit` passes or the host's time is up, whichever is
    /// first. `during` describes the step for the timeout message ("waiting for the prompt")
    /// and is only called if the step times out.
    pub async fn run<T, E, F, D>(
        &self,
        limit: Duration,
        during: D,
        step: F,
    ) -> Result<T, SessionError>
    where
        F: Future<Output = Result<T, E>>,
        E: Into<SessionError>,
        D: FnOnce() -> String,
    {
        let step_at = Instant::now() + limit;
        let host_bound = self.at < step_at;
        let at = if host_bound { self.at } else { step_at };
        match tokio::time::timeout_at(at, step).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) if host_bound => Err(SessionError::HostTimeout {
                during: during(),
                after: self.budget,
            }),
            Err(_) => Err(SessionError::Timeout {
                during: during(),
                after: limit,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::FailureKind;

    #[tokio::test(start_paused = true)]
    async fn the_earlier_deadline_wins_and_says_which_it_was() {
        let host = HostDeadline::start(Duration::from_secs(10));
        let never = std::future::pending::<Result<(), SessionError>>;

        let err = host
            .run(Duration::from_secs(2), || "waiting".into(), never())
            .await
            .unwrap_err();
        assert!(matches!(err, SessionError::Timeout { .. }), "{err}");
        assert_eq!(err.kind(), FailureKind::Timeout);
        assert_eq!(err.to_string(), "timed out after 2s waiting");

        let err = host
            .run(
                Duration::from_secs(60),
                || "running `show tech`".into(),
                never(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SessionError::HostTimeout { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "host timeout of 10s reached running `show tech`"
        );
        assert_eq!(host.remaining(), Duration::ZERO);
    }
}
