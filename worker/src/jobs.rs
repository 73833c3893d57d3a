//! A job as this worker holds it: the spec the coordinator sent with the job's first assignment
//! on this stream, and what every host of the job shares here, built once from it (session
//! options, connection pacing, the HTTP client, compiled rules and platform profiles). Later
//! assignments name the job only; the coordinator's `CancelJob` (sent when the job is cancelled
//! or over) is what drops it.

use crate::http::HttpRunner;
use crate::pacer::Pacer;
use crate::session::{DeviceProfile, DeviceTarget, SessionOptions};
use crate::snmp::SnmpRunner;
use crate::validate::Validator;
use fanout_common::proto::{self, JobSpec};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// What every host of a job shares in this worker.
pub struct Job {
    pub spec: JobSpec,
    /// Cancelled when the coordinator cancels the job or this attach ends (a child of the
    /// attach's token).
    pub cancel: CancellationToken,
    pub options: SessionOptions,
    /// The worker's share of the job's connection rate.
    pub pacer: Arc<Pacer>,
    /// Validation jobs only; an error fails every host of the job as `internal`.
    pub validator: Option<Result<Arc<Validator>, String>>,
    /// Jobs with HTTP steps only: one client for all the job's hosts in this worker, so
    /// connections are pooled. An error (a CA file that does not parse) fails every host as
    /// `internal`.
    pub http: Option<Result<HttpRunner, String>>,
    /// Jobs with SNMP requests or SNMP monitor checks only: the sockets and v3 engines the
    /// job's hosts share here.
    pub snmp: Option<Arc<SnmpRunner>>,
    /// The job's platform profiles, compiled once; a profile that does not parse fails its
    /// hosts as `internal` with the reason.
    profiles: HashMap<String, Result<Arc<DeviceProfile>, String>>,
}

impl Job {
    /// Builds what the job's hosts share; its token is a child of `attach`'s.
    pub fn new(mut spec: JobSpec, attach: &CancellationToken) -> Self {
        let options = SessionOptions::from(&spec);
        let http = spec
            .http
            .as_ref()
            .filter(|http| !http.steps.is_empty())
            .map(|http| HttpRunner::new(http, &options));
        let snmp_checks = spec
            .monitor
            .as_ref()
            .is_some_and(|m| m.checks.iter().any(|c| !c.snmp.is_empty()));
        // A monitor job's SNMP settings come with no requests of their own: its checks carry
        // them.
        // Taken out of the spec: the runner keeps the job's MIB names (up to 100,000) once.
        let snmp = match spec.snmp.take() {
            Some(snmp) if snmp_checks || !snmp.requests.is_empty() => {
                Some(Arc::new(SnmpRunner::new(snmp, &options)))
            }
            None if snmp_checks => Some(Arc::new(SnmpRunner::new(
                proto::SnmpJob::default(),
                &options,
            ))),
            _ => None,
        };
        let profiles = spec
            .platform_profiles
            .iter()
            .map(|(name, yaml)| {
                let profile = DeviceProfile::from_yaml(name, yaml).map(Arc::new);
                (name.clone(), profile)
            })
            .collect();
        Self {
            cancel: attach.child_token(),
            http,
            snmp,
            options,
            // Each assignment sets this worker's share of the job's rate.
            pacer: Arc::new(Pacer::new(0.0)),
            validator: spec
                .validation
                .as_ref()
                .map(|v| Validator::from_proto(v).map(Arc::new)),
            profiles,
            spec,
        }
    }

    /// The session's view of one of the job's hosts, driven by the profile the job sent for its
    /// platform. A profile that does not parse (a coordinator of another version) falls back to
    /// the built-in profile of that name, with a warning.
    pub fn target(&self, host: proto::HostTarget) -> DeviceTarget {
        let mut target = DeviceTarget::from(host);
        target.profile = match self.profiles.get(&target.platform) {
            Some(Ok(profile)) => Some(profile.clone()),
            Some(Err(e)) => {
                warn!(host = %target.name, error = %e, "platform profile unusable; using the built-in");
                None
            }
            None => None,
        };
        target
    }
}

/// The jobs this attach was sent, by id.
#[derive(Default)]
pub struct Jobs {
    by_id: HashMap<String, Arc<Job>>,
}

impl Jobs {
    /// Keeps the spec of a job's first assignment on this stream. A spec sent again (a
    /// coordinator that did not keep track) replaces nothing: hosts already running keep theirs.
    pub fn keep(&mut self, spec: JobSpec, attach: &CancellationToken) -> Arc<Job> {
        self.by_id
            .entry(spec.job_id.clone())
            .or_insert_with(|| Arc::new(Job::new(spec, attach)))
            .clone()
    }

    /// The job an assignment names, if its spec came earlier on this stream.
    pub fn get(&self, job_id: &str) -> Option<Arc<Job>> {
        self.by_id.get(job_id).cloned()
    }

    /// Stops the job's sessions (each gives its credit back) and forgets the job.
    pub fn end(&mut self, job_id: &str) {
        match self.by_id.remove(job_id) {
            Some(job) => {
                info!(job = %job_id, "job ended by the coordinator");
                job.cancel.cancel();
            }
            None => debug!(job = %job_id, "end of a job with no work here"),
        }
    }
}
