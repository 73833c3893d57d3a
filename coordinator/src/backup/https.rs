//! `--push` to an `https://` remote: git's smart HTTP protocol over reqwest and rustls.
//!
//! libgit2 is built here without its network transports, so, as for `ssh://` (see
//! [`super::push`]), a transport of our own is registered with libgit2 for `https://`.
//! libgit2 speaks the protocol and builds the pack; this module only carries its bytes, as
//! git's "smart" HTTP protocol wants them (Documentation/gitprotocol-http.txt):
//!
//! - `GET <url>/info/refs?service=git-receive-pack` answers the server's refs, as an
//!   `application/x-git-receive-pack-advertisement` (the `# service=` line included: libgit2
//!   expects it in stateless mode and drops it);
//! - `POST <url>/git-receive-pack` (`application/x-git-receive-pack-request`) carries the
//!   commands and the pack; the server answers its report.
//!
//! (`git-upload-pack` the same way, should libgit2 ever ask to list the refs by it.)
//!
//! Security, on purpose stricter than convenient:
//! - the server's certificate is verified, against the system's roots or only against the CA
//!   of `--push-ca`; there is no switch to turn verification off;
//! - credentials come from FANOUT_GIT_USERNAME / FANOUT_GIT_PASSWORD (the user may instead be
//!   in the URL, never the password), are sent as Basic auth to the remote's origin only, and
//!   never appear in a message: a redirect to another origin (host, port or scheme) is refused
//!   instead of followed, so they cannot leak to it;
//! - plain `http://` is refused (credentials and configurations would cross in clear).
//!
//! The request body is built in memory before it is sent (libgit2 writes the pack in pieces
//! and reads the answer only after): a backup's pack of ten thousand small files is a few MB.
//! Not supported: proxies (HTTPS_PROXY is not read), other auth schemes than Basic (a token
//! is sent as the password, which GitHub, GitLab and Gitea accept), HTTP/2.

use fanout_common::Secret;
use fanout_common::channel::error_chain;
use fanout_common::input::{MAX_CONFIG_BYTES, read_text};
use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// Connecting and the TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Each request, its whole body included; a pack of ten thousand small files takes seconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// Redirects followed within the remote's origin (e.g. `/configs` to `/configs.git/`).
const MAX_REDIRECTS: usize = 5;
/// Bytes of an error response's body kept for the message.
const BODY_KEPT: usize = 300;
/// Bytes of one answer libgit2 may read: a push reads only the refs' advertisement and the
/// server's report. A million refs advertise in about 64 MiB; a server that sends more (or
/// without end) would otherwise grow libgit2's list of refs until memory runs out, long before
/// REQUEST_TIMEOUT.
const RESPONSE_MAX: u64 = 64 << 20;

pub const USERNAME_VAR: &str = "FANOUT_GIT_USERNAME";
pub const PASSWORD_VAR: &str = "FANOUT_GIT_PASSWORD";

/// How an `https://` push is made: whom to trust, who to be.
#[derive(Clone, Default)]
pub struct HttpsSettings {
    /// `--push-ca`: its path (for messages) and certificates, trusted instead of the system's.
    pub ca: Option<(String, Vec<reqwest::Certificate>)>,
    /// FANOUT_GIT_USERNAME, when set.
    pub username: Option<String>,
    /// FANOUT_GIT_PASSWORD: a password or an access token.
    pub password: Secret,
}

impl HttpsSettings {
    /// `--push-ca` read and checked now (a bad file stops the backup before any device is
    /// contacted), and the credentials from the environment.
    pub fn new(ca: Option<&Path>) -> Result<Self, String> {
        let ca = match ca {
            None => None,
            Some(path) => {
                // Read as every input file is: a FIFO or /dev/zero given here is refused.
                let pem = read_text(path, MAX_CONFIG_BYTES)
                    .map_err(|e| format!("--push-ca {}: {e}", path.display()))?;
                let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                    format!("--push-ca {}: not PEM certificates: {e}", path.display())
                })?;
                if certs.is_empty() {
                    return Err(format!(
                        "--push-ca {}: holds no certificate (PEM `BEGIN CERTIFICATE`)",
                        path.display()
                    ));
                }
                Some((path.display().to_string(), certs))
            }
        };
        Ok(HttpsSettings {
            ca,
            username: std::env::var(USERNAME_VAR).ok().filter(|u| !u.is_empty()),
            password: Secret::new(std::env::var(PASSWORD_VAR).unwrap_or_default()),
        })
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        // reqwest is built without a crypto provider so the workspace keeps one (ring);
        // installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .https_only(true)
            // Some hosts serve the smart protocol only to a user agent that starts `git/`
            // (libgit2 says `git/2.0 (libgit2 ...)` for the same reason).
            .user_agent(concat!("git/2.0 (fanout ", env!("CARGO_PKG_VERSION"), ")"))
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let first = &attempt.previous()[0];
                if origin(attempt.url()) != origin(first) {
                    // Following would be the moment credentials go to a host the user never
                    // named; the user can point the remote at the new place instead.
                    let to = origin(attempt.url());
                    attempt.error(format!(
                        "the server redirects to another origin ({to}); fanout does not follow \
                         it, so the credentials stay with the remote's own origin: set the \
                         remote's URL to the new location if it is right"
                    ))
                } else if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            }));
        if let Some((_, certs)) = &self.ca {
            // As git's http.sslCAInfo: the private CA replaces the system's roots.
            builder = builder.tls_certs_only(certs.iter().cloned());
        }
        builder
            .build()
            .map_err(|e| format!("cannot build the HTTPS client: {}", error_chain(&e)))
    }
}

thread_local! {
    /// The settings of the push this thread is making (see `transport`).
    pub(super) static PUSHING: RefCell<Option<HttpsPush>> = const { RefCell::new(None) };
}

/// What one `https://` push's transport is made from.
pub(super) type HttpsPush = (HttpsSettings, reqwest::Client, tokio::runtime::Handle);

/// Runs `push` with our `https://` transport available to it. Must be called on a thread
/// that may block (a `spawn_blocking` thread) of a tokio runtime.
pub fn with_https<T>(settings: &HttpsSettings, push: impl FnOnce() -> T) -> Result<T, String> {
    super::transport::register_all()?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "an https push needs the tokio runtime".to_string())?;
    let client = {
        let _entered = runtime.enter();
        settings.client()?
    };
    Ok(super::transport::with_state(
        &PUSHING,
        (settings.clone(), client, runtime),
        push,
    ))
}

/// The transport of one `https://` push.
pub(super) fn transport(
    remote: &git2::Remote,
    (settings, client, runtime): HttpsPush,
) -> Result<Transport, git2::Error> {
    let subtransport = HttpsSubtransport {
        settings,
        client,
        runtime,
        redirected: Mutex::new(None),
    };
    // Stateless (rpc): every exchange is a request of its own.
    Transport::smart(remote, true, subtransport)
}

struct HttpsSubtransport {
    settings: HttpsSettings,
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    /// Where the refs were found when the server redirected their request (within the
    /// origin): the POST goes there too, as git does.
    redirected: Mutex<Option<Url>>,
}

/// The remote's URL made ready for requests: no user info (reqwest would send it as
/// credentials of its own), a path ending in `/`.
struct Remote {
    base: Url,
    /// From FANOUT_GIT_USERNAME, else the URL's user.
    username: Option<String>,
}

impl Remote {
    fn parse(url: &str, settings: &HttpsSettings) -> Result<Self, String> {
        let mut base = Url::parse(url).map_err(|e| format!("the remote's URL: {e}"))?;
        if base.scheme() != "https" {
            return Err("only https:// remotes go through this transport".into());
        }
        if base.password().is_some() {
            // Never read, never printed: the URL is in the repository's config and messages.
            return Err(format!(
                "the remote's URL holds a password: remove it (`git remote set-url`) and set \
                 {PASSWORD_VAR} instead"
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err("the remote's URL has a query or fragment".into());
        }
        let url_user = (!base.username().is_empty()).then(|| {
            // Percent-decoded, as git reads it.
            percent_decode(base.username())
        });
        let _ = base.set_username("");
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Remote {
            base,
            username: settings.username.clone().or(url_user),
        })
    }
}

impl HttpsSubtransport {
    fn request(&self, url: &str, action: Service) -> Result<HttpStream, String> {
        let remote = Remote::parse(url, &self.settings)?;
        let (service, listing) = match action {
            Service::UploadPackLs => ("git-upload-pack", true),
            Service::UploadPack => ("git-upload-pack", false),
            Service::ReceivePackLs => ("git-receive-pack", true),
            Service::ReceivePack => ("git-receive-pack", false),
        };
        let auth = Auth {
            username: remote.username.clone(),
            password: self.settings.password.clone(),
        };
        if listing {
            let mut refs = remote
                .base
                .join("info/refs")
                .map_err(|e| format!("the remote's URL: {e}"))?;
            refs.set_query(Some(&format!("service={service}")));
            let request = auth.apply(self.client.get(refs.clone()));
            let response = self
                .runtime
                .block_on(request.send())
                .map_err(|e| sent_error(&remote.base, &e))?;
            // A redirect (within the origin) moved the repository: later requests go there.
            let landed = response.url().clone();
            let mut redirected = self.redirected.lock().unwrap_or_else(|p| p.into_inner());
            // (Landing anywhere but on `.../info/refs` fails the content check below.)
            *redirected = if landed == refs {
                None
            } else {
                landed.path().strip_suffix("info/refs").map(|path| {
                    let mut base = landed.clone();
                    base.set_path(path);
                    base.set_query(None);
                    base
                })
            };
            drop(redirected);
            let response = checked(
                response,
                &format!("application/x-{service}-advertisement"),
                &auth,
                &self.runtime,
            )?;
            return Ok(HttpStream::receiving(response, self.runtime.clone()));
        }
        let base = self
            .redirected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or(remote.base);
        let url = base
            .join(service)
            .map_err(|e| format!("the remote's URL: {e}"))?;
        Ok(HttpStream::Sending {
            url,
            service,
            auth,
            body: Vec::new(),
            subtransport: SendVia {
                client: self.client.clone(),
                runtime: self.runtime.clone(),
            },
        })
    }
}

impl SmartSubtransport for HttpsSubtransport {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        let stream = self
            .request(url, action)
            .map_err(|e| git2::Error::from_str(&e))?;
        Ok(Box::new(stream))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

/// Basic auth, when there is a password; the user alone is not sent (git would prompt for
/// the password; a backup cannot).
#[derive(Clone)]
struct Auth {
    username: Option<String>,
    password: Secret,
}

impl Auth {
    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.username {
            // reqwest marks the header sensitive, and strips it itself on a redirect to
            // another host (which the policy refuses anyway).
            Some(user) if !self.password.is_empty() => {
                request.basic_auth(user, Some(self.password.expose()))
            }
            _ => request,
        }
    }

    fn sent(&self) -> bool {
        self.username.is_some() && !self.password.is_empty()
    }

    /// Whether `text` holds the password, in clear or as the Basic credentials that carried
    /// it.
    fn repeated_in(&self, text: &[u8]) -> bool {
        let password = self.password.expose();
        if password.is_empty() {
            return false;
        }
        let holds = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
        let basic = self
            .username
            .as_ref()
            .map(|user| data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()));
        holds(password.as_bytes()) || basic.is_some_and(|b| holds(b.as_bytes()))
    }
}

/// The response if it is what git's smart protocol answers; a message that says what to do
/// otherwise.
fn checked(
    response: reqwest::Response,
    content_type: &str,
    auth: &Auth,
    runtime: &tokio::runtime::Handle,
) -> Result<reqwest::Response, String> {
    let url = response.url().clone();
    let status = response.status();
    let at = shown(&url);
    if status == StatusCode::UNAUTHORIZED {
        return Err(if auth.sent() {
            format!(
                "authentication failed at {at} (HTTP 401): the server refused the user and \
                 password of {USERNAME_VAR} / {PASSWORD_VAR}"
            )
        } else {
            format!(
                "authentication failed at {at} (HTTP 401): the server wants credentials; set \
                 {USERNAME_VAR} and {PASSWORD_VAR} (a password or an access token)"
            )
        });
    }
    if status == StatusCode::FORBIDDEN {
        return Err(format!(
            "access denied at {at} (HTTP 403): the user of {USERNAME_VAR} may not push there"
        ));
    }
    if !status.is_success() {
        // Read past what is shown by the longest secret, so one that starts in the part
        // shown is seen whole.
        let secrets =
            4 * (auth.password.expose().len() + auth.username.as_ref().map_or(0, String::len)) / 3
                + 8;
        let body = runtime.block_on(first_bytes(response, BODY_KEPT + secrets));
        // A debugging page or a proxy may echo the request, Authorization header included.
        if auth.repeated_in(&body) {
            return Err(format!(
                "{at} answered HTTP {status} (its text repeats the credentials: not shown)"
            ));
        }
        let body = String::from_utf8_lossy(&body[..body.len().min(BODY_KEPT)]).into_owned();
        let body = crate::terminal_text::line(body.trim()).into_owned();
        return Err(format!("{at} answered HTTP {status}: {body}"));
    }
    let got = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if got.split(';').next().unwrap_or("").trim() != content_type {
        return Err(format!(
            "{at} is not a git server speaking the smart HTTP protocol (answered {:?}, not \
             {content_type})",
            crate::terminal_text::line(&got)
        ));
    }
    Ok(response)
}

/// The first `limit` bytes of a response's body, the rest never read: an error page is kept
/// only as far as it is shown, and a server may send one without end.
async fn first_bytes(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    while kept.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    kept
}

/// A URL for messages: no user info, no query.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.to_string()
}

/// `scheme://host:port`, what credentials are bound to.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A request that did not get an answer: reqwest's error with its causes (the TLS verifier's
/// reason is several levels down).
fn sent_error(base: &Url, error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_redirect() {
        "refused a redirect"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let why = error_chain(error);
    let hint = if why.contains("UnknownIssuer") {
        // The TLS verifier's reason says what is wrong; this says what to do. (Only for an
        // unknown CA: for an expired certificate or another name, --push-ca would not help.)
        "; if the server's certificate is signed by a private CA, give that CA with --push-ca"
    } else {
        ""
    };
    format!("{} {what}: {why}{hint}", shown(base))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct SendVia {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

/// One exchange as the blocking `Read + Write` libgit2 wants.
enum HttpStream {
    /// A POST being written: sent when libgit2 first reads its answer.
    Sending {
        url: Url,
        service: &'static str,
        auth: Auth,
        body: Vec<u8>,
        subtransport: SendVia,
    },
    /// A response being read.
    Receiving {
        response: reqwest::Response,
        runtime: tokio::runtime::Handle,
        pending: bytes::Bytes,
        /// Bytes of the body so far, held under RESPONSE_MAX.
        received: u64,
    },
    Done,
}

impl HttpStream {
    fn receiving(response: reqwest::Response, runtime: tokio::runtime::Handle) -> Self {
        HttpStream::Receiving {
            response,
            runtime,
            pending: bytes::Bytes::new(),
            received: 0,
        }
    }

    /// Sends the POST of a `Sending` stream and becomes the stream of its answer.
    fn send(&mut self) -> std::io::Result<()> {
        let HttpStream::Sending {
            url,
            service,
            auth,
            body,
            subtransport,
        } = std::mem::replace(self, HttpStream::Done)
        else {
            return Ok(());
        };
        let request = subtransport
            .client
            .post(url.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_str(&format!("application/x-{service}-request"))
                    .map_err(std::io::Error::other)?,
            )
            .header(
                ACCEPT,
                HeaderValue::from_str(&format!("application/x-{service}-result"))
                    .map_err(std::io::Error::other)?,
            )
            .body(body);
        let request = auth.apply(request);
        let response = subtransport
            .runtime
            .block_on(request.send())
            .map_err(|e| std::io::Error::other(sent_error(&url, &e)))?;
        let response = checked(
            response,
            &format!("application/x-{service}-result"),
            &auth,
            &subtransport.runtime,
        )
        .map_err(std::io::Error::other)?;
        *self = HttpStream::receiving(response, subtransport.runtime);
        Ok(())
    }
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if matches!(self, HttpStream::Sending { .. }) {
            self.send()?;
        }
        let HttpStream::Receiving {
            response,
            runtime,
            pending,
            received,
        } = self
        else {
            return Ok(0);
        };
        while pending.is_empty() {
            let url = response.url().clone();
            match runtime.block_on(response.chunk()) {
                Ok(Some(chunk)) => {
                    *received += chunk.len() as u64;
                    if *received > RESPONSE_MAX {
                        return Err(std::io::Error::other(format!(
                            "{} answered more than {} MiB: not what a git server answers a push",
                            shown(&url),
                            RESPONSE_MAX >> 20
                        )));
                    }
                    *pending = chunk;
                }
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(sent_error(&url, &e))),
            }
        }
        let n = buf.len().min(pending.len());
        buf[..n].copy_from_slice(&pending.split_to(n));
        Ok(n)
    }
}

impl Write for HttpStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            HttpStream::Sending { body, .. } => {
                body.extend_from_slice(buf);
                Ok(buf.len())
            }
            _ => Err(std::io::Error::other(
                "libgit2 wrote to an HTTP exchange after reading its answer",
            )),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--push-ca` is read as every input file is: a FIFO would block the backup forever.
    #[test]
    fn a_push_ca_that_is_not_a_regular_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ca.pem");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = HttpsSettings::new(Some(&fifo)).err().unwrap();
        assert!(e.contains("named pipe"), "{e}");
    }

    fn settings(username: Option<&str>) -> HttpsSettings {
        HttpsSettings {
            ca: None,
            username: username.map(String::from),
            password: Secret::new("pw"),
        }
    }

    #[test]
    fn the_remote_loses_its_user_info_and_gains_a_trailing_slash() {
        let remote = Remote::parse(
            "https://backup%40corp@git.example.net:8443/net/configs.git",
            &settings(None),
        )
        .unwrap();
        assert_eq!(
            remote.base.as_str(),
            "https://git.example.net:8443/net/configs.git/"
        );
        assert_eq!(remote.username.as_deref(), Some("backup@corp"));
        // The environment's user wins over the URL's.
        let remote = Remote::parse("https://u@h/r", &settings(Some("env"))).unwrap();
        assert_eq!(remote.username.as_deref(), Some("env"));
        assert_eq!(
            remote.base.join("info/refs").unwrap().path(),
            "/r/info/refs"
        );
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_being_repeated() {
        let refused = Remote::parse("https://u:hunter2@h/r", &settings(None))
            .err()
            .unwrap();
        assert!(refused.contains(PASSWORD_VAR), "{refused}");
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(Remote::parse("http://h/r", &settings(None)).is_err());
    }

    #[test]
    fn origins_differ_by_host_port_or_scheme() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(origin(&url("https://h/a")), origin(&url("https://h:443/b")));
        assert_ne!(
            origin(&url("https://h/a")),
            origin(&url("https://h:8443/a"))
        );
        assert_ne!(origin(&url("https://h/a")), origin(&url("https://g/a")));
        assert_ne!(origin(&url("https://h/a")), origin(&url("http://h/a")));
    }

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
