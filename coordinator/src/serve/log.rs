//! A job's records as the hub knows them and as watchers read them back.
//!
//! With a state directory the records live in its `records.pb` and the hub keeps only their
//! count: a coordinator that has seen a million outputs holds none of them. The exception is a
//! record the disk refused (a full disk): that one is held in memory under its place in the
//! order, so watchers still see every record. Without a state directory every record is held.

use super::store::{RecordReader, Store};
use fanout_common::proto::JobRecord;
use prost::Message;
use std::collections::BTreeMap;
use std::sync::Arc;
use tonic::Status;

/// Records read from disk per hand-over to a watcher, and the bytes that may add up to (one
/// larger record still goes alone): watchers get records in batches without the coordinator
/// holding a whole job's outputs for a slow one.
const BATCH_RECORDS: usize = 64;
const BATCH_BYTES: usize = 8 << 20;

/// The records of one job, in the order they were accepted.
#[derive(Debug, Default)]
pub struct JobLog {
    /// Records accepted so far, on disk or held.
    count: usize,
    /// Records kept in memory, by place: those the disk refused, or all without a disk.
    held: BTreeMap<usize, Arc<JobRecord>>,
}

impl JobLog {
    /// A log whose first `count` records are already on disk (a restart).
    pub fn on_disk(count: usize) -> Self {
        Self {
            count,
            held: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Counts a record that was written to disk.
    pub fn saved(&mut self) {
        self.count += 1;
    }

    /// Keeps a record that is not on disk.
    pub fn hold(&mut self, record: JobRecord) {
        self.held.insert(self.count, Arc::new(record));
        self.count += 1;
    }

    /// The held records among places `from..to`.
    pub fn held_between(&self, from: usize, to: usize) -> BTreeMap<usize, Arc<JobRecord>> {
        self.held
            .range(from..to)
            .map(|(&place, record)| (place, record.clone()))
            .collect()
    }
}

/// One watcher's place in a job's log.
pub struct Cursor {
    store: Option<Store>,
    job_id: String,
    /// Opened on the first record that is on disk.
    reader: Option<RecordReader>,
    /// Place of the next record to pass.
    next: usize,
    /// Records before this place are passed over, not handed out (the client has them).
    from: usize,
}

impl Cursor {
    pub fn new(store: Option<Store>, job_id: &str, from: usize) -> Self {
        Self {
            store,
            job_id: job_id.to_string(),
            reader: None,
            next: 0,
            from,
        }
    }

    /// Place of the next record to pass.
    pub fn next(&self) -> usize {
        self.next
    }

    /// Whether records before place `count` remain to be passed.
    pub fn behind(&self, count: usize) -> bool {
        self.next < count
    }

    /// The next batch of records before place `count` that the watcher has not seen, read off
    /// the async threads; `held` has the log's held records from [`Cursor::next`] on. Empty
    /// once the cursor reached `count`.
    pub async fn next_batch(
        &mut self,
        held: &BTreeMap<usize, Arc<JobRecord>>,
        count: usize,
    ) -> Result<Vec<JobRecord>, Status> {
        let held: BTreeMap<usize, Arc<JobRecord>> = held
            .range(self.next..count)
            .map(|(&place, record)| (place, record.clone()))
            .collect();
        let reader = match self.reader.take() {
            Some(reader) => Some(reader),
            // A log with every record held never needs the file.
            None if held.len() == count.saturating_sub(self.next) => None,
            None => Some(self.open()?),
        };
        let (next, from) = (self.next, self.from);
        let read = tokio::task::spawn_blocking(move || {
            let mut reader = reader;
            let batch = read_batch(reader.as_mut(), &held, (next, count), from);
            (reader, batch)
        })
        .await
        .map_err(|e| Status::internal(format!("reading records failed: {e}")))?;
        let (reader, batch) = read;
        self.reader = reader;
        let (records, next) = batch?;
        self.next = next;
        Ok(records)
    }

    fn open(&self) -> Result<RecordReader, Status> {
        let Some(store) = &self.store else {
            return Err(Status::internal(
                "a record of the job is neither held nor on disk",
            ));
        };
        store
            .records(&self.job_id)
            .map_err(|e| Status::not_found(format!("the job's records are gone: {e}")))
    }
}

/// Records from place `next` up to `count`, those before `from` passed over; returns them and
/// the place after the last one passed.
fn read_batch(
    mut reader: Option<&mut RecordReader>,
    held: &BTreeMap<usize, Arc<JobRecord>>,
    (mut next, count): (usize, usize),
    from: usize,
) -> Result<(Vec<JobRecord>, usize), Status> {
    let gone = |what: String| Status::internal(format!("the job's records cannot be read: {what}"));
    let mut records = Vec::new();
    let mut bytes = 0;
    while next < count && records.len() < BATCH_RECORDS && bytes < BATCH_BYTES {
        let wanted = next >= from;
        if let Some(record) = held.get(&next) {
            if wanted {
                bytes += record.encoded_len();
                records.push((**record).clone());
            }
        } else {
            let reader = reader
                .as_deref_mut()
                .ok_or_else(|| gone("no file".into()))?;
            if wanted {
                let record = reader
                    .next_record()
                    .map_err(|e| gone(e.to_string()))?
                    .ok_or_else(|| gone("fewer on disk than recorded".into()))?;
                bytes += record.encoded_len();
                records.push(record);
            } else if !reader.skip().map_err(|e| gone(e.to_string()))? {
                return Err(gone("fewer on disk than recorded".into()));
            }
        }
        next += 1;
    }
    Ok((records, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::proto::{HostResult, JobState, JobStatus, SubmitJob};

    fn record(host: &str) -> JobRecord {
        JobRecord {
            result: Some(HostResult {
                host: host.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    async fn hosts(cursor: &mut Cursor, log: &JobLog) -> Vec<String> {
        let mut hosts = Vec::new();
        while cursor.behind(log.len()) {
            let held = log.held_between(cursor.next(), log.len());
            for record in cursor.next_batch(&held, log.len()).await.unwrap() {
                hosts.push(record.result.unwrap().host);
            }
        }
        hosts
    }

    #[tokio::test]
    async fn records_come_from_disk_and_memory_in_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let status = JobStatus {
            job_id: "j".into(),
            state: JobState::Running as i32,
            ..Default::default()
        };
        store.create(&SubmitJob::default(), &status).unwrap();
        let mut log = JobLog::default();
        for place in 0..200 {
            let host = format!("r{place}");
            if place % 50 == 7 {
                // The disk refused this one.
                log.hold(record(&host));
            } else {
                store.append("j", &record(&host)).unwrap();
                log.saved();
            }
        }
        let expected: Vec<String> = (0..200).map(|p| format!("r{p}")).collect();
        let mut cursor = Cursor::new(Some(store.clone()), "j", 0);
        assert_eq!(hosts(&mut cursor, &log).await, expected);
        assert!(log.held.len() == 4, "only the refused ones are in memory");

        // A watcher that had 120 already gets the rest; one that comes later gets new ones.
        let mut resumed = Cursor::new(Some(store.clone()), "j", 120);
        assert_eq!(hosts(&mut resumed, &log).await, expected[120..]);
        store.append("j", &record("r200")).unwrap();
        log.saved();
        assert_eq!(hosts(&mut resumed, &log).await, vec!["r200"]);
    }

    #[tokio::test]
    async fn without_a_store_every_record_is_held() {
        let mut log = JobLog::default();
        log.hold(record("a"));
        log.hold(record("b"));
        let mut cursor = Cursor::new(None, "j", 1);
        assert_eq!(hosts(&mut cursor, &log).await, vec!["b"]);
    }
}
