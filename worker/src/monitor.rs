//! The worker's side of a monitor job: one long-lived task per leased host that keeps an SSH
//! session open and runs the job's checks every interval, sending each answer as a
//! [`PollReport`]. A session that dies is reopened at the next poll; a host that cannot be
//! reached is reported as such on every poll, so the coordinator can tell "down" from "slow".
//!
//! SNMP checks go through the job's shared UDP sockets ([`SnmpRunner`]) instead, and need no
//! session: a job of SNMP checks alone never opens SSH. Their raw varbinds go back as the
//! output; the coordinator turns counters into rates, so the worker keeps no state per host.

use crate::pacer::Pacer;
use crate::session::{DeviceTarget, LiveSession, SessionFailure, SessionOptions};
use crate::snmp::SnmpRunner;
use fanout_common::proto::{self, Failure, PollReport, WorkerMessage, worker_message};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// Shortest interval honoured, so a typo cannot turn the monitor into a load test.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// What one host's poll loop needs, owned by its task.
pub struct HostPoller {
    pub target: DeviceTarget,
    pub job_id: String,
    pub lease_epoch: u64,
    pub spec: Arc<proto::MonitorSpec>,
    pub options: SessionOptions,
    pub pacer: Arc<Pacer>,
    /// The job's SNMP sockets; set when the job has SNMP checks.
    pub snmp: Option<Arc<SnmpRunner>>,
    pub outbound: mpsc::Sender<WorkerMessage>,
}

impl HostPoller {
    /// Polls until `stop` fires or the coordinator's stream is gone.
    pub async fn run(self, stop: CancellationToken) {
        let interval = Duration::from_millis(self.spec.interval_ms).max(MIN_INTERVAL);
        // Each host starts at its own offset within the interval, so a thousand hosts make a
        // steady trickle of polls instead of a burst every interval.
        let offset = interval.mul_f64(spread(&self.target.name));
        let mut ticks = tokio::time::interval_at(Instant::now() + offset, interval);
        // A poll that overran its slot is not followed by a catch-up burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut session: Option<LiveSession> = None;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let polled = tokio::select! {
                _ = stop.cancelled() => break,
                polled = self.poll(&mut session) => polled,
            };
            if !polled {
                break;
            }
        }
        if let Some(session) = session {
            session.close().await;
        }
    }

    /// One poll of every check. Returns false when the coordinator is gone.
    async fn poll(&self, session: &mut Option<LiveSession>) -> bool {
        for check in self.spec.checks.iter().filter(|c| !c.snmp.is_empty()) {
            let answer = match &self.snmp {
                Some(snmp) => snmp.poll(&self.target, &check.snmp).await,
                None => Err(SessionFailure {
                    kind: fanout_common::FailureKind::Internal,
                    message: "the job has SNMP checks but no SNMP settings".into(),
                }),
            };
            let sent = match answer {
                Ok(output) => self.send(check, Ok(output), false).await,
                Err(failure) => {
                    debug!(host = %self.target.name, error = %failure.message, "snmp poll failed");
                    self.send(check, Err(&failure), false).await
                }
            };
            if !sent {
                return false;
            }
        }
        if self.spec.checks.iter().all(|c| !c.snmp.is_empty()) {
            return true;
        }
        self.poll_cli(session).await
    }

    /// One poll of the CLI checks over the host's session.
    async fn poll_cli(&self, session: &mut Option<LiveSession>) -> bool {
        let mut reconnected = false;
        if session.is_none() {
            self.pacer.wait_turn().await;
            match LiveSession::open(&self.target, &self.options).await {
                Ok(opened) => {
                    *session = Some(opened);
                    reconnected = true;
                }
                Err(failure) => {
                    debug!(host = %self.target.name, error = %failure.message, "cannot open a session");
                    for check in self.cli_checks() {
                        if !self.send(check, Err(&failure), false).await {
                            return false;
                        }
                    }
                    return true;
                }
            }
        }
        for check in self.cli_checks() {
            let Some(live) = session.as_mut() else { break };
            let answer = live.run(&check.command).await;
            if let Err(failure) = &answer {
                debug!(host = %self.target.name, error = %failure.message, "session lost; reconnecting next poll");
                if let Some(dead) = session.take() {
                    dead.close().await;
                }
                let sent = self.send(check, Err(failure), reconnected).await;
                // The remaining checks did not run; they are reported unanswered too.
                for rest in self
                    .cli_checks()
                    .skip_while(|c| c.name != check.name)
                    .skip(1)
                {
                    if !self.send(rest, Err(failure), reconnected).await {
                        return false;
                    }
                }
                return sent;
            }
            let output = answer.map(|o| o.output).unwrap_or_default();
            if !self.send(check, Ok(output), reconnected).await {
                return false;
            }
        }
        true
    }

    fn cli_checks(&self) -> impl Iterator<Item = &proto::MonitorCheck> {
        self.spec.checks.iter().filter(|c| c.snmp.is_empty())
    }

    async fn send(
        &self,
        check: &proto::MonitorCheck,
        answer: Result<Vec<u8>, &SessionFailure>,
        reconnected: bool,
    ) -> bool {
        let (output, failure) = match answer {
            Ok(output) => (output, None),
            Err(f) => (
                Vec::new(),
                Some(Failure {
                    kind: f.kind.to_proto() as i32,
                    retryable: f.kind.retryable(),
                    message: f.message.clone(),
                }),
            ),
        };
        let report = PollReport {
            job_id: self.job_id.clone(),
            lease_epoch: self.lease_epoch,
            host: self.target.name.clone(),
            check: check.name.clone(),
            at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            output,
            failure,
            reconnected,
        };
        self.outbound
            .send(WorkerMessage {
                body: Some(worker_message::Body::Poll(report)),
            })
            .await
            .is_ok()
    }
}

/// A stable fraction in `[0, 1)` from the host name (FNV-1a), for spreading polls.
fn spread(name: &str) -> f64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % 10_000) as f64 / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_spread_over_the_interval() {
        let fractions: Vec<f64> = (1..=1000).map(|i| spread(&format!("r{i:05}"))).collect();
        assert!(fractions.iter().all(|f| (0.0..1.0).contains(f)));
        // Every tenth of the interval gets some hosts: no burst, no empty stretch.
        for decile in 0..10 {
            let n = fractions
                .iter()
                .filter(|f| (**f * 10.0) as usize == decile)
                .count();
            assert!((50..=150).contains(&n), "decile {decile}: {n}");
        }
    }
}
