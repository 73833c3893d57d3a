//! Getting to an authenticated SSH connection: resolve, TCP connect (or a `direct-tcpip` channel
//! through a jump host), SSH banner and key exchange, host-key check, then authentication:
//! public key from a file, ssh-agent keys, password, keyboard-interactive, in that order.

use super::deadline::HostDeadline;
use super::error::SessionError;
use super::known_hosts::HostKeyCheck;
use super::{DeviceTarget, JumpHost, SessionOptions, SshAlgorithms};
use fanout_common::Secret;
use russh::client::{self, AuthResult, KeyboardInteractiveAuthResponse};
use russh::keys::agent::client::AgentClient;
use russh::keys::{Algorithm, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{Disconnect, MethodKind, Preferred, cipher, kex};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tracing::debug;

/// Keyboard-interactive rounds answered before giving up; a server asking more is looping.
const MAX_INTERACTIVE_ROUNDS: usize = 8;
/// Agent keys offered before giving up: servers cut a client off after ~6 failed attempts.
const MAX_AGENT_KEYS: usize = 5;

/// The SSH window fanout offers a device's channel (see `client_config`).
const WINDOW_SIZE: u32 = 512 * 1024;
/// Messages from a channel russh queues for our read loop (see `client_config`).
const CHANNEL_BUFFER: usize = 32;

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
/// the fastest key exchange. Compression stays off unless the server insists. A host's
/// `ssh_options` replace a whole list (as OpenSSH's `KexAlgorithms=` does), for old devices.
fn client_config(
    options: &SessionOptions,
    algorithms: &SshAlgorithms,
) -> Result<Arc<client::Config>, SessionError> {
    let defaults = Preferred::default();
    let kex: Vec<kex::Name> = if algorithms.kex.is_empty() {
        let fast_kex = [kex::CURVE25519, kex::CURVE25519_PRE_RFC_8731];
        let mut kex: Vec<kex::Name> = fast_kex.to_vec();
        kex.extend(defaults.kex.iter().filter(|k| !fast_kex.contains(k)));
        kex
    } else {
        let mut kex = parse_names(&algorithms.kex, "kex", |n| kex::Name::try_from(n).ok())?;
        // The protocol-extension markers are not algorithms; keep them whatever the list.
        kex.extend([
            kex::EXTENSION_SUPPORT_AS_CLIENT,
            kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
        ]);
        kex
    };
    let ciphers: Vec<cipher::Name> = if algorithms.ciphers.is_empty() {
        let fast_ciphers = [
            cipher::AES_128_GCM,
            cipher::AES_256_GCM,
            cipher::CHACHA20_POLY1305,
        ];
        let mut ciphers: Vec<cipher::Name> = fast_ciphers.to_vec();
        ciphers.extend(defaults.cipher.iter().filter(|c| !fast_ciphers.contains(c)));
        ciphers
    } else {
        parse_names(&algorithms.ciphers, "cipher", |n| {
            cipher::Name::try_from(n).ok()
        })?
    };
    let key: Cow<'static, [Algorithm]> = if algorithms.host_key.is_empty() {
        defaults.key.clone()
    } else {
        Cow::Owned(parse_names(
            &algorithms.host_key,
            "host key algorithm",
            |n| Algorithm::new(n).ok(),
        )?)
    };
    Ok(Arc::new(client::Config {
        preferred: Preferred {
            kex: Cow::Owned(kex),
            cipher: Cow::Owned(ciphers),
            key,
            ..defaults
        },
        // A backstop for the connection task russh runs in the background: our own deadlines
        // end every step, but nothing may outlive the host's budget.
        inactivity_timeout: Some(options.host_timeout.max(Duration::from_secs(1))),
        nodelay: true,
        // What a device may send before we read it. russh's 2 MB default is for file transfer;
        // a CLI session reads as output arrives, so the window only bounds what can pile up
        // while the session threads are busy (per session, times 10,000 sessions). 512 KB
        // still lets a 100 ms link carry about 5 MB/s, faster than CLIs print.
        window_size: WINDOW_SIZE,
        // Received messages queued for our read loop before russh stops reading the socket.
        // tokio allocates a channel's queue in blocks of 32 messages, the first at creation:
        // 32 keeps a burst inside that block instead of growing to russh's default of 100
        // (up to 4 blocks and 100 packets of 32 KB held per session).
        channel_buffer_size: CHANNEL_BUFFER,
        // russh's default (32 KB, OpenSSH's too) stays: smaller packets cost CPU per packet and
        // save nothing, since a packet's buffer is freed once it is read.
        ..Default::default()
    }))
}

/// Each name through `parse`; the first one russh does not implement is an error naming it.
fn parse_names<T>(
    names: &[String],
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, SessionError> {
    names
        .iter()
        .map(|name| {
            parse(name).ok_or_else(|| {
                SessionError::Protocol(format!("ssh_options: unsupported {what} {name:?}"))
            })
        })
        .collect()
}

/// An authenticated connection to the device, and the jump host connection it runs inside
/// (kept open for as long as the device's is).
pub struct Connection {
    pub device: SshHandle,
    jump: Option<SshHandle>,
}

impl Connection {
    /// Says goodbye to the device, then to the jump host, within `grace`.
    pub async fn disconnect(&self, grace: Duration) {
        let goodbye = async {
            self.device
                .disconnect(Disconnect::ByApplication, "", "en")
                .await
                .ok();
            if let Some(jump) = &self.jump {
                jump.disconnect(Disconnect::ByApplication, "", "en")
                    .await
                    .ok();
            }
        };
        tokio::time::timeout(grace, goodbye).await.ok();
    }
}

/// Connects and authenticates, each phase bounded by `connect_timeout` and the host deadline.
/// Credentials are sent only after the host key was accepted: russh calls `check_server_key`
/// during the key exchange, before `connect_stream` returns. Through a jump host, the jump
/// host's key is checked (same known_hosts, same policy) before anything is sent to it either.
pub async fn connect(
    target: &DeviceTarget,
    options: &SessionOptions,
    deadline: &HostDeadline,
) -> Result<Connection, SessionError> {
    let config = client_config(options, &target.algorithms)?;
    let Some(jump) = &target.jump_host else {
        let stream = deadline
            .run(
                options.connect_timeout,
                || format!("connecting to {}:{}", target.hostname, target.port),
                tcp_connect(&target.hostname, target.port),
            )
            .await?;
        let device = handshake(config, stream, target, &target.username, options, deadline).await?;
        return Ok(Connection { device, jump: None });
    };
    let jump = &JumpHost::parse(jump, &target.username).map_err(SessionError::Protocol)?;
    let jump_handle = connect_jump(jump, target, options, deadline).await?;
    let channel = deadline
        .run(
            options.connect_timeout,
            || {
                format!(
                    "opening a channel to {}:{} through jump host {}",
                    target.hostname, target.port, jump.hostname
                )
            },
            jump_handle.channel_open_direct_tcpip(
                target.hostname.clone(),
                u32::from(target.port),
                "127.0.0.1",
                0,
            ),
        )
        .await
        .map_err(|e| match e {
            SessionError::Ssh(russh::Error::ChannelOpenFailure(reason)) => {
                SessionError::Protocol(format!(
                    "jump host {} refused to forward to {}:{} ({reason:?})",
                    jump.hostname, target.hostname, target.port
                ))
            }
            other => other,
        })?;
    let device = handshake(
        config,
        channel.into_stream(),
        target,
        &target.username,
        options,
        deadline,
    )
    .await?;
    Ok(Connection {
        device,
        jump: Some(jump_handle),
    })
}

/// Connects and authenticates to the jump host with the device's credentials.
async fn connect_jump(
    jump: &JumpHost,
    target: &DeviceTarget,
    options: &SessionOptions,
    deadline: &HostDeadline,
) -> Result<SshHandle, SessionError> {
    let stream = deadline
        .run(
            options.connect_timeout,
            || format!("connecting to jump host {}:{}", jump.hostname, jump.port),
            tcp_connect(&jump.hostname, jump.port),
        )
        .await?;
    let jump_target = DeviceTarget {
        name: target.name.clone(),
        hostname: jump.hostname.clone(),
        port: jump.port,
        ..target.clone()
    };
    // Old-device algorithm options are for the device; the bastion gets the defaults.
    let config = client_config(options, &SshAlgorithms::default())?;
    handshake(
        config,
        stream,
        &jump_target,
        &jump.username,
        options,
        deadline,
    )
    .await
    .map_err(|e| match e {
        SessionError::HostKey(why) => SessionError::HostKey(format!("jump host: {why}")),
        SessionError::Auth { user, tried } => SessionError::Auth {
            user: format!("{user} at jump host {}", jump.hostname),
            tried,
        },
        other => other,
    })
}

/// SSH banner, key exchange and host-key check on `stream`, then authentication as `user`.
async fn handshake<S>(
    config: Arc<client::Config>,
    stream: S,
    target: &DeviceTarget,
    user: &str,
    options: &SessionOptions,
    deadline: &HostDeadline,
) -> Result<SshHandle, SessionError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
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
            || {
                format!(
                    "waiting for the ssh banner and key exchange of {}",
                    target.hostname
                )
            },
            async {
                // A reset before the banner is the device turning us away at the door, as a
                // refused connect is; anything later is a session that broke.
                client::connect_stream(config, stream, handler)
                    .await
                    .map_err(|e| match e {
                        SessionError::Ssh(russh::Error::IO(source))
                            if source.kind() == std::io::ErrorKind::ConnectionReset =>
                        {
                            SessionError::Connect {
                                address: format!("{}:{}", target.hostname, target.port),
                                source,
                            }
                        }
                        other => other,
                    })
            },
        )
        .await?;
    debug!(server = %target.hostname, "ssh key exchange done");
    deadline
        .run(
            options.connect_timeout,
            || "authenticating".into(),
            authenticate(&mut handle, target, user),
        )
        .await?;
    debug!(server = %target.hostname, "authenticated");
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

/// Public key from the inventory's key file first, then the agent's keys (when asked for, or
/// when there is no password), then the password, then keyboard-interactive answering every
/// prompt with the password (what IOS, NX-OS and PAM-backed servers ask for).
async fn authenticate(
    handle: &mut SshHandle,
    target: &DeviceTarget,
    user: &str,
) -> Result<(), SessionError> {
    let mut tried: Vec<&'static str> = Vec::new();
    let mut remaining = None;
    if !target.keys.private_key.is_empty() {
        tried.push("publickey");
        let key = decode_key(target)?;
        let hash = handle.best_supported_rsa_hash().await?.flatten();
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        match handle.authenticate_publickey(user, key).await? {
            AuthResult::Success => return Ok(()),
            AuthResult::Failure {
                remaining_methods, ..
            } => remaining = Some(remaining_methods),
        }
    }
    let password = target.password.expose();
    if target.keys.agent || password.is_empty() {
        match AgentClient::connect_env().await {
            Ok(mut agent) => {
                tried.push("agent");
                if authenticate_with_agent(handle, user, &mut agent).await? {
                    return Ok(());
                }
            }
            Err(e) if target.keys.agent => {
                return Err(SessionError::Agent(format!(
                    "ssh_agent is set but the agent cannot be reached: {e}"
                )));
            }
            Err(_) => {}
        }
    }
    if password.is_empty() {
        return Err(SessionError::Auth {
            user: user.to_owned(),
            tried: joined(&tried, "no password set"),
        });
    }
    let password_allowed = remaining
        .as_ref()
        .is_none_or(|m: &russh::MethodSet| m.contains(&MethodKind::Password));
    if password_allowed {
        tried.push("password");
        match handle.authenticate_password(user, password).await? {
            AuthResult::Success => return Ok(()),
            AuthResult::Failure {
                remaining_methods, ..
            } => remaining = Some(remaining_methods),
        }
    }
    if !remaining
        .as_ref()
        .is_none_or(|m| m.contains(&MethodKind::KeyboardInteractive))
    {
        return Err(SessionError::Auth {
            user: user.to_owned(),
            tried: joined(&tried, ""),
        });
    }
    tried.push("keyboard-interactive");
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
        tried: joined(&tried, ""),
    })
}

fn joined(tried: &[&str], note: &str) -> String {
    let mut text = if tried.is_empty() {
        "nothing".to_string()
    } else {
        tried.join(", ")
    };
    if !note.is_empty() {
        text.push_str("; ");
        text.push_str(note);
    }
    text
}

/// The inventory's private key, decrypted with its passphrase. Errors name the key's path,
/// never its contents or the passphrase.
fn decode_key(target: &DeviceTarget) -> Result<russh::keys::PrivateKey, SessionError> {
    let keys = &target.keys;
    decode_private_key(&keys.private_key, &keys.passphrase).map_err(|why| SessionError::Key {
        path: keys.key_path.clone(),
        why,
    })
}

/// Decrypts a private key (OpenSSH or PEM text); the error says why in words that name neither
/// the key nor the passphrase.
pub(super) fn decode_private_key(
    key: &Secret,
    passphrase: &Secret,
) -> Result<russh::keys::PrivateKey, String> {
    let passphrase = (!passphrase.is_empty()).then(|| passphrase.expose());
    russh::keys::decode_secret_key(key.expose(), passphrase).map_err(|e| match (&e, passphrase) {
        (russh::keys::Error::KeyIsEncrypted, None) => {
            "it is encrypted and no passphrase is set (ssh_key_passphrase_env / _file)".to_string()
        }
        (_, Some(_)) => format!("wrong passphrase or unreadable key ({e})"),
        _ => format!("unreadable key ({e})"),
    })
}

/// Offers the agent's keys one by one; true once one is accepted.
async fn authenticate_with_agent(
    handle: &mut SshHandle,
    user: &str,
    agent: &mut AgentClient<tokio::net::UnixStream>,
) -> Result<bool, SessionError> {
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| SessionError::Agent(format!("cannot list the agent's keys: {e}")))?;
    let hash = handle.best_supported_rsa_hash().await?.flatten();
    for identity in identities.iter().take(MAX_AGENT_KEYS) {
        let key = identity.public_key().into_owned();
        match handle
            .authenticate_publickey_with(user, key, hash, agent)
            .await
        {
            Ok(AuthResult::Success) => return Ok(true),
            Ok(AuthResult::Failure { .. }) => continue,
            Err(e) => {
                debug!(error = %e, "agent could not sign");
                continue;
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of_val;

    /// A host's future is alive for its whole session, so it must not hold the state of
    /// connecting (the largest, about 10 KB with russh's `connect_stream` inside): `run_host`
    /// boxes it. Inline, every session held it through its commands (bench/PROFILE.md).
    #[tokio::test]
    async fn a_sessions_future_does_not_hold_the_connect_state() {
        let job = crate::jobs::Job::new(
            fanout_common::proto::JobSpec::default(),
            &tokio_util::sync::CancellationToken::new(),
        );
        let target = DeviceTarget::default();
        let deadline = HostDeadline::start(Duration::from_secs(1));
        let commands = ["show version".to_string()];
        let connecting = size_of_val(&connect(&target, &job.options, &deadline));
        let session = size_of_val(&super::super::collect(&target, &commands, &job.options));
        println!("connect: {connecting} bytes, session::collect: {session} bytes");
        assert!(
            session < connecting,
            "session {session} bytes, connect {connecting}"
        );
    }
}
