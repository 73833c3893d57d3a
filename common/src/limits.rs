//! Process limits. A worker holding thousands of sessions, or a coordinator with many workers,
//! needs far more file descriptors than the usual soft limit of 1024.

/// File descriptors a worker keeps for itself beside its sessions' sockets: the runtimes, the
/// coordinator's connection, logs, known_hosts reads, pooled HTTP connections.
pub const FD_RESERVE: u64 = 64;

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the new soft limit.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    if soft < hard {
        rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard)?;
    }
    Ok(hard.max(soft))
}

/// The current soft RLIMIT_NOFILE: how many descriptors this process may hold.
pub fn fd_limit() -> std::io::Result<u64> {
    Ok(rlimit::getrlimit(rlimit::Resource::NOFILE)?.0)
}

/// Sets RLIMIT_NOFILE; for tests that start a process under a small limit (it makes one
/// system call and allocates nothing, so it may run between fork and exec).
pub fn set_fd_limit(soft: u64, hard: u64) -> std::io::Result<()> {
    rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard)
}

/// How many sessions (one socket each) fit under an open-file limit of `limit` beside the
/// process's own [`FD_RESERVE`]: `asked`, or fewer when they would not fit; at least one.
pub fn sessions_within(limit: u64, asked: u32) -> u32 {
    let room = limit.saturating_sub(FD_RESERVE).max(1);
    u32::try_from(room).map_or(asked, |room| asked.min(room))
}

/// Whether an error is this process (EMFILE) or the whole system (ENFILE) being out of file
/// descriptors: a local shortage, never something the other end did.
pub fn is_out_of_descriptors(error: &std::io::Error) -> bool {
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    matches!(error.raw_os_error(), Some(ENFILE | EMFILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_fit_beside_the_reserve() {
        assert_eq!(sessions_within(1024, 2000), 1024 - FD_RESERVE as u32);
        assert_eq!(sessions_within(1024, 500), 500);
        assert_eq!(sessions_within(65_536, 2000), 2000);
        assert_eq!(sessions_within(16, 2000), 1, "never zero");
        assert_eq!(sessions_within(u64::MAX, 7), 7);
    }

    #[test]
    fn only_descriptor_shortages_count_as_such() {
        let emfile = std::io::Error::from_raw_os_error(24);
        assert!(is_out_of_descriptors(&emfile));
        assert!(
            emfile.to_string().contains("Too many open files"),
            "{emfile}"
        );
        assert!(is_out_of_descriptors(&std::io::Error::from_raw_os_error(
            23
        )));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!is_out_of_descriptors(&refused));
    }
}
