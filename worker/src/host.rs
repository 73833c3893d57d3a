//! One host from its first connection to its final result: a session slot, the attempts
//! ([`crate::attempts`]), the rules' verdicts on what it printed, and the report.

use crate::attempts::collect_with_retries;
use crate::jobs::Job;
use crate::report::{self, Finished, Lease, Outbound};
use crate::validate;
use fanout_common::proto;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::Semaphore;

/// Runs `host` of `job` under lease `epoch` and reports it, then offers its credit again.
/// Returns early (reporting nothing) only when the session slots are gone with the attach.
pub async fn run(
    job: Arc<Job>,
    epoch: u64,
    mut host: proto::HostTarget,
    sessions: Arc<Semaphore>,
    outbound: Outbound,
) {
    // The coordinator never leases more than our credit, so this wait is only a guard.
    let Ok(_permit) = sessions.acquire_owned().await else {
        return;
    };
    let started = SystemTime::now();
    let clock = Instant::now();
    // The host's data, parsed once for its HTTP steps and its rules. Only they read it: parsed
    // for every host, it was 3.4 KB per session held to the end in `fanout bench`'s heap
    // profile (bench/PROFILE.md).
    let facts_json = std::mem::take(&mut host.facts_json);
    let facts = if job.http.is_some() || job.validator.is_some() {
        parse_facts(&facts_json)
    } else {
        serde_json::Value::Null
    };
    drop(facts_json);
    let target = job.target(host);
    let (outcome, attempts) = collect_with_retries(&target, &facts, &job).await;
    let (outcome, verdicts) = validate::judge(
        job.validator.as_ref(),
        facts,
        target.platform.clone(),
        outcome,
    )
    .await;
    let lease = Lease {
        job_id: &job.spec.job_id,
        epoch,
        host: &target.name,
    };
    let finished = Finished {
        started,
        elapsed: clock.elapsed(),
        attempts,
        outcome,
        verdicts,
    };
    report::report(&outbound, &lease, finished).await;
    report::credit(&outbound, 1).await;
}

/// The host's data as the coordinator sent it (JSON); no data at all when it is not JSON.
fn parse_facts(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap_or(serde_json::Value::Null)
}
