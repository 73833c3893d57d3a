//! Who runs which host. Pure bookkeeping, no I/O: the gRPC handlers feed it events (a worker
//! attached, offered credit, delivered a result, vanished) and send whatever assignments it
//! hands back.
//!
//! Every lease carries an epoch. A host's current epoch changes each time it is leased, so a
//! result that arrives from a worker that already lost the host (it was presumed dead and the
//! host re-leased) is recognised as stale and dropped: each host ends with exactly one result.

use fanout_common::proto::{Assignment, HostTarget, JobSpec};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Identifies one attached worker stream for as long as it lives.
pub type WorkerKey = u64;

/// One host's place in the job.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostState {
    /// Waiting in the queue.
    Pending,
    /// Leased to a worker under this epoch.
    Leased { worker: WorkerKey, epoch: u64 },
    /// Has its final result.
    Done,
}

/// What the scheduler knows about an attached worker.
#[derive(Debug, Default)]
struct WorkerSlot {
    /// Hosts it said it can still take.
    credit: u32,
    /// Hosts leased to it and not yet finished: re-queued if it vanishes.
    held: HashSet<String>,
}

/// What became of a result a worker delivered.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The host's final result: record it.
    Accepted,
    /// From a lease that is no longer current, or a host we never leased it: drop it.
    Stale,
}

pub struct Scheduler {
    /// The job every assignment carries.
    job: Arc<JobSpec>,
    /// Connection details for each host, by name.
    targets: HashMap<String, HostTarget>,
    state: HashMap<String, HostState>,
    /// Hosts waiting for a worker, in inventory order (re-queued hosts go to the front).
    queue: VecDeque<String>,
    workers: HashMap<WorkerKey, WorkerSlot>,
    /// No host is leased until the job says go: a local run waits for all its workers so the
    /// first to attach does not take everything.
    dispatching: bool,
    next_epoch: u64,
    /// Hosts without a final result yet.
    remaining: usize,
    /// Times a host went back to the queue because its worker vanished.
    reassigned: u64,
}

impl Scheduler {
    pub fn new(job: JobSpec, hosts: Vec<HostTarget>) -> Self {
        let queue: VecDeque<String> = hosts.iter().map(|h| h.name.clone()).collect();
        let state = queue
            .iter()
            .map(|n| (n.clone(), HostState::Pending))
            .collect();
        Self {
            job: Arc::new(job),
            remaining: hosts.len(),
            targets: hosts.into_iter().map(|h| (h.name.clone(), h)).collect(),
            state,
            queue,
            workers: HashMap::new(),
            dispatching: false,
            next_epoch: 1,
            reassigned: 0,
        }
    }

    pub fn attach(&mut self, worker: WorkerKey) {
        self.workers.entry(worker).or_default();
    }

    pub fn live_workers(&self) -> usize {
        self.workers.len()
    }

    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Hosts leased and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.remaining - self.queue.len()
    }

    pub fn reassigned(&self) -> u64 {
        self.reassigned
    }

    /// Hosts that never got a final result, in no particular order.
    pub fn unfinished(&self) -> Vec<String> {
        self.state
            .iter()
            .filter(|(_, s)| **s != HostState::Done)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Starts handing out hosts; returns the first assignments.
    pub fn start(&mut self) -> Vec<(WorkerKey, Assignment)> {
        self.dispatching = true;
        self.dispatch()
    }

    /// Stops handing out hosts (draining); leased hosts may still finish.
    pub fn stop_dispatching(&mut self) {
        self.dispatching = false;
    }

    pub fn add_credit(&mut self, worker: WorkerKey, hosts: u32) -> Vec<(WorkerKey, Assignment)> {
        if let Some(slot) = self.workers.get_mut(&worker) {
            slot.credit = slot.credit.saturating_add(hosts);
        }
        self.dispatch()
    }

    /// Records a worker's result for `host` under `epoch`.
    pub fn complete(&mut self, worker: WorkerKey, host: &str, epoch: u64) -> Verdict {
        match self.state.get(host) {
            Some(HostState::Leased {
                worker: w,
                epoch: e,
            }) if *w == worker && *e == epoch => {}
            _ => return Verdict::Stale,
        }
        self.state.insert(host.to_string(), HostState::Done);
        if let Some(slot) = self.workers.get_mut(&worker) {
            slot.held.remove(host);
        }
        self.remaining -= 1;
        Verdict::Accepted
    }

    /// The worker is gone: its unfinished hosts go back to the front of the queue and to
    /// whoever has credit.
    /// Whether `worker` holds `host` under the current lease `epoch`: monitor polls from a
    /// fenced lease are dropped like stale results.
    pub fn holds(&self, worker: WorkerKey, host: &str, epoch: u64) -> bool {
        matches!(
            self.state.get(host),
            Some(HostState::Leased { worker: w, epoch: e }) if *w == worker && *e == epoch
        )
    }

    pub fn detach(&mut self, worker: WorkerKey) -> Vec<(WorkerKey, Assignment)> {
        let Some(slot) = self.workers.remove(&worker) else {
            return Vec::new();
        };
        let mut lost: Vec<String> = slot.held.into_iter().collect();
        // Keep the inventory's order among the hosts we put back, for predictable reports.
        lost.sort();
        for host in lost.into_iter().rev() {
            self.state.insert(host.clone(), HostState::Pending);
            self.queue.push_front(host);
            self.reassigned += 1;
        }
        self.dispatch()
    }

    /// Gives each worker with credit up to its fair share of the outstanding work, so one fast
    /// or early worker does not hoard hosts that others could run.
    fn dispatch(&mut self) -> Vec<(WorkerKey, Assignment)> {
        if !self.dispatching || self.queue.is_empty() || self.workers.is_empty() {
            return Vec::new();
        }
        let held: usize = self.workers.values().map(|w| w.held.len()).sum();
        let fair_share = (self.queue.len() + held).div_ceil(self.workers.len());
        let mut keys: Vec<WorkerKey> = self.workers.keys().copied().collect();
        keys.sort_unstable();
        let mut assignments = Vec::new();
        for key in keys {
            if self.queue.is_empty() {
                break;
            }
            let slot = self.workers.get_mut(&key).expect("key taken from the map");
            let room = fair_share.saturating_sub(slot.held.len());
            let take = room.min(slot.credit as usize).min(self.queue.len());
            if take == 0 {
                continue;
            }
            let epoch = self.next_epoch;
            self.next_epoch += 1;
            let mut hosts = Vec::with_capacity(take);
            for name in self.queue.drain(..take) {
                slot.held.insert(name.clone());
                self.state
                    .insert(name.clone(), HostState::Leased { worker: key, epoch });
                hosts.push(self.targets[&name].clone());
            }
            slot.credit -= take as u32;
            assignments.push((
                key,
                Assignment {
                    job: Some((*self.job).clone()),
                    lease_epoch: epoch,
                    hosts,
                },
            ));
        }
        assignments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheduler(n: usize) -> Scheduler {
        let hosts = (0..n)
            .map(|i| HostTarget {
                name: format!("h{i:03}"),
                ..Default::default()
            })
            .collect();
        Scheduler::new(JobSpec::default(), hosts)
    }

    fn names(a: &Assignment) -> Vec<String> {
        a.hosts.iter().map(|h| h.name.clone()).collect()
    }

    #[test]
    fn nothing_is_leased_before_start() {
        let mut s = scheduler(4);
        s.attach(1);
        assert!(s.add_credit(1, 100).is_empty());
        let out = s.start();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.hosts.len(), 4);
    }

    #[test]
    fn workers_get_fair_shares_not_everything() {
        let mut s = scheduler(10);
        for w in 1..=3 {
            s.attach(w);
            s.add_credit(w, 1000);
        }
        let out = s.start();
        let sizes: Vec<usize> = out.iter().map(|(_, a)| a.hosts.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
    }

    #[test]
    fn credit_bounds_what_a_worker_holds() {
        let mut s = scheduler(10);
        s.attach(1);
        s.add_credit(1, 3);
        let out = s.start();
        assert_eq!(names(&out[0].1), vec!["h000", "h001", "h002"]);
        let epoch = out[0].1.lease_epoch;
        assert_eq!(s.complete(1, "h000", epoch), Verdict::Accepted);
        let next = s.add_credit(1, 1);
        assert_eq!(names(&next[0].1), vec!["h003"]);
        assert_eq!(s.remaining(), 9);
    }

    #[test]
    fn a_lost_workers_hosts_run_elsewhere_and_its_late_results_are_dropped() {
        let mut s = scheduler(4);
        s.attach(1);
        s.attach(2);
        s.add_credit(1, 10);
        s.add_credit(2, 10);
        let out = s.start();
        let (w1, first) = (&out[0].0, &out[0].1);
        assert_eq!(*w1, 1);
        let old_epoch = first.lease_epoch;
        assert_eq!(s.complete(1, "h000", old_epoch), Verdict::Accepted);

        let again = s.detach(1);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].0, 2);
        assert_eq!(names(&again[0].1), vec!["h001"]);
        assert_eq!(s.reassigned(), 1);

        // The dead worker's late word on h001 no longer counts; the new lease's does, once.
        assert_eq!(s.complete(1, "h001", old_epoch), Verdict::Stale);
        let new_epoch = again[0].1.lease_epoch;
        assert_ne!(new_epoch, old_epoch);
        assert_eq!(s.complete(2, "h001", new_epoch), Verdict::Accepted);
        assert_eq!(s.complete(2, "h001", new_epoch), Verdict::Stale);
    }

    #[test]
    fn the_job_ends_when_every_host_has_one_result() {
        let mut s = scheduler(3);
        s.attach(7);
        s.add_credit(7, 3);
        let out = s.start();
        let epoch = out[0].1.lease_epoch;
        for h in ["h000", "h001", "h002"] {
            assert_eq!(s.complete(7, h, epoch), Verdict::Accepted);
        }
        assert_eq!(s.remaining(), 0);
        assert!(s.unfinished().is_empty());
    }
}
