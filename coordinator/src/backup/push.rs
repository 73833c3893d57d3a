//! `--push`: where the branch goes after a backup, and git over SSH.
//!
//! libgit2 is built here without its network transports (no libssh2, no OpenSSL to build or
//! link). An `ssh://` remote goes instead through a transport of our own registered with
//! libgit2: libgit2 speaks git's smart protocol and builds the pack; the bytes travel on an
//! `exec` channel running `git-receive-pack` on the server, opened by the same SSH client the
//! workers use for devices (`fanout_worker::session::exec_channel`). The server's host key
//! must already be in known_hosts (strict: a push never pins a key), and the user
//! authenticates with --push-ssh-key or the keys of ssh-agent.
//!
//! An `https://` remote goes through the transport of [`super::https`] the same way.
//!
//! Not supported: scp-like `user@host:path` remotes (write them as `ssh://user@host/path`),
//! plain `http://` and `git://`, and fetching (a backup only pushes).

use super::args::BackupOptions;
use fanout_common::Secret;
use fanout_common::proto::HostKeyPolicy;
use fanout_worker::session::{DeviceTarget, KeyAuth, SessionOptions};
use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use russh::ChannelMsg;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Connect, key exchange and authentication, each.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The whole push; a pack of ten thousand small files takes seconds.
const PUSH_TIMEOUT: Duration = Duration::from_secs(600);
/// Bytes of the server's stderr kept for the error message.
const STDERR_KEPT: usize = 2000;

/// The remote to push to and how to reach it over SSH or HTTPS.
#[derive(Clone)]
pub struct PushTarget {
    /// A remote of the repository (`git remote add`), by name.
    pub remote: String,
    pub ssh: SshSettings,
    pub https: super::https::HttpsSettings,
}

#[derive(Clone)]
pub struct SshSettings {
    /// A private key's text and where it came from; empty for ssh-agent's keys only.
    pub key: Secret,
    pub key_path: String,
    pub passphrase: Secret,
    /// The remote's host key must be here.
    pub known_hosts: PathBuf,
}

impl PushTarget {
    /// `--push` and its SSH settings, the key checked now (a wrong passphrase stops the
    /// backup before any device is contacted, naming the file, never the key).
    pub fn new(options: &BackupOptions) -> Result<Option<Self>, String> {
        let Some(remote) = &options.push else {
            if options.push_ssh_key.is_some() {
                return Err("--push-ssh-key needs --push".into());
            }
            if options.push_ca.is_some() {
                return Err("--push-ca needs --push".into());
            }
            return Ok(None);
        };
        let passphrase =
            Secret::new(std::env::var("FANOUT_PUSH_SSH_PASSPHRASE").unwrap_or_default());
        let (key, key_path) = match &options.push_ssh_key {
            None => (Secret::default(), String::new()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--push-ssh-key {}: {e}", path.display()))?;
                let key = Secret::new(text);
                fanout_worker::preflight::check_private_key(&key, &passphrase)
                    .map_err(|why| format!("--push-ssh-key {}: {why}", path.display()))?;
                (key, path.display().to_string())
            }
        };
        let known_hosts = match &options.push_known_hosts {
            Some(path) => path.clone(),
            None => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".ssh/known_hosts"))
                .ok_or("--push-known-hosts is not given and HOME is not set")?,
        };
        let https = super::https::HttpsSettings::new(options.push_ca.as_deref())?;
        Ok(Some(PushTarget {
            remote: remote.clone(),
            https,
            ssh: SshSettings {
                key,
                key_path,
                passphrase,
                known_hosts,
            },
        }))
    }
}

thread_local! {
    /// The SSH settings of the push this thread is making (see `transport`).
    pub(super) static PUSHING: RefCell<Option<(SshSettings, tokio::runtime::Handle)>> = const { RefCell::new(None) };
}

/// Runs `push` with our `ssh://` transport available to it. Must be called on a thread
/// that may block (a `spawn_blocking` thread) of a tokio runtime.
pub fn with_ssh<T>(settings: &SshSettings, push: impl FnOnce() -> T) -> Result<T, String> {
    super::transport::register_all()?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "an ssh push needs the tokio runtime".to_string())?;
    Ok(super::transport::with_state(
        &PUSHING,
        (settings.clone(), runtime),
        push,
    ))
}

/// The transport of one `ssh://` push.
pub(super) fn transport(
    remote: &git2::Remote,
    (settings, runtime): (SshSettings, tokio::runtime::Handle),
) -> Result<Transport, git2::Error> {
    // Not stateless: libgit2 lists the refs and sends the pack on one stream.
    Transport::smart(remote, false, SshSubtransport { settings, runtime })
}

struct SshSubtransport {
    settings: SshSettings,
    runtime: tokio::runtime::Handle,
}

impl SmartSubtransport for SshSubtransport {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        if action != Service::ReceivePackLs {
            // ReceivePack reuses the stream of ReceivePackLs; fetching is not offered.
            return Err(git2::Error::from_str(
                "fanout's ssh transport only pushes (git-receive-pack)",
            ));
        }
        let remote = SshUrl::parse(url).map_err(|e| git2::Error::from_str(&e))?;
        let command = format!("git-receive-pack {}", shell_quote(&remote.path));
        let target = DeviceTarget {
            name: format!("{}:{}", remote.host, remote.port),
            hostname: remote.host.clone(),
            port: remote.port,
            username: remote.user.clone(),
            keys: KeyAuth {
                private_key: self.settings.key.clone(),
                key_path: self.settings.key_path.clone(),
                passphrase: self.settings.passphrase.clone(),
                agent: self.settings.key.is_empty(),
            },
            ..DeviceTarget::default()
        };
        let options = SessionOptions {
            connect_timeout: CONNECT_TIMEOUT,
            command_timeout: PUSH_TIMEOUT,
            host_timeout: PUSH_TIMEOUT,
            // A push never learns a key: the remote must be known already.
            host_key_policy: HostKeyPolicy::Strict,
            known_hosts: self.settings.known_hosts.clone(),
            max_output_bytes: 0,
            session_log: false,
        };
        let opened = self.runtime.block_on(fanout_worker::session::exec_channel(
            &target, &options, &command,
        ));
        let exec = opened.map_err(|why| {
            git2::Error::from_str(&format!(
                "ssh {}@{}:{}: {why}",
                remote.user, remote.host, remote.port
            ))
        })?;
        Ok(Box::new(ChannelIo::start(exec, &self.runtime)))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

/// What the reading task hands the blocking reader.
enum Incoming {
    Data(Vec<u8>),
    /// The channel closed: the command's exit status and what it said on stderr.
    End {
        status: Option<u32>,
        stderr: String,
    },
}

/// The exec channel as the blocking `Read + Write` libgit2 wants: a task reads the channel
/// (stdout as data, stderr kept for the message), writes go through the runtime.
struct ChannelIo {
    incoming: mpsc::Receiver<Incoming>,
    pending: Vec<u8>,
    at: usize,
    writer: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    runtime: tokio::runtime::Handle,
    /// Held so the connection outlives the stream.
    _connection: Box<dyn Send>,
    ended: bool,
}

impl ChannelIo {
    fn start(exec: fanout_worker::session::ExecChannel, runtime: &tokio::runtime::Handle) -> Self {
        let (connection, channel) = exec.into_parts();
        let (mut read_half, write_half) = channel.split();
        let writer = Box::pin(write_half.make_writer());
        let (tx, incoming) = mpsc::channel();
        runtime.spawn(async move {
            let (mut status, mut stderr) = (None, Vec::new());
            // Until the channel closes: OpenSSH sends the exit status around its EOF.
            while let Some(message) = read_half.wait().await {
                match message {
                    ChannelMsg::Data { data } => {
                        let sent = tx.send(Incoming::Data(data.to_vec()));
                        if sent.is_err() {
                            // libgit2 is done with the stream.
                            return;
                        }
                    }
                    ChannelMsg::ExtendedData { data, .. } => {
                        let room = STDERR_KEPT.saturating_sub(stderr.len());
                        stderr.extend_from_slice(&data[..data.len().min(room)]);
                    }
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            let stderr = String::from_utf8_lossy(&stderr);
            let stderr = crate::terminal_text::line(stderr.trim()).into_owned();
            let _ = tx.send(Incoming::End { status, stderr });
        });
        ChannelIo {
            incoming,
            pending: Vec::new(),
            at: 0,
            writer,
            runtime: runtime.clone(),
            _connection: connection,
            ended: false,
        }
    }
}

impl Read for ChannelIo {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            if self.ended {
                return Ok(0);
            }
            match self.incoming.recv() {
                Ok(Incoming::Data(data)) => {
                    self.pending = data;
                    self.at = 0;
                }
                Ok(Incoming::End { status, stderr }) => {
                    self.ended = true;
                    if status.is_some_and(|s| s != 0) || status.is_none() && !stderr.is_empty() {
                        let status =
                            status.map_or("no exit status".into(), |s| format!("exit {s}"));
                        return Err(std::io::Error::other(format!(
                            "git-receive-pack on the server failed ({status}): {stderr}"
                        )));
                    }
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for ChannelIo {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let writer = &mut self.writer;
        self.runtime.block_on(writer.write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let writer = &mut self.writer;
        self.runtime.block_on(writer.flush())
    }
}

/// `ssh://[user@]host[:port]/path`.
#[derive(Debug, PartialEq, Eq)]
struct SshUrl {
    user: String,
    host: String,
    port: u16,
    path: String,
}

impl SshUrl {
    fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("{url:?} is not an ssh:// URL"))?;
        let (authority, path) = rest
            .split_once('/')
            .ok_or_else(|| format!("{url:?} has no repository path"))?;
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) if !user.is_empty() => (user.to_string(), hostport),
            Some(_) => return Err(format!("{url:?} has an empty user")),
            None => (
                std::env::var("USER")
                    .map_err(|_| format!("{url:?} names no user and USER is not set"))?,
                authority,
            ),
        };
        let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
            let (host, after) = inner
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed `[`"))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        let port = match port {
            None => 22,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{url:?}: bad port {p:?}"))?,
        };
        if host.is_empty() || path.is_empty() {
            return Err(format!("{url:?} needs a host and a repository path"));
        }
        // `ssh://host/~/repo.git` is relative to the user's home, as git reads it.
        let path = match path.strip_prefix('~') {
            Some(_) => path.to_string(),
            None => format!("/{path}"),
        };
        Ok(SshUrl {
            user,
            host: host.to_string(),
            port,
            path,
        })
    }
}

/// One word for the server's shell, as git quotes it.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls_name_user_host_port_and_path() {
        let url = SshUrl::parse("ssh://git@backup.example.net:2222/srv/configs.git").unwrap();
        assert_eq!(
            url,
            SshUrl {
                user: "git".into(),
                host: "backup.example.net".into(),
                port: 2222,
                path: "/srv/configs.git".into(),
            }
        );
        let url = SshUrl::parse("ssh://git@[::1]/~/configs.git").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 22));
        assert_eq!(url.path, "~/configs.git");
        assert!(SshUrl::parse("ssh://git@host").is_err());
        assert!(SshUrl::parse("ssh://git@host:0/x").is_err());
        assert!(SshUrl::parse("git@host:x").is_err());
    }

    #[test]
    fn paths_are_quoted_for_the_servers_shell() {
        assert_eq!(shell_quote("/srv/a b.git"), "'/srv/a b.git'");
        assert_eq!(shell_quote("/x'; rm -rf /"), r"'/x'\''; rm -rf /'");
    }
}
