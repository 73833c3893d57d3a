//! HTTP steps: each host's requests through one shared reqwest client, their responses recorded
//! like CLI outputs (JSON pretty-printed), their failures mapped to the same kinds as SSH's.

use crate::outcome::{CommandOutput, HostOutcome, SessionFailure};
use crate::session::{DeviceTarget, SessionOptions};
use fanout_common::FailureKind;
use fanout_common::http::{request_url, step_label};
use fanout_common::proto::{HttpAuth, HttpJob, HttpStep};
use fanout_common::wire::DEFAULT_MAX_OUTPUT_BYTES;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::error::Error as _;
use std::time::{Duration, Instant};
use tracing::{debug, instrument};

/// Idle connections kept per device between steps; one is enough for sequential steps.
const IDLE_PER_HOST: usize = 1;
/// How long an idle connection is kept. A host's steps follow one another at once, and a host
/// that is done never comes back in this job, so a longer wait would only hold a descriptor per
/// finished device (thousands, in a large run) that the fd budget counts for running sessions.
const IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// A job's HTTP steps and the client every host of the job shares in this worker, so
/// connections and TLS sessions are pooled instead of built per host.
pub struct HttpRunner {
    client: reqwest::Client,
    job: HttpJob,
    /// Per request, from sending to the whole body received.
    request_timeout: Duration,
    max_output_bytes: u64,
}

impl HttpRunner {
    /// Builds the client: TLS verification on unless the job said `insecure`; the job's CA
    /// certificates, when given, are the only ones trusted.
    pub fn new(job: &HttpJob, options: &SessionOptions) -> Result<Self, String> {
        // reqwest is built without a default crypto provider; installing one twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .pool_max_idle_per_host(IDLE_PER_HOST)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true);
        if !job.ca_pem.is_empty() {
            let certs = reqwest::Certificate::from_pem_bundle(job.ca_pem.as_bytes())
                .map_err(|e| format!("the HTTP CA certificates do not parse: {e}"))?;
            if certs.is_empty() {
                return Err("the HTTP CA file holds no certificate".into());
            }
            builder = builder.tls_certs_only(certs);
        }
        if job.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            job: job.clone(),
            request_timeout: options.command_timeout,
            max_output_bytes: match options.max_output_bytes {
                0 => DEFAULT_MAX_OUTPUT_BYTES,
                n => n,
            },
        })
    }

    /// Runs every step in order on one host, appending to `outcome`; stops at the first failure.
    #[instrument(skip_all, fields(host = %target.name))]
    pub async fn run(&self, target: &DeviceTarget, facts: &Value, outcome: &mut HostOutcome) {
        for step in &self.job.steps {
            let started = Instant::now();
            match self.request(target, facts, step).await {
                Ok(output) => outcome.outputs.push(CommandOutput {
                    command: step_label(step),
                    output,
                    duration: started.elapsed(),
                    rejection: None,
                }),
                Err(StepFailure { failure, body }) => {
                    if let Some(body) = body {
                        outcome.outputs.push(CommandOutput {
                            command: step_label(step),
                            output: body,
                            duration: started.elapsed(),
                            rejection: Some(failure.message.clone()),
                        });
                    }
                    debug!(kind = %failure.kind, "http step failed");
                    outcome.failure = Some(failure);
                    return;
                }
            }
        }
    }

    async fn request(
        &self,
        target: &DeviceTarget,
        facts: &Value,
        step: &HttpStep,
    ) -> Result<Vec<u8>, StepFailure> {
        let label = step_label(step);
        let fail = |kind, message: String| StepFailure::new(kind, format!("{label}: {message}"));
        let url = request_url(&self.job, step, facts)
            .map_err(|e| fail(FailureKind::Internal, e.to_string()))?;
        let method = Method::from_bytes(step.method.as_bytes())
            .map_err(|_| fail(FailureKind::Internal, "bad method".into()))?;
        let mut request = self
            .client
            .request(method, &url)
            .timeout(self.request_timeout);
        for header in &step.headers {
            let value = fanout_common::http::render(&header.value, facts)
                .map_err(|e| fail(FailureKind::Internal, e.to_string()))?;
            let name = HeaderName::from_bytes(header.name.as_bytes());
            let value = HeaderValue::from_str(&value);
            let (Ok(name), Ok(value)) = (name, value) else {
                return Err(fail(
                    FailureKind::Internal,
                    format!("header {:?} is not valid HTTP", header.name),
                ));
            };
            request = request.header(name, value);
        }
        request = match self.job.auth() {
            HttpAuth::Basic => request.basic_auth(&target.username, Some(target.password.expose())),
            HttpAuth::Bearer => request.bearer_auth(target.password.expose()),
            HttpAuth::None => request,
        };
        if !step.json_body.is_empty() {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(step.json_body.clone());
        }
        let mut response = request.send().await.map_err(|e| {
            let (kind, message) = classify(&e);
            fail(kind, message)
        })?;
        let status = response.status();
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .ends_with("json")
            });
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(piece)) => {
                    if (body.len() + piece.len()) as u64 > self.max_output_bytes {
                        return Err(fail(
                            FailureKind::OutputTooLarge,
                            format!("response exceeds {} bytes", self.max_output_bytes),
                        ));
                    }
                    body.extend_from_slice(&piece);
                }
                Ok(None) => break,
                Err(e) => {
                    let (kind, message) = classify(&e);
                    let kind = if kind == FailureKind::Protocol {
                        FailureKind::Disconnected
                    } else {
                        kind
                    };
                    return Err(fail(kind, message));
                }
            }
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            // The body of a refusal says nothing worth keeping and may echo what was sent.
            return Err(fail(
                FailureKind::AuthFailed,
                format!("the device answered {status}"),
            ));
        }
        let expected = match step.expect_status {
            0 => status.is_success(),
            code => u32::from(status.as_u16()) == code,
        };
        if !expected {
            let wanted = match step.expect_status {
                0 => "2xx".to_string(),
                code => code.to_string(),
            };
            let mut failure = fail(
                FailureKind::CommandError,
                format!("the device answered {status}, expected {wanted}"),
            );
            failure.body = Some(body);
            return Err(failure);
        }
        Ok(if is_json {
            pretty_json(body, self.max_output_bytes)
        } else {
            body
        })
    }
}

/// Why a step failed, and the body the device sent when it is worth keeping.
struct StepFailure {
    failure: SessionFailure,
    body: Option<Vec<u8>>,
}

impl StepFailure {
    fn new(kind: FailureKind, message: String) -> Self {
        Self {
            failure: SessionFailure { kind, message },
            body: None,
        }
    }
}

/// JSON re-indented for people and diffs, ending in a newline; a body that does not parse is
/// kept as it came. So is one whose indented form would pass `limit`: the body itself fit, and
/// the limit is what the coordinator holds the worker to.
fn pretty_json(body: Vec<u8>, limit: u64) -> Vec<u8> {
    match serde_json::from_slice::<Value>(&body) {
        Ok(value) => match serde_json::to_vec_pretty(&value) {
            // The newline added below counts too.
            Ok(mut pretty) if (pretty.len() as u64) < limit => {
                pretty.push(b'\n');
                pretty
            }
            _ => body,
        },
        Err(_) => body,
    }
}

/// The failure kind of a transport error and a message naming its causes. reqwest's messages
/// name the URL, which never holds a secret (templates cannot refer to one), and never the
/// request headers.
fn classify(error: &reqwest::Error) -> (FailureKind, String) {
    let mut message = error.to_string();
    let mut kind = None;
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        if kind.is_none() {
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                kind = io_failure(io);
            } else if cause.downcast_ref::<rustls::Error>().is_some() {
                kind = Some(FailureKind::Protocol);
            }
        }
        source = cause.source();
    }
    let kind = kind.unwrap_or(if error.is_timeout() {
        FailureKind::Timeout
    } else if error.is_connect() {
        FailureKind::Unreachable
    } else {
        FailureKind::Protocol
    });
    (kind, message)
}

/// An io::Error's kind, looking inside the io::Errors it wraps: TLS failures arrive as an
/// io::Error around an io::Error around the rustls error.
fn io_failure(io: &std::io::Error) -> Option<FailureKind> {
    let inner = io.get_ref();
    if inner.is_some_and(|e| e.is::<rustls::Error>()) {
        return Some(FailureKind::Protocol);
    }
    inner
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .and_then(io_failure)
        .or_else(|| io_kind(io.kind()))
}

fn io_kind(kind: std::io::ErrorKind) -> Option<FailureKind> {
    use std::io::ErrorKind as K;
    Some(match kind {
        K::ConnectionRefused | K::ConnectionReset => FailureKind::Refused,
        K::TimedOut => FailureKind::Timeout,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => {
            FailureKind::Unreachable
        }
        K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => FailureKind::Disconnected,
        K::InvalidData => FailureKind::Protocol,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_pretty_printed_and_other_bodies_kept() {
        assert_eq!(
            pretty_json(br#"{"a":[1,2]}"#.to_vec(), 1024),
            b"{\n  \"a\": [\n    1,\n    2\n  ]\n}\n".to_vec()
        );
        assert_eq!(
            pretty_json(b"not json".to_vec(), 1024),
            b"not json".to_vec()
        );
    }

    #[test]
    fn indenting_never_takes_a_body_past_the_output_limit() {
        let body = br#"{"a":[1,2]}"#.to_vec();
        let indented = pretty_json(body.clone(), u64::MAX).len() as u64;
        assert!(indented > body.len() as u64);
        assert_eq!(pretty_json(body.clone(), indented).len() as u64, indented);
        // One byte less and the body is kept as it came, which fits.
        assert_eq!(pretty_json(body.clone(), indented - 1), body);
    }

    #[test]
    fn io_errors_map_to_the_ssh_kinds() {
        use std::io::ErrorKind as K;
        assert_eq!(io_kind(K::ConnectionRefused), Some(FailureKind::Refused));
        assert_eq!(io_kind(K::ConnectionReset), Some(FailureKind::Refused));
        assert_eq!(io_kind(K::TimedOut), Some(FailureKind::Timeout));
        assert_eq!(io_kind(K::Other), None);
    }
}
