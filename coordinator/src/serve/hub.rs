//! The jobs of a long-lived coordinator: accepts submissions, drives each job until every host
//! has one result (or it is cancelled), records results in the state directory, feeds the
//! clients that watch, and forgets finished jobs once retention says so.
//!
//! Memory holds each job's status and counts, never its outputs: those are in the state
//! directory's `records.pb` (see [`super::log`]), which watchers read back. A coordinator that
//! runs for a year holds what its retention keeps, not everything it ever collected.

use super::log::{Cursor, JobLog};
use super::retention::{Forgotten, Retention};
use super::store::{Store, StoredJob};
use crate::backup::mask::RecordMasker;
use crate::scheduler::{Labels, PlacedHost, Placement};
use crate::worker_service::{Shared, unix_ms};
use fanout_common::FailureKind;
use fanout_common::proto::{
    Failure, HostResult, JobEvent, JobRecord, JobState, JobStatus, SubmitJob, job_event,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tracing::{error, info, warn};

/// Accepted results waiting for their job's driver.
const RESULT_QUEUE: usize = 4096;
/// Events queued for one watching client.
const WATCH_QUEUE: usize = 256;
/// How often a job looks for hosts that no attached worker can take.
const PLACEMENT_CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct HubSettings {
    /// Label keys honoured even while no attached worker carries them (`site`).
    pub affinity_keys: Vec<String>,
    /// How long a host may wait for a worker with its labels before it fails as `no_worker`.
    pub placement_wait: Duration,
    /// Which finished jobs are kept.
    pub retention: Retention,
}

pub struct Hub {
    shared: Arc<Shared>,
    pub(super) store: Option<Store>,
    pub(super) settings: HubSettings,
    jobs: Mutex<HashMap<String, Arc<JobEntry>>>,
    /// What forgotten jobs added to the counters of /metrics, so they never go down.
    pub(super) forgotten: Mutex<Forgotten>,
}

/// One job, running or over.
pub(super) struct JobEntry {
    pub(super) id: String,
    progress: Mutex<Progress>,
    /// Bumped on every change, for watchers.
    changed: watch::Sender<u64>,
    cancel: CancellationToken,
    /// Set for backup jobs: their outputs are configurations, masked before they are kept.
    masker: OnceLock<RecordMasker>,
}

pub(super) struct Progress {
    /// What is not counted from the records: `done` and `failed` are (see
    /// [`Progress::status`]); `in_flight` and `reassigned` come from the scheduler while the job
    /// runs.
    status: JobStatus,
    /// The records: how many, and those not on disk.
    log: JobLog,
    pub(super) failed_by_kind: BTreeMap<&'static str, u64>,
}

impl Progress {
    /// The status with its counts taken from the records.
    pub(super) fn status(&self) -> JobStatus {
        JobStatus {
            done: self.log.len() as u32,
            failed: self.failed_by_kind.values().sum::<u64>() as u32,
            ..self.status.clone()
        }
    }
}

/// A backup job's masker: `None` for other jobs; an error for a backup job without patterns
/// (a client older than this coordinator) or with one that does not compile.
fn backup_masker(request: &SubmitJob) -> Option<Result<RecordMasker, String>> {
    let secrets = request.job.as_ref().and_then(|j| j.backup_secrets.as_ref());
    match secrets {
        Some(secrets) => Some(RecordMasker::new(secrets)),
        None if request.kind == "backup" => Some(Err(
            "the job carries none: this client is older than the coordinator, and the \
             coordinator keeps no configuration it cannot mask"
                .into(),
        )),
        None => None,
    }
}

/// The name of a failure kind as the proto numbers it.
fn kind_name(kind: i32) -> &'static str {
    fanout_common::proto::FailureKind::try_from(kind)
        .ok()
        .and_then(FailureKind::from_proto)
        .unwrap_or(FailureKind::Internal)
        .as_str()
}

impl JobEntry {
    pub(super) fn new(status: JobStatus) -> Arc<Self> {
        Self::with_progress(Progress {
            status,
            log: JobLog::default(),
            failed_by_kind: BTreeMap::new(),
        })
    }

    /// A job from the state directory, its records counted there.
    fn restored(stored: &StoredJob) -> Arc<Self> {
        let mut failed_by_kind = BTreeMap::new();
        for (&kind, &n) in &stored.failed_by_kind {
            *failed_by_kind.entry(kind_name(kind)).or_default() += n;
        }
        Self::with_progress(Progress {
            status: stored.status.clone(),
            log: JobLog::on_disk(stored.records),
            failed_by_kind,
        })
    }

    fn with_progress(progress: Progress) -> Arc<Self> {
        Arc::new(Self {
            id: progress.status.job_id.clone(),
            progress: Mutex::new(progress),
            changed: watch::channel(0).0,
            cancel: CancellationToken::new(),
            masker: OnceLock::new(),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a record; keeps it in memory unless it was `saved` to disk.
    pub(super) fn add(&self, record: JobRecord, saved: bool) {
        let mut progress = self.lock();
        let failure = record.result.as_ref().and_then(|r| r.failure.as_ref());
        if let Some(failure) = failure {
            *progress
                .failed_by_kind
                .entry(kind_name(failure.kind))
                .or_default() += 1;
        }
        if saved {
            progress.log.saved();
        } else {
            progress.log.hold(record);
        }
        drop(progress);
        self.changed.send_modify(|n| *n += 1);
    }

    fn is_over(&self) -> bool {
        self.lock().status.state() != JobState::Running
    }
}

/// Totals over every job the coordinator knows, for /metrics.
#[derive(Debug, Default)]
pub struct Totals {
    pub jobs_by_state: BTreeMap<&'static str, u64>,
    pub hosts_done: u64,
    pub failed_by_kind: BTreeMap<&'static str, u64>,
    pub reassigned: u64,
}

impl Hub {
    pub fn new(shared: Arc<Shared>, store: Option<Store>, settings: HubSettings) -> Arc<Self> {
        Arc::new(Self {
            shared,
            store,
            settings,
            jobs: Mutex::new(HashMap::new()),
            forgotten: Mutex::new(Forgotten::default()),
        })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(super) fn jobs(&self) -> MutexGuard<'_, HashMap<String, Arc<JobEntry>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn entry(&self, id: &str) -> Result<Arc<JobEntry>, Status> {
        self.jobs()
            .get(id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("no job {id}")))
    }

    /// Takes back the jobs of the state directory: finished ones are listed again, unfinished
    /// ones resume with the hosts that have no result yet. Then applies retention.
    pub async fn resume(self: &Arc<Self>, stored: Vec<StoredJob>) {
        for job in stored {
            let entry = JobEntry::restored(&job);
            self.jobs().insert(entry.id.clone(), entry.clone());
            let StoredJob {
                submitted, done, ..
            } = job;
            let Some(submitted) = submitted.filter(|_| !entry.is_over()) else {
                continue;
            };
            if let Some(masker) = backup_masker(&submitted) {
                // Patterns that compiled at submission compile now; if not, every output of
                // the job is dropped rather than kept unmasked.
                let _ = entry
                    .masker
                    .set(masker.unwrap_or_else(|_| RecordMasker::default()));
            }
            let left = submitted
                .hosts
                .iter()
                .filter(|h| !done.contains(&h.name))
                .count();
            info!(job = %entry.id, done = done.len(), left, "resuming job");
            let spec = submitted.job.unwrap_or_default();
            let hosts = submitted
                .hosts
                .into_iter()
                .filter(|h| !done.contains(&h.name))
                .collect();
            self.launch(entry, spec, hosts).await;
        }
        self.prune();
    }

    pub async fn submit(self: &Arc<Self>, mut request: SubmitJob) -> Result<JobStatus, Status> {
        let Some(spec) = request.job.take() else {
            return Err(Status::invalid_argument("the submission has no job"));
        };
        if spec.monitor.is_some() {
            return Err(Status::invalid_argument(
                "monitor jobs run with `fanout monitor`, not through a coordinator",
            ));
        }
        if request.hosts.is_empty() {
            return Err(Status::invalid_argument("the job has no hosts"));
        }
        let mut names = HashSet::new();
        if let Some(twice) = request.hosts.iter().find(|h| !names.insert(&h.name)) {
            return Err(Status::invalid_argument(format!(
                "host {} is listed twice",
                twice.name
            )));
        }
        request.job = Some(spec);
        let masker = backup_masker(&request)
            .transpose()
            .map_err(|e| Status::invalid_argument(format!("the backup's secret patterns: {e}")))?;
        let mut spec = request.job.take().unwrap_or_default();
        let id = uuid::Uuid::new_v4().to_string();
        spec.job_id = id.clone();
        // The client asked for a rate for the whole job; the scheduler gives each worker its
        // share of it with every lease, as the workers attached then stand.
        let status = JobStatus {
            job_id: id.clone(),
            state: JobState::Running as i32,
            kind: request.kind.clone(),
            submitted_by: request.submitted_by.clone(),
            submitted_unix_ms: unix_ms(SystemTime::now()),
            hosts: request.hosts.len() as u32,
            commands: spec.commands.clone(),
            ..JobStatus::default()
        };
        request.job = Some(spec.clone());
        if let Some(store) = &self.store {
            store
                .create(&request, &status)
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        info!(job = %id, hosts = status.hosts, kind = %status.kind, by = %status.submitted_by, "job submitted");
        let entry = JobEntry::new(status);
        if let Some(masker) = masker {
            let _ = entry.masker.set(masker);
        }
        self.jobs().insert(id, entry.clone());
        self.launch(entry.clone(), spec, request.hosts).await;
        Ok(self.status_of(&entry))
    }

    async fn launch(
        self: &Arc<Self>,
        entry: Arc<JobEntry>,
        spec: fanout_common::proto::JobSpec,
        hosts: Vec<fanout_common::proto::HostTarget>,
    ) {
        let left = hosts.len();
        let placed = hosts
            .into_iter()
            .map(|target| PlacedHost {
                labels: data_labels(&target.facts_json),
                target,
            })
            .collect();
        let (results_tx, results) = mpsc::channel(RESULT_QUEUE);
        self.shared.add_job(spec, placed, results_tx);
        tokio::spawn(self.clone().drive(entry.clone(), results, left));
        self.shared.start(&entry.id).await;
    }

    /// Runs one job to its end: records each result, fails hosts no worker can take, and
    /// finishes the job when every host has its result or a client cancelled it.
    async fn drive(
        self: Arc<Self>,
        entry: Arc<JobEntry>,
        mut results: mpsc::Receiver<JobRecord>,
        mut left: usize,
    ) {
        let mut stranded_since: HashMap<String, Instant> = HashMap::new();
        let mut check = tokio::time::interval(PLACEMENT_CHECK_EVERY);
        let state = loop {
            if left == 0 {
                break JobState::Finished;
            }
            tokio::select! {
                record = results.recv() => {
                    let Some(record) = record else { break JobState::Cancelled };
                    self.record(&entry, record);
                    left -= 1;
                }
                _ = check.tick() => {
                    let expired = self.expired_placements(&entry.id, &mut stranded_since);
                    if !expired.is_empty() {
                        self.shared.give_up(&entry.id, &expired);
                        left -= expired.len();
                        for host in expired {
                            let record = self.no_worker(&entry.id, &host);
                            self.record(&entry, record);
                        }
                    }
                }
                _ = entry.cancel.cancelled() => break JobState::Cancelled,
            }
        };
        self.finish(&entry, state, results).await;
    }

    /// Stranded hosts that have waited longer than the placement wait.
    fn expired_placements(&self, job: &str, since: &mut HashMap<String, Instant>) -> Vec<String> {
        let now = Instant::now();
        let stranded: HashSet<String> = self.shared.stranded(job).into_iter().collect();
        since.retain(|host, _| stranded.contains(host));
        let mut expired = Vec::new();
        for host in stranded {
            let first = *since.entry(host.clone()).or_insert(now);
            if now.duration_since(first) >= self.settings.placement_wait {
                expired.push(host);
            }
        }
        expired.sort();
        expired
    }

    fn no_worker(&self, job: &str, host: &str) -> JobRecord {
        let (hostname, platform) = self
            .shared
            .hostname_and_platform(job, host)
            .unwrap_or_default();
        let needs = self
            .host_placement(job, host)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let message = format!(
            "no attached worker has the labels {needs} within {}",
            humantime::format_duration(self.settings.placement_wait)
        );
        warn!(job, host, %needs, "no worker can run this host");
        JobRecord {
            result: Some(HostResult {
                job_id: job.to_string(),
                host: host.to_string(),
                failure: Some(Failure {
                    kind: FailureKind::NoWorker.to_proto() as i32,
                    retryable: false,
                    message,
                }),
                started_unix_ms: unix_ms(SystemTime::now()),
                ..HostResult::default()
            }),
            hostname,
            platform,
            ..JobRecord::default()
        }
    }

    fn host_placement(&self, job: &str, host: &str) -> Placement {
        self.shared.placement_of(job, host).unwrap_or_default()
    }

    fn record(&self, entry: &JobEntry, mut record: JobRecord) {
        if let Some(masker) = entry.masker.get() {
            masker.apply(&mut record);
        }
        let saved = match &self.store {
            None => false,
            Some(store) => match store.append(&entry.id, &record) {
                Ok(()) => true,
                Err(e) => {
                    // Kept in memory: the result still reaches the clients; only a restart
                    // would lose it.
                    error!(job = %entry.id, error = %e, "cannot record a result");
                    false
                }
            },
        };
        entry.add(record, saved);
    }

    async fn finish(
        &self,
        entry: &JobEntry,
        state: JobState,
        mut results: mpsc::Receiver<JobRecord>,
    ) {
        let reassigned = self.shared.reassigned(&entry.id);
        let removed = self.shared.remove_job(&entry.id).await;
        // Results the scheduler accepted before the job was removed may still be on their way
        // (a cancelled job): they count as done, so record them. The channel ends once the
        // last connection that was handing one over lets go of the job's sink.
        while let Some(record) = results.recv().await {
            self.record(entry, record);
        }
        // On disk first, credentials gone, and only then in memory: a client that sees the job
        // over may rely on both.
        let mut status = entry.lock().status();
        status.set_state(state);
        status.finished_unix_ms = unix_ms(SystemTime::now());
        status.unfinished = removed.unfinished;
        status.reassigned = reassigned;
        status.in_flight = 0;
        if let Some(store) = &self.store {
            // The status before the scrub: a crash between the two leaves a job that ended
            // with its credentials still on disk, and the next start removes them.
            let ended = store
                .save_status(&status)
                .and_then(|()| store.scrub(&entry.id));
            if let Err(e) = ended {
                error!(job = %entry.id, error = %e, "cannot record the end of a job");
            }
        }
        entry.lock().status = status.clone();
        info!(job = %entry.id, state = ?state, done = status.done, failed = status.failed, unfinished = status.unfinished.len(), "job over");
        entry.changed.send_modify(|n| *n += 1);
        self.prune();
    }

    fn status_of(&self, entry: &JobEntry) -> JobStatus {
        let status = entry.lock().status();
        self.with_live_counts(entry, status)
    }

    /// A running job's hosts in flight and reassignments come from the scheduler.
    fn with_live_counts(&self, entry: &JobEntry, mut status: JobStatus) -> JobStatus {
        if status.state() == JobState::Running {
            status.in_flight = self.shared.in_flight(&entry.id) as u32;
            status.reassigned = self.shared.reassigned(&entry.id);
        }
        status
    }

    pub fn get(&self, id: &str) -> Result<JobStatus, Status> {
        let entry = self.entry(id)?;
        Ok(self.status_of(&entry))
    }

    /// Every job, oldest first.
    pub fn list(&self) -> Vec<JobStatus> {
        let entries: Vec<Arc<JobEntry>> = self.jobs().values().cloned().collect();
        let mut jobs: Vec<JobStatus> = entries.iter().map(|e| self.status_of(e)).collect();
        jobs.sort_by_key(|j| j.submitted_unix_ms);
        jobs
    }

    /// Cancels a running job and waits until it is over; a job already over is left as it is.
    pub async fn cancel(&self, id: &str) -> Result<JobStatus, Status> {
        let entry = self.entry(id)?;
        let mut changed = entry.changed.subscribe();
        entry.cancel.cancel();
        while !entry.is_over() {
            if changed.changed().await.is_err() {
                break;
            }
        }
        Ok(self.status_of(&entry))
    }

    /// Streams the job's records from `from` on, then each new one as it arrives, with a status
    /// after each batch; ends after the final status.
    pub fn watch(
        self: &Arc<Self>,
        id: &str,
        from: usize,
    ) -> Result<ReceiverStream<Result<JobEvent, Status>>, Status> {
        let entry = self.entry(id)?;
        let (tx, rx) = mpsc::channel(WATCH_QUEUE);
        let hub = self.clone();
        let mut cursor = Cursor::new(self.store.clone(), id, from);
        tokio::spawn(async move {
            let mut changed = entry.changed.subscribe();
            loop {
                changed.mark_unchanged();
                // Count and status from one look: a status that says "over" must never
                // overtake the last records.
                let (count, held, status) = {
                    let progress = entry.lock();
                    let count = progress.log.len();
                    let held = progress.log.held_between(cursor.next(), count);
                    (count, held, progress.status())
                };
                let over = status.state() != JobState::Running;
                while cursor.behind(count) {
                    let batch = match cursor.next_batch(&held, count).await {
                        Ok(batch) => batch,
                        Err(e) => {
                            warn!(job = %entry.id, error = %e.message(), "a watch ended early");
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    };
                    for record in batch {
                        let event = job_event::Body::Record(record);
                        if tx.send(Ok(JobEvent { body: Some(event) })).await.is_err() {
                            return;
                        }
                    }
                }
                let status = job_event::Body::Status(hub.with_live_counts(&entry, status));
                if tx.send(Ok(JobEvent { body: Some(status) })).await.is_err() || over {
                    return;
                }
                if changed.changed().await.is_err() {
                    return;
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }

    pub fn totals(&self) -> Totals {
        let entries: Vec<Arc<JobEntry>> = self.jobs().values().cloned().collect();
        let mut totals = Totals::default();
        {
            let forgotten = self.forgotten.lock().unwrap_or_else(|e| e.into_inner());
            totals.hosts_done = forgotten.hosts_done;
            totals.reassigned = forgotten.reassigned;
            totals.failed_by_kind = forgotten.failed_by_kind.clone();
        }
        for entry in entries {
            let status = self.status_of(&entry);
            let state = match status.state() {
                JobState::Running => "running",
                JobState::Finished => "finished",
                JobState::Cancelled => "cancelled",
            };
            *totals.jobs_by_state.entry(state).or_default() += 1;
            totals.hosts_done += u64::from(status.done);
            totals.reassigned += status.reassigned;
            for (kind, n) in &entry.lock().failed_by_kind {
                *totals.failed_by_kind.entry(kind).or_default() += n;
            }
        }
        totals
    }
}

/// A host's data values that worker labels may match: its scalar data (`site: ams`, `rack: 7`).
fn data_labels(facts_json: &str) -> Labels {
    let Ok(facts) = serde_json::from_str::<serde_json::Value>(facts_json) else {
        return Labels::new();
    };
    let Some(serde_json::Value::Object(data)) = facts.get("data") else {
        return Labels::new();
    };
    data.iter()
        .filter_map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((key.clone(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_job_without_secret_patterns_is_refused_and_other_jobs_need_none() {
        let submit = |kind: &str, secrets: Option<fanout_common::proto::BackupSecrets>| SubmitJob {
            job: Some(fanout_common::proto::JobSpec {
                backup_secrets: secrets,
                ..Default::default()
            }),
            kind: kind.into(),
            ..SubmitJob::default()
        };
        assert!(backup_masker(&submit("run", None)).is_none());
        let refused = backup_masker(&submit("backup", None)).unwrap().unwrap_err();
        assert!(refused.contains("cannot mask"), "{refused}");
        let secrets = fanout_common::proto::BackupSecrets::default();
        assert!(
            backup_masker(&submit("backup", Some(secrets)))
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn labels_come_from_the_scalar_values_of_the_hosts_data() {
        let facts = r#"{"name":"r1","data":{"site":"ams","rack":7,"edge":true,"vlans":[1,2]}}"#;
        let labels: Vec<(String, String)> = data_labels(facts).into_iter().collect();
        let expected = [("edge", "true"), ("rack", "7"), ("site", "ams")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(labels, expected);
        assert!(data_labels(r#"{"name":"r2","data":{}}"#).is_empty());
    }
}
