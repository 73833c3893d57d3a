//! Host-key verification against an OpenSSH known_hosts file.
//!
//! A worker checks thousands of hosts against the same file, so each file is parsed once per
//! process into a map keyed by host (`host`, or `[host]:port` off port 22) and kept in a
//! process-wide cache. The cache only ever learns: our own pins go into it as they are written,
//! and before a host is declared unknown the lines other processes appended since the last read
//! are parsed, so a key recorded anywhere is always compared, never overwritten.
//!
//! Supported: plain and hashed (`|1|salt|hash`) host names, comma-separated lists, `@revoked`
//! keys. Not supported (such entries are skipped): wildcard patterns, `@cert-authority`.
//! A host is known when any line names it; it matches when any of those lines holds the key the
//! server proved, whatever its algorithm (stricter than OpenSSH, which only compares keys of the
//! negotiated type).

use super::error::SessionError;
use fanout_common::proto::HostKeyPolicy;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{HashAlg, PublicKey};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use tracing::{debug, info, warn};

/// Hashed entries are checked one by one (each is an HMAC); past this many the check leaves the
/// async threads.
const HASHED_INLINE_LIMIT: usize = 64;

/// What the session knows about the device it is talking to.
#[derive(Clone, Debug)]
pub struct HostKeyCheck {
    pub policy: HostKeyPolicy,
    pub known_hosts: PathBuf,
    pub hostname: String,
    pub port: u16,
}

impl HostKeyCheck {
    /// The name known_hosts files use for this host: `host` on port 22, else `[host]:port`,
    /// lowercased as OpenSSH does.
    fn host_key_name(&self) -> String {
        let host = self.hostname.to_ascii_lowercase();
        if self.port == 22 {
            host
        } else {
            format!("[{host}]:{}", self.port)
        }
    }

    /// Accepts `key` or says why not. `Off` accepts anything, as asked; `Strict` accepts only a
    /// pinned key; `AcceptNew` also pins the key of a host it has never seen.
    pub async fn verify(&self, key: &PublicKey) -> Result<(), SessionError> {
        if self.policy == HostKeyPolicy::Off {
            debug!("host key not checked: policy off");
            return Ok(());
        }
        if self.known_hosts.as_os_str().is_empty() {
            return Err(SessionError::Internal(
                "no known_hosts file configured for host key checking".into(),
            ));
        }
        let name = self.host_key_name();
        let file = KnownHostsFile::for_path(&self.known_hosts);
        file.ensure_loaded().await?;
        let mut verdict = file.lookup(&name, key.key_data()).await?;
        if verdict == Verdict::Unknown {
            // Serialise with other pins to this file in this process, and read what other
            // processes added, so the check-then-pin below cannot race.
            let mut reader = file.reader.lock().await;
            file.refresh(&mut reader).await?;
            verdict = file.lookup(&name, key.key_data()).await?;
            if verdict == Verdict::Unknown && self.policy == HostKeyPolicy::AcceptNew {
                file.pin(&name, key).await;
                return Ok(());
            }
        }
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        match verdict {
            Verdict::Match => Ok(()),
            Verdict::Unknown => Err(SessionError::HostKey(format!(
                "host {name} is not in known_hosts {} (strict host key checking; it offered {} {fingerprint})",
                self.known_hosts.display(),
                key.algorithm()
            ))),
            Verdict::Mismatch => Err(SessionError::HostKey(format!(
                "host key for {name} does not match known_hosts {} (it offered {} {fingerprint})",
                self.known_hosts.display(),
                key.algorithm()
            ))),
            Verdict::Revoked => Err(SessionError::HostKey(format!(
                "host key {fingerprint} of {name} is marked @revoked in {}",
                self.known_hosts.display()
            ))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Match,
    Mismatch,
    Unknown,
    Revoked,
}

/// One known_hosts file as this process has read it.
struct KnownHostsFile {
    path: PathBuf,
    /// Set once the whole file has been read a first time.
    loaded: AtomicBool,
    /// What the file says; locked only for lookups and merges, never across I/O or an await.
    entries: Mutex<Entries>,
    /// Serialises reading and appending; holds how far the file has been parsed.
    reader: tokio::sync::Mutex<ReadPosition>,
}

#[derive(Default)]
struct ReadPosition {
    /// Bytes of the file parsed so far (always at a line end).
    offset: u64,
}

#[derive(Default)]
struct Entries {
    /// Keys by lowercased host name (`host` or `[host]:port`).
    plain: HashMap<String, Vec<KeyData>>,
    /// `|1|` entries, which can only be tested one by one. Shared so a long check can run
    /// without holding the lock (copied on write only while such a check holds it).
    hashed: Arc<Vec<HashedEntry>>,
    /// Keys marked `@revoked`: refused for every host.
    revoked: Vec<KeyData>,
}

#[derive(Clone)]
struct HashedEntry {
    salt: Vec<u8>,
    hash: Vec<u8>,
    key: KeyData,
}

impl HashedEntry {
    fn matches(&self, name: &str) -> bool {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.salt);
        ring::hmac::verify(&key, name.as_bytes(), &self.hash).is_ok()
    }
}

/// Every known_hosts file this process has opened, by the path it was named with.
static FILES: LazyLock<Mutex<HashMap<PathBuf, Arc<KnownHostsFile>>>> =
    LazyLock::new(Default::default);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data behind these locks stays consistent even if a holder panicked: every update is
    // a single insert or push.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl KnownHostsFile {
    fn for_path(path: &Path) -> Arc<Self> {
        let mut files = lock(&FILES);
        Arc::clone(files.entry(path.to_path_buf()).or_insert_with(|| {
            Arc::new(Self {
                path: path.to_path_buf(),
                loaded: AtomicBool::new(false),
                entries: Mutex::default(),
                reader: tokio::sync::Mutex::default(),
            })
        }))
    }

    async fn ensure_loaded(&self) -> Result<(), SessionError> {
        if self.loaded.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut reader = self.reader.lock().await;
        if !self.loaded.load(Ordering::Acquire) {
            self.refresh(&mut reader).await?;
            self.loaded.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Parses whatever was appended to the file since the last read.
    async fn refresh(&self, reader: &mut ReadPosition) -> Result<(), SessionError> {
        let path = self.path.clone();
        let offset = reader.offset;
        let read = tokio::task::spawn_blocking(move || read_from(&path, offset))
            .await
            .map_err(|e| SessionError::Internal(format!("known_hosts reader failed: {e}")))?
            .map_err(|source| SessionError::KnownHosts {
                path: self.path.clone(),
                source,
            })?;
        let mut entries = lock(&self.entries);
        if read.restarted {
            // The file shrank: someone rewrote it. Start over from what it says now.
            *entries = Entries::default();
        }
        for line in read.text.lines() {
            entries.add_line(line);
        }
        reader.offset = read.offset;
        Ok(())
    }

    async fn lookup(&self, name: &str, key: &KeyData) -> Result<Verdict, SessionError> {
        let (known, hashed) = {
            let entries = lock(&self.entries);
            if entries.revoked.contains(key) {
                return Ok(Verdict::Revoked);
            }
            let known = entries.plain.get(name).cloned().unwrap_or_default();
            (known, Arc::clone(&entries.hashed))
        };
        let hashed_len = hashed.len();
        let judge = move |mut known: Vec<KeyData>, name: &str, key: &KeyData| {
            known.extend(
                hashed
                    .iter()
                    .filter(|entry| entry.matches(name))
                    .map(|entry| entry.key.clone()),
            );
            if known.is_empty() {
                Verdict::Unknown
            } else if known.contains(key) {
                Verdict::Match
            } else {
                Verdict::Mismatch
            }
        };
        if hashed_len <= HASHED_INLINE_LIMIT {
            return Ok(judge(known, name, key));
        }
        let (name, key) = (name.to_owned(), key.clone());
        tokio::task::spawn_blocking(move || judge(known, &name, &key))
            .await
            .map_err(|e| SessionError::Internal(format!("known_hosts check failed: {e}")))
    }

    /// Records a first-seen key: in the cache at once (so concurrent sessions to the same host
    /// compare against it) and as one appended line in the file. A file we cannot write is
    /// logged and the session goes on, as OpenSSH does: the key was still checked as far as
    /// anything was known.
    async fn pin(&self, name: &str, key: &PublicKey) {
        lock(&self.entries)
            .plain
            .entry(name.to_owned())
            .or_default()
            .push(key.key_data().clone());
        let line = match PublicKey::new(key.key_data().clone(), "").to_openssh() {
            Ok(encoded) => format!("{name} {encoded}\n"),
            Err(e) => {
                warn!(error = %e, "cannot encode host key for known_hosts");
                return;
            }
        };
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || append_line(&path, &line)).await;
        match written {
            Ok(Ok(())) => info!(
                known_hosts = %self.path.display(),
                fingerprint = %key.fingerprint(HashAlg::Sha256),
                "pinned new host key"
            ),
            Ok(Err(e)) => warn!(
                known_hosts = %self.path.display(),
                error = %e,
                "cannot record host key in known_hosts"
            ),
            Err(e) => warn!(error = %e, "known_hosts writer failed"),
        }
    }
}

impl Entries {
    /// Adds one known_hosts line; lines we cannot use are skipped, as OpenSSH skips them.
    fn add_line(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        let mut fields = line.split_ascii_whitespace();
        let mut hosts = fields.next();
        let mut revoked = false;
        if let Some(marker) = hosts.filter(|h| h.starts_with('@')) {
            if marker != "@revoked" {
                return;
            }
            revoked = true;
            hosts = fields.next();
        }
        let (Some(hosts), Some(_key_type), Some(base64)) = (hosts, fields.next(), fields.next())
        else {
            return;
        };
        let key = match russh::keys::parse_public_key_base64(base64) {
            Ok(key) => key.key_data().clone(),
            Err(e) => {
                debug!(error = %e, "skipping unparsable known_hosts line");
                return;
            }
        };
        if revoked {
            self.revoked.push(key);
            return;
        }
        for pattern in hosts.split(',') {
            if let Some(hashed) = pattern.strip_prefix("|1|") {
                if let Some(entry) = parse_hashed(hashed, &key) {
                    Arc::make_mut(&mut self.hashed).push(entry);
                }
            } else if !pattern.is_empty() && !pattern.contains(['*', '?', '!']) {
                let keys = self.plain.entry(pattern.to_ascii_lowercase()).or_default();
                if !keys.contains(&key) {
                    keys.push(key.clone());
                }
            }
        }
    }
}

fn parse_hashed(salt_and_hash: &str, key: &KeyData) -> Option<HashedEntry> {
    let (salt, hash) = salt_and_hash.split_once('|')?;
    let decode = |s: &str| data_encoding::BASE64.decode(s.as_bytes()).ok();
    Some(HashedEntry {
        salt: decode(salt)?,
        hash: decode(hash)?,
        key: key.clone(),
    })
}

struct ReadResult {
    /// Complete lines read past the old offset.
    text: String,
    /// Where the next read starts.
    offset: u64,
    /// The file was shorter than the old offset, so it was read from the start.
    restarted: bool,
}

/// Reads the complete lines after `offset`. A missing file reads as empty: it will be created
/// by the first pin.
fn read_from(path: &Path, offset: u64) -> io::Result<ReadResult> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(ReadResult {
                text: String::new(),
                offset: 0,
                restarted: offset > 0,
            });
        }
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let restarted = len < offset;
    let start = if restarted { 0 } else { offset };
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    // A line still being written by someone else is read next time, whole.
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    bytes.truncate(complete);
    Ok(ReadResult {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        offset: start + complete as u64,
        restarted,
    })
}

/// Appends `line` (which ends in a newline) with a single `O_APPEND` write, so lines from many
/// tasks and processes never interleave. Creates the file and its directory if needed.
fn append_line(path: &Path, line: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    // If someone left the file without a final newline, start on a fresh line.
    let len = file.metadata()?.len();
    let mut last = [b'\n'];
    if len > 0 {
        file.read_exact_at(&mut last, len - 1)?;
    }
    if last[0] == b'\n' {
        file.write_all(line.as_bytes())
    } else {
        file.write_all(format!("\n{line}").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::ssh_key::public::Ed25519PublicKey;

    fn key(n: u8) -> PublicKey {
        PublicKey::new(KeyData::Ed25519(Ed25519PublicKey([n; 32])), "")
    }

    fn check(dir: &Path, policy: HostKeyPolicy, host: &str, port: u16) -> HostKeyCheck {
        HostKeyCheck {
            policy,
            known_hosts: dir.join("ssh").join("known_hosts"),
            hostname: host.into(),
            port,
        }
    }

    fn line(name: &str, n: u8) -> String {
        format!("{name} {}\n", key(n).to_openssh().unwrap())
    }

    #[tokio::test]
    async fn accept_new_pins_then_detects_a_changed_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = check(dir.path(), HostKeyPolicy::AcceptNew, "R1.example", 2222);
        // The file and its directory do not exist yet.
        c.verify(&key(1)).await.unwrap();
        let text = std::fs::read_to_string(&c.known_hosts).unwrap();
        assert_eq!(text, line("[r1.example]:2222", 1));
        c.verify(&key(1)).await.unwrap();
        let err = c.verify(&key(2)).await.unwrap_err();
        assert_eq!(err.kind(), fanout_common::FailureKind::HostkeyMismatch);
        assert!(err.to_string().contains("does not match"), "{err}");
        // Nothing more was written.
        assert_eq!(std::fs::read_to_string(&c.known_hosts).unwrap(), text);
    }

    #[tokio::test]
    async fn strict_refuses_unknown_hosts_and_off_accepts_anything() {
        let dir = tempfile::tempdir().unwrap();
        let strict = check(dir.path(), HostKeyPolicy::Strict, "10.0.0.1", 22);
        let err = strict.verify(&key(1)).await.unwrap_err();
        assert!(err.to_string().contains("not in known_hosts"), "{err}");
        assert!(!strict.known_hosts.exists());

        let off = check(dir.path(), HostKeyPolicy::Off, "10.0.0.1", 22);
        off.verify(&key(1)).await.unwrap();
        assert!(!off.known_hosts.exists());
    }

    #[tokio::test]
    async fn lines_appended_by_another_process_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let a = check(dir.path(), HostKeyPolicy::Strict, "a", 22);
        std::fs::create_dir_all(a.known_hosts.parent().unwrap()).unwrap();
        std::fs::write(&a.known_hosts, line("a", 1)).unwrap();
        a.verify(&key(1)).await.unwrap();
        // Loaded and cached; another process appends a host (without a final newline).
        let mut f = OpenOptions::new()
            .append(true)
            .open(&a.known_hosts)
            .unwrap();
        f.write_all(line("b,[b]:830", 2).trim_end().as_bytes())
            .unwrap();
        f.write_all(b"\n").unwrap();
        let b = check(dir.path(), HostKeyPolicy::Strict, "b", 830);
        b.verify(&key(2)).await.unwrap();
        let err = b.verify(&key(3)).await.unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[tokio::test]
    async fn hashed_comments_markers_and_junk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let salt = [7u8; 20];
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salt),
            b"[hashed.example]:2022",
        );
        let hashed = format!(
            "|1|{}|{}",
            data_encoding::BASE64.encode(&salt),
            data_encoding::BASE64.encode(mac.as_ref())
        );
        let text = format!(
            "# comment\n\nnot a key line\nbad ssh-ed25519 !!!!\n*.wild {}{}{}@revoked {}",
            key(9).to_openssh().unwrap() + "\n",
            line(&hashed, 4),
            line("plain", 5),
            line("*", 6),
        );
        std::fs::write(&path, text).unwrap();
        let at = |host: &str, port: u16| HostKeyCheck {
            policy: HostKeyPolicy::Strict,
            known_hosts: path.clone(),
            hostname: host.into(),
            port,
        };
        at("hashed.example", 2022).verify(&key(4)).await.unwrap();
        assert!(at("hashed.example", 2022).verify(&key(5)).await.is_err());
        at("PLAIN", 22).verify(&key(5)).await.unwrap();
        // Wildcards are not supported: the host stays unknown.
        assert!(at("x.wild", 22).verify(&key(9)).await.is_err());
        let revoked = at("plain", 22).verify(&key(6)).await.unwrap_err();
        assert!(revoked.to_string().contains("@revoked"), "{revoked}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_contacts_write_one_whole_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let mut tasks = Vec::new();
        for i in 0..200u16 {
            let c = check(
                dir.path(),
                HostKeyPolicy::AcceptNew,
                "10.9.9.9",
                1000 + i % 100,
            );
            // Two sessions per host, with the same key: the second must match the first's pin.
            tasks.push(tokio::spawn(async move {
                c.verify(&key((i % 100) as u8)).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let path = dir.path().join("ssh").join("known_hosts");
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100, "{text}");
        lines.sort();
        lines.dedup();
        assert_eq!(lines.len(), 100);
        assert!(lines.iter().all(|l| l.starts_with("[10.9.9.9]:1")));
    }
}
