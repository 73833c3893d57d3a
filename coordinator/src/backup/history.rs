//! Reading the repository back: `fanout diff HOST [REV]` and `fanout history HOST`. A host is
//! found through `fanout-hosts.json` of the branch's last commit, whatever the layout was.

use super::store::{HOSTS_FILE, StoreError};
use git2::{ErrorCode, Oid, Repository, Sort};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{repo}: not a backup repository: {source}")]
    Open { repo: PathBuf, source: git2::Error },
    #[error("{repo}: has no backup yet")]
    Empty { repo: PathBuf },
    #[error("{repo}: no host {host:?} has been backed up")]
    UnknownHost { repo: PathBuf, host: String },
    #[error("{repo}: {rev:?} is not a revision: {source}")]
    Revision {
        repo: PathBuf,
        rev: String,
        source: git2::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One commit that changed a host's file.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub commit: String,
    pub time_unix: i64,
    pub author: String,
    pub summary: String,
    pub added: usize,
    pub removed: usize,
}

/// A host's file between two commits.
#[derive(Debug, Clone, Serialize)]
pub struct HostDiff {
    pub host: String,
    pub path: String,
    /// The older side; `None` when the file did not exist there.
    pub from: Option<String>,
    pub to: String,
    pub added: usize,
    pub removed: usize,
    /// Unified diff, `git diff` style.
    pub patch: String,
}

pub struct BackupRepo {
    repo: Repository,
    dir: PathBuf,
}

impl BackupRepo {
    pub fn open(dir: &Path) -> Result<Self, ReadError> {
        let repo = Repository::open(dir).map_err(|source| ReadError::Open {
            repo: dir.to_path_buf(),
            source,
        })?;
        Ok(BackupRepo {
            repo,
            dir: dir.to_path_buf(),
        })
    }

    fn git(&self, source: git2::Error) -> ReadError {
        ReadError::Store(StoreError::Git {
            repo: self.dir.clone(),
            source,
        })
    }

    fn head(&self) -> Result<git2::Commit<'_>, ReadError> {
        let empty = || ReadError::Empty {
            repo: self.dir.clone(),
        };
        let head = self.repo.head().map_err(|e| match e.code() {
            ErrorCode::UnbornBranch | ErrorCode::NotFound => empty(),
            _ => self.git(e),
        })?;
        head.peel_to_commit().map_err(|e| self.git(e))
    }

    /// The host's file in the last commit's layout.
    pub fn path_of(&self, host: &str) -> Result<String, ReadError> {
        let tree = self.head()?.tree().map_err(|e| self.git(e))?;
        let paths: BTreeMap<String, String> = self
            .blob_at(&tree, HOSTS_FILE)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        paths
            .get(host)
            .cloned()
            .ok_or_else(|| ReadError::UnknownHost {
                repo: self.dir.clone(),
                host: host.to_string(),
            })
    }

    fn blob_at(&self, tree: &git2::Tree<'_>, path: &str) -> Result<Option<Vec<u8>>, ReadError> {
        match tree.get_path(Path::new(path)) {
            Ok(entry) => {
                let blob = self.repo.find_blob(entry.id()).map_err(|e| self.git(e))?;
                Ok(Some(blob.content().to_vec()))
            }
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.git(e)),
        }
    }

    fn entry_id(&self, commit: &git2::Commit<'_>, path: &str) -> Result<Option<Oid>, ReadError> {
        let tree = commit.tree().map_err(|e| self.git(e))?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(Some(entry.id())),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.git(e)),
        }
    }

    /// The commits that changed the host's file, newest first.
    pub fn history(&self, host: &str) -> Result<Vec<Revision>, ReadError> {
        let path = self.path_of(host)?;
        let git = |e| self.git(e);
        let mut walk = self.repo.revwalk().map_err(git)?;
        walk.push(self.head()?.id()).map_err(git)?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
            .map_err(git)?;
        let mut revisions = Vec::new();
        for id in walk {
            let commit = self.repo.find_commit(id.map_err(git)?).map_err(git)?;
            let now = self.entry_id(&commit, &path)?;
            let before = match commit.parent(0) {
                Ok(parent) => self.entry_id(&parent, &path)?,
                Err(_) => None,
            };
            if now == before || now.is_none() {
                continue;
            }
            let (added, removed) = self.counts(before, now)?;
            revisions.push(Revision {
                commit: commit.id().to_string(),
                time_unix: commit.time().seconds(),
                author: commit.author().to_string(),
                summary: commit.summary().unwrap_or_default().to_string(),
                added,
                removed,
            });
        }
        Ok(revisions)
    }

    fn content(&self, id: Option<Oid>) -> Result<Vec<u8>, ReadError> {
        match id {
            Some(id) => Ok(self
                .repo
                .find_blob(id)
                .map_err(|e| self.git(e))?
                .content()
                .to_vec()),
            None => Ok(Vec::new()),
        }
    }

    fn counts(&self, old: Option<Oid>, new: Option<Oid>) -> Result<(usize, usize), ReadError> {
        let (old, new) = (self.content(old)?, self.content(new)?);
        let patch =
            git2::Patch::from_buffers(&old, None, &new, None, None).map_err(|e| self.git(e))?;
        let (_, added, removed) = patch.line_stats().map_err(|e| self.git(e))?;
        Ok((added, removed))
    }

    /// The host's file from `rev` to the last commit; without `rev`, its last change (from
    /// the commit before it to the commit that made it).
    pub fn diff(&self, host: &str, rev: Option<&str>) -> Result<HostDiff, ReadError> {
        let path = self.path_of(host)?;
        let (from, to) = match rev {
            Some(rev) => {
                let from = self
                    .repo
                    .revparse_single(rev)
                    .and_then(|o| o.peel_to_commit())
                    .map_err(|source| ReadError::Revision {
                        repo: self.dir.clone(),
                        rev: rev.to_string(),
                        source,
                    })?;
                (Some(from.id()), self.head()?.id())
            }
            None => match self.history(host)?.first() {
                Some(last) => {
                    let to = self
                        .repo
                        .find_commit(Oid::from_str(&last.commit).map_err(|e| self.git(e))?)
                        .map_err(|e| self.git(e))?;
                    (to.parent_id(0).ok(), to.id())
                }
                None => (None, self.head()?.id()),
            },
        };
        let entry = |commit: Option<Oid>| -> Result<Option<Oid>, ReadError> {
            let Some(commit) = commit else {
                return Ok(None);
            };
            let commit = self.repo.find_commit(commit).map_err(|e| self.git(e))?;
            self.entry_id(&commit, &path)
        };
        let (old, new) = (self.content(entry(from)?)?, self.content(entry(Some(to))?)?);
        // libgit2 adds the `a/` and `b/` prefixes itself.
        let patch = git2::Patch::from_buffers(
            &old,
            Some(Path::new(&path)),
            &new,
            Some(Path::new(&path)),
            None,
        )
        .map_err(|e| self.git(e))?;
        let (_, added, removed) = patch.line_stats().map_err(|e| self.git(e))?;
        let mut patch = patch;
        let text = patch.to_buf().map_err(|e| self.git(e))?;
        Ok(HostDiff {
            host: host.to_string(),
            path,
            from: from.map(|id| id.to_string()),
            to: to.to_string(),
            added,
            removed,
            patch: String::from_utf8_lossy(&text).into_owned(),
        })
    }
}
