//! How many local workers to start and how many sessions each may hold: one rule for every
//! command that starts a local cluster, so `run` and `monitor` cannot drift apart.

/// Local worker processes beyond this many per core only add memory and context switches:
/// each one already runs thousands of sessions.
const MAX_WORKERS_PER_CORE: usize = 4;
/// File descriptors a worker keeps for itself (runtime, gRPC, logs, known_hosts).
const FD_RESERVE_PER_WORKER: u64 = 64;

/// How many hosts one worker may have to hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// One-shot jobs: its share of the hosts. A lost worker's hosts wait for a free session
    /// elsewhere, so more would only cost descriptors.
    Share,
    /// Monitoring: sessions stay open for ever, so the survivors must be able to take over
    /// every host of a lost worker.
    Every,
}

/// The cluster's shape, and what the user should hear about how it was cut down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizing {
    pub workers: usize,
    /// Sessions each worker may hold.
    pub concurrency: u32,
    /// One line per clamp, to print before the job starts.
    pub notes: Vec<String>,
}

/// The sizing for `hosts` on this machine: worker count from `--workers` (one per core by
/// default), sessions from `--concurrency`, within the open-file limit `fanout` raised at
/// start-up (workers inherit it).
pub fn size(workers: Option<usize>, concurrency: u32, hosts: usize, holding: Holding) -> Sizing {
    let fd_limit = fanout_common::limits::raise_fd_limit().unwrap_or(1024);
    fit(workers, concurrency, hosts, holding, cores(), fd_limit)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// [`size`] with the machine's figures given, for tests.
fn fit(
    asked_workers: Option<usize>,
    asked_concurrency: u32,
    hosts: usize,
    holding: Holding,
    cores: usize,
    fd_limit: u64,
) -> Sizing {
    let mut notes = Vec::new();
    let most = cores * MAX_WORKERS_PER_CORE;
    let wanted = asked_workers.unwrap_or(cores);
    if wanted > most {
        notes.push(format!(
            "--workers {wanted} is more than {cores} cores can use; starting {most} \
             (each worker runs up to --concurrency sessions at once)"
        ));
    }
    let workers = wanted.clamp(1, most).min(hosts.max(1));
    let held = match holding {
        Holding::Share => hosts.div_ceil(workers),
        Holding::Every => hosts,
    } as u64;
    let wanted = u64::from(asked_concurrency).min(held).max(1);
    let room = fd_limit.saturating_sub(FD_RESERVE_PER_WORKER).max(1);
    if wanted > room {
        notes.push(format!(
            "each worker would hold {wanted} sessions but the open-file limit is {fd_limit}; \
             using {room} per worker (raise the hard limit with `ulimit -Hn`, or add --workers)"
        ));
    }
    Sizing {
        workers,
        concurrency: u32::try_from(wanted.min(room)).unwrap_or(u32::MAX),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_shot_worker_holds_its_share_and_a_monitor_worker_every_host() {
        let share = fit(Some(4), 1000, 100, Holding::Share, 8, 1 << 20);
        assert_eq!((share.workers, share.concurrency), (4, 25));
        let every = fit(Some(4), 1000, 100, Holding::Every, 8, 1 << 20);
        assert_eq!((every.workers, every.concurrency), (4, 100));
        assert!(share.notes.is_empty() && every.notes.is_empty());
    }

    #[test]
    fn never_more_workers_than_hosts_or_than_the_cores_can_use() {
        assert_eq!(fit(None, 10, 3, Holding::Share, 8, 1 << 20).workers, 3);
        assert_eq!(fit(Some(0), 10, 3, Holding::Share, 8, 1 << 20).workers, 1);
        let clamped = fit(Some(100), 10, 1000, Holding::Share, 2, 1 << 20);
        assert_eq!(clamped.workers, 8);
        assert!(
            clamped.notes[0].contains("--workers 100"),
            "{:?}",
            clamped.notes
        );
    }

    #[test]
    fn the_open_file_limit_caps_sessions_for_both_and_says_so() {
        for holding in [Holding::Share, Holding::Every] {
            let sized = fit(Some(1), 5000, 5000, holding, 8, 1024);
            assert_eq!(sized.concurrency, 1024 - 64);
            assert!(
                sized.notes[0].contains("open-file limit is 1024"),
                "{:?}",
                sized.notes
            );
        }
    }
}
