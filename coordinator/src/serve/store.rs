//! The coordinator's state directory: every job survives a restart. A finished job is kept for
//! `fanout jobs` and `fanout watch` until retention removes it; an unfinished one resumes, and
//! its hosts that already have a result are not run again.
//!
//! One directory per job under `jobs/`:
//! - `job.pb`: the submitted job. While the job runs it holds the hosts' credentials (a restart
//!   needs them to resume); when the job ends it is rewritten without them, and a restart
//!   finishes that rewrite if a crash came between the end and the rewrite.
//! - `status.pb`: the job's status, rewritten (atomically) when it ends;
//! - `records.pb`: each accepted host result with its outputs, length-delimited, appended as it
//!   arrives. This file, not memory, is where watchers read results from: the coordinator
//!   keeps only counts per job, so its memory does not grow with the outputs it has seen.
//!
//! Credentials are at rest here while a job runs, so the directory is 0700 and every file 0600.

use fanout_common::proto::{HostResult, JobRecord, JobState, JobStatus, SubmitJob};
use prost::Message;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use tracing::{info, warn};

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

/// A job as found in the state directory: what a restart needs, never its outputs.
pub struct StoredJob {
    pub status: JobStatus,
    /// The submitted job, credentials included: only for a job that had not ended, to resume.
    pub submitted: Option<SubmitJob>,
    /// Records in `records.pb`.
    pub records: usize,
    /// Hosts with a record: only for a job that had not ended (those are not run again).
    pub done: HashSet<String>,
    /// Failed records by failure kind (the proto number).
    pub failed_by_kind: BTreeMap<i32, u64>,
}

/// A record with only its result: prost skips the other fields (the outputs) without keeping
/// them, so a restart reads what it needs from records of any size.
#[derive(Clone, PartialEq, prost::Message)]
struct RecordHead {
    #[prost(message, optional, tag = "1")]
    result: Option<HostResult>,
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

    fn file(&self, job_id: &str, name: &str) -> PathBuf {
        self.jobs.join(job_id).join(name)
    }

    /// Records a new job before any host of it runs.
    pub fn create(&self, submitted: &SubmitJob, status: &JobStatus) -> Result<(), StoreError> {
        let dir = self.jobs.join(&status.job_id);
        private_dir(&dir)?;
        write_atomically(&dir.join("job.pb"), &submitted.encode_to_vec())?;
        let records = dir.join("records.pb");
        private_file(&records).map_err(at(&records))?;
        self.save_status(status)
    }

    pub fn save_status(&self, status: &JobStatus) -> Result<(), StoreError> {
        write_atomically(
            &self.file(&status.job_id, "status.pb"),
            &status.encode_to_vec(),
        )
    }

    /// Appends one accepted result. Each record is one write, so a crash loses at most the
    /// record being written, and a torn one is dropped on the next load. A write that fails
    /// (a full disk) is cut off again, so the records already there stay readable and the next
    /// append follows them.
    pub fn append(&self, job_id: &str, record: &JobRecord) -> Result<(), StoreError> {
        let path = self.file(job_id, "records.pb");
        let mut file = private_file(&path).map_err(at(&path))?;
        let before = file.metadata().map_err(at(&path))?.len();
        if let Err(e) = file.write_all(&record.encode_length_delimited_to_vec()) {
            if let Err(cut) = file.set_len(before) {
                warn!(path = %path.display(), error = %cut, "cannot cut off a failed record");
            }
            return Err(at(&path)(e));
        }
        Ok(())
    }

    /// The job's records, from the first, as they are on disk now and as they are appended.
    pub fn records(&self, job_id: &str) -> Result<RecordReader, StoreError> {
        let path = self.file(job_id, "records.pb");
        let file = File::open(&path).map_err(at(&path))?;
        Ok(RecordReader {
            file: BufReader::new(file),
            path,
        })
    }

    /// Rewrites a job that ended without the hosts' credentials: it will not run again, and
    /// passwords and keys must not outlive the job on disk.
    pub fn scrub(&self, job_id: &str) -> Result<(), StoreError> {
        let path = self.file(job_id, "job.pb");
        let mut submitted = read_message::<SubmitJob>(&path)?;
        if strip_credentials(&mut submitted) {
            write_atomically(&path, &submitted.encode_to_vec())?;
        }
        Ok(())
    }

    /// Deletes a job and everything recorded for it.
    pub fn remove(&self, job_id: &str) -> Result<(), StoreError> {
        let dir = self.jobs.join(job_id);
        fs::remove_dir_all(&dir).map_err(at(&dir))
    }

    /// Every job in the directory, oldest first, with what a restart needs and nothing more.
    /// A job whose files cannot be read is skipped with a warning rather than keeping the
    /// coordinator from starting.
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
    let status = read_message::<JobStatus>(&dir.join("status.pb"))?;
    let job_path = dir.join("job.pb");
    let mut submitted = read_message::<SubmitJob>(&job_path)?;
    let running = status.state() == JobState::Running;
    if !running && strip_credentials(&mut submitted) {
        // The job ended but the coordinator stopped before it could forget the credentials.
        write_atomically(&job_path, &submitted.encode_to_vec())?;
        info!(job = %status.job_id, "credentials of a finished job removed");
    }
    let mut stored = StoredJob {
        status,
        submitted: running.then_some(submitted),
        records: 0,
        done: HashSet::new(),
        failed_by_kind: BTreeMap::new(),
    };
    let path = dir.join("records.pb");
    let mut reader = match File::open(&path) {
        Ok(file) => RecordReader {
            file: BufReader::new(file),
            path: path.clone(),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(stored),
        Err(e) => return Err(at(&path)(e)),
    };
    let mut whole = 0u64;
    loop {
        let head = match reader.next_message::<RecordHead>() {
            Ok(Some(head)) => head,
            Ok(None) => break,
            Err(ReadError::Io(e)) => return Err(at(&path)(e)),
            Err(ReadError::Torn(why)) => {
                // A crash mid-write: cut it off so that later appends follow the last whole one.
                warn!(path = %path.display(), error = %why, kept = stored.records, "torn record at the end dropped");
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(at(&path))?;
                file.set_len(whole).map_err(at(&path))?;
                break;
            }
        };
        whole = reader.position().map_err(at(&path))?;
        stored.records += 1;
        let Some(result) = head.result else { continue };
        if let Some(failure) = &result.failure {
            *stored.failed_by_kind.entry(failure.kind).or_default() += 1;
        }
        if running {
            stored.done.insert(result.host);
        }
    }
    Ok(stored)
}

/// Clears every credential of the job's hosts; whether there was one.
fn strip_credentials(submitted: &mut SubmitJob) -> bool {
    let mut had = false;
    for host in &mut submitted.hosts {
        for secret in [
            &mut host.password,
            &mut host.secret,
            &mut host.ssh_key,
            &mut host.ssh_key_passphrase,
        ] {
            had |= !secret.is_empty();
            secret.clear();
        }
    }
    had
}

/// Why a record could not be read.
#[derive(Debug)]
enum ReadError {
    /// The file could not be read.
    Io(io::Error),
    /// The bytes end inside a record or do not decode: a crash mid-write.
    Torn(String),
}

/// Reads a job's `records.pb` from the start, one record at a time, without loading the file.
pub struct RecordReader {
    file: BufReader<File>,
    path: PathBuf,
}

impl RecordReader {
    /// The next record, or `None` at the end of what is written.
    pub fn next_record(&mut self) -> Result<Option<JobRecord>, StoreError> {
        self.next_message::<JobRecord>().map_err(|e| self.error(e))
    }

    /// Passes over the next record without decoding it; false at the end of what is written.
    pub fn skip(&mut self) -> Result<bool, StoreError> {
        let Some(len) = self.length().map_err(|e| self.error(e))? else {
            return Ok(false);
        };
        let len = i64::try_from(len).map_err(|_| self.error(ReadError::Torn("huge".into())))?;
        self.file
            .seek_relative(len)
            .map_err(|e| self.error(ReadError::Io(e)))?;
        Ok(true)
    }

    fn error(&self, e: ReadError) -> StoreError {
        let source = match e {
            ReadError::Io(e) => e,
            ReadError::Torn(why) => io::Error::new(io::ErrorKind::InvalidData, why),
        };
        at(&self.path)(source)
    }

    fn position(&mut self) -> io::Result<u64> {
        self.file.stream_position()
    }

    fn next_message<M: Message + Default>(&mut self) -> Result<Option<M>, ReadError> {
        let Some(len) = self.length()? else {
            return Ok(None);
        };
        let len = usize::try_from(len).map_err(|_| ReadError::Torn("huge record".into()))?;
        let mut body = vec![0; len];
        self.file.read_exact(&mut body).map_err(torn_at_eof)?;
        M::decode(body.as_slice())
            .map(Some)
            .map_err(|e| ReadError::Torn(e.to_string()))
    }

    /// The varint length that starts a record; `None` at a clean end of file.
    fn length(&mut self) -> Result<Option<u64>, ReadError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = match self.file.fill_buf().map_err(ReadError::Io)?.first() {
                Some(&byte) => byte,
                None if shift == 0 => return Ok(None),
                None => return Err(ReadError::Torn("the file ends inside a length".into())),
            };
            self.file.consume(1);
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err(ReadError::Torn("a length longer than 64 bits".into()))
    }
}

fn torn_at_eof(e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ReadError::Torn("the file ends inside a record".into())
    } else {
        ReadError::Io(e)
    }
}

fn read_message<M: Message + Default>(path: &Path) -> Result<M, StoreError> {
    let bytes = fs::read(path).map_err(at(path))?;
    M::decode(bytes.as_slice()).map_err(|e| StoreError {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })
}

fn private_dir(path: &Path) -> Result<(), StoreError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(at(path))
}

/// Opens for appending, creating it 0600 if missing.
fn private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
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
    use fanout_common::proto::{Failure, HostTarget};
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

    fn status(id: &str, state: JobState) -> JobStatus {
        JobStatus {
            job_id: id.into(),
            hosts: 3,
            state: state as i32,
            ..Default::default()
        }
    }

    fn submitted() -> SubmitJob {
        SubmitJob {
            hosts: ["r1", "r2", "r3"]
                .map(|name| HostTarget {
                    name: name.into(),
                    password: "pw-at-rest".into(),
                    secret: "enable-at-rest".into(),
                    ssh_key: "-----BEGIN OPENSSH PRIVATE KEY-----".into(),
                    ssh_key_passphrase: "key-pass".into(),
                    ..Default::default()
                })
                .into(),
            ..Default::default()
        }
    }

    fn all_records(store: &Store, job: &str) -> Vec<String> {
        let mut reader = store.records(job).unwrap();
        let mut hosts = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            hosts.push(record.result.unwrap().host);
        }
        hosts
    }

    #[test]
    fn a_job_and_its_records_come_back_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .create(&submitted(), &status("j1", JobState::Running))
            .unwrap();
        store.append("j1", &record("r1")).unwrap();
        let mut failed = record("r2");
        failed.result.as_mut().unwrap().failure = Some(Failure {
            kind: 4,
            ..Default::default()
        });
        store.append("j1", &failed).unwrap();
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
        assert_eq!(jobs[0].records, 2);
        let mut done: Vec<&str> = jobs[0].done.iter().map(String::as_str).collect();
        done.sort();
        assert_eq!(done, vec!["r1", "r2"]);
        assert_eq!(jobs[0].failed_by_kind, BTreeMap::from([(4, 1)]));
        assert_eq!(jobs[0].status.hosts, 3);
        let resumed = jobs[0].submitted.as_ref().expect("a running job resumes");
        assert_eq!(resumed.hosts[0].password, "pw-at-rest");
        // The next append follows the last whole record.
        store.append("j1", &record("r3")).unwrap();
        assert_eq!(all_records(&store, "j1"), vec!["r1", "r2", "r3"]);

        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&records), 0o600);
        assert_eq!(mode(&dir.path().join("jobs/j1/job.pb")), 0o600);
        assert_eq!(mode(&dir.path().join("jobs")), 0o700);
    }

    #[test]
    fn a_reader_follows_appends_and_skips_without_decoding() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .create(&submitted(), &status("j1", JobState::Running))
            .unwrap();
        let mut reader = store.records("j1").unwrap();
        assert!(reader.next_record().unwrap().is_none(), "nothing yet");
        store.append("j1", &record("r1")).unwrap();
        store.append("j1", &record("r2")).unwrap();
        assert!(reader.skip().unwrap());
        let second = reader.next_record().unwrap().unwrap();
        assert_eq!(second.result.unwrap().host, "r2");
        assert_eq!(second.outputs, vec![b"hostname r1\n".to_vec()]);
        assert!(reader.next_record().unwrap().is_none());
        store.append("j1", &record("r3")).unwrap();
        let third = reader.next_record().unwrap().unwrap();
        assert_eq!(third.result.unwrap().host, "r3");
    }

    #[test]
    fn credentials_are_gone_from_disk_once_a_job_ends_and_after_a_crash_before_that() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let on_disk = |job: &str| fs::read(dir.path().join("jobs").join(job).join("job.pb"));
        let leaks = |bytes: Vec<u8>| {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            ["pw-at-rest", "enable-at-rest", "PRIVATE KEY", "key-pass"]
                .iter()
                .any(|secret| text.contains(secret))
        };

        store
            .create(&submitted(), &status("ended", JobState::Running))
            .unwrap();
        assert!(leaks(on_disk("ended").unwrap()), "a running job keeps them");
        store
            .save_status(&status("ended", JobState::Finished))
            .unwrap();
        store.scrub("ended").unwrap();
        assert!(!leaks(on_disk("ended").unwrap()));

        // Ended, but the coordinator died before scrubbing: the next load does it.
        store
            .create(&submitted(), &status("crashed", JobState::Running))
            .unwrap();
        store
            .save_status(&status("crashed", JobState::Cancelled))
            .unwrap();
        let jobs = store.load().unwrap();
        assert!(!leaks(on_disk("crashed").unwrap()));
        assert!(
            jobs.iter().all(|j| j.submitted.is_none()),
            "nothing to resume"
        );
        let names = read_message::<SubmitJob>(&dir.path().join("jobs/crashed/job.pb")).unwrap();
        assert_eq!(names.hosts.len(), 3, "the hosts themselves are kept");

        store.remove("ended").unwrap();
        assert!(!dir.path().join("jobs/ended").exists());
        assert_eq!(store.load().unwrap().len(), 1);
    }
}
