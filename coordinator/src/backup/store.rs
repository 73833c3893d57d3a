//! The configuration repository, written by this process alone (the coordinator is the single
//! writer; workers only collect).
//!
//! What survives a crash: a run's new blobs, trees and its commit are written as objects first
//! and the branch moves to the commit last, in one atomic rename (libgit2 writes the ref to a
//! `.lock` file and renames it). A run killed at any point leaves the branch at the previous
//! commit or at the new one, never between; objects of a run that died before its commit are
//! only unreachable (`git fsck` calls them dangling, which is not an error). The work tree is
//! brought up to the commit afterwards, and again at the start of the next run, so a run killed
//! between the two is repaired by the next.
//!
//! Concurrency: an exclusive `flock` on `.git/fanout-backup.lock` for the whole run. The kernel
//! drops it when the process dies, so a killed run never leaves a lock behind that refuses the
//! next one; a `.lock` file of libgit2's own left by a killed run is removed under it.

use super::push::PushTarget;
use git2::build::{CheckoutBuilder, TreeUpdateBuilder};
use git2::{ErrorCode, FileMode, ObjectType, Oid, Repository, RepositoryInitOptions, Signature};
use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Each device's path in the repository, by host name: how `fanout diff` and `history` find
/// a host's file whatever the layout, and how a host whose group changed moves its file.
pub const HOSTS_FILE: &str = "fanout-hosts.json";
/// The devices of the last run that gave no configuration, with why.
pub const FAILED_FILE: &str = "failed.json";
const LOCK_FILE: &str = "fanout-backup.lock";
/// Changed and failed hosts named in a commit message, at most; the counts are always there.
const MESSAGE_HOSTS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{repo}: another fanout backup is running on this repository ({holder}); \
         nothing was collected"
    )]
    Busy { repo: PathBuf, holder: String },
    #[error("{repo}: {source}")]
    Io {
        repo: PathBuf,
        source: std::io::Error,
    },
    #[error("{repo}: git: {source}")]
    Git { repo: PathBuf, source: git2::Error },
    #[error("{repo}: {file} in the last commit is not valid: {reason}")]
    Corrupt {
        repo: PathBuf,
        file: &'static str,
        reason: String,
    },
}

/// `Name <email>`, the author and committer of backup commits.
#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Author {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("--author {text:?}: expected `Name <email>`");
        let (name, rest) = text.split_once('<').ok_or_else(bad)?;
        let email = rest.strip_suffix('>').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() || email.trim().is_empty() || email.contains(['<', '>']) {
            return Err(bad());
        }
        Ok(Author {
            name: name.to_string(),
            email: email.trim().to_string(),
        })
    }
}

/// One device's outcome, as the repository takes it.
#[derive(Debug, Clone)]
pub struct DeviceOutcome {
    pub host: String,
    /// Where its file goes under the layout.
    pub path: String,
    /// The normalised configuration, or why there is none this time.
    pub config: Result<String, Failure>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure {
    pub host: String,
    pub kind: String,
    pub message: String,
    /// The file that keeps its last good configuration, if the device ever had one.
    pub kept: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub host: String,
    pub path: String,
    /// No file before this run.
    pub new: bool,
    pub added: usize,
    pub removed: usize,
    /// Unified diff of the stored (normalised, masked) files, for notifications.
    #[serde(skip)]
    pub patch: String,
}

/// What one run did to the repository.
#[derive(Debug, Clone, Serialize)]
pub struct Committed {
    /// `None` when nothing changed: no commit is made for a run that changed nothing.
    pub commit: Option<String>,
    pub summary: String,
    pub changed: Vec<Change>,
    pub unchanged: usize,
    pub failed: Vec<Failure>,
}

pub struct Store {
    repo: Repository,
    dir: PathBuf,
    author: Author,
    /// Held for the store's life; dropping it (or dying) releases the repository.
    _lock: Flock<File>,
}

impl Store {
    /// Opens the repository at `dir`, creating it (branch `main`) if `dir` is new or empty,
    /// and takes its lock or says who holds it.
    pub fn open(dir: &Path, author: Author) -> Result<Self, StoreError> {
        let git = |source| StoreError::Git {
            repo: dir.to_path_buf(),
            source,
        };
        let io = |source| StoreError::Io {
            repo: dir.to_path_buf(),
            source,
        };
        let repo = match Repository::open(dir) {
            Ok(repo) => repo,
            Err(e) if e.code() == ErrorCode::NotFound => {
                std::fs::create_dir_all(dir).map_err(io)?;
                let mut options = RepositoryInitOptions::new();
                options.initial_head("main").no_reinit(true);
                Repository::init_opts(dir, &options).map_err(git)?
            }
            Err(e) => return Err(git(e)),
        };
        let lock_path = repo.path().join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, errno)) if errno == nix::errno::Errno::EWOULDBLOCK => {
                let holder = std::fs::read_to_string(&lock_path)
                    .ok()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "holder unknown".into());
                return Err(StoreError::Busy {
                    repo: dir.to_path_buf(),
                    holder,
                });
            }
            Err((_, errno)) => return Err(io(std::io::Error::from(errno))),
        };
        let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        lock.set_len(0).map_err(io)?;
        writeln!(lock, "pid {} since {started}", std::process::id()).map_err(io)?;
        let store = Store {
            repo,
            dir: dir.to_path_buf(),
            author,
            _lock: lock,
        };
        store.remove_stale_git_locks()?;
        store.sync_work_tree()?;
        Ok(store)
    }

    fn git(&self, source: git2::Error) -> StoreError {
        StoreError::Git {
            repo: self.dir.clone(),
            source,
        }
    }

    /// A run killed while libgit2 held a `.lock` of its own (the index, a ref) leaves it
    /// behind, and every later write would fail on it. Under our lock no other fanout writes
    /// here, so such a file is a leftover.
    fn remove_stale_git_locks(&self) -> Result<(), StoreError> {
        let git_dir = self.repo.path();
        let mut candidates = vec![git_dir.join("index.lock"), git_dir.join("HEAD.lock")];
        if let Ok(entries) = std::fs::read_dir(git_dir.join("refs/heads")) {
            candidates.extend(entries.flatten().map(|e| e.path()));
        }
        for path in candidates {
            if path.extension().is_some_and(|e| e == "lock") && path.is_file() {
                tracing::warn!(path = %path.display(), "removing a lock left by a killed run");
                std::fs::remove_file(&path).map_err(|source| StoreError::Io {
                    repo: self.dir.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// Brings the work tree and index to the branch's commit when the index says they lag
    /// behind it (a run killed between its commit and its checkout); files of other commits
    /// are overwritten, untracked files left alone. Nothing to do in a bare repository or
    /// before the first commit. Checking the index first keeps a 10,000-file checkout (seconds)
    /// out of every run.
    fn sync_work_tree(&self) -> Result<(), StoreError> {
        let git = |e| self.git(e);
        let Some(head) = self.head()? else {
            return Ok(());
        };
        if self.repo.is_bare() {
            return Ok(());
        }
        let indexed = self
            .repo
            .index()
            .and_then(|mut i| i.write_tree())
            .map_err(git)?;
        if indexed == head.tree_id() {
            return Ok(());
        }
        tracing::warn!(repo = %self.dir.display(), "the work tree lags behind the last commit: checking it out");
        self.repo
            .checkout_head(Some(CheckoutBuilder::new().force()))
            .map_err(git)
    }

    /// Checks out only `paths` of the new commit (the files a run changed), so the work tree
    /// follows a run in time proportional to its changes, not to the fleet.
    fn check_out(&self, paths: &[&str]) -> Result<(), StoreError> {
        if self.repo.is_bare() || paths.is_empty() {
            return Ok(());
        }
        let mut checkout = CheckoutBuilder::new();
        checkout.force().disable_pathspec_match(true);
        for path in paths {
            checkout.path(path);
        }
        self.repo
            .checkout_head(Some(&mut checkout))
            .map_err(|e| self.git(e))
    }

    fn head(&self) -> Result<Option<git2::Commit<'_>>, StoreError> {
        match self.repo.head() {
            Ok(head) => head.peel_to_commit().map(Some).map_err(|e| self.git(e)),
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
            Err(e) => Err(self.git(e)),
        }
    }

    /// Applies one run: changed configurations replace their files, unchanged and failed
    /// devices leave theirs as they are, `failed.json` lists this run's failures, and one
    /// commit records it all (none when nothing changed).
    pub fn commit(&self, outcomes: Vec<DeviceOutcome>) -> Result<Committed, StoreError> {
        let git = |e| self.git(e);
        let clock = std::time::Instant::now();
        let head = self.head()?;
        let base = match &head {
            Some(commit) => commit.tree().map_err(git)?,
            None => {
                let empty = self
                    .repo
                    .treebuilder(None)
                    .map_err(git)?
                    .write()
                    .map_err(git)?;
                self.repo.find_tree(empty).map_err(git)?
            }
        };
        let mut paths: BTreeMap<String, String> = match self.read(&base, HOSTS_FILE)? {
            Some(text) => serde_json::from_slice(&text).map_err(|e| StoreError::Corrupt {
                repo: self.dir.clone(),
                file: HOSTS_FILE,
                reason: e.to_string(),
            })?,
            None => BTreeMap::new(),
        };
        let stored = self.blob_ids(&base)?;
        let mut update = TreeUpdateBuilder::new();
        let (mut changed, mut failed, mut unchanged) = (Vec::new(), Vec::new(), 0usize);
        // Files the commit adds, replaces or removes: the work tree follows these only.
        let mut touched: Vec<String> = Vec::new();
        for outcome in outcomes {
            let config = match outcome.config {
                Ok(config) => config,
                Err(mut failure) => {
                    failure.kept = paths.get(&outcome.host).cloned();
                    failed.push(failure);
                    continue;
                }
            };
            let previous_path = paths.get(&outcome.host).cloned();
            let id = Oid::hash_object(ObjectType::Blob, config.as_bytes()).map_err(git)?;
            // Unchanged is decided on object ids alone: the old file is read only to diff a
            // change, so an unchanged fleet costs one hash per device.
            if previous_path.as_deref() == Some(outcome.path.as_str())
                && stored.get(&outcome.path) == Some(&id)
            {
                unchanged += 1;
                continue;
            }
            let previous = match &previous_path {
                Some(path) => self.read(&base, path)?,
                None => None,
            };
            let blob = self.repo.blob(config.as_bytes()).map_err(git)?;
            update.upsert(&outcome.path, blob, FileMode::Blob);
            if let Some(old) = previous_path.filter(|old| *old != outcome.path) {
                // The host moved (its group changed): its file moves with it.
                update.remove(&old);
                touched.push(old);
            }
            touched.push(outcome.path.clone());
            let (added, removed, patch) =
                line_diff(previous.as_deref().unwrap_or_default(), &config).map_err(git)?;
            changed.push(Change {
                host: outcome.host.clone(),
                path: outcome.path.clone(),
                new: previous.is_none(),
                added,
                removed,
                patch,
            });
            paths.insert(outcome.host, outcome.path);
        }
        changed.sort_by(|a, b| a.host.cmp(&b.host));
        failed.sort();
        let mut hosts_json = serde_json::to_vec_pretty(&paths).expect("a map of strings");
        hosts_json.push(b'\n');
        let mut failed_json = serde_json::to_vec_pretty(&failed).expect("failures serialise");
        failed_json.push(b'\n');
        for (file, bytes) in [(HOSTS_FILE, hosts_json), (FAILED_FILE, failed_json)] {
            if self.read(&base, file)?.as_deref() != Some(bytes.as_slice()) {
                let blob = self.repo.blob(&bytes).map_err(git)?;
                update.upsert(file, blob, FileMode::Blob);
                touched.push(file.to_string());
            }
        }
        let summary = summary(changed.len(), unchanged, failed.len());
        tracing::debug!(elapsed = ?clock.elapsed(), "blobs written");
        let tree_id = update.create_updated(&self.repo, &base).map_err(git)?;
        tracing::debug!(elapsed = ?clock.elapsed(), "tree written");
        let commit = if head.is_some() && tree_id == base.id() {
            None
        } else {
            let tree = self.repo.find_tree(tree_id).map_err(git)?;
            let signature = Signature::now(&self.author.name, &self.author.email).map_err(git)?;
            let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
            let message = message(&summary, &changed, &failed);
            let id = self
                .repo
                .commit(
                    Some("HEAD"),
                    &signature,
                    &signature,
                    &message,
                    &tree,
                    &parents,
                )
                .map_err(git)?;
            tracing::debug!(elapsed = ?clock.elapsed(), "commit written");
            let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
            if head.is_none() {
                // The first commit: the index is empty, everything is new.
                self.repo
                    .checkout_head(Some(CheckoutBuilder::new().force()))
                    .map_err(git)?;
            } else {
                self.check_out(&touched)?;
            }
            Some(id.to_string())
        };
        Ok(Committed {
            commit,
            summary,
            changed,
            unchanged,
            failed,
        })
    }

    /// Pushes the branch to the remote of `target` (a remote of the repository, as `git remote
    /// add` made it). Run after every backup, changed or not, so a push that failed once
    /// catches up. A remote on a local path or `file://` is written by libgit2 itself; an
    /// `ssh://` one goes through fanout's SSH client (see [`super::push`]), an `https://` one
    /// through reqwest (see [`super::https`]); plain `http://` and `git://` are refused.
    pub fn push(&self, target: &PushTarget) -> Result<(), StoreError> {
        // The server words part of the message (a refusal's reason, `remote error: ...`): its
        // control characters are escaped, so that it cannot command the terminal it is
        // printed on.
        self.push_via(target).map_err(|e| match e {
            StoreError::Git { repo, source } => StoreError::Git {
                repo,
                source: git2::Error::new(
                    source.code(),
                    source.class(),
                    crate::terminal_text::line(source.message()),
                ),
            },
            other => other,
        })
    }

    fn push_via(&self, target: &PushTarget) -> Result<(), StoreError> {
        let git = |e| self.git(e);
        let remote = self.repo.find_remote(&target.remote).map_err(git)?;
        let url = remote
            .pushurl()
            .or(remote.url())
            .unwrap_or_default()
            .to_string();
        drop(remote);
        // libgit2 reads a scheme in any case (`HTTP://` reaches its own plain-HTTP
        // transport), so the checks below do too.
        let url = match url.split_once("://") {
            Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
            None => url,
        };
        if url.starts_with("ssh://") {
            return super::push::with_ssh(&target.ssh, || self.push_to(&target.remote))
                .map_err(|e| self.git(git2::Error::from_str(&e)))?;
        }
        if url.starts_with("https://") {
            return super::https::with_https(&target.https, || self.push_to(&target.remote))
                .map_err(|e| self.git(git2::Error::from_str(&e)))?;
        }
        // Any other scheme libgit2 would take is refused, not only the ones known today: a
        // transport of its own would carry the URL's credentials and the configurations
        // unchecked. The URL is not repeated: it may hold a password.
        if let Some((scheme, _)) = url.split_once("://")
            && scheme != "file"
        {
            let why = if matches!(scheme, "http" | "git") {
                "unencrypted"
            } else {
                "not supported"
            };
            return Err(self.git(git2::Error::from_str(&format!(
                "remote {} is {scheme}://, {why}: fanout pushes to a local path, file://, \
                 ssh:// or https:// only",
                target.remote
            ))));
        }
        self.push_to(&target.remote)
    }

    fn push_to(&self, remote: &str) -> Result<(), StoreError> {
        let git = |e| self.git(e);
        let head = self.repo.head().map_err(git)?;
        let branch = head.name().unwrap_or("refs/heads/main").to_string();
        let mut target = self.repo.find_remote(remote).map_err(git)?;
        // The branch's status as the server reported it: `Some(None)` is its ok. libgit2
        // returns success from a server that never says (no `report-status`, or a report
        // without the branch), which must not pass for a push that landed.
        let reported: std::cell::RefCell<Option<Option<String>>> = std::cell::RefCell::new(None);
        let mut callbacks = git2::RemoteCallbacks::new();
        callbacks.push_update_reference(|reference, status| {
            if reference == branch {
                *reported.borrow_mut() = Some(status.map(str::to_string));
            }
            Ok(())
        });
        let mut options = git2::PushOptions::new();
        options.remote_callbacks(callbacks);
        target
            .push(&[format!("{branch}:{branch}")], Some(&mut options))
            .map_err(git)?;
        drop(options);
        let why = match reported.into_inner() {
            Some(None) => return Ok(()),
            Some(Some(why)) => format!("refused the push: {branch}: {why}"),
            None => format!("did not confirm the update of {branch}"),
        };
        Err(self.git(git2::Error::from_str(&format!("{remote} {why}"))))
    }

    /// Every file's object id in a tree, by path, in one walk. Looking each device up with
    /// `get_path` instead re-read its directory's tree object every time (libgit2 caches only
    /// small trees), which at 10,000 devices took seconds.
    fn blob_ids(&self, tree: &git2::Tree<'_>) -> Result<HashMap<String, Oid>, StoreError> {
        let mut ids = HashMap::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(ObjectType::Blob)
                && let Some(name) = entry.name()
            {
                ids.insert(format!("{dir}{name}"), entry.id());
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(|e| self.git(e))?;
        Ok(ids)
    }

    /// A file's bytes in a tree, `None` if it is not there.
    fn read(&self, tree: &git2::Tree<'_>, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(self.git(e)),
        };
        let blob = self.repo.find_blob(entry.id()).map_err(|e| self.git(e))?;
        Ok(Some(blob.content().to_vec()))
    }
}

/// Lines added and removed from `old` to `new`, as `git diff --stat` counts them, and the
/// unified diff's hunks.
pub fn line_diff(old: &[u8], new: &str) -> Result<(usize, usize, String), git2::Error> {
    let mut patch = git2::Patch::from_buffers(old, None, new.as_bytes(), None, None)?;
    let (_, added, removed) = patch.line_stats()?;
    let text = patch.to_buf()?;
    let text = String::from_utf8_lossy(&text);
    // The hunks only: the header names no file, since none was given.
    let hunks = text.find("@@").map_or("", |at| &text[at..]);
    Ok((added, removed, hunks.to_string()))
}

/// `47 changed, 9,912 unchanged, 3 failed`.
pub fn summary(changed: usize, unchanged: usize, failed: usize) -> String {
    format!(
        "{} changed, {} unchanged, {} failed",
        thousands(changed),
        thousands(unchanged),
        thousands(failed)
    )
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The summary as the subject, then the changed and failed hosts (names only: never a line of
/// configuration, so a message cannot carry a secret).
fn message(summary: &str, changed: &[Change], failed: &[Failure]) -> String {
    let mut message = format!("backup: {summary}\n");
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        message.push_str(&format!("\n{title}:\n"));
        for line in lines.iter().take(MESSAGE_HOSTS) {
            message.push_str(&format!("  {line}\n"));
        }
        if lines.len() > MESSAGE_HOSTS {
            message.push_str(&format!("  ... and {} more\n", lines.len() - MESSAGE_HOSTS));
        }
    };
    section(
        "changed",
        changed
            .iter()
            .map(|c| format!("{} +{} -{}", c.host, c.added, c.removed))
            .collect(),
    );
    section(
        "failed",
        failed
            .iter()
            .map(|f| format!("{} ({})", f.host, f.kind))
            .collect(),
    );
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn author() -> Author {
        Author::parse("Backup Bot <bot@example.net>").unwrap()
    }

    fn ok(host: &str, config: &str) -> DeviceOutcome {
        DeviceOutcome {
            host: host.into(),
            path: format!("g/{host}.cfg"),
            config: Ok(config.into()),
        }
    }

    fn failed(host: &str) -> DeviceOutcome {
        DeviceOutcome {
            host: host.into(),
            path: format!("g/{host}.cfg"),
            config: Err(Failure {
                host: host.into(),
                kind: "timeout".into(),
                message: "no prompt".into(),
                kept: None,
            }),
        }
    }

    #[test]
    fn unchanged_devices_change_nothing_and_failed_ones_keep_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let store = Store::open(&repo, author()).unwrap();
        let first = store
            .commit(vec![ok("r1", "a\nb\n"), ok("r2", "x\n"), failed("r3")])
            .unwrap();
        assert_eq!(first.summary, "2 changed, 0 unchanged, 1 failed");
        assert!(first.commit.is_some());
        assert_eq!(
            std::fs::read_to_string(repo.join("g/r1.cfg")).unwrap(),
            "a\nb\n"
        );

        let second = store
            .commit(vec![ok("r1", "a\nc\nd\n"), failed("r2"), failed("r3")])
            .unwrap();
        assert_eq!(second.summary, "1 changed, 0 unchanged, 2 failed");
        assert_eq!((second.changed[0].added, second.changed[0].removed), (2, 1));
        // r2 failed: its last good file stays, and failed.json says it was kept.
        assert_eq!(
            std::fs::read_to_string(repo.join("g/r2.cfg")).unwrap(),
            "x\n"
        );
        let listed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(repo.join(FAILED_FILE)).unwrap())
                .unwrap();
        assert_eq!(listed[0]["host"], "r2");
        assert_eq!(listed[0]["kept"], "g/r2.cfg");
        assert_eq!(listed[1]["kept"], serde_json::Value::Null);

        let third = store
            .commit(vec![ok("r1", "a\nc\nd\n"), failed("r2"), failed("r3")])
            .unwrap();
        assert_eq!(third.commit, None, "nothing changed, yet a commit was made");
        assert_eq!(third.unchanged, 1);
    }

    #[test]
    fn a_second_run_on_the_same_repository_is_refused_while_the_first_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path(), author()).unwrap();
        let err = Store::open(dir.path(), author()).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("another fanout backup is running"), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        Store::open(dir.path(), author()).unwrap();
    }

    #[test]
    fn a_host_whose_group_changed_moves_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), author()).unwrap();
        store.commit(vec![ok("r1", "a\n")]).unwrap();
        let mut moved = ok("r1", "a\n");
        moved.path = "h/r1.cfg".into();
        let run = store.commit(vec![moved]).unwrap();
        assert_eq!(run.changed.len(), 1);
        assert!(dir.path().join("h/r1.cfg").exists());
        assert!(!dir.path().join("g/r1.cfg").exists());
    }

    #[test]
    fn a_work_tree_left_behind_by_a_killed_run_is_brought_to_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), author()).unwrap();
        store
            .commit(vec![ok("r1", "a\n"), ok("r2", "b\n")])
            .unwrap();
        // What a run killed after its commit and before its checkout leaves: the branch moved,
        // index and files did not.
        let repo = &store.repo;
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        let blob = repo.blob(b"changed\n").unwrap();
        let mut update = TreeUpdateBuilder::new();
        update.upsert("g/r1.cfg", blob, FileMode::Blob);
        let tree = update.create_updated(repo, &head.tree().unwrap()).unwrap();
        let tree = repo.find_tree(tree).unwrap();
        let sig = Signature::now("t", "t@example.net").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "moved", &tree, &[&head])
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("g/r1.cfg")).unwrap(),
            "a\n"
        );
        drop((tree, head));
        drop(store);
        let _store = Store::open(dir.path(), author()).unwrap();
        let file = std::fs::read_to_string(dir.path().join("g/r1.cfg")).unwrap();
        assert_eq!(file, "changed\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("g/r2.cfg")).unwrap(),
            "b\n"
        );
    }

    #[test]
    fn locks_of_libgit2_left_by_a_killed_run_do_not_stop_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), author()).unwrap();
        store.commit(vec![ok("r1", "a\n")]).unwrap();
        drop(store);
        for stale in ["index.lock", "refs/heads/main.lock"] {
            std::fs::write(dir.path().join(".git").join(stale), "").unwrap();
        }
        let store = Store::open(dir.path(), author()).unwrap();
        let run = store.commit(vec![ok("r1", "b\n")]).unwrap();
        assert!(run.commit.is_some());
        assert!(!dir.path().join(".git/index.lock").exists());
    }

    #[test]
    fn summaries_group_thousands() {
        assert_eq!(
            summary(47, 9912, 3),
            "47 changed, 9,912 unchanged, 3 failed"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(100), "100");
    }

    #[test]
    fn authors_are_name_and_email() {
        let a = Author::parse("Net Ops <ops@example.net>").unwrap();
        assert_eq!(
            (a.name.as_str(), a.email.as_str()),
            ("Net Ops", "ops@example.net")
        );
        assert!(Author::parse("ops@example.net").is_err());
        assert!(Author::parse("<ops@example.net>").is_err());
    }
}

#[cfg(test)]
mod push_tests {
    use super::*;
    use crate::backup::push::{PushTarget, SshSettings};

    /// libgit2 picks its transport by a scheme of any case, and has a plain-HTTP one of its
    /// own: `HTTP://user:password@host/...` went past the refusal of `http://` and sent the
    /// URL's password, then the configurations, in clear. Nothing may reach the listener.
    #[test]
    fn unencrypted_remotes_are_refused_whatever_the_case_of_their_scheme() {
        // Each connection is counted and closed at once, so a push that gets through fails
        // fast instead of waiting for an answer.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connected = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connected.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("repo"),
            Author::parse("Backup Bot <bot@example.net>").unwrap(),
        )
        .unwrap();
        store.commit(Vec::new()).unwrap();
        let target = |name: &str| PushTarget {
            remote: name.into(),
            ssh: SshSettings {
                key: Default::default(),
                key_path: String::new(),
                passphrase: Default::default(),
                known_hosts: dir.path().join("known_hosts"),
            },
            https: Default::default(),
        };
        for (name, url) in [
            (
                "upper",
                format!("HTTP://u:pw-in-url@127.0.0.1:{port}/x.git"),
            ),
            ("mixed", format!("Http://127.0.0.1:{port}/x.git")),
            ("git", format!("GIT://127.0.0.1:{port}/x.git")),
        ] {
            store.repo.remote(name, &url).unwrap();
            let refused = store.push(&target(name)).unwrap_err().to_string();
            assert!(refused.contains("unencrypted"), "{url}: {refused}");
            assert!(!refused.contains("pw-in-url"), "{refused}");
            let connections = connected.load(std::sync::atomic::Ordering::SeqCst);
            assert_eq!(connections, 0, "{url}: something connected");
        }
        // Nor any scheme fanout does not carry itself.
        let url = format!("FTP://127.0.0.1:{port}/x.git");
        store.repo.remote("ftp", &url).unwrap();
        let refused = store.push(&target("ftp")).unwrap_err().to_string();
        assert!(refused.contains("ftp://, not supported"), "{refused}");
        assert_eq!(connected.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
