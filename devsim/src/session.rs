//! One SSH connection to one device: authentication in the russh [`Handler`], and a task per
//! session channel that carries bytes between the client and the [`Shell`].
//!
//! The channel task, not the handler, runs the shell because the handler's callbacks are awaited
//! inside russh's connection loop: sleeping there for the command latency would also stall window
//! adjustments and keepalives. In its own task the latency is a plain `tokio` sleep that delays
//! only this channel's output.

use crate::Fault;
use crate::fleet::FleetShared;
use crate::huge::HugeText;
use crate::shell::{Action, Shell, ShellOptions};
use rand::Rng as _;
use russh::server::{Auth, Handler, Msg, Response, Session};
use russh::{Channel, ChannelId, ChannelMsg, ChannelOpenFailure, ChannelWriteHalf};
use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::debug;

/// Actions queued before the channel task stops reading client input; a client that types faster
/// than the device answers is held back by SSH flow control instead of growing this queue.
const MAX_QUEUED_ACTIONS: usize = 256;

/// Session channels one connection may hold open; real devices allow a handful, and the cap keeps
/// a misbehaving client from spawning tasks without bound.
const MAX_CHANNELS: usize = 8;

/// The pace of the `Slow` fault.
const SLOW_BYTE_INTERVAL: Duration = Duration::from_millis(100);

/// The pause of the `split_writes` quirk after a piece ending in `#` or `>`.
const SPLIT_PAUSE: Duration = Duration::from_millis(1);

/// The russh handler of one connection to one device.
pub(crate) struct DeviceSession {
    /// The fleet's shared settings and device list.
    fleet: Arc<FleetShared>,
    /// Which device this connection reached.
    index: usize,
    /// Channel tasks join the fleet's tracker so shutdown waits for them.
    tracker: TaskTracker,
    /// Fleet shutdown.
    cancel: CancellationToken,
    /// Channels that already run a shell or a command; a second request on one is refused.
    started: HashSet<ChannelId>,
    /// Session channels open now, against [`MAX_CHANNELS`].
    open: HashSet<ChannelId>,
    /// The name the client logged in with; RouterOS reads terminal options from it
    /// (`admin+ct`).
    login: Option<String>,
}

impl DeviceSession {
    pub(crate) fn new(
        fleet: Arc<FleetShared>,
        index: usize,
        tracker: TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        DeviceSession {
            fleet,
            index,
            tracker,
            cancel,
            started: HashSet::new(),
            open: HashSet::new(),
            login: None,
        }
    }

    fn name(&self) -> &str {
        &self.fleet.devices[self.index].name
    }

    fn check(&mut self, user: &str, password: &str) -> Auth {
        let fault = self.fleet.fault(self.index) == Some(Fault::RejectAuth);
        // RouterOS takes terminal options after a `+` in the login name.
        let routeros = self.fleet.devices[self.index].platform == crate::Platform::MikrotikRouteros;
        let name = match user.split_once('+') {
            Some((name, _)) if routeros => name,
            _ => user,
        };
        if !fault && name == self.fleet.username && password == self.fleet.password {
            self.login = Some(user.to_string());
            Auth::Accept
        } else {
            debug!(device = %self.name(), user, "authentication rejected");
            Auth::reject()
        }
    }

    fn start_once(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        if self.started.insert(channel) {
            session.channel_success(channel)
        } else {
            session.channel_failure(channel)
        }
    }
}

impl Handler for DeviceSession {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        Ok(self.check(user, password))
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: Cow::Borrowed(""),
                instructions: Cow::Borrowed(""),
                prompts: Cow::Owned(vec![(Cow::Borrowed("Password: "), false)]),
            });
        };
        let answer = response.next().unwrap_or_default();
        let answer = std::str::from_utf8(&answer).unwrap_or("");
        Ok(self.check(user, answer))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.open.len() >= MAX_CHANNELS {
            debug!(device = %self.name(), "refusing a session channel over the limit");
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        self.open.insert(channel.id());
        reply.accept().await;
        let device = &self.fleet.devices[self.index];
        let fault = self.fleet.fault(self.index);
        let context = ChannelContext {
            name: device.name.clone(),
            seed: self.fleet.seed,
            latency: self.fleet.latency,
            jitter: self.fleet.jitter,
            fault,
            options: ShellOptions {
                secret: self.fleet.secret.clone(),
                drop_mid_output: false,
                fault,
                drift: self.fleet.drift(self.index).to_vec(),
                live: Some(crate::dynamics::LiveDevice {
                    dynamics: self.fleet.dynamics.clone(),
                    index: self.index,
                }),
                platform: device.platform,
                username: self
                    .login
                    .clone()
                    .unwrap_or_else(|| self.fleet.username.clone()),
                quirks: self.fleet.quirks,
                config: Some(crate::config_store::DeviceConfig {
                    store: self.fleet.config.clone(),
                    index: self.index,
                }),
            },
        };
        let cancel = self.cancel.clone();
        self.tracker.spawn(run_channel(channel, context, cancel));
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.open.remove(&channel);
        self.started.remove(&channel);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start_once(channel, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start_once(channel, session)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }
}

/// What a channel task needs to know about its device, copied so the task owns it.
struct ChannelContext {
    name: String,
    seed: u64,
    latency: Duration,
    jitter: Duration,
    /// The session-level faults (`Slow`, `HoldOpen`) act here; the shell gets the rest.
    fault: Option<Fault>,
    options: ShellOptions,
}

impl ChannelContext {
    /// This command's thinking time: the fleet latency plus a uniform share of the jitter.
    fn command_delay(&self) -> Duration {
        let jitter = u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX);
        let extra = if jitter == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter)
        };
        self.latency + Duration::from_nanos(extra)
    }
}

/// What the channel is running.
enum Program {
    /// Neither `shell` nor `exec` has been requested yet.
    None,
    /// Boxed: the shell holds the whole device model, the other states nothing.
    Shell(Box<Shell>),
    /// A single command; the channel closes once its output is out.
    Exec,
}

/// The `Slow` fault: one byte, then 100 ms, and so on.
async fn trickle(writer: &ChannelWriteHalf<Msg>, bytes: Vec<u8>) -> Result<(), russh::Error> {
    for byte in bytes {
        writer.data_bytes(vec![byte]).await?;
        tokio::time::sleep(SLOW_BYTE_INTERVAL).await;
    }
    Ok(())
}

/// The `split_writes` quirk: each piece its own SSH data message, a millisecond's pause after the
/// ones that end in `#` or `>`, so a client sees prompt-shaped chunk ends that are not prompts.
async fn send_in_pieces(
    writer: &ChannelWriteHalf<Msg>,
    bytes: Vec<u8>,
) -> Result<(), russh::Error> {
    for (piece, pause) in crate::persona::quirks::split(&bytes) {
        writer.data_bytes(piece.to_vec()).await?;
        if pause {
            tokio::time::sleep(SPLIT_PAUSE).await;
        }
    }
    Ok(())
}

/// The `Huge` fault: `total` bytes of generated text, one chunk at a time. Each send waits for
/// the client's SSH window, so a slow reader holds the device at one chunk in memory.
async fn send_huge(writer: &ChannelWriteHalf<Msg>, total: u64) -> Result<(), russh::Error> {
    for chunk in HugeText::new(total) {
        writer.data_bytes(chunk).await?;
    }
    Ok(())
}

/// Drives one session channel until the client or the shell ends it, or the fleet stops.
async fn run_channel(channel: Channel<Msg>, cx: ChannelContext, cancel: CancellationToken) {
    let (mut reader, writer) = channel.split();
    let mut program = Program::None;
    let mut actions: VecDeque<Action> = VecDeque::new();
    // While thinking, the device says nothing until this instant.
    let mut thinking_until: Option<Instant> = None;
    let mut input_closed = false;
    // The `HoldOpen` fault after `exit`: only the client's close or shutdown ends the channel.
    let mut held = false;

    loop {
        while thinking_until.is_none() {
            let Some(action) = actions.pop_front() else {
                break;
            };
            let sent = match action {
                Action::Send(bytes) if cx.fault == Some(Fault::Slow) => tokio::select! {
                    sent = trickle(&writer, bytes) => sent,
                    _ = cancel.cancelled() => return,
                },
                Action::Send(bytes) if cx.options.quirks.split_writes => tokio::select! {
                    sent = send_in_pieces(&writer, bytes) => sent,
                    _ = cancel.cancelled() => return,
                },
                // A client that stops reading blocks only this send, and shutdown still ends it.
                Action::Send(bytes) => tokio::select! {
                    sent = writer.data_bytes(bytes) => sent,
                    _ = cancel.cancelled() => return,
                },
                Action::Huge(total) => tokio::select! {
                    sent = send_huge(&writer, total) => sent,
                    _ = cancel.cancelled() => return,
                },
                Action::Think => {
                    thinking_until = Some(Instant::now() + cx.command_delay());
                    Ok(())
                }
                Action::Exit if cx.fault == Some(Fault::HoldOpen) => {
                    debug!(device = %cx.name, "holding the channel open after exit (fault)");
                    held = true;
                    Ok(())
                }
                Action::Exit => {
                    let _ = writer.exit_status(0).await;
                    let _ = writer.eof().await;
                    let _ = writer.close().await;
                    return;
                }
                Action::Drop => {
                    debug!(device = %cx.name, "dropping the channel mid-output (fault)");
                    let _ = writer.close().await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
        let idle = actions.is_empty() && thinking_until.is_none();
        if idle && !held && (matches!(program, Program::Exec) || input_closed) {
            if matches!(program, Program::Exec) {
                let _ = writer.exit_status(0).await;
            }
            let _ = writer.eof().await;
            let _ = writer.close().await;
            return;
        }

        // A held channel keeps listening past the client's EOF, for the close that ends it.
        let reading = (!input_closed || held) && actions.len() < MAX_QUEUED_ACTIONS;
        let wake = thinking_until.unwrap_or_else(Instant::now);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(wake), if thinking_until.is_some() => {
                thinking_until = None;
            }
            msg = reader.wait(), if reading => match msg {
                None | Some(ChannelMsg::Close) => return,
                Some(ChannelMsg::Eof) => input_closed = true,
                Some(ChannelMsg::Data { data }) => {
                    if let Program::Shell(shell) = &mut program {
                        actions.extend(shell.feed(&data));
                    }
                }
                Some(ChannelMsg::RequestShell { .. }) if matches!(program, Program::None) => {
                    let mut shell = Shell::new(&cx.name, cx.seed, cx.options.clone());
                    actions.extend(shell.start());
                    program = Program::Shell(Box::new(shell));
                }
                Some(ChannelMsg::Exec { command, .. }) if matches!(program, Program::None) => {
                    let mut shell = Shell::new(&cx.name, cx.seed, cx.options.clone());
                    let command = String::from_utf8_lossy(&command);
                    debug!(device = %cx.name, command = %command, "exec request");
                    actions.extend(shell.exec(&command));
                    program = Program::Exec;
                }
                Some(_) => {}
            },
        }
    }
}
