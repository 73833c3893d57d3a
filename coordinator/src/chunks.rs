//! A host's outputs put back together from the chunks a worker sends, held to the job's
//! bounds. The worker enforces the output limit (it has the data); this only catches a worker
//! that does not, and never by dropping bytes: an output is recorded whole or its host fails.

use fanout_common::FailureKind;
use fanout_common::proto::{Failure, HostResult, JobSpec, OutputChunk};
use tracing::warn;

/// What a job's outputs must fit. The worker enforces the limit (it has the data); these
/// bounds only catch a worker that does not, so that a host is never recorded with an output
/// cut short or a hole in it.
#[derive(Debug, Clone, Copy)]
pub struct OutputBounds {
    /// Largest output of one command, as the job was sent to workers.
    pub max_output_bytes: u64,
    /// How many outputs a host may have: its commands, HTTP steps and SNMP requests.
    pub steps: usize,
}

impl OutputBounds {
    pub fn of(spec: &JobSpec) -> Self {
        Self {
            max_output_bytes: spec.max_output_bytes,
            steps: most_commands(spec)
                + spec.http.as_ref().map_or(0, |h| h.steps.len())
                + spec.snmp.as_ref().map_or(0, |s| s.requests.len()),
        }
    }
}

/// The most CLI commands a host of the job runs: a backup's hosts run their platform's or
/// their own commands instead of the job's.
fn most_commands(spec: &JobSpec) -> usize {
    let lists = spec
        .platform_commands
        .values()
        .chain(spec.host_commands.values());
    lists
        .map(|list| list.commands.len())
        .fold(spec.commands.len(), usize::max)
}

/// One lease's outputs as their chunks arrive, or why they cannot be trusted. Nothing is ever
/// dropped from an output that is then recorded: a worker that breaks the bounds, or whose
/// result disagrees with the bytes it sent, fails the host.
#[derive(Debug, Default)]
pub struct Assembly {
    outputs: Vec<Vec<u8>>,
    /// The first broken bound: (command index, kind, why). Outputs from that index on are
    /// dropped, since they cannot be whole.
    broken: Option<(usize, FailureKind, String)>,
}

impl Assembly {
    pub fn add(&mut self, chunk: OutputChunk, bounds: OutputBounds) {
        let index = chunk.command_index as usize;
        if self.broken.as_ref().is_some_and(|(at, ..)| index >= *at) {
            return;
        }
        if index >= bounds.steps {
            self.break_at(
                index,
                FailureKind::Internal,
                format!(
                    "the worker sent output for step {} of a job with {}",
                    index + 1,
                    bounds.steps
                ),
            );
            return;
        }
        if index >= self.outputs.len() {
            self.outputs.resize_with(index + 1, Vec::new);
        }
        let buffer = &mut self.outputs[index];
        let total = buffer.len() as u64 + chunk.data.len() as u64;
        if total > bounds.max_output_bytes {
            self.break_at(
                index,
                FailureKind::OutputTooLarge,
                format!(
                    "the worker sent more than the job's limit of {} bytes for step {}",
                    bounds.max_output_bytes,
                    index + 1
                ),
            );
            return;
        }
        buffer.extend_from_slice(&chunk.data);
    }

    fn break_at(&mut self, index: usize, kind: FailureKind, why: String) {
        self.outputs.truncate(index);
        self.broken = Some((index, kind, why));
    }

    /// The outputs for `result`, one per command it lists, each exactly as long as the worker
    /// says. Anything else fails the host (kind and reason in `result`), keeping only the
    /// outputs before the first one that cannot be whole.
    pub fn finish(mut self, result: &mut HostResult) -> Vec<Vec<u8>> {
        if self.broken.is_none() {
            self.outputs.resize_with(result.commands.len(), Vec::new);
            let short = result
                .commands
                .iter()
                .zip(&self.outputs)
                .position(|(status, output)| status.output_bytes != output.len() as u64);
            if let Some(i) = short {
                let why = format!(
                    "the worker reported {} bytes for `{}` but sent {}",
                    result.commands[i].output_bytes,
                    result.commands[i].command,
                    self.outputs[i].len()
                );
                self.break_at(i, FailureKind::Internal, why);
            } else if self.outputs.len() > result.commands.len() {
                let why = "the worker sent outputs for commands its result does not list";
                self.break_at(result.commands.len(), FailureKind::Internal, why.into());
            }
        }
        let Some((index, kind, why)) = self.broken else {
            return self.outputs;
        };
        warn!(host = %result.host, %kind, reason = %why, "a worker's output broke the job's bounds");
        result.commands.truncate(index);
        self.outputs.truncate(index);
        self.outputs.resize_with(result.commands.len(), Vec::new);
        let earlier = result.failure.take().map(|f| f.message);
        result.ok = false;
        result.failure = Some(Failure {
            kind: kind.to_proto() as i32,
            retryable: false,
            message: match earlier {
                Some(earlier) if !earlier.is_empty() => {
                    format!("{why} (the worker said: {earlier})")
                }
                _ => why,
            },
        });
        self.outputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::proto::CommandStatus;

    const BOUNDS: OutputBounds = OutputBounds {
        max_output_bytes: 10,
        steps: 2,
    };

    fn chunk(index: u32, data: &[u8]) -> OutputChunk {
        OutputChunk {
            command_index: index,
            data: data.to_vec(),
            ..OutputChunk::default()
        }
    }

    fn result(sizes: &[u64]) -> HostResult {
        HostResult {
            host: "r1".into(),
            ok: true,
            commands: sizes
                .iter()
                .enumerate()
                .map(|(i, n)| CommandStatus {
                    command: format!("show {i}"),
                    output_bytes: *n,
                    ..CommandStatus::default()
                })
                .collect(),
            ..HostResult::default()
        }
    }

    fn kind(result: &HostResult) -> Option<FailureKind> {
        result
            .failure
            .as_ref()
            .and_then(|f| FailureKind::from_proto(f.kind()))
    }

    #[test]
    fn a_backup_job_bounds_steps_by_its_longest_command_list() {
        let list = |n: usize| fanout_common::proto::CommandList {
            commands: vec!["show x".to_string(); n],
        };
        let spec = JobSpec {
            platform_commands: [("cisco_ios".to_string(), list(1))].into(),
            host_commands: [("r1".to_string(), list(3))].into(),
            ..JobSpec::default()
        };
        assert_eq!(OutputBounds::of(&spec).steps, 3);
        assert_eq!(OutputBounds::of(&JobSpec::default()).steps, 0);
    }

    #[test]
    fn outputs_within_bounds_come_back_whole() {
        let mut assembly = Assembly::default();
        assembly.add(chunk(0, b"hello "), BOUNDS);
        assembly.add(chunk(0, b"you"), BOUNDS);
        assembly.add(chunk(1, b"0123456789"), BOUNDS);
        let mut done = result(&[9, 10]);
        let outputs = assembly.finish(&mut done);
        assert_eq!(outputs, [b"hello you".to_vec(), b"0123456789".to_vec()]);
        assert!(done.ok && done.failure.is_none());
    }

    #[test]
    fn an_output_past_the_limit_fails_the_host_instead_of_leaving_a_hole() {
        // The chunk that crosses the limit, and a small one after it that would still fit:
        // kept, it would leave a hole in the middle of the output.
        let mut assembly = Assembly::default();
        assembly.add(chunk(0, b"ok"), BOUNDS);
        assembly.add(chunk(1, b"0123456"), BOUNDS);
        assembly.add(chunk(1, b"789ab"), BOUNDS);
        assembly.add(chunk(1, b"c"), BOUNDS);
        let mut done = result(&[2, 13]);
        let outputs = assembly.finish(&mut done);
        assert!(!done.ok);
        assert_eq!(kind(&done), Some(FailureKind::OutputTooLarge));
        assert_eq!(outputs, [b"ok".to_vec()], "only the whole outputs stay");
        assert_eq!(done.commands.len(), 1);
    }

    #[test]
    fn a_result_that_disagrees_with_the_bytes_sent_fails_the_host() {
        let mut assembly = Assembly::default();
        assembly.add(chunk(0, b"abc"), BOUNDS);
        let mut done = result(&[5]);
        let outputs = assembly.finish(&mut done);
        assert_eq!(kind(&done), Some(FailureKind::Internal));
        assert!(outputs.is_empty() && done.commands.is_empty());
        let why = &done.failure.as_ref().unwrap().message;
        assert!(why.contains("reported 5 bytes"), "{why}");
    }

    #[test]
    fn chunks_for_steps_the_job_does_not_have_fail_the_host() {
        let mut assembly = Assembly::default();
        assembly.add(chunk(0, b"ok"), BOUNDS);
        // Would otherwise make the coordinator allocate four billion buffers.
        assembly.add(chunk(u32::MAX, b"x"), BOUNDS);
        let mut done = result(&[2]);
        let outputs = assembly.finish(&mut done);
        assert_eq!(kind(&done), Some(FailureKind::Internal));
        assert_eq!(outputs, [b"ok".to_vec()]);
    }

    #[test]
    fn a_device_failure_stays_in_the_message_when_the_bounds_break() {
        let mut assembly = Assembly::default();
        assembly.add(chunk(0, b"0123456789x"), BOUNDS);
        let mut done = result(&[11]);
        done.ok = false;
        done.failure = Some(Failure {
            kind: FailureKind::Timeout.to_proto() as i32,
            retryable: true,
            message: "no prompt".into(),
        });
        assembly.finish(&mut done);
        let failure = done.failure.unwrap();
        assert_eq!(
            FailureKind::from_proto(failure.kind()),
            Some(FailureKind::OutputTooLarge)
        );
        assert!(!failure.retryable);
        assert!(failure.message.contains("no prompt"), "{}", failure.message);
    }
}
