//! The coordinator's state directory: every job survives a restart. A finished job is kept for
//! `fanout jobs` and `fanout watch`; an unfinished one resumes, and its hosts that already have
//! a result are not run again.
//!
//! One directory per job under `jobs/`:
//! - `job.pb`: the submitted job (hosts and their credentials included), written once;
//! - `status.pb`: the job's status, rewritten (atomically) when it ends;
//! - `records.pb`: each accepted host result, length-delimited, appended as it arrives.
//!
//! Credentials are at rest here, so the directory is 0700 and every file 0600.

use fanout_common::proto::{JobRecord, JobStatus, SubmitJob};
use prost::Message;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use tracing::warn;

#[derive(Debug, thiserror::Error)]
#[error("state directory {path}: {source}")]
pub struct StoreError {
    pub path: PathBuf,
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError {
        path: path.to_path_buf(),
        source,
    }
}

/// A job as found in the state directory.
pub struct StoredJob {
    pub submitted: SubmitJob,
    pub status: JobStatus,
    pub records: Vec<JobRecord>,
}

#[derive(Debug, Clone)]
pub struct Store {
    jobs: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let jobs = dir.join("jobs");
        private_dir(dir)?;
        private_dir(&jobs)?;
        Ok(Self { jobs })
    }

    /// Records a new job before any host of it runs.
    pub fn create(&self, submitted: &SubmitJob, status: &JobStatus) -> Result<(), StoreError> {
        let dir = self.jobs.join(&status.job_id);
        private_dir(&dir)?;
        write_atomically(&dir.join("job.pb"), &submitted.encode_to_vec())?;
        self.save_status(status)
    }

    pub fn save_status(&self, status: &JobStatus) -> Result<(), StoreError> {
        let path = self.jobs.join(&status.job_id).join("status.pb");
        write_atomically(&path, &status.encode_to_vec())
    }

    /// Appends one accepted result. Each record is one write, so a crash loses at most the
    /// record being written, and a torn one is dropped on the next load.
    pub fn append(&self, job_id: &str, record: &JobRecord) -> Result<(), StoreError> {
        let path = self.jobs.join(job_id).join("records.pb");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(at(&path))?;
        file.write_all(&record.encode_length_delimited_to_vec())
            .map_err(at(&path))
    }

    /// Every job in the directory, oldest first. A job whose files cannot be read is skipped
    /// with a warning rather than keeping the coordinator from starting.
    pub fn load(&self) -> Result<Vec<StoredJob>, StoreError> {
        let mut jobs = Vec::new();
        for entry in fs::read_dir(&self.jobs).map_err(at(&self.jobs))? {
            let dir = entry.map_err(at(&self.jobs))?.path();
            match load_job(&dir) {
                Ok(job) => jobs.push(job),
                Err(e) => warn!(error = %e, "job in the state directory skipped"),
            }
        }
        jobs.sort_by_key(|j| j.status.submitted_unix_ms);
        Ok(jobs)
    }
}

fn load_job(dir: &Path) -> Result<StoredJob, StoreError> {
    let decode = |path: &Path, e: prost::DecodeError| StoreError {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    };
    let job_path = dir.join("job.pb");
    let submitted = SubmitJob::decode(fs::read(&job_path).map_err(at(&job_path))?.as_slice())
        .map_err(|e| decode(&job_path, e))?;
    let status_path = dir.join("status.pb");
    let status = JobStatus::decode(fs::read(&status_path).map_err(at(&status_path))?.as_slice())
        .map_err(|e| decode(&status_path, e))?;
    let records = load_records(&dir.join("records.pb"))?;
    Ok(StoredJob {
        submitted,
        status,
        records,
    })
}

/// Reads the appended records; a torn last record (a crash mid-write) is cut off so that later
/// appends follow the last whole one.
fn load_records(path: &Path) -> Result<Vec<JobRecord>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(at(path)(e)),
    };
    let mut records = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let before = rest;
        match JobRecord::decode_length_delimited(&mut rest) {
            Ok(record) => records.push(record),
            Err(e) => {
                let good = bytes.len() - before.len();
                warn!(path = %path.display(), error = %e, kept = records.len(), "torn record at the end dropped");
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(at(path))?;
                file.set_len(good as u64).map_err(at(path))?;
                break;
            }
        }
    }
    Ok(records)
}

fn private_dir(path: &Path) -> Result<(), StoreError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(at(path))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temp = path.with_extension("tmp");
    let mut file: File = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .map_err(at(&temp))?;
    file.write_all(bytes).map_err(at(&temp))?;
    file.sync_all().map_err(at(&temp))?;
    fs::rename(&temp, path).map_err(at(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::proto::HostResult;
    use std::os::unix::fs::PermissionsExt;

    fn record(host: &str) -> JobRecord {
        JobRecord {
            result: Some(HostResult {
                host: host.into(),
                ok: true,
                ..Default::default()
            }),
            outputs: vec![b"hostname r1\n".to_vec()],
            ..Default::default()
        }
    }

    #[test]
    fn a_job_and_its_records_come_back_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let status = JobStatus {
            job_id: "j1".into(),
            hosts: 3,
            ..Default::default()
        };
        store.create(&SubmitJob::default(), &status).unwrap();
        store.append("j1", &record("r1")).unwrap();
        store.append("j1", &record("r2")).unwrap();
        let records = dir.path().join("jobs/j1/records.pb");
        let mut torn = record("r3").encode_length_delimited_to_vec();
        torn.truncate(torn.len() - 3);
        OpenOptions::new()
            .append(true)
            .open(&records)
            .unwrap()
            .write_all(&torn)
            .unwrap();

        let jobs = store.load().unwrap();
        let hosts: Vec<&str> = jobs[0]
            .records
            .iter()
            .map(|r| r.result.as_ref().unwrap().host.as_str())
            .collect();
        assert_eq!(hosts, vec!["r1", "r2"]);
        assert_eq!(jobs[0].status.hosts, 3);
        // The next append follows the last whole record.
        store.append("j1", &record("r3")).unwrap();
        assert_eq!(store.load().unwrap()[0].records.len(), 3);

        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&records), 0o600);
        assert_eq!(mode(&dir.path().join("jobs/j1/job.pb")), 0o600);
        assert_eq!(mode(&dir.path().join("jobs")), 0o700);
    }
}
