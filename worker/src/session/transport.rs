//! Getting to an authenticated SSH connection: resolve, TCP connect, SSH banner and key
//! exchange, host-key check, then password or keyboard-interactive authentication.

use super::deadline::HostDeadline;
use super::error::SessionError;
use super::known_hosts::HostKeyCheck;
use super::{DeviceTarget, SessionOptions};
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::PublicKeyOrCertificate;
use russh::{MethodKind, Preferred, cipher, kex};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tracing::debug;

/// Keyboard-interactive rounds answered before giving up; a server asking more is looping.
const MAX_INTERACTIVE_ROUNDS: usize = 8;

/// The russh callbacks for one device session: the host-key check and nothing else.
pub struct DeviceHandler {
    check: HostKeyCheck,
}

impl client::Handler for DeviceHandler {
    type Error = SessionError;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, SessionError> {
        match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                self.check.verify(key).await?;
                Ok(true)
            }
            // We advertise no certificate algorithms, so a certificate here is a confused or
            // hostile server; refuse it rather than trust the key inside.
            PublicKeyOrCertificate::Certificate(_) => Err(SessionError::HostKey(
                "server presented a host certificate, which fanout does not trust".into(),
            )),
        }
    }
}

pub type SshHandle = client::Handle<DeviceHandler>;

/// The client configuration: russh's defaults with the cheapest strong algorithms first.
/// AES-GCM runs on the AES instructions through ring and beats ChaCha20 there; curve25519 is
/// the fastest key exchange. Compression stays off unless the server insists.
fn client_config(options: &SessionOptions) -> Arc<client::Config> {
    let defaults = Preferred::default();
    let fast_kex = [kex::CURVE25519, kex::CURVE25519_PRE_RFC_8731];
    let mut kex: Vec<kex::Name> = fast_kex.to_vec();
    kex.extend(defaults.kex.iter().filter(|k| !fast_kex.contains(k)));
    let fast_ciphers = [
        cipher::AES_128_GCM,
        cipher::AES_256_GCM,
        cipher::CHACHA20_POLY1305,
    ];
    let mut ciphers: Vec<cipher::Name> = fast_ciphers.to_vec();
    ciphers.extend(defaults.cipher.iter().filter(|c| !fast_ciphers.contains(c)));
    Arc::new(client::Config {
        preferred: Preferred {
            kex: Cow::Owned(kex),
            cipher: Cow::Owned(ciphers),
            ..defaults
        },
        // A backstop for the connection task russh runs in the background: our own deadlines
        // end every step, but nothing may outlive the host's budget.
        inactivity_timeout: Some(options.host_timeout.max(Duration::from_secs(1))),
        nodelay: true,
        ..Default::default()
    })
}

/// Connects and authenticates, each phase bounded by `connect_timeout` and the host deadline.
/// Credentials are sent only after the host key was accepted: russh calls `check_server_key`
/// during the key exchange, before `connect_stream` returns.
pub async fn connect(
    target: &DeviceTarget,
    options: &SessionOptions,
    deadline: &HostDeadline,
) -> Result<SshHandle, SessionError> {
    let stream = deadline
        .run(
            options.connect_timeout,
            || format!("connecting to {}:{}", target.hostname, target.port),
            tcp_connect(&target.hostname, target.port),
        )
        .await?;
    let handler = DeviceHandler {
        check: HostKeyCheck {
            policy: options.host_key_policy,
            known_hosts: options.known_hosts.clone(),
            hostname: target.hostname.clone(),
            port: target.port,
        },
    };
    let mut handle = deadline
        .run(
            options.connect_timeout,
            || "waiting for the ssh banner and key exchange".into(),
            client::connect_stream(client_config(options), stream, handler),
        )
        .await?;
    debug!("ssh key exchange done");
    deadline
        .run(
            options.connect_timeout,
            || "authenticating".into(),
            authenticate(&mut handle, target),
        )
        .await?;
    debug!("authenticated");
    Ok(handle)
}

/// Resolves `hostname` and connects to the first address that answers.
async fn tcp_connect(hostname: &str, port: u16) -> Result<TcpStream, SessionError> {
    let addresses = tokio::net::lookup_host((hostname, port))
        .await
        .map_err(|source| SessionError::Connect {
            address: format!("{hostname}:{port}"),
            source,
        })?;
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // Commands are small writes that want to leave at once.
                stream.set_nodelay(true).ok();
                return Ok(stream);
            }
            Err(source) => {
                last_error = Some(SessionError::Connect {
                    address: address.to_string(),
                    source,
                })
            }
        }
    }
    Err(last_error.unwrap_or_else(|| SessionError::NoAddress {
        hostname: hostname.to_owned(),
    }))
}

/// Password first; keyboard-interactive if the server offers it, answering every prompt with
/// the password (what IOS, NX-OS and PAM-backed servers ask for).
async fn authenticate(handle: &mut SshHandle, target: &DeviceTarget) -> Result<(), SessionError> {
    let user = target.username.as_str();
    let password = target.password.expose();
    let remaining = match handle.authenticate_password(user, password).await? {
        AuthResult::Success => return Ok(()),
        AuthResult::Failure {
            remaining_methods, ..
        } => remaining_methods,
    };
    if !remaining.contains(&MethodKind::KeyboardInteractive) {
        return Err(SessionError::Auth {
            user: user.to_owned(),
            tried: "password",
        });
    }
    let mut reply = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await?;
    for _ in 0..MAX_INTERACTIVE_ROUNDS {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(()),
            KeyboardInteractiveAuthResponse::Failure { .. } => break,
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts.iter().map(|_| password.to_owned()).collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await?;
            }
        }
    }
    Err(SessionError::Auth {
        user: user.to_owned(),
        tried: "password, keyboard-interactive",
    })
}
