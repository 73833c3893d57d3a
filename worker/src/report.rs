//! Reporting to the coordinator: a host's outputs as ordered chunks, then its result, on the
//! attach's outbound queue.

use crate::outcome::HostOutcome;
use fanout_common::FailureKind;
use fanout_common::proto::{
    CommandStatus, Credit, Failure, HostResult, OutputChunk, RuleVerdict, WorkerMessage,
    worker_message,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tracing::debug;

/// Outputs go to the coordinator in pieces of this size, well under any gRPC message limit.
const CHUNK_BYTES: usize = 256 * 1024;

/// The queue of messages to the coordinator on one attach.
pub type Outbound = mpsc::Sender<WorkerMessage>;

/// A failed send means the coordinator is gone; the attach loop notices that on its own.
pub async fn send(outbound: &Outbound, body: worker_message::Body) -> bool {
    outbound
        .send(WorkerMessage { body: Some(body) })
        .await
        .is_ok()
}

/// Offers the coordinator `hosts` more hosts.
pub async fn credit(outbound: &Outbound, hosts: u32) -> bool {
    send(outbound, worker_message::Body::Credit(Credit { hosts })).await
}

/// Which lease of which host a report is for.
pub struct Lease<'a> {
    pub job_id: &'a str,
    pub epoch: u64,
    pub host: &'a str,
}

/// What became of one host, everything its result says.
pub struct Finished {
    pub started: SystemTime,
    pub elapsed: Duration,
    /// Attempts that reached out to the device.
    pub attempts: u32,
    pub outcome: HostOutcome,
    /// Validation jobs: one verdict per rule.
    pub verdicts: Vec<RuleVerdict>,
}

/// Sends the host's outputs as ordered chunks, then its transcript, then its result; stops at
/// the first send that fails.
pub async fn report(outbound: &Outbound, lease: &Lease<'_>, finished: Finished) {
    let Finished {
        started,
        elapsed,
        attempts,
        outcome,
        verdicts,
    } = finished;
    let chunk = |command_index: usize, data: Vec<u8>, transcript: bool| {
        worker_message::Body::Chunk(OutputChunk {
            job_id: lease.job_id.to_string(),
            lease_epoch: lease.epoch,
            host: lease.host.to_string(),
            command_index: command_index as u32,
            data,
            transcript,
        })
    };
    let mut commands = Vec::with_capacity(outcome.outputs.len());
    for (index, mut output) in outcome.outputs.into_iter().enumerate() {
        let status = CommandStatus {
            rejected: output.rejected(),
            output_bytes: output.output.len() as u64,
            duration_ms: output.duration.as_millis() as u64,
            command: std::mem::take(&mut output.command),
        };
        for piece in pieces(output.output) {
            if !send(outbound, chunk(index, piece, false)).await {
                return;
            }
        }
        commands.push(status);
    }
    for piece in outcome.transcript.into_iter().flat_map(pieces) {
        if !send(outbound, chunk(0, piece, true)).await {
            return;
        }
    }
    let failure = outcome.failure.map(|f| Failure {
        kind: f.kind.to_proto() as i32,
        retryable: f.kind.retryable(),
        message: f.message,
    });
    if let Some(f) = &failure {
        let kind = FailureKind::from_proto(f.kind()).map_or("unknown", FailureKind::as_str);
        debug!(host = lease.host, kind, "host failed");
    }
    let result = HostResult {
        job_id: lease.job_id.to_string(),
        lease_epoch: lease.epoch,
        host: lease.host.to_string(),
        ok: failure.is_none(),
        failure,
        commands,
        started_unix_ms: started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        duration_ms: elapsed.as_millis() as u64,
        attempts,
        rules: verdicts,
    };
    send(outbound, worker_message::Body::Result(result)).await;
}

/// `data` in pieces of at most [`CHUNK_BYTES`]. Data that fits in one piece (nearly every
/// output) is moved, not copied: copying each output into its chunk was 2-3 % of a worker's CPU
/// in a `perf` profile of `fanout bench` (an 11.5 KB allocation and copy per host).
fn pieces(data: Vec<u8>) -> Vec<Vec<u8>> {
    if data.len() <= CHUNK_BYTES {
        return if data.is_empty() {
            Vec::new()
        } else {
            vec![data]
        };
    }
    data.chunks(CHUNK_BYTES).map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_move_small_data_and_split_large_data_in_order() {
        assert!(pieces(Vec::new()).is_empty());
        let small = vec![7u8; 100];
        let at = small.as_ptr();
        let one = pieces(small);
        assert_eq!(one.len(), 1);
        assert_eq!(
            one[0].as_ptr(),
            at,
            "a single piece is the same buffer, not a copy"
        );
        let large: Vec<u8> = (0..2 * CHUNK_BYTES + 5).map(|i| i as u8).collect();
        let split = pieces(large.clone());
        assert_eq!(
            split.iter().map(Vec::len).collect::<Vec<_>>(),
            [CHUNK_BYTES, CHUNK_BYTES, 5]
        );
        assert_eq!(split.concat(), large);
    }
}
