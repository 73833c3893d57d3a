//! Who runs which host. Pure bookkeeping, no I/O: the gRPC handlers feed it events (a job was
//! submitted, a worker attached, offered credit, delivered a result, vanished) and send whatever
//! assignments it hands back.
//!
//! Every lease carries an epoch. A host's current epoch changes each time it is leased, so a
//! result that arrives from a worker that already lost the host (it was presumed dead and the
//! host re-leased) is recognised as stale and dropped: each host ends with exactly one result.
//!
//! Several jobs may run at once (a long-lived `fanout serve`); a worker's credit is spent on
//! the oldest job first.
//!
//! Label affinity: a label key is *in use* when an attached worker carries it (`site=ams`) or
//! the coordinator was told to always honour it. A host whose data has a value for a key in
//! use runs only on workers with that same label (its [`Placement`]); a host without the key
//! runs anywhere. Keys come into use as labelled workers attach, so a fleet without labels
//! needs no configuration.

use fanout_common::proto::{Assignment, HostTarget, JobSpec};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Identifies one attached worker stream for as long as it lives.
pub type WorkerKey = u64;

/// A worker's labels (`site=ams`).
pub type Labels = BTreeMap<String, String>;

/// The labels a worker must carry to run a host; empty means any worker.
pub type Placement = Vec<(String, String)>;

/// One host's place in its job.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostState {
    /// Waiting in the queue.
    Pending,
    /// Leased to a worker under this epoch.
    Leased { worker: WorkerKey, epoch: u64 },
    /// Has its final result.
    Done,
}

/// A host as submitted: how to reach it, and the values of its data that labels may match.
#[derive(Debug, Clone)]
pub struct PlacedHost {
    pub target: HostTarget,
    pub labels: Labels,
}

impl PlacedHost {
    /// A host any worker may run.
    pub fn anywhere(target: HostTarget) -> Self {
        Self {
            target,
            labels: Labels::new(),
        }
    }
}

/// What the scheduler knows about an attached worker.
#[derive(Debug, Default)]
struct WorkerSlot {
    /// Hosts it said it can still take.
    credit: u32,
    labels: Labels,
    /// Hosts leased to it and not yet finished, by job: re-queued if it vanishes.
    held: HashMap<String, HashSet<String>>,
    /// Jobs whose spec it was sent on this attach: later assignments name the job only. A
    /// worker that attaches again is a new slot, so it is sent the spec again.
    knows: HashSet<String>,
}

impl WorkerSlot {
    fn can_run(&self, placement: &Placement) -> bool {
        placement
            .iter()
            .all(|(k, v)| self.labels.get(k).is_some_and(|have| have == v))
    }

    fn held_in(&self, job: &str) -> usize {
        self.held.get(job).map_or(0, HashSet::len)
    }
}

/// What became of a result a worker delivered.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The host's final result: record it.
    Accepted,
    /// From a lease that is no longer current, or a host we never leased it: drop it.
    Stale,
}

/// One job's hosts and their states.
struct Job {
    /// Sent with each worker's first assignment of the job.
    spec: Arc<JobSpec>,
    targets: HashMap<String, HostTarget>,
    /// Each host's data values that worker labels may match.
    labels: HashMap<String, Labels>,
    state: HashMap<String, HostState>,
    /// Hosts waiting for a worker, by the labels they need, each in inventory order (re-queued
    /// hosts go to the front).
    queues: BTreeMap<Placement, VecDeque<String>>,
    /// No host is leased until the job says go: a local run waits for all its workers so the
    /// first to attach does not take everything.
    dispatching: bool,
    /// Hosts without a final result yet.
    remaining: usize,
    /// Times a host went back to the queue because its worker vanished.
    reassigned: u64,
    /// Each host's place in the submission, so re-sorted queues keep the inventory's order.
    position: HashMap<String, usize>,
}

impl Job {
    fn queued(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    fn placement(&self, host: &str, keys: &BTreeSet<String>) -> Placement {
        placement(self.labels.get(host), keys)
    }

    /// Sorts the queued hosts into queues by their placement under `keys`, keeping their order.
    fn rebucket(&mut self, keys: &BTreeSet<String>) {
        let queued: Vec<String> = std::mem::take(&mut self.queues)
            .into_values()
            .flatten()
            .collect();
        let mut order: Vec<(usize, String)> =
            queued.into_iter().map(|h| (self.position[&h], h)).collect();
        order.sort_unstable();
        for (_, host) in order {
            let placement = self.placement(&host, keys);
            self.queues.entry(placement).or_default().push_back(host);
        }
    }
}

fn placement(labels: Option<&Labels>, keys: &BTreeSet<String>) -> Placement {
    let Some(labels) = labels else {
        return Placement::new();
    };
    keys.iter()
        .filter_map(|k| labels.get(k).map(|v| (k.clone(), v.clone())))
        .collect()
}

/// What a job amounted to when it was taken off the scheduler.
#[derive(Debug, Default)]
pub struct Removed {
    /// Hosts that never got a final result, sorted.
    pub unfinished: Vec<String>,
    /// Workers that were running some of its hosts: they should be told to stop them.
    pub holders: Vec<WorkerKey>,
    /// Workers that were sent its spec (a superset of `holders`): they should be told to forget it.
    pub knowing: Vec<WorkerKey>,
}

#[derive(Default)]
pub struct Scheduler {
    jobs: HashMap<String, Job>,
    /// Job ids in submission order: credit goes to the oldest job first.
    order: Vec<String>,
    workers: HashMap<WorkerKey, WorkerSlot>,
    next_epoch: u64,
    /// Label keys honoured even while no attached worker carries them.
    configured_keys: BTreeSet<String>,
    /// Label keys that place hosts now: the configured ones and those of attached workers.
    keys: BTreeSet<String>,
}

impl Scheduler {
    pub fn new() -> Self {
        Self {
            next_epoch: 1,
            ..Self::default()
        }
    }

    /// Label keys to honour even before a worker carrying them attaches, so hosts of a site
    /// never run elsewhere while that site's worker is (re)connecting.
    pub fn with_affinity_keys(keys: impl IntoIterator<Item = String>) -> Self {
        let configured: BTreeSet<String> = keys.into_iter().collect();
        Self {
            next_epoch: 1,
            keys: configured.clone(),
            configured_keys: configured,
            ..Self::default()
        }
    }

    /// Recomputes the keys in use after workers came or went; re-sorts the queues if they changed.
    fn refresh_keys(&mut self) {
        let mut keys = self.configured_keys.clone();
        for slot in self.workers.values() {
            keys.extend(slot.labels.keys().cloned());
        }
        if keys != self.keys {
            self.keys = keys;
            for job in self.jobs.values_mut() {
                job.rebucket(&self.keys);
            }
        }
    }

    /// Adds a job (named by `spec.job_id`) whose hosts wait until [`Scheduler::start`].
    pub fn add_job(&mut self, spec: JobSpec, hosts: Vec<PlacedHost>) {
        let id = spec.job_id.clone();
        let mut job = Job {
            spec: Arc::new(spec),
            targets: HashMap::with_capacity(hosts.len()),
            labels: HashMap::with_capacity(hosts.len()),
            state: HashMap::with_capacity(hosts.len()),
            queues: BTreeMap::new(),
            dispatching: false,
            remaining: hosts.len(),
            reassigned: 0,
            position: HashMap::with_capacity(hosts.len()),
        };
        for (position, host) in hosts.into_iter().enumerate() {
            let name = host.target.name.clone();
            let placement = placement(Some(&host.labels), &self.keys);
            job.queues
                .entry(placement)
                .or_default()
                .push_back(name.clone());
            job.state.insert(name.clone(), HostState::Pending);
            job.position.insert(name.clone(), position);
            if !host.labels.is_empty() {
                job.labels.insert(name.clone(), host.labels);
            }
            job.targets.insert(name, host.target);
        }
        self.order.push(id.clone());
        self.jobs.insert(id, job);
    }

    /// Takes a job off the scheduler (finished or cancelled): its leased hosts are forgotten, so
    /// late results for them are stale.
    pub fn remove_job(&mut self, job: &str) -> Removed {
        let Some(removed) = self.jobs.remove(job) else {
            return Removed::default();
        };
        self.order.retain(|id| id != job);
        let (mut holders, mut knowing) = (Vec::new(), Vec::new());
        for (key, slot) in &mut self.workers {
            if slot.held.remove(job).is_some_and(|held| !held.is_empty()) {
                holders.push(*key);
            }
            if slot.knows.remove(job) {
                knowing.push(*key);
            }
        }
        holders.sort_unstable();
        knowing.sort_unstable();
        let mut unfinished: Vec<String> = removed
            .state
            .into_iter()
            .filter(|(_, s)| *s != HostState::Done)
            .map(|(n, _)| n)
            .collect();
        unfinished.sort();
        Removed {
            unfinished,
            holders,
            knowing,
        }
    }

    pub fn attach(&mut self, worker: WorkerKey, labels: Labels) {
        self.workers.entry(worker).or_default().labels = labels;
        self.refresh_keys();
    }

    pub fn remaining(&self, job: &str) -> usize {
        self.jobs.get(job).map_or(0, |j| j.remaining)
    }

    /// Hosts leased and not yet finished.
    pub fn in_flight(&self, job: &str) -> usize {
        self.jobs.get(job).map_or(0, |j| j.remaining - j.queued())
    }

    pub fn reassigned(&self, job: &str) -> u64 {
        self.jobs.get(job).map_or(0, |j| j.reassigned)
    }

    /// Queued hosts of `job` that no attached worker may run (their placement matches nobody).
    /// With no worker attached at all nothing is stranded: the job is waiting for workers.
    pub fn stranded(&self, job: &str) -> Vec<String> {
        let Some(j) = self.jobs.get(job) else {
            return Vec::new();
        };
        if self.workers.is_empty() {
            return Vec::new();
        }
        j.queues
            .iter()
            .filter(|(placement, _)| !self.workers.values().any(|w| w.can_run(placement)))
            .flat_map(|(_, queue)| queue.iter().cloned())
            .collect()
    }

    /// Where `host` of `job` is and what it runs (the worker does not echo them back).
    pub fn hostname_and_platform(&self, job: &str, host: &str) -> Option<(String, String)> {
        let target = self.jobs.get(job)?.targets.get(host)?;
        Some((target.hostname.clone(), target.platform.clone()))
    }

    /// The labels `host` of `job` needs.
    pub fn placement_of(&self, job: &str, host: &str) -> Option<Placement> {
        Some(self.jobs.get(job)?.placement(host, &self.keys))
    }

    /// Ends queued hosts without running them (the caller records why): they count as done.
    pub fn give_up(&mut self, job: &str, hosts: &[String]) {
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        for host in hosts {
            if j.state.get(host) != Some(&HostState::Pending) {
                continue;
            }
            j.state.insert(host.clone(), HostState::Done);
            let placement = j.placement(host, &self.keys);
            if let Some(queue) = j.queues.get_mut(&placement) {
                queue.retain(|h| h != host);
            }
            j.remaining -= 1;
        }
    }

    /// Starts handing out the job's hosts; returns the first assignments.
    pub fn start(&mut self, job: &str) -> Vec<(WorkerKey, Assignment)> {
        if let Some(j) = self.jobs.get_mut(job) {
            j.dispatching = true;
        }
        self.dispatch()
    }

    /// Stops handing out the job's hosts (draining); leased ones may still finish.
    pub fn stop_dispatching(&mut self, job: &str) {
        if let Some(j) = self.jobs.get_mut(job) {
            j.dispatching = false;
        }
    }

    pub fn add_credit(&mut self, worker: WorkerKey, hosts: u32) -> Vec<(WorkerKey, Assignment)> {
        if let Some(slot) = self.workers.get_mut(&worker) {
            slot.credit = slot.credit.saturating_add(hosts);
        }
        self.dispatch()
    }

    /// Whether `worker` holds `host` of `job` under the current lease `epoch`: results and
    /// monitor polls from any other lease are dropped.
    pub fn holds(&self, worker: WorkerKey, job: &str, host: &str, epoch: u64) -> bool {
        self.jobs.get(job).is_some_and(|j| {
            matches!(
                j.state.get(host),
                Some(HostState::Leased { worker: w, epoch: e }) if *w == worker && *e == epoch
            )
        })
    }

    /// Records a worker's result for `host` of `job` under `epoch`.
    pub fn complete(&mut self, worker: WorkerKey, job: &str, host: &str, epoch: u64) -> Verdict {
        if !self.holds(worker, job, host, epoch) {
            return Verdict::Stale;
        }
        let j = self.jobs.get_mut(job).expect("holds() found the job");
        j.state.insert(host.to_string(), HostState::Done);
        j.remaining -= 1;
        if let Some(held) = self
            .workers
            .get_mut(&worker)
            .and_then(|slot| slot.held.get_mut(job))
        {
            held.remove(host);
        }
        Verdict::Accepted
    }

    /// The worker is gone: its unfinished hosts go back to the front of their queues and to
    /// whoever has credit.
    pub fn detach(&mut self, worker: WorkerKey) -> Vec<(WorkerKey, Assignment)> {
        let Some(slot) = self.workers.remove(&worker) else {
            return Vec::new();
        };
        self.refresh_keys();
        for (job_id, held) in slot.held {
            let Some(job) = self.jobs.get_mut(&job_id) else {
                continue;
            };
            let mut lost: Vec<String> = held.into_iter().collect();
            // Keep the inventory's order among the hosts we put back, for predictable reports.
            lost.sort_unstable_by_key(|host| job.position.get(host).copied());
            for host in lost.into_iter().rev() {
                job.state.insert(host.clone(), HostState::Pending);
                let placement = job.placement(&host, &self.keys);
                job.queues.entry(placement).or_default().push_front(host);
                job.reassigned += 1;
            }
        }
        self.dispatch()
    }

    /// Spends every worker's credit, oldest job first. Within a job each worker gets up to its
    /// fair share of the outstanding work, so one fast or early worker does not hoard hosts that
    /// others could run.
    fn dispatch(&mut self) -> Vec<(WorkerKey, Assignment)> {
        let mut keys: Vec<WorkerKey> = self.workers.keys().copied().collect();
        keys.sort_unstable();
        let mut assignments = Vec::new();
        for job_id in &self.order {
            let job = self.jobs.get_mut(job_id).expect("order lists live jobs");
            if !job.dispatching {
                continue;
            }
            let queued = job.queued();
            if queued == 0 {
                continue;
            }
            let eligible: Vec<WorkerKey> = keys
                .iter()
                .copied()
                .filter(|k| {
                    let slot = &self.workers[k];
                    job.queues
                        .iter()
                        .any(|(p, q)| !q.is_empty() && slot.can_run(p))
                })
                .collect();
            if eligible.is_empty() {
                continue;
            }
            let held: usize = eligible
                .iter()
                .map(|k| self.workers[k].held_in(job_id))
                .sum();
            let fair_share = (queued + held).div_ceil(eligible.len());
            // Every attached worker may be connecting for this job (earlier leases), so each
            // gets its part of the job-wide rate as the workers stand now.
            let share_of_rate = job.spec.connect_rate / keys.len().max(1) as f64;
            for key in eligible {
                let slot = self.workers.get_mut(&key).expect("key taken from the map");
                let room = fair_share.saturating_sub(slot.held_in(job_id));
                let mut take = room.min(slot.credit as usize);
                if take == 0 {
                    continue;
                }
                let mut hosts = Vec::new();
                let epoch = self.next_epoch;
                for (placement, queue) in job.queues.iter_mut() {
                    if take == 0 {
                        break;
                    }
                    if queue.is_empty() || !slot.can_run(placement) {
                        continue;
                    }
                    let n = take.min(queue.len());
                    take -= n;
                    for name in queue.drain(..n) {
                        job.state
                            .insert(name.clone(), HostState::Leased { worker: key, epoch });
                        hosts.push(job.targets[&name].clone());
                        slot.held.entry(job_id.clone()).or_default().insert(name);
                    }
                }
                if hosts.is_empty() {
                    continue;
                }
                self.next_epoch += 1;
                slot.credit -= hosts.len() as u32;
                // The spec goes with the worker's first lease of the job only; it keeps it.
                let spec = slot
                    .knows
                    .insert(job_id.clone())
                    .then(|| (*job.spec).clone());
                assignments.push((
                    key,
                    Assignment {
                        job: spec,
                        lease_epoch: epoch,
                        hosts,
                        job_id: job_id.clone(),
                        connect_rate: share_of_rate,
                    },
                ));
            }
        }
        assignments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "j1";

    fn hosts(prefix: &str, n: usize) -> Vec<PlacedHost> {
        (0..n)
            .map(|i| {
                PlacedHost::anywhere(HostTarget {
                    name: format!("{prefix}{i:03}"),
                    ..Default::default()
                })
            })
            .collect()
    }

    fn spec(id: &str) -> JobSpec {
        JobSpec {
            job_id: id.into(),
            ..Default::default()
        }
    }

    fn scheduler(n: usize) -> Scheduler {
        let mut s = Scheduler::new();
        s.add_job(spec(JOB), hosts("h", n));
        s
    }

    fn names(a: &Assignment) -> Vec<String> {
        a.hosts.iter().map(|h| h.name.clone()).collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nothing_is_leased_before_start() {
        let mut s = scheduler(4);
        s.attach(1, Labels::new());
        assert!(s.add_credit(1, 100).is_empty());
        let out = s.start(JOB);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.hosts.len(), 4);
    }

    #[test]
    fn workers_get_fair_shares_not_everything() {
        let mut s = scheduler(10);
        for w in 1..=3 {
            s.attach(w, Labels::new());
            s.add_credit(w, 1000);
        }
        let out = s.start(JOB);
        let sizes: Vec<usize> = out.iter().map(|(_, a)| a.hosts.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
    }

    /// `--connect-rate` holds across all workers: each lease carries the receiving worker's
    /// share as the workers stand when it is made, so a worker that attaches later shrinks
    /// the share of the others from their next lease on.
    #[test]
    fn each_lease_carries_the_workers_share_of_the_jobs_rate() {
        let mut s = Scheduler::new();
        s.add_job(
            JobSpec {
                connect_rate: 100.0,
                ..spec(JOB)
            },
            hosts("h", 10),
        );
        s.attach(1, Labels::new());
        s.add_credit(1, 1);
        let out = s.start(JOB);
        assert_eq!(out[0].1.connect_rate, 100.0);
        s.attach(2, Labels::new());
        let out = s.add_credit(2, 1);
        assert_eq!((out[0].0, out[0].1.connect_rate), (2, 50.0));
        let epoch = out[0].1.lease_epoch;
        s.complete(2, JOB, &out[0].1.hosts[0].name, epoch);
        let out = s.add_credit(1, 1);
        assert_eq!((out[0].0, out[0].1.connect_rate), (1, 50.0));
    }

    #[test]
    fn credit_bounds_what_a_worker_holds() {
        let mut s = scheduler(10);
        s.attach(1, Labels::new());
        s.add_credit(1, 3);
        let out = s.start(JOB);
        assert_eq!(names(&out[0].1), vec!["h000", "h001", "h002"]);
        let epoch = out[0].1.lease_epoch;
        assert_eq!(s.complete(1, JOB, "h000", epoch), Verdict::Accepted);
        let next = s.add_credit(1, 1);
        assert_eq!(names(&next[0].1), vec!["h003"]);
        assert_eq!(s.remaining(JOB), 9);
    }

    #[test]
    fn a_lost_workers_hosts_run_elsewhere_and_its_late_results_are_dropped() {
        let mut s = scheduler(4);
        s.attach(1, Labels::new());
        s.attach(2, Labels::new());
        s.add_credit(1, 10);
        s.add_credit(2, 10);
        let out = s.start(JOB);
        let (w1, first) = (&out[0].0, &out[0].1);
        assert_eq!(*w1, 1);
        let old_epoch = first.lease_epoch;
        assert_eq!(s.complete(1, JOB, "h000", old_epoch), Verdict::Accepted);

        let again = s.detach(1);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].0, 2);
        assert_eq!(names(&again[0].1), vec!["h001"]);
        assert_eq!(s.reassigned(JOB), 1);

        // The dead worker's late word on h001 no longer counts; the new lease's does, once.
        assert_eq!(s.complete(1, JOB, "h001", old_epoch), Verdict::Stale);
        let new_epoch = again[0].1.lease_epoch;
        assert_ne!(new_epoch, old_epoch);
        assert_eq!(s.complete(2, JOB, "h001", new_epoch), Verdict::Accepted);
        assert_eq!(s.complete(2, JOB, "h001", new_epoch), Verdict::Stale);
    }

    #[test]
    fn the_job_ends_when_every_host_has_one_result() {
        let mut s = scheduler(3);
        s.attach(7, Labels::new());
        s.add_credit(7, 3);
        let out = s.start(JOB);
        let epoch = out[0].1.lease_epoch;
        for h in ["h000", "h001", "h002"] {
            assert_eq!(s.complete(7, JOB, h, epoch), Verdict::Accepted);
        }
        assert_eq!(s.remaining(JOB), 0);
        assert!(s.remove_job(JOB).unfinished.is_empty());
    }

    #[test]
    fn pinned_hosts_go_only_to_workers_with_their_labels() {
        let mut s = Scheduler::new();
        let mut all = hosts("any", 2);
        for mut h in hosts("ams", 3) {
            h.labels = labels(&[("site", "ams")]);
            all.push(h);
        }
        s.add_job(spec(JOB), all);
        s.attach(1, Labels::new());
        s.attach(2, labels(&[("site", "ams"), ("rack", "r1")]));
        s.add_credit(1, 100);
        s.add_credit(2, 100);
        let out = s.start(JOB);
        let by_worker: HashMap<WorkerKey, Vec<String>> =
            out.iter().map(|(k, a)| (*k, names(a))).collect();
        assert!(by_worker[&1].iter().all(|h| h.starts_with("any")));
        let ams: Vec<&String> = by_worker[&2]
            .iter()
            .filter(|h| h.starts_with("ams"))
            .collect();
        assert_eq!(ams.len(), 3, "{by_worker:?}");
        assert!(s.stranded(JOB).is_empty());
    }

    #[test]
    fn hosts_no_worker_can_take_are_stranded_until_given_up() {
        let mut s = Scheduler::new();
        let mut all = hosts("any", 1);
        for mut h in hosts("nyc", 2) {
            h.labels = labels(&[("site", "nyc")]);
            all.push(h);
        }
        s.add_job(spec(JOB), all);
        s.attach(1, labels(&[("site", "ams")]));
        s.add_credit(1, 100);
        let out = s.start(JOB);
        assert_eq!(names(&out[0].1), vec!["any000"]);
        let mut stranded = s.stranded(JOB);
        stranded.sort();
        assert_eq!(stranded, vec!["nyc000", "nyc001"]);
        s.give_up(JOB, &stranded);
        assert_eq!(s.remaining(JOB), 1);
        assert!(s.stranded(JOB).is_empty());
        assert_eq!(s.in_flight(JOB), 1);
    }

    #[test]
    fn labels_place_hosts_only_once_a_worker_carries_the_key_or_it_is_configured() {
        let pinned = |s: &mut Scheduler| {
            let mut all = hosts("ams", 2);
            for h in &mut all {
                h.labels = labels(&[("site", "ams"), ("role", "edge")]);
            }
            s.add_job(spec(JOB), all);
            s.start(JOB);
        };
        // Nobody uses `site`: an unlabelled worker runs the hosts.
        let mut s = Scheduler::new();
        pinned(&mut s);
        s.attach(1, Labels::new());
        assert_eq!(s.add_credit(1, 10)[0].1.hosts.len(), 2);

        // A worker labelled site=nyc brings the key into use: the ams hosts wait, stranded.
        let mut s = Scheduler::new();
        pinned(&mut s);
        s.attach(1, Labels::new());
        s.attach(2, labels(&[("site", "nyc")]));
        assert!(s.add_credit(1, 10).is_empty());
        assert!(s.add_credit(2, 10).is_empty());
        assert_eq!(s.stranded(JOB).len(), 2);
        assert_eq!(
            s.placement_of(JOB, "ams000").unwrap(),
            vec![("site".to_string(), "ams".to_string())]
        );
        // The ams worker arrives and takes them.
        s.attach(3, labels(&[("site", "ams")]));
        assert_eq!(s.add_credit(3, 10)[0].1.hosts.len(), 2);

        // Configured keys hold even before any labelled worker attaches.
        let mut s = Scheduler::with_affinity_keys(["site".to_string()]);
        pinned(&mut s);
        s.attach(1, Labels::new());
        assert!(s.add_credit(1, 10).is_empty());
        assert_eq!(s.stranded(JOB).len(), 2);
    }

    #[test]
    fn credit_goes_to_the_oldest_job_first_and_removal_fences_late_results() {
        let mut s = Scheduler::new();
        s.add_job(spec("old"), hosts("o", 2));
        s.add_job(spec("new"), hosts("n", 2));
        s.start("new");
        s.start("old");
        s.attach(1, Labels::new());
        let out = s.add_credit(1, 3);
        let jobs: Vec<(String, usize)> = out
            .iter()
            .map(|(_, a)| (a.job_id.clone(), a.hosts.len()))
            .collect();
        assert_eq!(jobs, vec![("old".to_string(), 2), ("new".to_string(), 1)]);
        let new_epoch = out[1].1.lease_epoch;

        let removed = s.remove_job("new");
        assert_eq!(removed.unfinished, vec!["n000", "n001"]);
        assert_eq!(removed.holders, vec![1]);
        assert_eq!(s.complete(1, "new", "n000", new_epoch), Verdict::Stale);
        // Its credit comes back with the worker's next offer, not from the removal.
        assert!(s.add_credit(1, 1).is_empty());
    }

    /// Runs `JOB` to the end with every worker taking one host at a time (the steady state of a
    /// large job), detaching and reattaching `flaky` after its tenth result; returns how many
    /// assignments, and how many of them carried the spec, each worker got.
    fn spec_bearing_leases(
        workers: &[WorkerKey],
        flaky: WorkerKey,
    ) -> BTreeMap<WorkerKey, (usize, usize)> {
        let mut s = scheduler(300);
        // Workers answer in turn, as they would over time.
        let mut out = VecDeque::new();
        for &w in workers {
            s.attach(w, Labels::new());
            out.extend(s.add_credit(w, 2));
        }
        out.extend(s.start(JOB));
        let mut seen: BTreeMap<WorkerKey, (usize, usize)> = BTreeMap::new();
        let mut done = 0;
        let mut flaky_results = 0;
        while let Some((w, a)) = out.pop_front() {
            assert_eq!(a.job_id, JOB, "every assignment names its job");
            let counts = seen.entry(w).or_default();
            counts.0 += 1;
            counts.1 += usize::from(a.job.is_some());
            for host in &a.hosts {
                if s.complete(w, JOB, &host.name, a.lease_epoch) == Verdict::Accepted {
                    done += 1;
                }
                if w == flaky {
                    flaky_results += 1;
                    if flaky_results == 10 {
                        out.extend(s.detach(w));
                        s.attach(w, Labels::new());
                        out.extend(s.add_credit(w, 2));
                        continue;
                    }
                }
                out.extend(s.add_credit(w, 1));
            }
        }
        assert_eq!(done, 300);
        seen
    }

    #[test]
    fn a_jobs_spec_goes_to_each_worker_once_per_attach_not_with_every_lease() {
        let seen = spec_bearing_leases(&[1, 2, 3], 0);
        for (worker, (leases, specs)) in &seen {
            assert!(*leases > 50, "worker {worker} got {leases} leases");
            assert_eq!(*specs, 1, "worker {worker}: {leases} leases, {specs} specs");
        }
        // Worker 2 attached a second time: that attach knows nothing, so it gets the spec again.
        let seen = spec_bearing_leases(&[1, 2, 3], 2);
        assert_eq!(seen[&1].1, 1);
        assert_eq!(seen[&2].1, 2, "{seen:?}");
        assert_eq!(seen[&3].1, 1);
    }

    #[test]
    fn hosts_of_a_lost_worker_go_back_in_inventory_order_not_name_order() {
        let mut s = Scheduler::new();
        let named = |names: &[&str]| {
            names
                .iter()
                .map(|n| {
                    PlacedHost::anywhere(HostTarget {
                        name: n.to_string(),
                        ..Default::default()
                    })
                })
                .collect()
        };
        s.add_job(spec(JOB), named(&["core-2", "core-10", "access-1"]));
        s.attach(1, Labels::new());
        s.add_credit(1, 3);
        s.start(JOB);
        s.attach(2, Labels::new());
        s.add_credit(2, 3);
        let again = s.detach(1);
        assert_eq!(names(&again[0].1), vec!["core-2", "core-10", "access-1"]);
    }

    #[test]
    fn removal_names_every_worker_that_was_sent_the_spec() {
        let mut s = scheduler(2);
        for w in [1, 2, 3] {
            s.attach(w, Labels::new());
            s.add_credit(w, 1);
        }
        let out = s.start(JOB);
        let (w, a) = &out[0];
        s.complete(*w, JOB, &a.hosts[0].name, a.lease_epoch);
        let removed = s.remove_job(JOB);
        let (finished, running) = (out[0].0, out[1].0);
        assert_eq!(removed.holders, vec![running]);
        let mut knowing = vec![finished, running];
        knowing.sort_unstable();
        assert_eq!(
            removed.knowing, knowing,
            "the worker with no lease never got the spec"
        );
    }
}
