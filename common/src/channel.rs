//! How a process reaches a coordinator from outside: a remote worker attaching, or a client
//! submitting and watching jobs. One place decides what is allowed (TLS off this machine, the
//! token as a sensitive header) and how a dead link is noticed, so every caller gets the same.

use crate::Secret;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};

/// Fewest characters a token may have: 32 hex digits hold 128 bits, the least a guesser must
/// not be able to search. `fanout certs` makes tokens of 64.
pub const MIN_TOKEN_CHARS: usize = 32;

/// How long reaching the coordinator (TCP, then the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// An HTTP/2 ping this often, even while idle, and a link whose ping goes unanswered this long is
/// dead: a cut cable or a vanished NAT entry is noticed in about ten seconds instead of never.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a coordinator is and how to prove who we are to it.
#[derive(Debug, Clone, Default)]
pub struct Remote {
    /// `http://127.0.0.1:7443` or `https://coord:7443`.
    pub url: String,
    /// PEM CA that signed the coordinator's certificate; `None` trusts the webpki roots.
    pub ca_cert: Option<PathBuf>,
    /// mTLS identity: both or neither.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Name expected in the coordinator's certificate; `None` expects the URL's host.
    pub server_name: Option<String>,
    /// Sent as `authorization: Bearer ...`.
    pub token: Option<Secret>,
}

impl Remote {
    /// Whether the URL asks for TLS (the only way to reach another host).
    pub fn is_tls(&self) -> bool {
        self.url.starts_with("https://")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// Not an `http://` or `https://` URL with a host.
    #[error("bad coordinator URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// Secrets (the token, device credentials) travel on this stream, so plaintext stays on the
    /// loopback interface.
    #[error(
        "refusing plaintext {url}: http:// is only for this machine (127.0.0.0/8, ::1, localhost); \
         use https:// for a coordinator on another host"
    )]
    PlaintextRemote { url: String },
    /// A certificate or key file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A certificate or key file holds no PEM block of the expected kind.
    #[error("{what} {path} holds no PEM {expected}")]
    NotPem {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
    },
    /// Only half of an mTLS identity was given.
    #[error("a client certificate needs its key and a key its certificate: give both or neither")]
    HalfIdentity,
    /// TLS settings rustls rejects (a malformed certificate, an invalid server name).
    #[error("bad TLS settings for {url}: {message}")]
    Tls { url: String, message: String },
    /// The token holds characters that cannot travel in a header.
    #[error("the token is not valid header text (it must be printable ASCII)")]
    BadToken,
    /// The token is too short to hold 128 bits.
    #[error(
        "the token has {chars} characters: tokens must hold at least 128 bits, {MIN_TOKEN_CHARS} \
         hex characters or more (`fanout certs` makes them, or `openssl rand -hex 32`)"
    )]
    WeakToken { chars: usize },
    /// The coordinator could not be reached or the TLS handshake failed.
    #[error("cannot reach coordinator at {url}: {message}")]
    Connect {
        url: String,
        /// The whole error chain: tonic's own message ("transport error") says nothing.
        message: String,
        /// The coordinator was reached but its certificate (or ours) was not accepted: a setup
        /// problem that trying again will not fix.
        certificate: bool,
    },
}

/// Checks everything that can be checked without the network (URL, plaintext rule, files) and
/// returns the configured endpoint.
pub fn endpoint(remote: &Remote) -> Result<Endpoint, ChannelError> {
    let bad_url = |reason: &str| ChannelError::BadUrl {
        url: remote.url.clone(),
        reason: reason.to_string(),
    };
    let uri: Uri = remote
        .url
        .parse()
        .map_err(|e: tonic::codegen::http::uri::InvalidUri| bad_url(&e.to_string()))?;
    let host = uri.host().ok_or_else(|| bad_url("it names no host"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(bad_url(
                "it must start with https:// (or http:// on this machine)",
            ));
        }
    };
    if !tls && !is_loopback(host) {
        return Err(ChannelError::PlaintextRemote {
            url: remote.url.clone(),
        });
    }
    let mut endpoint = Endpoint::from(uri)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    // Over plaintext loopback the TLS settings have nothing to do; they may well be set in the
    // environment for remote use while `fanout run` starts local children.
    if tls {
        endpoint = endpoint
            .tls_config(tls_config(remote)?)
            .map_err(|e| ChannelError::Tls {
                url: remote.url.clone(),
                message: error_chain(&e),
            })?;
    }
    Ok(endpoint)
}

/// Connects now, so a wrong address or certificate shows up here rather than on the first call.
pub async fn connect(remote: &Remote) -> Result<Channel, ChannelError> {
    let endpoint = endpoint(remote)?;
    endpoint.connect().await.map_err(|e| ChannelError::Connect {
        url: remote.url.clone(),
        message: error_chain(&e),
        certificate: is_certificate_problem(&e),
    })
}

/// Refuses a token too short to be secret ([`MIN_TOKEN_CHARS`]) or that cannot travel in a
/// header. Every side checks it at start: `serve` for the tokens it accepts, workers and
/// clients for the one they present.
pub fn check_token_strength(token: &Secret) -> Result<(), ChannelError> {
    let token = token.expose();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ChannelError::BadToken);
    }
    let chars = token.chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(ChannelError::WeakToken { chars });
    }
    Ok(())
}

/// The `authorization` header value for the token, marked sensitive so tonic and hyper never
/// log it; `None` without a token. A weak token is refused here, before it is ever sent.
pub fn authorization(remote: &Remote) -> Result<Option<MetadataValue<Ascii>>, ChannelError> {
    let Some(token) = &remote.token else {
        return Ok(None);
    };
    check_token_strength(token)?;
    let mut value: MetadataValue<Ascii> = format!("Bearer {}", token.expose())
        .parse()
        .map_err(|_| ChannelError::BadToken)?;
    value.set_sensitive(true);
    Ok(Some(value))
}

fn tls_config(remote: &Remote) -> Result<ClientTlsConfig, ChannelError> {
    let mut config = ClientTlsConfig::new().timeout(CONNECT_TIMEOUT);
    config = match &remote.ca_cert {
        Some(path) => config.ca_certificate(Certificate::from_pem(read_pem(
            "CA certificate",
            path,
            "CERTIFICATE",
        )?)),
        None => config.with_webpki_roots(),
    };
    match (&remote.client_cert, &remote.client_key) {
        (Some(cert), Some(key)) => {
            let cert = read_pem("client certificate", cert, "CERTIFICATE")?;
            let key = read_pem("client key", key, "PRIVATE KEY")?;
            config = config.identity(Identity::from_pem(cert, key));
        }
        (None, None) => {}
        _ => return Err(ChannelError::HalfIdentity),
    }
    if let Some(name) = &remote.server_name {
        config = config.domain_name(name.clone());
    }
    Ok(config)
}

/// Reads a PEM file and checks it holds a block of the kind wanted: rustls skips what it cannot
/// parse, so a wrong file would otherwise surface much later as "unknown issuer".
fn read_pem(
    what: &'static str,
    path: &Path,
    expected: &'static str,
) -> Result<Vec<u8>, ChannelError> {
    let bytes = std::fs::read(path).map_err(|source| ChannelError::ReadFile {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    // "PRIVATE KEY" also matches "RSA PRIVATE KEY" and "EC PRIVATE KEY".
    let has_block = text
        .lines()
        .any(|line| line.starts_with("-----BEGIN ") && line.contains(expected));
    if !has_block {
        return Err(ChannelError::NotPem {
            what,
            path: path.to_path_buf(),
            expected,
        });
    }
    Ok(bytes)
}

/// 127.0.0.0/8, ::1 and `localhost`: the only places plaintext may go.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `error: cause: cause ...`, so the reason (refused, unknown issuer, timed out) is in the message.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    // `io::Error::source` skips its own inner error; name that too when it is the only clue.
    for cause in chain(error) {
        if let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let part = inner.to_string();
            if !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
        }
    }
    text
}

/// Whether TLS failed on a certificate (ours or theirs) rather than on the network: retrying
/// will not help, the setup must change.
pub fn is_certificate_problem(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|cause| {
        let inner = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        [Some(cause), inner]
            .into_iter()
            .flatten()
            .filter_map(|e| e.downcast_ref::<rustls::Error>())
            .any(is_certificate_error)
    })
}

fn is_certificate_error(error: &rustls::Error) -> bool {
    use rustls::AlertDescription as Alert;
    match error {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => true,
        rustls::Error::AlertReceived(alert) => matches!(
            alert,
            Alert::BadCertificate
                | Alert::UnsupportedCertificate
                | Alert::CertificateRevoked
                | Alert::CertificateExpired
                | Alert::CertificateUnknown
                | Alert::UnknownCA
                | Alert::AccessDenied
                | Alert::CertificateRequired
        ),
        _ => false,
    }
}

fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> Remote {
        Remote {
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn plaintext_only_to_loopback() {
        for url in [
            "http://127.0.0.1:7443",
            "http://127.3.4.5:1",
            "http://[::1]:7443",
            "http://localhost:7443",
            "http://LOCALHOST:7443",
        ] {
            assert!(endpoint(&remote(url)).is_ok(), "{url}");
        }
        for url in [
            "http://10.0.0.5:7443",
            "http://coord:7443",
            "http://[2001:db8::1]:7443",
            "http://0.0.0.0:7443",
            "http://localhost.example.com:7443",
        ] {
            let error = endpoint(&remote(url)).unwrap_err();
            assert!(
                matches!(error, ChannelError::PlaintextRemote { .. }),
                "{url}"
            );
            let message = error.to_string();
            assert!(
                message.contains("use https:// for a coordinator on another host"),
                "{message}"
            );
        }
        assert!(endpoint(&remote("https://coord:7443")).is_ok());
    }

    #[test]
    fn urls_without_scheme_or_host_are_named() {
        for url in [
            "coord:7443",
            "ftp://coord",
            "127.0.0.1:7443",
            "/just/a/path",
        ] {
            let error = endpoint(&remote(url)).unwrap_err();
            assert!(
                matches!(error, ChannelError::BadUrl { .. }),
                "{url}: {error}"
            );
            assert!(error.to_string().contains(url), "{error}");
        }
    }

    #[test]
    fn certificate_files_are_named_when_missing_or_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let error = endpoint(&Remote {
            ca_cert: Some(missing.clone()),
            ..remote("https://coord:7443")
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("CA certificate")
                && error.to_string().contains(&missing.display().to_string()),
            "{error}"
        );

        let not_a_cert = dir.path().join("token");
        std::fs::write(&not_a_cert, "abcdef\n").unwrap();
        let error = endpoint(&Remote {
            client_cert: Some(not_a_cert.clone()),
            client_key: Some(not_a_cert.clone()),
            ..remote("https://coord:7443")
        })
        .unwrap_err();
        assert!(matches!(error, ChannelError::NotPem { .. }), "{error}");
        assert!(error.to_string().contains("client certificate"), "{error}");

        let error = endpoint(&Remote {
            client_cert: Some(not_a_cert),
            ..remote("https://coord:7443")
        })
        .unwrap_err();
        assert!(matches!(error, ChannelError::HalfIdentity), "{error}");
    }

    #[test]
    fn tokens_under_128_bits_are_refused_before_they_are_sent() {
        let with = |token: &str| Remote {
            token: Some(Secret::new(token)),
            ..remote("http://127.0.0.1:1")
        };
        let error = authorization(&with("short-but-secret")).unwrap_err();
        assert!(
            matches!(error, ChannelError::WeakToken { chars: 16 }),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("16 characters") && message.contains("128 bits"),
            "{message}"
        );
        assert!(
            !message.contains("short-but-secret"),
            "never the token itself"
        );
        let hex32 = "0123456789abcdef0123456789abcdef";
        assert!(authorization(&with(&hex32[..31])).is_err());
        assert!(authorization(&with(hex32)).unwrap().is_some());
        assert!(matches!(
            check_token_strength(&Secret::new(format!("{hex32} x"))),
            Err(ChannelError::BadToken)
        ));
    }

    #[test]
    fn the_token_header_is_sensitive_and_never_printed() {
        let with_token = Remote {
            token: Some(Secret::new("s3cret-token-of-at-least-32-chars")),
            ..remote("http://127.0.0.1:1")
        };
        let value = authorization(&with_token).unwrap().unwrap();
        assert!(value.is_sensitive());
        assert_eq!(
            value.to_str().unwrap(),
            "Bearer s3cret-token-of-at-least-32-chars"
        );
        assert!(!format!("{value:?} {with_token:?}").contains("s3cret"));
        assert!(
            authorization(&remote("http://127.0.0.1:1"))
                .unwrap()
                .is_none()
        );
        let bad = Remote {
            token: Some(Secret::new("line\nbreak, long enough to be a token")),
            ..remote("http://127.0.0.1:1")
        };
        assert!(matches!(authorization(&bad), Err(ChannelError::BadToken)));
    }
}
