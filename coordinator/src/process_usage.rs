//! What a process has cost so far, read from /proc: CPU time and peak resident memory. The
//! benchmark samples the workers just before they are told to stop, and the fleet and the
//! coordinator around each run.

use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ProcessUsage {
    pub pid: u32,
    /// User plus system CPU time since the process started.
    #[serde(serialize_with = "as_seconds")]
    pub cpu: Duration,
    /// Peak resident set size (VmHWM), bytes.
    pub peak_rss_bytes: u64,
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl ProcessUsage {
    /// `None` when the process is gone or /proc is unavailable (not Linux).
    pub fn of(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Some(Self {
            pid,
            cpu: cpu_from_stat(&stat)?,
            peak_rss_bytes: peak_rss_from_status(&status).unwrap_or(0),
        })
    }

    pub fn current() -> Option<Self> {
        Self::of(std::process::id())
    }
}

/// CPU of this process's children that have ended and been waited for, their own waited-for
/// children included (cutime + cstime): what a tool run through `xargs` cost, all its processes
/// counted.
pub fn reaped_children_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime (16) and cstime (17), counted as in `cpu_from_stat`.
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (cutime + cstime) as f64 / clock_ticks_per_second() as f64,
    ))
}

/// Fields 14 and 15 of /proc/PID/stat (utime, stime) in clock ticks. The command name (field 2)
/// may hold spaces and parentheses, so count from the last `)`.
fn cpu_from_stat(stat: &str) -> Option<Duration> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so utime (14) is at index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks_per_second = clock_ticks_per_second();
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks_per_second as f64,
    ))
}

fn clock_ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

fn peak_rss_from_status(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        // Burn a little CPU so the reading cannot be zero by accident of timing.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert_ne!(x, 1);
        let usage = ProcessUsage::current().expect("linux has /proc");
        assert!(usage.cpu >= Duration::from_millis(20), "{usage:?}");
        assert!(usage.peak_rss_bytes > 1 << 20, "{usage:?}");
    }

    #[test]
    fn command_names_with_spaces_and_parens_do_not_confuse_it() {
        let stat = "42 (odd) name) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 1 1 1";
        let ticks = clock_ticks_per_second() as f64;
        assert_eq!(
            cpu_from_stat(stat),
            Some(Duration::from_secs_f64(300.0 / ticks))
        );
    }
}
