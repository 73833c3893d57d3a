//! Which finished jobs a long-lived coordinator keeps. A job that ended is forgotten, its
//! status in memory and its directory (records, outputs) on disk, once it is older than
//! `--keep` or more recent jobs than `--keep-jobs` have ended; a running job never is. What
//! forgotten jobs counted stays on the counters of /metrics, which never go down.

use super::hub::{Hub, JobEntry};
use crate::worker_service::unix_ms;
use fanout_common::proto::JobState;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How often retention looks for finished jobs that have grown too old.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Finished jobs (and their records and outputs, in memory and on disk) are forgotten when
/// either limit says so; running jobs never are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    /// Forget a job this long after it ended.
    pub max_age: Option<Duration>,
    /// Keep at most this many finished jobs, the most recently ended.
    pub max_jobs: Option<usize>,
}

/// The counts of jobs that retention removed.
#[derive(Debug, Default)]
pub(super) struct Forgotten {
    pub(super) hosts_done: u64,
    pub(super) failed_by_kind: BTreeMap<&'static str, u64>,
    pub(super) reassigned: u64,
}

impl Hub {
    /// Forgets the finished jobs that retention no longer keeps, in memory and on disk.
    pub fn prune(&self) {
        let Retention { max_age, max_jobs } = self.settings.retention;
        if max_age.is_none() && max_jobs.is_none() {
            return;
        }
        let entries: Vec<Arc<JobEntry>> = self.jobs().values().cloned().collect();
        let mut ended: Vec<(u64, Arc<JobEntry>)> = entries
            .into_iter()
            .filter_map(|entry| {
                let status = entry.lock().status();
                (status.state() != JobState::Running).then_some((status.finished_unix_ms, entry))
            })
            .collect();
        // The most recently ended first: those are the ones a count keeps.
        ended.sort_by_key(|(finished, _)| std::cmp::Reverse(*finished));
        let now = unix_ms(SystemTime::now());
        for (place, (finished, entry)) in ended.into_iter().enumerate() {
            let too_many = max_jobs.is_some_and(|n| place >= n);
            let too_old = max_age
                .is_some_and(|age| u128::from(now.saturating_sub(finished)) > age.as_millis());
            if too_many || too_old {
                self.forget(&entry);
            }
        }
    }

    fn forget(&self, entry: &JobEntry) {
        if self.jobs().remove(&entry.id).is_none() {
            return;
        }
        let status = entry.lock().status();
        {
            let mut forgotten = self.forgotten.lock().unwrap_or_else(|e| e.into_inner());
            forgotten.hosts_done += u64::from(status.done);
            forgotten.reassigned += status.reassigned;
            for (kind, n) in &entry.lock().failed_by_kind {
                *forgotten.failed_by_kind.entry(kind).or_default() += n;
            }
        }
        if let Some(store) = &self.store
            && let Err(e) = store.remove(&entry.id)
        {
            warn!(job = %entry.id, error = %e, "cannot remove a forgotten job's files");
        }
        info!(job = %entry.id, "finished job forgotten (retention)");
    }

    /// Applies retention every minute until `stop`, so jobs age out while nothing else happens.
    pub async fn prune_until(self: Arc<Self>, stop: CancellationToken) {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => self.prune(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::hub::HubSettings;
    use crate::serve::store::Store;
    use crate::worker_service::{ServerPolicy, Shared};
    use fanout_common::proto::{JobRecord, JobStatus, SubmitJob};

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn retention_forgets_finished_jobs_by_age_and_count_but_never_running_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let policy = ServerPolicy {
            token: None,
            max_output_bytes: 1 << 20,
            lease_timeout: Duration::from_secs(10),
        };
        let retention = Retention {
            max_age: Some(30 * DAY),
            max_jobs: Some(2),
        };
        let hub = Hub::new(
            Shared::new(policy),
            Some(store.clone()),
            HubSettings {
                affinity_keys: Vec::new(),
                placement_wait: Duration::from_secs(60),
                retention,
            },
        );
        let now = SystemTime::now();
        let ago = |age: Duration| unix_ms(now - age);
        let jobs = [
            ("old", JobState::Finished, ago(40 * DAY)),
            ("month", JobState::Cancelled, ago(20 * DAY)),
            ("week", JobState::Finished, ago(7 * DAY)),
            ("hour", JobState::Finished, ago(Duration::from_secs(3600))),
            ("running", JobState::Running, 0),
        ];
        for (id, state, finished_unix_ms) in jobs {
            let status = JobStatus {
                job_id: id.into(),
                state: state as i32,
                submitted_unix_ms: ago(60 * DAY),
                finished_unix_ms,
                done: 3,
                ..Default::default()
            };
            store.create(&SubmitJob::default(), &status).unwrap();
            let entry = JobEntry::new(status);
            for _ in 0..3 {
                entry.add(JobRecord::default(), true);
            }
            hub.jobs().insert(id.into(), entry);
        }

        hub.prune();
        let mut kept: Vec<String> = hub.list().into_iter().map(|j| j.job_id).collect();
        kept.sort();
        // "old" is past 30 days, "month" beyond the two most recent; "running" always stays.
        assert_eq!(kept, ["hour", "running", "week"]);
        for (id, _, _) in jobs {
            let present = dir.path().join("jobs").join(id).exists();
            assert_eq!(present, kept.contains(&id.to_string()), "{id} on disk");
        }
        // What the forgotten jobs did still counts on the counters of /metrics.
        assert_eq!(hub.totals().hosts_done, 15);
    }
}
