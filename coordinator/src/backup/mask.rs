//! What a coordinator keeps of a backup job's outputs: the text with its secrets masked, by the
//! same patterns `fanout backup` masks the repository with. A coordinator keeps every job's
//! records in its state directory until retention forgets them and hands them to whoever
//! watches the job; for a backup those are the devices' configurations, so they are masked
//! as each arrives, before it is written anywhere (the client normalises the masked text to
//! the same file it would make of the raw one).

use fanout_common::platform::backup::Normaliser;
use fanout_common::proto::{BackupSecrets, JobRecord, PatternList};
use std::collections::HashMap;

/// The compiled secret patterns of one backup job.
#[derive(Debug, Default)]
pub struct RecordMasker {
    platforms: HashMap<String, Normaliser>,
    hosts: HashMap<String, Normaliser>,
}

impl RecordMasker {
    /// Fails, naming the pattern, when one does not compile or captures nothing.
    pub fn new(secrets: &BackupSecrets) -> Result<Self, String> {
        let compile = |map: &HashMap<String, PatternList>, what: &str| {
            map.iter()
                .map(|(name, list)| {
                    Normaliser::new(&[], &list.patterns, false)
                        .map(|n| (name.clone(), n))
                        .map_err(|e| format!("{what} {name:?}: {e}"))
                })
                .collect::<Result<HashMap<_, _>, _>>()
        };
        Ok(RecordMasker {
            platforms: compile(&secrets.platforms, "platform")?,
            hosts: compile(&secrets.hosts, "host")?,
        })
    }

    /// Masks the record's outputs in place and drops its transcript. A host the patterns do
    /// not cover (none should be) loses its outputs rather than keep them unmasked: its backup
    /// then fails as empty and keeps its last good file.
    pub fn apply(&self, record: &mut JobRecord) {
        let host = record.result.as_ref().map(|r| r.host.as_str());
        let rules = host
            .and_then(|h| self.hosts.get(h))
            .or_else(|| self.platforms.get(&record.platform));
        for output in &mut record.outputs {
            *output = match rules {
                Some(rules) => rules
                    .mask_secrets(&String::from_utf8_lossy(output))
                    .into_bytes(),
                None => Vec::new(),
            };
        }
        record.transcript = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fanout_common::proto::HostResult;

    fn record(host: &str, platform: &str, output: &str) -> JobRecord {
        JobRecord {
            result: Some(HostResult {
                host: host.into(),
                ..HostResult::default()
            }),
            outputs: vec![output.as_bytes().to_vec()],
            platform: platform.into(),
            transcript: b"password: hunter2".to_vec(),
            ..JobRecord::default()
        }
    }

    fn list(patterns: &[&str]) -> PatternList {
        PatternList {
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn outputs_are_masked_by_host_then_platform_and_unknown_hosts_lose_them() {
        let secrets = BackupSecrets {
            platforms: [("ios".to_string(), list(&[r"secret 5 (\S+)$"]))].into(),
            hosts: [("r9".to_string(), list(&[r"community (\S+)"]))].into(),
        };
        let masker = RecordMasker::new(&secrets).unwrap();
        let mut r1 = record("r1", "ios", "hostname r1\r\nenable secret 5 $1$x$y\r\n");
        masker.apply(&mut r1);
        assert_eq!(r1.outputs[0], b"hostname r1\nenable secret 5 <removed>\n");
        assert!(r1.transcript.is_empty());
        let mut r9 = record("r9", "ios", "snmp-server community pub RO\n");
        masker.apply(&mut r9);
        assert_eq!(r9.outputs[0], b"snmp-server community <removed> RO\n");
        let mut other = record("r2", "junos", "set secret 5 abc\n");
        masker.apply(&mut other);
        assert!(other.outputs[0].is_empty());
    }

    #[test]
    fn a_bad_pattern_is_refused_by_name() {
        let secrets = BackupSecrets {
            platforms: [("ios".to_string(), list(&["no group"]))].into(),
            ..BackupSecrets::default()
        };
        let err = RecordMasker::new(&secrets).unwrap_err();
        assert!(err.contains("platform \"ios\""), "{err}");
    }
}
