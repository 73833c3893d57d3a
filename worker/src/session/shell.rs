//! The interactive CLI driver for every `transport: shell` platform, driven by its profile: a
//! PTY shell, the first prompt, the privilege command, the setup commands (paging off, width),
//! then each command read up to the prompt that follows its echo. Prompts, the password prompt,
//! the pager marker and failure indicators all come from the profile's patterns.
//!
//! One read buffer serves the whole session and is cleared, not reallocated, per command. After
//! each chunk only the new bytes (for the echo) and the last ~73 bytes (for the prompt and the
//! pager) are examined.

use super::deadline::HostDeadline;
use super::error::SessionError;
use super::prompt::{self, CliPatterns};
use super::transport::SshHandle;
use super::{CommandOutput, DeviceProfile, SessionOptions};
use fanout_common::Secret;
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
/// At most this long is spent saying goodbye.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Room in the read buffer beyond the output cap for the echo and the prompt line.
const BUFFER_SLACK: usize = 1024;

pub struct CliShell {
    channel: russh::Channel<Msg>,
    /// The platform's profile: what to send and what to look for.
    profile: Arc<DeviceProfile>,
    /// Everything read since the current command was sent; reused for the whole session.
    buf: Vec<u8>,
    /// Where the pager's erasure of its marker is expected, after we answered `--More--`.
    erase_at: Option<usize>,
    /// The device name from a prompt we trust (the one after `terminal length 0`); later prompts
    /// must start with it, so a prompt-shaped line in output cannot end a command early.
    prompt_base: Option<Vec<u8>>,
    /// The device has shown its pager this session: paging stayed on, so keystrokes typed to
    /// confirm a prompt could land at a `--More--`.
    paged: bool,
    /// Hard cap on `buf`: the output limit plus room for echo and prompt.
    buffer_cap: usize,
    max_output: u64,
}

/// What a read waits for besides the prompt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Only the prompt.
    Prompt,
    /// The prompt, confirmed by the device's echo of a typed word (see [`Confirmation`]).
    ConfirmedPrompt,
    /// The prompt, or `Password:` (answering `enable`).
    PromptOrPassword,
}

/// How a read ended.
enum Ended {
    /// At a prompt; the command's output is `buf[output_from..prompt.start]`.
    Prompt {
        prompt: prompt::Prompt,
        output_from: usize,
    },
    /// At `Password:`.
    Password,
}

/// A prompt-shaped end of the buffer that may still be output: a line like `r1#` in a banner or
/// a log, cut off by a packet boundary right after its `#`. Bytes alone cannot tell it from the
/// prompt, and waiting for quiet would put a guess of the network's timing into every command.
/// Instead the driver types a random word and rubs it out with backspaces: a device at its
/// prompt echoes the word right after the prompt, while a device still printing echoes it only
/// after the rest of the output and the real prompt. Output cannot contain the word by chance,
/// and nothing is ever executed.
struct Confirmation {
    /// The word typed, once per command (its echo also confirms the real prompt later).
    token: Option<Vec<u8>>,
    /// The prompt-shaped end awaiting the echo, and where the buffer ended then.
    candidate: Option<(prompt::Prompt, usize)>,
    /// Prompts are trusted unconfirmed: not a command, or a pager could take the word as a
    /// keystroke (it quits `--More--`).
    off: bool,
}

/// Letters and digits only: no `?` (help), tab or space (completion), no `q` (quits a pager).
const TOKEN_ALPHABET: &[u8] = b"abcdefghijklmnoprstuvwxyz0123456789";
const TOKEN_LEN: usize = 12;

fn confirmation_token() -> Vec<u8> {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..TOKEN_LEN)
        .map(|_| TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())])
        .collect()
}

/// What the bytes after a candidate prompt say about it.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// The typed word's echo: the candidate was the prompt.
    Confirmed,
    /// Could still become that echo.
    Pending,
    /// Output went on: the candidate was a line of output.
    Refuted,
}

/// Echoed letters of the word that confirm a prompt: one chance in 35^4 (1.5 million) that
/// output goes on with them, and a device that echoes slowly (a byte per 100 ms) is not kept
/// waiting for all twelve.
const TOKEN_CONFIRMS: usize = 4;

/// Judges `after`, the bytes that followed a candidate prompt, given the word typed.
fn echo_of_token(after: &[u8], token: &[u8]) -> Answer {
    let enough = &token[..TOKEN_CONFIRMS.min(token.len())];
    if after.starts_with(enough) {
        Answer::Confirmed
    } else if enough.starts_with(after) {
        Answer::Pending
    } else {
        Answer::Refuted
    }
}

/// Where a command's output starts in the buffer.
#[derive(Clone, Copy)]
enum OutputStart<'a> {
    /// After the echo of `text`, not seen yet; searched up to `search`.
    AfterEcho { text: &'a [u8], search: usize },
    /// At this index.
    At(usize),
}

impl CliShell {
    /// Opens a session channel with a PTY and a shell.
    pub async fn open(
        handle: &SshHandle,
        profile: Arc<DeviceProfile>,
        options: &SessionOptions,
        deadline: &HostDeadline,
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
        Ok(Self {
            channel,
            profile,
            buf: Vec::with_capacity(16 * 1024),
            erase_at: None,
            prompt_base: None,
            paged: false,
            buffer_cap: usize::try_from(max_output)
                .unwrap_or(usize::MAX)
                .saturating_add(BUFFER_SLACK),
            max_output,
        })
    }

    /// Waits for the first prompt after login (past any banner) and returns it.
    pub async fn first_prompt(
        &mut self,
        options: &SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<prompt::Prompt, SessionError> {
        self.buf.clear();
        deadline
            .run(
                options.command_timeout,
                || "waiting for the first prompt".into(),
                async {
                    loop {
                        self.receive("waiting for the first prompt", "login")
                            .await?;
                        let Some(found) = self.patterns().prompt_at_end(&self.buf, 0) else {
                            continue;
                        };
                        if self.quiet_for(FIRST_PROMPT_QUIET).await? {
                            return Ok::<_, SessionError>(found);
                        }
                    }
                },
            )
            .await
    }

    /// Whether nothing arrives for `quiet`. Anything that does arrive is appended to the buffer.
    async fn quiet_for(&mut self, quiet: Duration) -> Result<bool, SessionError> {
        let until = Instant::now() + quiet;
        match tokio::time::timeout_at(until, self.receive("waiting for the first prompt", "login"))
            .await
        {
            Err(_) => Ok(true),
            Ok(result) => result.map(|()| false),
        }
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
        let ended = deadline
            .run(
                options.command_timeout,
                during,
                self.send_and_read(&privilege.command, Until::PromptOrPassword),
            )
            .await?;
        match ended {
            Ended::Prompt { prompt, .. } if prompt.privileged => return Ok(()),
            Ended::Prompt { .. } => {
                return Err(SessionError::Enable("device stayed in user mode"));
            }
            Ended::Password => {}
        }
        // The secret is not echoed, so there is no echo to wait for: read to the next prompt.
        self.buf.clear();
        let mut line = Vec::with_capacity(secret.expose().len() + 1);
        line.extend_from_slice(secret.expose().as_bytes());
        line.extend_from_slice(self.profile.profile.line_ending.as_bytes());
        let ended = deadline
            .run(options.command_timeout, during, async {
                self.send(&line).await?;
                self.read_until(None, Until::PromptOrPassword, "enable")
                    .await
            })
            .await?;
        match ended {
            Ended::Password => Err(SessionError::Enable("enable secret refused")),
            Ended::Prompt { .. } if self.patterns().enable_refused(&self.buf) => {
                Err(SessionError::Enable("enable secret refused"))
            }
            Ended::Prompt { prompt, .. } if prompt.privileged => Ok(()),
            Ended::Prompt { .. } => Err(SessionError::Enable("device stayed in user mode")),
        }
    }

    /// Runs a session-setup command (`terminal length 0`), ignoring what it prints. Trusts the
    /// prompt that follows its echo as the device's own and remembers its name.
    pub async fn setup(
        &mut self,
        command: &str,
        options: &SessionOptions,
        deadline: &HostDeadline,
    ) -> Result<(), SessionError> {
        let ended = deadline
            .run(
                options.command_timeout,
                || format!("running `{command}`"),
                self.send_and_read(command, Until::Prompt),
            )
            .await?;
        if let Ended::Prompt { prompt, .. } = ended
            && self.prompt_base.is_none()
        {
            self.prompt_base = Some(prompt.base(&self.buf).to_vec());
        }
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
                self.send_and_read(command, Until::ConfirmedPrompt),
            )
            .await?;
        let Ended::Prompt {
            prompt,
            output_from,
        } = ended
        else {
            return Err(SessionError::Protocol(format!(
                "`{command}` ended at a password prompt"
            )));
        };
        let raw = self.buf.get(output_from..prompt.start).unwrap_or_default();
        let mut output = Vec::with_capacity(raw.len());
        prompt::normalize_newlines(raw, &mut output);
        if output.len() as u64 > self.max_output {
            return Err(SessionError::OutputTooLarge {
                command: command.to_owned(),
                limit: self.max_output,
            });
        }
        let rejected = self.patterns().is_rejected(&output);
        debug!(command, bytes = output.len(), rejected, "command done");
        Ok(CommandOutput {
            command: command.to_owned(),
            output,
            duration: started.elapsed(),
            rejected,
        })
    }

    /// Says the profile's exit command and closes the channel without waiting for the device
    /// to agree.
    pub async fn close(self, deadline: &HostDeadline) {
        let grace = CLOSE_GRACE.min(deadline.remaining());
        let profile = &self.profile.profile;
        let goodbye = format!("{}{}", profile.exit_command, profile.line_ending);
        let goodbye = async {
            self.channel.data(goodbye.as_bytes()).await.ok();
            self.channel.eof().await.ok();
            self.channel.close().await.ok();
        };
        tokio::time::timeout(grace, goodbye).await.ok();
    }

    async fn send_and_read(&mut self, command: &str, until: Until) -> Result<Ended, SessionError> {
        self.buf.clear();
        self.erase_at = None;
        let mut line = Vec::with_capacity(command.len() + 1);
        line.extend_from_slice(command.as_bytes());
        line.extend_from_slice(self.profile.profile.line_ending.as_bytes());
        self.send(&line).await?;
        self.read_until(Some(command.as_bytes()), until, command)
            .await
    }

    async fn send(&self, bytes: &[u8]) -> Result<(), SessionError> {
        self.channel.data(bytes).await.map_err(SessionError::from)
    }

    /// Reads until the buffer ends with a prompt (or, if asked, `Password:`) that comes after
    /// the echo of `echo` (when given). Answers `--More--` with a space on the way.
    async fn read_until(
        &mut self,
        echo: Option<&[u8]>,
        until: Until,
        command: &str,
    ) -> Result<Ended, SessionError> {
        let mut start = match echo {
            Some(text) => OutputStart::AfterEcho { text, search: 0 },
            None => OutputStart::At(0),
        };
        let mut confirm = Confirmation {
            token: None,
            candidate: None,
            off: until != Until::ConfirmedPrompt || self.paged,
        };
        loop {
            self.receive("running a command", command).await?;
            if self.unpage().await? {
                // The word may have gone to the pager; the echo it waits for may never come.
                confirm.off = true;
                continue;
            }
            let from = match start {
                OutputStart::At(from) => from,
                OutputStart::AfterEcho { text, search } => {
                    match prompt::echo_end(&self.buf, text, search) {
                        Some(end) => {
                            start = OutputStart::At(end);
                            end
                        }
                        None => {
                            let search = prompt::echo_search_resume(self.buf.len(), text.len());
                            start = OutputStart::AfterEcho { text, search };
                            continue;
                        }
                    }
                }
            };
            if until == Until::PromptOrPassword && self.patterns().password_prompt_at_end(&self.buf)
            {
                return Ok(Ended::Password);
            }
            if let Some((candidate, end)) = confirm.candidate.take()
                && let Some(token) = &confirm.token
            {
                match echo_of_token(&self.buf[end..], token) {
                    Answer::Confirmed => {
                        return Ok(Ended::Prompt {
                            prompt: candidate,
                            output_from: from,
                        });
                    }
                    Answer::Pending => {
                        confirm.candidate = Some((candidate, end));
                        continue;
                    }
                    Answer::Refuted => {}
                }
            }
            if let Some(found) = self.patterns().prompt_at_end(&self.buf, from)
                && self.is_own_prompt(&found)
            {
                if confirm.off {
                    return Ok(Ended::Prompt {
                        prompt: found,
                        output_from: from,
                    });
                }
                if confirm.token.is_none() {
                    let token = confirmation_token();
                    let mut keys = token.clone();
                    keys.extend(std::iter::repeat_n(prompt::BACKSPACE, token.len()));
                    self.send(&keys).await?;
                    confirm.token = Some(token);
                }
                confirm.candidate = Some((found, self.buf.len()));
            }
        }
    }

    /// The profile's session setup commands (paging off, terminal width), in order.
    pub fn setup_commands(&self) -> Vec<String> {
        self.profile.profile.session_setup.clone()
    }

    fn patterns(&self) -> &CliPatterns {
        &self.profile.patterns
    }

    fn is_own_prompt(&self, found: &prompt::Prompt) -> bool {
        self.prompt_base
            .as_deref()
            .is_none_or(|base| found.base(&self.buf) == base)
    }

    /// Handles the pager: drops its marker and answers it, and drops the erasure that follows.
    /// Returns whether the buffer's end is still pager noise (keep reading).
    async fn unpage(&mut self) -> Result<bool, SessionError> {
        if let Some(at) = self.erase_at {
            match prompt::more_erasure_len(self.buf.get(at..).unwrap_or_default()) {
                None => return Ok(true),
                Some(len) => {
                    self.buf.drain(at..at + len);
                    self.erase_at = None;
                }
            }
        }
        if let Some(at) = self.patterns().more_at_end(&self.buf) {
            self.paged = true;
            self.buf.truncate(at);
            self.erase_at = Some(at);
            self.send(b" ").await?;
            return Ok(true);
        }
        Ok(false)
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
            if self.buf.len().saturating_add(data.len()) > self.buffer_cap {
                return Err(SessionError::OutputTooLarge {
                    command: command.to_owned(),
                    limit: self.max_output,
                });
            }
            self.buf.extend_from_slice(data);
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typed_words_echo_confirms_or_refutes_a_prompt() {
        use Answer::*;
        let token = b"k3x9abcd0712";
        assert_eq!(echo_of_token(b"", token), Pending);
        assert_eq!(echo_of_token(b"k3x", token), Pending);
        assert_eq!(echo_of_token(b"k3x9", token), Confirmed);
        assert_eq!(echo_of_token(b"k3x9abcd0712", token), Confirmed);
        assert_eq!(echo_of_token(b"k3x9abcd0712\x08 \x08", token), Confirmed);
        // The output went on: a line break, or more of the line (`r1#foo`).
        assert_eq!(echo_of_token(b"\r\n", token), Refuted);
        assert_eq!(echo_of_token(b"foo", token), Refuted);
        assert_eq!(echo_of_token(b"k3x8", token), Refuted);
    }

    #[test]
    fn tokens_avoid_keys_with_meaning() {
        for _ in 0..100 {
            let token = confirmation_token();
            assert_eq!(token.len(), TOKEN_LEN);
            assert!(token.iter().all(u8::is_ascii_alphanumeric));
            assert!(!token.contains(&b'q'));
        }
        assert_ne!(confirmation_token(), confirmation_token());
    }
}
