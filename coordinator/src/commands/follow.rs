//! Following a job on a coordinator to its end, for `run`/`validate --coordinator` and
//! `fanout watch`: every result recorded as it arrives, reconnecting while the coordinator
//! restarts, interrupts turned into a cancel, and an outcome that lists every host of the job
//! however the following ends.

use super::CommandError;
use super::remote::{Client, connect, refused};
use crate::cli::RemoteArgs;
use crate::host_record::HostRecord;
use crate::interrupts::Interrupts;
use crate::local_run::RunOutcome;
use crate::recorder::Recorder;
use crate::terminal_text::line;
use fanout_common::Backoff;
use fanout_common::proto::{JobEvent, JobRef, JobState, JobStatus, WatchJob, job_event};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};
use tracing::warn;

/// How long a client keeps trying to reach a coordinator that went away mid-job (it may be
/// restarting; the job resumes from its state directory).
const RECONNECT_FOR: Duration = Duration::from_secs(120);
/// Pauses between attempts to reach it: 1 s doubling to 5 s, so a coordinator that restarts
/// quickly is found again quickly and one that takes its time is not hammered.
const RECONNECT_FIRST: Duration = Duration::from_secs(1);
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// After a second interrupt: how long the coordinator gets to confirm the job's cancellation
/// (and name its unfinished hosts) before the client leaves without it.
const CANCEL_WAIT: Duration = Duration::from_secs(2);

/// The hosts of a followed job, as far as this client knows them.
pub enum JobHosts {
    /// Submitted from here: every name, so whatever ends the run each host can be listed.
    Named(Vec<String>),
    /// Followed with `fanout watch`: only how many; the names of the hosts without a result
    /// come with the job's final status.
    Counted(usize),
}

impl JobHosts {
    fn total(&self) -> usize {
        match self {
            JobHosts::Named(names) => names.len(),
            JobHosts::Counted(n) => *n,
        }
    }
}

/// Why following a job stopped.
enum Ending {
    /// The coordinator said the job is over.
    Over,
    /// A second interrupt: stop waiting at once.
    Aborted,
    /// The coordinator could not be reached (or forgot the job); why, for the user.
    Lost(String),
}

/// Records every result of the job as it arrives until the job is over. The first interrupt
/// cancels the job (hosts in flight are dropped; they are listed as unfinished), the second
/// stops following at once. A lost connection is retried: the coordinator may be restarting.
/// However it ends, every host of the job is in the outcome: with a result, or unfinished.
pub async fn follow(
    args: &RemoteArgs,
    client: Client,
    job_id: &str,
    hosts: JobHosts,
    mut recorder: Recorder,
    interrupts: Interrupts,
) -> Result<RunOutcome, CommandError> {
    let started = Instant::now();
    let mut follower = Follower {
        args,
        client,
        job_id,
        seen: 0,
        last: None,
        cancel_sent: false,
        attached: matches!(hosts, JobHosts::Named(_)),
        backoff: Backoff::new(RECONNECT_FIRST, RECONNECT_FIRST / 2, RECONNECT_MAX)
            .with_jitter(0.8, 1.2),
    };
    let ending = follower.follow(&mut recorder, &interrupts).await?;
    let wall = started.elapsed();
    match &ending {
        Ending::Over => {}
        Ending::Aborted => {
            // The job must not go on running for a client that left: make sure the cancel
            // was asked for, and take the coordinator's list of unfinished hosts if it answers
            // at once.
            follower.cancel_briefly().await;
            eprintln!(
                "fanout: stopped waiting for job {job_id}; hosts without a result here are \
                 listed as never ran"
            );
        }
        Ending::Lost(why) => {
            let why = line(why);
            eprintln!(
                "fanout: {why}; hosts without a result here are listed as never ran (the job \
                 may still finish on the coordinator: `fanout watch {job_id}`)"
            );
        }
    }
    let interrupted = follower.cancel_sent || interrupts.drain.is_cancelled();
    Ok(finish(
        job_id,
        recorder,
        &hosts,
        follower.last,
        wall,
        interrupted,
    ))
}

/// The state of one client following one job across reconnections.
struct Follower<'a> {
    args: &'a RemoteArgs,
    client: Client,
    job_id: &'a str,
    /// Records received, so a new watch resumes after them.
    seen: u64,
    /// The latest status; the final one lists the hosts that never got a result.
    last: Option<JobStatus>,
    cancel_sent: bool,
    /// Whether the coordinator is known to have the job (submitted from here, or watched
    /// once): from then on a refusal ends the follow with a report instead of an error.
    attached: bool,
    /// Pauses while the coordinator is unreachable; starts over once it answers.
    backoff: Backoff,
}

impl Follower<'_> {
    async fn follow(
        &mut self,
        recorder: &mut Recorder,
        interrupts: &Interrupts,
    ) -> Result<Ending, CommandError> {
        let progress = recorder.progress();
        let mut lost_since: Option<Instant> = None;
        loop {
            let request = WatchJob {
                job_id: self.job_id.to_string(),
                from_record: self.seen,
            };
            let stream = tokio::select! {
                stream = self.client.watch(request) => stream,
                _ = interrupts.abort.cancelled() => return Ok(Ending::Aborted),
            };
            let mut stream = match stream {
                Ok(stream) => stream.into_inner(),
                Err(status) if is_refusal(&status) => {
                    if !self.attached {
                        return Err(refused(status));
                    }
                    return Ok(Ending::Lost(format!(
                        "the coordinator refused to go on: {}",
                        status.message()
                    )));
                }
                Err(status) => {
                    if let Some(ending) = self.pause(&mut lost_since, &status, interrupts).await {
                        return Ok(ending);
                    }
                    self.client = reconnect(self.args, self.client.clone()).await;
                    continue;
                }
            };
            self.attached = true;
            lost_since = None;
            loop {
                let event = tokio::select! {
                    event = stream.message() => event,
                    _ = interrupts.drain.cancelled(), if !self.cancel_sent => {
                        self.send_cancel();
                        continue;
                    }
                    _ = interrupts.abort.cancelled() => return Ok(Ending::Aborted),
                };
                match event {
                    Ok(Some(JobEvent { body: Some(body) })) => match body {
                        job_event::Body::Record(record) => {
                            self.seen += 1;
                            if recorder
                                .record(HostRecord::from_job_record(record))
                                .is_err()
                            {
                                // results.jsonl cannot be written: cancel the job as a first
                                // Ctrl-C would; the report still accounts for every host.
                                interrupts.drain.cancel();
                            }
                        }
                        job_event::Body::Status(status) => {
                            progress.set_message(format!("{} in flight", status.in_flight));
                            let over = status.state() != JobState::Running;
                            self.last = Some(status);
                            if over {
                                return Ok(Ending::Over);
                            }
                        }
                    },
                    Ok(Some(JobEvent { body: None })) => {}
                    Ok(None) => {
                        // The coordinator is stopping: it will be back with the job.
                        let closed = tonic::Status::unavailable("the coordinator closed the watch");
                        if let Some(ending) = self.pause(&mut lost_since, &closed, interrupts).await
                        {
                            return Ok(ending);
                        }
                        break;
                    }
                    Err(status) => {
                        if let Some(ending) = self.pause(&mut lost_since, &status, interrupts).await
                        {
                            return Ok(ending);
                        }
                        self.client = reconnect(self.args, self.client.clone()).await;
                        break;
                    }
                }
            }
        }
    }

    /// Asks the coordinator to cancel the job, in the background: the watch stream brings
    /// the final status.
    fn send_cancel(&mut self) {
        self.cancel_sent = true;
        eprintln!(
            "fanout: cancelling job {} (interrupt again to stop waiting)",
            self.job_id
        );
        let mut canceller = self.client.clone();
        let id = self.job_id.to_string();
        tokio::spawn(async move {
            if let Err(e) = canceller.cancel(JobRef { job_id: id }).await {
                warn!(error = %e.message(), "cancel failed");
            }
        });
    }

    /// After a second interrupt: cancel the job and wait a moment for the coordinator's final
    /// status (its list of unfinished hosts), never longer than [`CANCEL_WAIT`].
    async fn cancel_briefly(&mut self) {
        if self
            .last
            .as_ref()
            .is_some_and(|s| s.state() != JobState::Running)
        {
            return;
        }
        self.cancel_sent = true;
        let request = JobRef {
            job_id: self.job_id.to_string(),
        };
        match tokio::time::timeout(CANCEL_WAIT, self.client.cancel(request)).await {
            Ok(Ok(status)) => {
                let status = status.into_inner();
                if status.state() != JobState::Running {
                    self.last = Some(status);
                }
            }
            Ok(Err(e)) => warn!(error = %e.message(), "cancel failed"),
            Err(_) => warn!("the coordinator did not confirm the cancel in time"),
        }
    }

    /// Waits before the next attempt to reach the coordinator; `Some` when following must
    /// end instead: interrupted, or the coordinator has been gone for [`RECONNECT_FOR`].
    async fn pause(
        &mut self,
        lost_since: &mut Option<Instant>,
        status: &tonic::Status,
        interrupts: &Interrupts,
    ) -> Option<Ending> {
        if lost_since.is_none() {
            self.backoff.reset();
        }
        let since = *lost_since.get_or_insert_with(Instant::now);
        if since.elapsed() > RECONNECT_FOR {
            return Some(Ending::Lost(format!(
                "lost the coordinator for {}s: {}",
                RECONNECT_FOR.as_secs(),
                status.message()
            )));
        }
        warn!(error = %status.message(), "lost the coordinator; trying again");
        tokio::select! {
            _ = tokio::time::sleep(self.backoff.next_pause()) => None,
            // Nobody can be asked to cancel the job: stop waiting for it.
            _ = interrupts.drain.cancelled(), if !self.cancel_sent => {
                self.cancel_sent = true;
                Some(Ending::Lost(format!(
                    "interrupted while the coordinator is unreachable ({}), so job {} could \
                     not be cancelled",
                    status.message(),
                    self.job_id
                )))
            }
            _ = interrupts.abort.cancelled() => Some(Ending::Aborted),
        }
    }
}

/// A refusal that another attempt would not change.
fn is_refusal(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::NotFound | tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
    )
}

/// A fresh channel, or the old one (tonic reconnects channels lazily) if dialling fails now.
async fn reconnect(args: &RemoteArgs, old: Client) -> Client {
    connect(args).await.unwrap_or(old)
}

/// The outcome of a followed job: every host has a result or is listed as unfinished. The
/// coordinator's final status names its unfinished hosts; a job submitted from here is also
/// checked against its own host list, so an ending without that status (a second interrupt,
/// a lost coordinator) still accounts for every host.
pub(super) fn finish(
    job_id: &str,
    recorder: Recorder,
    hosts: &JobHosts,
    last: Option<JobStatus>,
    wall: Duration,
    interrupted: bool,
) -> RunOutcome {
    let files_written = recorder.files_written();
    let results_error = recorder.stopped().map(str::to_string);
    let records = recorder.into_records();
    let mut worker_pids: Vec<u32> = records.iter().map(|r| r.worker.pid).collect();
    worker_pids.sort_unstable();
    worker_pids.dedup();
    let recorded: HashSet<&str> = records.iter().map(|r| r.host.as_str()).collect();
    let last = last.unwrap_or_default();
    let mut unfinished: BTreeSet<String> = last
        .unfinished
        .into_iter()
        .filter(|h| !recorded.contains(h.as_str()))
        .collect();
    if let JobHosts::Named(names) = hosts {
        unfinished.extend(
            names
                .iter()
                .filter(|h| !recorded.contains(h.as_str()))
                .cloned(),
        );
    }
    let unlisted = hosts
        .total()
        .saturating_sub(recorded.len() + unfinished.len());
    RunOutcome {
        job_id: job_id.to_string(),
        records,
        wall,
        setup: Duration::ZERO,
        worker_usage: Vec::new(),
        unfinished: unfinished.into_iter().collect(),
        unlisted,
        reassigned: last.reassigned,
        worker_pids,
        workers_lost: 0,
        interrupted,
        files_written,
        results_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Format;
    use fanout_common::proto::{HostResult, JobRecord};

    /// A recorder that has received an ok result for each of `hosts`.
    fn recorded(hosts: &[&str]) -> Recorder {
        let mut recorder = Recorder::new(
            Format::Human,
            None,
            false,
            false,
            indicatif::ProgressBar::hidden(),
        )
        .unwrap();
        for host in hosts {
            let record = JobRecord {
                result: Some(HostResult {
                    host: host.to_string(),
                    ok: true,
                    ..Default::default()
                }),
                ..Default::default()
            };
            recorder
                .record(HostRecord::from_job_record(record))
                .unwrap();
        }
        recorder
    }

    fn names(hosts: &[&str]) -> JobHosts {
        JobHosts::Named(hosts.iter().map(|h| h.to_string()).collect())
    }

    #[test]
    fn a_submitted_job_lists_every_host_without_the_final_status() {
        let all = ["r1", "r2", "r3", "r4"];
        let outcome = finish(
            "j",
            recorded(&["r3", "r1"]),
            &names(&all),
            None,
            Duration::ZERO,
            true,
        );
        assert_eq!(outcome.unfinished, ["r2", "r4"]);
        assert_eq!((outcome.records.len(), outcome.unlisted), (2, 0));
        assert_eq!(outcome.exit_code(), 1);
    }

    #[test]
    fn a_final_status_that_misses_hosts_is_completed_from_the_job() {
        // The coordinator's list is trusted for what it names, never as the whole story.
        let status = JobStatus {
            state: JobState::Cancelled as i32,
            unfinished: vec!["r2".into(), "r1".into()],
            ..Default::default()
        };
        let all = ["r1", "r2", "r3"];
        let outcome = finish(
            "j",
            recorded(&["r1"]),
            &names(&all),
            Some(status),
            Duration::ZERO,
            true,
        );
        assert_eq!(outcome.unfinished, ["r2", "r3"]);
        let done = finish(
            "j",
            recorded(&all),
            &names(&all),
            None,
            Duration::ZERO,
            false,
        );
        assert_eq!((done.unfinished.len(), done.exit_code()), (0, 0));
    }

    #[test]
    fn a_watched_job_counts_the_hosts_it_cannot_name() {
        let status = JobStatus {
            state: JobState::Cancelled as i32,
            unfinished: vec!["r9".into()],
            ..Default::default()
        };
        let over = finish(
            "j",
            recorded(&["r1"]),
            &JobHosts::Counted(2),
            Some(status),
            Duration::ZERO,
            true,
        );
        assert_eq!((over.unfinished.len(), over.unlisted), (1, 0));
        let cut_short = finish(
            "j",
            recorded(&["r1"]),
            &JobHosts::Counted(5),
            None,
            Duration::ZERO,
            true,
        );
        assert_eq!((cut_short.unfinished.len(), cut_short.unlisted), (0, 4));
        assert_eq!(cut_short.exit_code(), 1);
        assert!(crate::run_report::summary(&cut_short, None).starts_with("hosts      5 total"));
    }
}
