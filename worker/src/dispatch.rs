//! Assignments to tasks: each leased host of a job becomes a task on the session threads, under
//! the worker's concurrency bound, and stops when its job is cancelled or the attach ends.

use crate::host;
use crate::jobs::{Job, Jobs};
use crate::monitor::HostPoller;
use crate::outcome::{HostOutcome, SessionFailure};
use crate::report::{self, Finished, Lease, Outbound};
use fanout_common::FailureKind;
use fanout_common::proto::{self, Assignment};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// Where and under which bound host sessions run.
pub struct SessionSpawner {
    /// One permit per session this worker may hold at once.
    pub limit: Arc<Semaphore>,
    pub tasks: TaskTracker,
    pub runtime: tokio::runtime::Handle,
}

/// Turns one attach's assignments into running hosts.
pub struct Dispatcher {
    jobs: Jobs,
    spawner: SessionSpawner,
    outbound: Outbound,
    /// The attach's token: every job's token is a child of it.
    attach: CancellationToken,
}

impl Dispatcher {
    pub fn new(spawner: SessionSpawner, outbound: Outbound, attach: CancellationToken) -> Self {
        Self {
            jobs: Jobs::default(),
            spawner,
            outbound,
            attach,
        }
    }

    /// Starts every host of the assignment: with the spec it carries (the job's first
    /// assignment on this stream), or with the one kept from then.
    pub fn assign(&mut self, assignment: Assignment) {
        let Assignment {
            job,
            lease_epoch,
            hosts,
            job_id,
            connect_rate,
        } = assignment;
        let job = match job {
            Some(spec) => self.jobs.keep(spec, &self.attach),
            None => match self.jobs.get(&job_id) {
                Some(job) => job,
                None => return self.fail_unknown(&job_id, lease_epoch, hosts),
            },
        };
        job.pacer.set_rate(connect_rate);
        if let Some(spec) = job.spec.monitor.clone() {
            return self.start_monitoring(&job, Arc::new(spec), lease_epoch, hosts);
        }
        debug!(job = %job.spec.job_id, hosts = hosts.len(), epoch = lease_epoch, "assignment");
        for host in hosts {
            let (job_of_host, limit) = (job.clone(), self.spawner.limit.clone());
            let outbound = self.outbound.clone();
            self.spawn_cancellable(&job, move || {
                host::run(job_of_host, lease_epoch, host, limit, outbound)
            });
        }
    }

    /// The coordinator says the job is over or cancelled: stop its hosts, forget its spec.
    pub fn end_job(&mut self, job_id: &str) {
        self.jobs.end(job_id);
    }

    /// Starts one poll loop per host of a monitor job. They hold no session permit: a monitored
    /// host is held for the job's whole life, and the coordinator never leases more than our
    /// credit.
    fn start_monitoring(
        &self,
        job: &Arc<Job>,
        spec: Arc<proto::MonitorSpec>,
        lease_epoch: u64,
        hosts: Vec<proto::HostTarget>,
    ) {
        debug!(job = %job.spec.job_id, hosts = hosts.len(), epoch = lease_epoch, "monitor assignment");
        for host in hosts {
            let poller = HostPoller {
                target: job.target(host),
                job_id: job.spec.job_id.clone(),
                lease_epoch,
                spec: spec.clone(),
                options: job.options.clone(),
                pacer: job.pacer.clone(),
                snmp: job.snmp.clone(),
                outbound: self.outbound.clone(),
            };
            let cancel = job.cancel.clone();
            let (outbound, attach) = (self.outbound.clone(), self.attach.clone());
            let polling = async move {
                poller.run(cancel.clone()).await;
                if cancel.is_cancelled() {
                    give_back_if_job_cancelled(&outbound, &attach).await;
                }
            };
            self.spawner.tasks.spawn_on(polling, &self.spawner.runtime);
        }
    }

    /// Runs the work `start` makes for a host of `job` until it ends or the job is cancelled.
    /// Reporting is cancellable too: a send waiting on a dead stream's full queue must not keep
    /// the attach from ending.
    ///
    /// The work is made inside the task, not passed in made: a future captured by an async
    /// block is kept whole beside the copy `select!` polls, which doubled every session's
    /// memory (about 13 KB more per host in `fanout bench`: 164 MB instead of 151 for 1,000).
    fn spawn_cancellable<F, W>(&self, job: &Arc<Job>, start: F)
    where
        F: FnOnce() -> W + Send + 'static,
        W: Future<Output = ()> + Send,
    {
        let cancel = job.cancel.clone();
        let (outbound, attach) = (self.outbound.clone(), self.attach.clone());
        let session = async move {
            let work = start();
            tokio::select! {
                _ = cancel.cancelled() => give_back_if_job_cancelled(&outbound, &attach).await,
                _ = work => {}
            }
        };
        self.spawner.tasks.spawn_on(session, &self.spawner.runtime);
    }

    /// An assignment naming a job whose spec never came on this stream (a coordinator that lost
    /// track): its hosts cannot run, so each fails as `internal`, saying so, and its credit
    /// goes back.
    fn fail_unknown(&self, job_id: &str, epoch: u64, hosts: Vec<proto::HostTarget>) {
        warn!(job = %job_id, hosts = hosts.len(), "assignment of a job whose spec never came");
        let outbound = self.outbound.clone();
        let job_id = job_id.to_string();
        let failing = async move {
            for host in hosts {
                let failure = SessionFailure {
                    kind: FailureKind::Internal,
                    message: format!(
                        "the coordinator leased this host of job {job_id} without ever sending \
                         the job's spec to this worker"
                    ),
                };
                let lease = Lease {
                    job_id: &job_id,
                    epoch,
                    host: &host.name,
                };
                let finished = Finished {
                    started: SystemTime::now(),
                    elapsed: Duration::ZERO,
                    attempts: 0,
                    outcome: HostOutcome {
                        failure: Some(failure),
                        ..Default::default()
                    },
                    verdicts: Vec::new(),
                };
                report::report(&outbound, &lease, finished).await;
                report::credit(&outbound, 1).await;
            }
        };
        self.spawner.tasks.spawn_on(failing, &self.spawner.runtime);
    }
}

/// A host stopped because its job was cancelled sends no result, but its credit goes back so
/// the coordinator's count of what we can take stays right. When the whole attach ended there
/// is nobody to tell: the next attach offers full credit.
async fn give_back_if_job_cancelled(outbound: &Outbound, attach: &CancellationToken) {
    if !attach.is_cancelled() {
        report::credit(outbound, 1).await;
    }
}
