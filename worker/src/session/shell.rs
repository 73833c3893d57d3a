//! The interactive CLI driver for every `transport: shell` platform, driven by its profile: a
//! PTY shell, the first prompt, the privilege command, the setup commands (paging off, width),
//! then each command read up to the prompt that follows its echo.
//!
//! The device is sent only what was asked for: the commands, the profile's setup and privilege
//! commands, the enable secret, a space to a pager, and (where the profile says so) one bare
//! line ending to wake a silent prompt. A command's end is found from what the device sends:
//!
//! 1. Its echo must arrive exactly as sent (`echo.rs`); its output starts after the echo's line.
//!    An echo of anything else means the device is not running the command asked for: the
//!    host fails with `command_error` instead of reporting another command's output.
//! 2. The output ends where the last line, as the screen shows it (`screen.rs`), ends with a
//!    prompt carrying the identity learned from the first prompt (`prompt.rs`), possibly after a
//!    message on the same line.
//! 3. The device must then stay quiet for a settle time. A line of output that looks exactly
//!    like the prompt, cut off by a packet boundary right after it, is followed by more output
//!    at once; a device at its prompt waits for input. The settle time is twice the round trip
//!    the command's echo took (the device's own pace), between [`SETTLE_MIN`] and
//!    [`SETTLE_MAX`]: a few milliseconds on a LAN, not a guessed sleep per command. A device
//!    whose pager stayed on, or whose profile sends nothing that turns it off, gets
//!    [`SETTLE_MAX`]: keys typed ahead would land at its pager.
//! 4. Whatever stays unsure is checked afterwards. Output that arrives before the next
//!    command's echo, or before the echo of `exit` at the end of the session, means the device
//!    was still printing (a line exactly like the prompt, then a pause longer than the settle).
//!    CLIs hold keys typed while they print and echo them after their prompt, so the device
//!    finishes that output, prints its prompt and echoes the command: the rest is given back to
//!    the previous command (`take_continuation`) and nothing is lost. A device that does
//!    anything else fails the host rather than keep a short output.
//!
//! One read buffer serves the whole session and is cleared, not reallocated, per command.

use super::deadline::HostDeadline;
use super::echo::{self, Echo};
use super::error::{SessionError, quoted};
use super::prompt::{CliPatterns, Identity, Prompt};
use super::screen;
use super::transcript::Transcript;
use super::transport::SshHandle;
use super::{CommandOutput, DeviceProfile, SessionOptions};
use fanout_common::Secret;
use fanout_common::wire::MAX_TRANSCRIPT_BYTES;
use russh::ChannelMsg;
use russh::client::Msg;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::debug;

/// Wide enough that IOS never wraps or scrolls a command line; matches `terminal width 511`.
const TERMINAL_COLUMNS: u32 = 511;
/// Rows of 0 ask the device not to page (most honour it even before `terminal length 0`).
const TERMINAL_ROWS: u32 = 0;
/// How long output must pause after a prompt-shaped last line before the first prompt is
/// believed: a login banner can break between packets right after a `#` or `>`.
const FIRST_PROMPT_QUIET: Duration = Duration::from_millis(50);
/// How long a `wake_prompt` profile's device may stay silent after login before it is sent a
/// bare line ending.
const WAKE_AFTER: Duration = Duration::from_secs(1);
/// Bounds of the settle time after a prompt (see the module comment).
pub const SETTLE_MIN: Duration = Duration::from_millis(10);
pub const SETTLE_MAX: Duration = Duration::from_millis(500);
/// How long a device must stay quiet at its prompt before a missing echo is final.
const LATE_ECHO_QUIET: Duration = Duration::from_millis(250);
/// At most this long is spent saying goodbye (and checking nothing more was printed).
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// What the read buffer starts with; it grows (doubling) for longer output.
const INITIAL_BUFFER: usize = 1024;
/// Room in the read buffer beyond the output cap for the echo and the prompt line.
const BUFFER_SLACK: usize = 1024;
/// How much of a very long last line is rendered to look for the prompt at its end.
const MAX_RENDERED_TAIL: usize = 4096;
/// The bytes `FANOUT_LOG=debug` shows of what was read when a read ends in a failure.
const DEBUG_TAIL: usize = 200;

pub struct CliShell {
    channel: russh::Channel<Msg>,
    /// The platform's profile: what to send and what to look for.
    profile: Arc<DeviceProfile>,
    /// Everything read since the current command was sent; reused for the whole session.
    buf: Vec<u8>,
    /// Where the pager's erasure of its marker is expected, after we answered it.
    erase_at: Option<usize>,
    /// The device's identity from its first prompt; later prompts must carry it, so a
    /// prompt-shaped line of another device's name in output cannot end a command.
    identity: Option<Identity>,
    /// How long the device must stay quiet after a prompt, from its last echo's round trip.
    settle: Duration,
    /// A pager was answered this session: paging stayed on. Keys typed ahead while such a
    /// device prints would land at its pager, so its prompts get the longest settle.
    paged: bool,
    /// The last command sent (setup commands too), for the checks that follow it.
    last_command: Option<String>,
    /// The last command was one of [`Self::run`]'s, whose output a caller keeps.
    last_was_run: bool,
    /// The text of the prompt that ended the last read, as shown: if it turns out to have been
    /// a line of output, it belongs back in that output.
    last_prompt: Vec<u8>,
    /// More of the last `run` command's output, found after it had been returned.
    continuation: Option<Vec<u8>>,
    /// Hard cap on `buf`: the output limit plus room for echo and prompt.
    buffer_cap: usize,
    max_output: u64,
    /// Every byte sent and received, when the job asked for session logs.
    transcript: Option<Transcript>,
    /// Puts in the line ends of a screen painted by cursor address (ProCurve).
    painter: screen::LinePainter,
}

/// What a read waits for besides the prompt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Only the prompt.
    Prompt,
    /// The prompt, or `Password:` (answering `enable`).
    PromptOrPassword,
}

/// How a read ended.
enum Ended {
    /// At a prompt; the command's output is `output`, raw (line ends as sent).
    Prompt { prompt: Prompt, output: Vec<u8> },
    /// At `Password:`.
    Password,
}

/// The last line in the buffer, as the screen shows it.
struct LastLine {
    /// Where the line starts in the buffer.
    start: usize,
    /// Where the rendered part starts (later than `start` only for a very long line).
    rendered_from: usize,
    shown: Vec<u8>,
}

impl CliShell {
    /// Opens a session channel with a PTY and a shell.
    pub async fn open(
        handle: &SshHandle,
        profile: Arc<DeviceProfile>,
        options: &SessionOptions,
        deadline: &HostDeadline,
        secrets: &[&Secret],
    ) -> Result<Self, SessionError> {
        let channel = deadline
            .run(
                options.command_timeout,
                || "opening the shell channel".into(),
                async {
                    let channel = handle.channel_open_session().await?;
                    channel
                        .request_pty(false, "vt100", TERMINAL_COLUMNS, TERMINAL_ROWS, 0, 0, &[])
                        .await?;
                    channel.request_shell(true).await?;
                    Ok::<_, russh::Error>(channel)
                },
            )
            .await?;
        let max_output = options.max_output_bytes;
        // Nothing will turn a pager off: from the first command, keys typed after a line that
        // merely looks like a prompt could land at the pager, so wait as on a device that paged.
        let paged = profile.profile.session_setup.is_empty() && !profile.profile.pager.is_empty();
        Ok(Self {
            channel,
            profile,
            // Small at first: login, setup and short commands never need more, and a long
            // output grows it while it arrives. 16 KB up front was 16 KB per idle session
            // in the heap profile (bench/PROFILE.md).
            buf: Vec::with_capacity(INITIAL_BUFFER),
            erase_at: None,
            identity: None,
            settle: if paged { SETTLE_MAX } else { SETTLE_MIN },
            paged,
            last_command: None,
            last_was_run: false,
            last_prompt: Vec::new(),
            continuation: None,
            buffer_cap: usize::try_from(max_output)
                .unwrap_or(usize::MAX)
                .saturating_add(BUFFER_SLACK),
            max_output,
            transcript: options
                .session_log
                .then(|| Transcript::new(secrets, MAX_TRANSCRIPT_BYTES)),
            painter: screen::LinePainter::default(),
        })
    }

    /// Waits for the first prompt after login (past any banner and login pager), learns the
    /// device's identity from it and returns it.
    pub async fn first_prompt(
        &mut self,
        options: &SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<Prompt, SessionError> {
        self.buf.clear();
        let during = "waiting for the first prompt";
        let mut wake_at = self
            .profile
            .profile
            .wake_prompt
            .then(|| Instant::now() + WAKE_AFTER);
        let found = deadline
            .run(options.command_timeout, || during.into(), async {
                // Whether bytes that arrived during a quiet wait are still to be looked at.
                let mut unread = false;
                loop {
                    if !unread && !self.receive_until(wake_at, during, "login").await? {
                        // Silent since login: the profile says this device wants a key first.
                        wake_at = None;
                        let line_ending = self.profile.profile.line_ending.clone();
                        self.send(line_ending.as_bytes()).await?;
                        continue;
                    }
                    unread = false;
                    if self.unpage(0).await? {
                        continue;
                    }
                    let line = self.last_line(0);
                    let Some(found) = self.patterns().whole_line_prompt(&line.shown) else {
                        continue;
                    };
                    if self.quiet_for(FIRST_PROMPT_QUIET, during, "login").await? {
                        return Ok::<_, SessionError>(found);
                    }
                    // More came: it may complete the prompt (`r1 #` then ` `), or go on.
                    unread = true;
                }
            })
            .await
            .map_err(|e| self.explained(e))?;
        debug!(identity = %found.identity.escape_ascii(), "first prompt");
        self.identity = Some(self.patterns().identity(found.identity.clone()));
        Ok(found)
    }

    /// Enters privileged mode with `secret`, by the profile's privilege command; a platform
    /// without one stays where the login put it.
    pub async fn enable(
        &mut self,
        secret: &Secret,
        options: &SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<(), SessionError> {
        let Some(privilege) = self.profile.profile.privilege.clone() else {
            return Ok(());
        };
        let during = || "running enable".to_string();
        self.last_was_run = false;
        let ended = deadline
            .run(
                options.command_timeout,
                during,
                self.send_and_read(&privilege.command, Until::PromptOrPassword),
            )
            .await
            .map_err(|e| self.explained(e))?;
        match ended {
            Ended::Prompt { prompt, .. } if prompt.privileged => return Ok(()),
            Ended::Prompt { .. } => {
                return Err(SessionError::Enable("device stayed in user mode"));
            }
            Ended::Password => {}
        }
        // The secret is not echoed, so there is no echo to wait for: read to the next prompt.
        self.buf.clear();
        self.erase_at = None;
        let mut line = Vec::with_capacity(secret.expose().len() + 1);
        line.extend_from_slice(secret.expose().as_bytes());
        line.extend_from_slice(self.profile.profile.line_ending.as_bytes());
        let ended = deadline
            .run(options.command_timeout, during, async {
                self.send(&line).await?;
                self.read_output(0, Until::PromptOrPassword, "enable").await
            })
            .await
            .map_err(|e| self.explained(e))?;
        match ended {
            Ended::Password => Err(SessionError::Enable("enable secret refused")),
            Ended::Prompt { .. } if self.patterns().enable_refused(&self.buf) => {
                Err(SessionError::Enable("enable secret refused"))
            }
            Ended::Prompt { prompt, .. } if prompt.privileged => Ok(()),
            Ended::Prompt { .. } => Err(SessionError::Enable("device stayed in user mode")),
        }
    }

    /// Runs a session-setup command (`terminal length 0`), ignoring what it prints: a device
    /// without the command pages, and the pager is answered.
    pub async fn setup(
        &mut self,
        command: &str,
        options: &SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<(), SessionError> {
        deadline
            .run(
                options.command_timeout,
                || format!("running `{command}`"),
                self.send_and_read(command, Until::Prompt),
            )
            .await
            .map_err(|e| self.explained(e))?;
        self.last_was_run = false;
        Ok(())
    }

    /// Runs one command and returns exactly what the device printed for it.
    pub async fn run(
        &mut self,
        command: &str,
        options: &SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<CommandOutput, SessionError> {
        let started = Instant::now();
        let ended = deadline
            .run(
                options.command_timeout,
                || format!("running `{command}`"),
                self.send_and_read(command, Until::Prompt),
            )
            .await
            .map_err(|e| self.explained(e))?;
        self.last_was_run = true;
        let Ended::Prompt { output: raw, .. } = ended else {
            return Err(SessionError::Protocol(format!(
                "`{command}` ended at a password prompt"
            )));
        };
        let mut output = CommandOutput {
            command: command.to_owned(),
            output: Vec::new(),
            duration: started.elapsed(),
            rejection: None,
        };
        self.append_output(&mut output, &raw)?;
        debug!(
            command,
            bytes = output.output.len(),
            rejected = output.rejected(),
            "command done"
        );
        Ok(output)
    }

    /// Adds `raw`, as the device sent it, to a command's output: escapes stripped where the
    /// profile says so, line ends made `\n`, the size checked and the refusal looked for again.
    pub fn append_output(
        &self,
        output: &mut CommandOutput,
        raw: &[u8],
    ) -> Result<(), SessionError> {
        let stripped;
        let raw = if self.profile.profile.strip_ansi {
            stripped = screen::strip_escapes(raw);
            &stripped
        } else {
            raw
        };
        screen::normalize_newlines(raw, &mut output.output);
        if output.output.len() as u64 > self.max_output {
            return Err(SessionError::OutputTooLarge {
                command: output.command.clone(),
                limit: self.max_output,
            });
        }
        output.rejection = self
            .patterns()
            .rejection(&output.output)
            .map(|line| String::from_utf8_lossy(line).into_owned());
        Ok(())
    }

    /// More of the previous `run` command's output, found while reading the next command (or
    /// the end of the session): what looked like its prompt was a line of output. The caller
    /// appends it to that command's output with [`Self::append_output`].
    pub fn take_continuation(&mut self) -> Option<Vec<u8>> {
        self.continuation.take()
    }

    /// Ends the session after its last command, making sure the device had nothing more to
    /// print: it says the profile's exit command and reads the echo. Anything else arriving
    /// first is the rest of the last command's output, which a prompt-shaped line of it cut
    /// short; the host then fails instead of keeping the short output.
    pub async fn finish(
        &mut self,
        options: &SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<(), SessionError> {
        let exit = self.profile.profile.exit_command.clone();
        let mut goodbye = exit.clone().into_bytes();
        goodbye.extend_from_slice(self.profile.profile.line_ending.as_bytes());
        self.buf.clear();
        let mut went_on = None;
        // A goodbye gets a short grace; a device still printing the last output gets as long
        // as a command would.
        let mut until = Instant::now() + CLOSE_GRACE.min(deadline.remaining());
        // A failed send means the device closed the channel; what it sent before closing is
        // still read and checked below.
        let _ = self.send(&goodbye).await;
        loop {
            // Nothing more will come once the device closed the session (a device that closes
            // it on `exit` without echoing it is done too) or stayed quiet past `until`.
            let over = !matches!(
                self.receive_until(Some(until), "saying goodbye", &exit)
                    .await,
                Ok(true)
            );
            let patterns = &self.profile.patterns;
            let identity = self.identity.as_ref();
            match echo::check(&self.buf, exit.as_bytes(), identity, patterns) {
                Echo::Incomplete if !over => continue,
                // A last line without its line end that is not the echo beginning is the rest
                // of the last output, cut short.
                Echo::Incomplete => {
                    if went_on.is_none() {
                        went_on =
                            echo::unfinished_line(&self.buf, exit.as_bytes(), identity, patterns);
                    }
                    break;
                }
                Echo::Complete { .. } => break,
                Echo::Mismatch { shown } | Echo::Unexpected { shown } => {
                    let late = identity
                        .and_then(|id| echo::find_late(&self.buf, exit.as_bytes(), id, patterns));
                    if let Some((rest_ends, _)) = late {
                        let mut rest = std::mem::take(&mut self.last_prompt);
                        rest.extend_from_slice(&self.buf[..rest_ends]);
                        self.continuation = self.last_was_run.then_some(rest);
                        went_on = None;
                        break;
                    }
                    if went_on.is_none() {
                        let patience = options.command_timeout.min(deadline.remaining());
                        until = Instant::now() + patience;
                    }
                    went_on = Some(shown);
                    if over {
                        break;
                    }
                }
            }
        }
        let rest = deadline.remaining().min(CLOSE_GRACE);
        tokio::time::timeout(rest, async {
            self.channel.eof().await.ok();
            self.channel.close().await.ok();
        })
        .await
        .ok();
        match (went_on, &self.last_command) {
            (Some(shown), Some(command)) => Err(SessionError::OutputContinued {
                command: command.clone(),
                shown: String::from_utf8_lossy(&shown).into_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// Says the profile's exit command and closes the channel without waiting for the device
    /// to agree.
    pub async fn close(&mut self, deadline: &HostDeadline) {
        let grace = CLOSE_GRACE.min(deadline.remaining());
        let profile = &self.profile.profile;
        let goodbye = format!("{}{}", profile.exit_command, profile.line_ending);
        let goodbye = async {
            self.send(goodbye.as_bytes()).await.ok();
            self.channel.eof().await.ok();
            self.channel.close().await.ok();
        };
        tokio::time::timeout(grace, goodbye).await.ok();
    }

    /// The transcript so far, when the job asked for one.
    pub fn take_transcript(&mut self) -> Option<Vec<u8>> {
        self.transcript.take().map(Transcript::finish)
    }

    /// The profile's session setup commands (paging off, terminal width), in order.
    pub fn setup_commands(&self) -> Vec<String> {
        self.profile.profile.session_setup.clone()
    }

    /// Sends `command`, checks its echo, and reads its output up to the prompt.
    async fn send_and_read(&mut self, command: &str, until: Until) -> Result<Ended, SessionError> {
        fanout_common::command_text::check_command(command).map_err(|e| {
            SessionError::Untypable {
                command: command.to_owned(),
                why: e.to_string(),
            }
        })?;
        self.buf.clear();
        self.erase_at = None;
        let mut line = Vec::with_capacity(command.len() + 1);
        line.extend_from_slice(command.as_bytes());
        line.extend_from_slice(self.profile.profile.line_ending.as_bytes());
        self.send(&line).await?;
        let sent = Instant::now();
        let output_from = loop {
            self.receive("running a command", command).await?;
            let patterns = &self.profile.patterns;
            match echo::check(
                &self.buf,
                command.as_bytes(),
                self.identity.as_ref(),
                patterns,
            ) {
                Echo::Incomplete => continue,
                Echo::Complete { output_from } => break output_from,
                Echo::Mismatch { shown } => return Err(self.echo_mismatch(command, &shown)),
                Echo::Unexpected { shown } => {
                    if self.last_command.is_none() {
                        // The first command after login: the banner may have gone on past a
                        // line taken for the first prompt, so the identity is learned again.
                        self.identity = None;
                    }
                    return self.read_after_late_echo(command, until, &shown).await;
                }
            }
        };
        self.last_command = Some(command.to_owned());
        self.settle = if self.paged {
            SETTLE_MAX
        } else {
            (sent.elapsed() * 2).clamp(SETTLE_MIN, SETTLE_MAX)
        };
        self.read_output(output_from, until, command).await
    }

    /// The first line after sending `command` was not its echo: perhaps the previous command's
    /// output (or the login banner) going on. Reads until the device is quiet at its prompt;
    /// if the command's echo follows the device's prompt in what came, what came before it is
    /// the rest of the previous output, and the command's output follows its echo as usual.
    /// Without a known identity (the first command), the prompt the device ends at teaches it.
    async fn read_after_late_echo(
        &mut self,
        command: &str,
        until: Until,
        shown: &[u8],
    ) -> Result<Ended, SessionError> {
        let previous_prompt = std::mem::take(&mut self.last_prompt);
        loop {
            let ended = self.read_output(0, until, command).await?;
            let identity = match (&self.identity, &ended) {
                (Some(identity), _) => identity.clone(),
                (None, Ended::Prompt { prompt, .. }) => {
                    self.patterns().identity(prompt.identity.clone())
                }
                (None, Ended::Password) => return Err(self.echo_mismatch(command, shown)),
            };
            let late = echo::find_late(&self.buf, command.as_bytes(), &identity, self.patterns());
            if let (Some((rest_ends, output_from)), Ended::Prompt { prompt, output }) =
                (late, &ended)
            {
                debug!(
                    command,
                    previous = ?self.last_command,
                    "the previous output went on past a prompt-shaped line; given back to it"
                );
                let mut rest = previous_prompt;
                rest.extend_from_slice(&self.buf[..rest_ends]);
                self.continuation = self.last_was_run.then_some(rest);
                self.last_command = Some(command.to_owned());
                self.identity = Some(identity);
                // The echo was found in the raw buffer and the output's last line is rendered:
                // an echo past the output's end is a screen we misread, not an empty output.
                let Some(after_echo) = output.get(output_from..) else {
                    return Err(SessionError::Protocol(format!(
                        "the echo of {} was found past the end of its output",
                        quoted(command)
                    )));
                };
                return Ok(Ended::Prompt {
                    prompt: prompt.clone(),
                    output: after_echo.to_vec(),
                });
            }
            // A prompt without the echo after it yet: the device may still be printing (more
            // lines shaped like its prompt), or it echoed something else and is done.
            if self
                .quiet_for(LATE_ECHO_QUIET, "running a command", command)
                .await?
            {
                return Err(self.echo_mismatch(command, shown));
            }
        }
    }

    fn echo_mismatch(&mut self, command: &str, shown: &[u8]) -> SessionError {
        SessionError::EchoMismatch {
            command: command.to_owned(),
            shown: String::from_utf8_lossy(shown).into_owned(),
            previous: self.last_command.replace(command.to_owned()),
        }
    }

    /// Reads from `output_from` until the last line ends with the device's prompt (or, if
    /// asked, `Password:`) and the device stays quiet for the settle time. Answers pagers on
    /// the way.
    async fn read_output(
        &mut self,
        output_from: usize,
        until: Until,
        command: &str,
    ) -> Result<Ended, SessionError> {
        let during = "running a command";
        loop {
            if !self.unpage(output_from).await? {
                let line = self.last_line(output_from);
                if until == Until::PromptOrPassword && self.patterns().password_prompt(&line.shown)
                {
                    return Ok(Ended::Password);
                }
                if let Some(prompt) = self.own_prompt(&line.shown) {
                    if self.quiet_for(self.settle, during, command).await? {
                        let mut output = self.buf[output_from..line.start].to_vec();
                        output.extend_from_slice(&self.buf[line.start..line.rendered_from]);
                        output.extend_from_slice(&line.shown[..prompt.start]);
                        self.last_prompt = line.shown[prompt.start..].to_vec();
                        return Ok(Ended::Prompt { prompt, output });
                    }
                    // More arrived: that was a line of output. Look again.
                    continue;
                }
            }
            self.receive(during, command).await?;
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), SessionError> {
        if let Some(transcript) = &mut self.transcript {
            transcript.sent(bytes);
        }
        // `data_bytes`, not `data`: russh's `data` goes through `tokio::io::copy`, which
        // allocates and zeroes an 8 KB buffer for every command typed (about 1 % of a worker's
        // CPU in the perf profile, bench/PROFILE.md). This sends the line as it is.
        self.channel
            .data_bytes(bytes.to_vec())
            .await
            .map_err(SessionError::from)
    }

    fn patterns(&self) -> &CliPatterns {
        &self.profile.patterns
    }

    /// The prompt that ends `line`, if it carries the device's identity.
    fn own_prompt(&self, line: &[u8]) -> Option<Prompt> {
        match &self.identity {
            Some(identity) => self.patterns().prompt_ending(line, identity),
            None => self.patterns().whole_line_prompt(line),
        }
    }

    /// The buffer's last line from `from` on, as the screen shows it.
    fn last_line(&self, from: usize) -> LastLine {
        let from = from.min(self.buf.len());
        let start = memchr::memrchr(b'\n', &self.buf[from..]).map_or(from, |at| from + at + 1);
        let rendered_from = start.max(self.buf.len().saturating_sub(MAX_RENDERED_TAIL));
        LastLine {
            start,
            rendered_from,
            shown: screen::render_line(&self.buf[rendered_from..]),
        }
    }

    /// Handles the pager: drops its marker and answers it, and drops the erasure that follows.
    /// Returns whether the buffer's end is still pager noise (keep reading).
    async fn unpage(&mut self, from: usize) -> Result<bool, SessionError> {
        if let Some(at) = self.erase_at {
            match screen::erasure_len(self.buf.get(at..).unwrap_or_default()) {
                None => return Ok(true),
                Some(len) => {
                    self.buf.drain(at..at + len);
                    self.erase_at = None;
                }
            }
        }
        let mut line = self.last_line(from);
        if !self.patterns().pager_at_end(&line.shown) {
            return Ok(false);
        }
        // `--More--` may be the first part of `--More-- or (q)uit` cut off by a packet
        // boundary: answered now, the rest would land in the output. Whatever the device adds
        // within the settle time is looked at again.
        while self.patterns().pager_may_grow(&line.shown) {
            if self
                .quiet_for(self.settle, "answering the pager", "")
                .await?
            {
                break;
            }
            line = self.last_line(from);
            if !self.patterns().pager_at_end(&line.shown) {
                return Ok(false);
            }
        }
        // Cut the marker where its text starts in the raw line (blanks before it included);
        // a marker painted with escapes in between takes its whole line.
        let raw = &self.buf[line.start..];
        let cut = self
            .patterns()
            .pagers()
            .iter()
            .filter_map(|marker| memchr::memmem::rfind(raw, marker))
            .max()
            .map_or(line.start, |at| {
                let blanks = raw[..at].iter().rev().take_while(|&&b| b == b' ').count();
                line.start + at - blanks
            });
        self.buf.truncate(cut);
        self.erase_at = Some(cut);
        self.send(b" ").await?;
        if !self.paged {
            self.paged = true;
            // The prompt ending this command is judged by the longest settle too.
            self.settle = SETTLE_MAX;
        }
        Ok(true)
    }

    /// Whether nothing arrives for `quiet`. Anything that does arrive is appended.
    async fn quiet_for(
        &mut self,
        quiet: Duration,
        during: &str,
        command: &str,
    ) -> Result<bool, SessionError> {
        let until = Instant::now() + quiet;
        self.receive_until(Some(until), during, command)
            .await
            .map(|received| !received)
    }

    /// [`Self::receive`], giving up at `until` (if given): whether something arrived.
    async fn receive_until(
        &mut self,
        until: Option<Instant>,
        during: &str,
        command: &str,
    ) -> Result<bool, SessionError> {
        let Some(until) = until else {
            return self.receive(during, command).await.map(|()| true);
        };
        match tokio::time::timeout_at(until, self.receive(during, command)).await {
            Err(_) => Ok(false),
            Ok(result) => result.map(|()| true),
        }
    }

    /// Waits for the next chunk from the device and appends it to the buffer. `during` and
    /// `command` describe the moment for errors.
    async fn receive(&mut self, during: &str, command: &str) -> Result<(), SessionError> {
        loop {
            let Some(message) = self.channel.wait().await else {
                return Err(SessionError::Disconnected {
                    during: format!("{during} (`{command}`)"),
                });
            };
            let data = match message {
                ChannelMsg::Data { ref data } => data,
                ChannelMsg::ExtendedData { ref data, .. } => data,
                ChannelMsg::Eof | ChannelMsg::Close => {
                    return Err(SessionError::Disconnected {
                        during: format!("{during} (`{command}`)"),
                    });
                }
                ChannelMsg::Failure => {
                    return Err(SessionError::Protocol(
                        "device refused to start a shell".into(),
                    ));
                }
                _ => continue,
            };
            if let Some(transcript) = &mut self.transcript {
                transcript.received(data);
            }
            if self.buf.len().saturating_add(data.len()) > self.buffer_cap {
                return Err(SessionError::OutputTooLarge {
                    command: command.to_owned(),
                    limit: self.max_output,
                });
            }
            self.painter.paint(data, &mut self.buf);
            return Ok(());
        }
    }

    /// Adds what a person needs to a failed read: a timeout names the last line the device
    /// sent; `FANOUT_LOG=debug` shows the last bytes read.
    fn explained(&self, error: SessionError) -> SessionError {
        let tail = &self.buf[self.buf.len().saturating_sub(DEBUG_TAIL)..];
        debug!(error = %error, last_bytes = %tail.escape_ascii(), "read ended in a failure");
        let seen = self.last_line_seen();
        match error {
            SessionError::Timeout { during, after } => SessionError::Timeout {
                during: format!("{during}; {seen}"),
                after,
            },
            SessionError::HostTimeout { during, after } => SessionError::HostTimeout {
                during: format!("{during}; {seen}"),
                after,
            },
            other => other,
        }
    }

    /// The last non-blank line the device sent, as the screen shows it, for messages.
    fn last_line_seen(&self) -> String {
        const SHOWN: usize = 120;
        let tail = &self.buf[self.buf.len().saturating_sub(MAX_RENDERED_TAIL)..];
        let line = tail
            .rsplit(|&b| b == b'\n')
            .map(screen::render_line)
            .find(|line| line.iter().any(|b| !b.is_ascii_whitespace()));
        match line {
            None => "the device sent nothing back".into(),
            Some(line) => {
                let cut = &line[line.len().saturating_sub(SHOWN)..];
                format!("the device's last line was \"{}\"", cut.escape_ascii())
            }
        }
    }
}
