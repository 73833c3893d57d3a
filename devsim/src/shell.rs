//! The Cisco-IOS-like CLI as a state machine with no I/O: feed it the bytes the client typed and
//! it returns what the device does ([`Action`]s). The SSH session only carries bytes and turns
//! [`Action::Think`] into the fleet's command latency, so everything a client sees can be tested
//! here without a socket.

use crate::Fault;
use crate::dynamics;
use crate::model::DeviceModel;
use crate::persona::{Persona, Platform, Screen, mikrotik, procurve, quirks};
use crate::show;
use commands::{Cmd, error_text, invalid_at, resolve, tokenize};
use filter::{Filter, FilterError};
use rand::Rng as _;

mod candidate;
pub(crate) mod commands;
pub(crate) mod config;
mod config_lines;
mod filter;

/// One step of the device's reaction, to be carried out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Bytes for the client, now.
    Send(Vec<u8>),
    /// A command was entered: wait the device's command latency before the next action.
    Think,
    /// The user logged out: end the session cleanly.
    Exit,
    /// The `DropMidOutput` fault struck: close the channel abruptly, mid-output.
    Drop,
    /// The `Huge` fault: send this many bytes of generated text, chunk by chunk as the client's
    /// window allows, before the next action.
    Huge(u64),
}

/// Per-session settings that do not come from the device model.
#[derive(Debug, Clone, Default)]
pub struct ShellOptions {
    /// The `enable` secret; empty means `enable` asks for nothing.
    pub secret: String,
    /// Cut `show running-config` in half and drop the channel (the `DropMidOutput` fault).
    pub drop_mid_output: bool,
    /// The device's fault mode; the shell acts out those that live in the CLI (`RejectEnable`,
    /// `DropMidOutput`, `NoPrompt`, `Garbage`, `Huge`), the session the others.
    pub fault: Option<Fault>,
    /// How the device drifts from its intended configuration; every command shows it.
    pub drift: Vec<crate::Drift>,
    /// The device's live state (flaps, CPU), when it runs in a fleet.
    pub live: Option<crate::dynamics::LiveDevice>,
    /// Which vendor's CLI the device speaks.
    pub platform: Platform,
    /// The login name, for prompts that show it (Junos `admin@r1>`); empty means `admin`.
    pub username: String,
    /// Prompt-detection traps to set.
    pub quirks: crate::Quirks,
    /// The device's committed configuration in the fleet, which configuration lines change
    /// and every new session starts from; `None` keeps changes in this session alone.
    pub config: Option<crate::config_store::DeviceConfig>,
}

/// Longest line the device buffers; further characters are ignored, as a bounded terminal would.
const MAX_LINE: usize = 1024;
/// IOS's default `terminal length`.
const DEFAULT_LENGTH: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    User,
    Privileged,
    /// Configuration: global when the stack is empty, else the sub-modes entered, innermost
    /// last (`config-if`; Huawei `GigabitEthernet0/0/1`; FortiOS `interface` then `port1`).
    Config(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// Reading a command line, echoing it.
    Line,
    /// Reading the enable secret, not echoing it.
    Secret,
    /// Paused at ` --More-- `, waiting for space, Enter or `q`.
    More,
    /// Showing the login notice until any key is pressed (ProCurve).
    AnyKey,
}

/// What a resolved command line does.
enum Outcome {
    /// Print this (`\n` line ends), then the prompt.
    Text(String),
    /// Ask for the enable secret.
    AskSecret,
    Exit,
    /// Print this much and drop the channel.
    Drop(String),
    /// Print this many bytes of generated text (the `Huge` fault), then the prompt.
    Huge(u64),
}

/// One device's CLI session.
pub struct Shell {
    /// Everything the device's output is rendered from.
    model: DeviceModel,
    options: ShellOptions,
    /// What the vendor's CLI looks like.
    persona: &'static Persona,
    mode: Mode,
    input: Input,
    /// The command line or secret typed so far.
    line: Vec<u8>,
    /// The previous byte was `\r`, so a `\n` right after it is the same Enter.
    after_cr: bool,
    /// `terminal length`; 0 disables paging.
    length: usize,
    /// Output lines still held back by ` --More-- `.
    pending: std::collections::VecDeque<String>,
    /// The last pending line is a message without a line end: the prompt follows it on the
    /// same line (the `prompt_after_message` quirk).
    partial: bool,
    /// RouterOS colours the command line unless the login name says `+c`.
    colours: bool,
    /// RouterOS asks the terminal for its size unless the login name says `+t`.
    ask_size: bool,
    /// Wrong enable secrets given since `enable`, for vendors that ask again.
    secret_tries: u8,
    /// After `Exit` or `Drop` the shell ignores input.
    finished: bool,
    /// A command has run on a `NoPrompt` device: the prompt is gone for good.
    prompt_lost: bool,
    /// The fleet's seed, to rebuild the model when the committed configuration changes.
    seed: u64,
    /// What the current configuration sub-mode configures (`vlan 42`, `interface Gi1/0/1`).
    object: Option<config::Object>,
    /// Junos, IOS-XR, EOS sessions: the candidate configuration being edited, from
    /// `configure` to its end.
    candidate: Option<Vec<crate::config_store::Change>>,
    /// EOS: the configuration session being edited (`configure session NAME`).
    session: Option<String>,
    /// This session is counted among the device's sessions in configuration mode.
    counted_in_config: bool,
}

impl Shell {
    /// The CLI of the device `hostname` in a fleet seeded with `seed`.
    pub fn new(hostname: &str, seed: u64, mut options: ShellOptions) -> Self {
        let persona = options.platform.persona();
        let mut length = DEFAULT_LENGTH;
        let mut colours = false;
        let mut ask_size = false;
        if persona.screen == Screen::RouterOs {
            // Options after a `+` in the login name set up the terminal; the prompt shows
            // the name without them.
            let login = mikrotik::LoginOptions::parse(&options.username);
            options.username = login.user;
            colours = login.colours;
            ask_size = login.detect;
            length = login.height.unwrap_or(DEFAULT_LENGTH);
        }
        let changes = options
            .config
            .as_ref()
            .map(|c| c.lock().changes.clone())
            .unwrap_or_default();
        let model = config::build_model(hostname, seed, &options, &changes);
        Shell {
            model,
            options,
            persona,
            mode: if persona.login_privileged {
                Mode::Privileged
            } else {
                Mode::User
            },
            input: Input::Line,
            line: Vec::new(),
            after_cr: false,
            length,
            colours,
            ask_size,
            pending: Default::default(),
            partial: false,
            secret_tries: 0,
            finished: false,
            prompt_lost: false,
            seed,
            object: None,
            candidate: None,
            session: None,
            counted_in_config: false,
        }
    }

    fn fault(&self) -> Option<Fault> {
        if self.options.drop_mid_output {
            Some(Fault::DropMidOutput)
        } else {
            self.options.fault
        }
    }

    /// The prompt that ends an output: empty once a `NoPrompt` device has lost it. The
    /// `ansi_prompt` quirk paints it, erasing the line first if the prompt starts one.
    fn closing_prompt(&self, at_line_start: bool) -> String {
        if self.prompt_lost {
            String::new()
        } else if let Screen::Vt100 { .. } = self.persona.screen {
            procurve::paint_prompt(&self.prompt())
        } else if self.options.quirks.ansi_prompt {
            quirks::painted_prompt(&self.prompt(), at_line_start)
        } else {
            self.prompt()
        }
    }

    /// The current prompt as sent, e.g. `r00001>`, `r00001(config)#`, `admin@r00001> ` or
    /// `[edit]\r\nadmin@r00001# ` (a Junos configuration prompt has a line before it).
    pub fn prompt(&self) -> String {
        let prompts = &self.persona.prompts;
        let (template, mode) = match &self.mode {
            Mode::User => (prompts.user, String::new()),
            Mode::Privileged => (prompts.privileged, String::new()),
            Mode::Config(stack) => match (stack.last(), self.session_mode(stack.last())) {
                (_, Some(session)) => (prompts.sub_config, session),
                (None, None) => (prompts.config, String::new()),
                (Some(sub), None) => (prompts.sub_config, sub.clone()),
            },
        };
        let user = match self.options.username.as_str() {
            "" => "admin",
            name => name,
        };
        self.persona
            .prompt(template, &self.model.hostname, user, &mode)
            .replace('\n', "\r\n")
    }

    /// Where a typed line starts on the terminal: after the prompt's last line, so a `^` marker
    /// lines up under the word it points at.
    pub(crate) fn caret_base(&self) -> usize {
        let prompt = self.prompt();
        prompt.len() - prompt.rfind('\n').map_or(0, |at| at + 1)
    }

    /// What the device prints when an interactive shell starts: the MOTD banner and the prompt.
    pub fn start(&mut self) -> Vec<Action> {
        if let Screen::Vt100 { login, .. } = self.persona.screen {
            self.input = Input::AnyKey;
            return self.present(vec![Action::Send(login.as_bytes().to_vec())]);
        }
        let mut text = String::from("\n");
        text.push_str(self.persona.login_text);
        if let Some(banner) = &self.model.banner {
            text.push_str(banner);
            text.push_str("\n\n");
        }
        let mut bytes = Vec::new();
        if self.ask_size {
            // Cursor to the bottom, then "where is it?": how RouterOS learns the terminal's
            // height. Nobody need answer.
            bytes.extend_from_slice(b"\x1b[9999B\x1b[6n");
        }
        bytes.extend(crlf(&text));
        bytes.extend_from_slice(self.closing_prompt(true).as_bytes());
        self.present(vec![Action::Send(bytes)])
    }

    /// How the bytes go out on this device's terminal: `\n\r` line ends for `lf_cr`.
    fn present(&self, mut actions: Vec<Action>) -> Vec<Action> {
        if self.options.quirks.lf_cr {
            for action in &mut actions {
                if let Action::Send(bytes) = action {
                    *bytes = quirks::lf_cr(bytes);
                }
            }
        }
        actions
    }

    /// A message a setup command or a configuration-mode change prints. With the
    /// `prompt_after_message` quirk it loses its line end (and a persona that says nothing
    /// says `default`), so the prompt follows on its line.
    fn message(&self, text: &str, default: &str) -> String {
        if !self.options.quirks.prompt_after_message {
            return text.to_string();
        }
        let text = if text.is_empty() { default } else { text };
        text.trim_end_matches('\n').to_string()
    }

    /// Whether the device waits for a key before its first prompt (ProCurve).
    #[cfg(test)]
    pub(crate) fn awaits_key(&self) -> bool {
        self.input == Input::AnyKey
    }

    /// What the device echoes for `command` typed at the current prompt, Enter included.
    pub(crate) fn echo_of(&self, command: &str) -> Vec<u8> {
        match self.persona.screen {
            Screen::Lines => format!("{command}\r\n").into_bytes(),
            Screen::RouterOs => {
                let prompt = self.prompt();
                let last = prompt.rsplit('\n').next().unwrap_or(&prompt);
                let mut bytes = command.as_bytes().to_vec();
                bytes.extend(mikrotik::repaint(last, command.as_bytes(), self.colours));
                bytes.extend_from_slice(b"\r\n");
                bytes
            }
            Screen::Vt100 { .. } => {
                let base = self.caret_base();
                let mut bytes = Vec::new();
                for (i, b) in command.bytes().enumerate() {
                    bytes.extend(procurve::paint_echo(base + i + 1, b));
                }
                bytes.extend(procurve::paint_enter(base + command.len() + 1));
                bytes
            }
        }
    }

    /// The prompt's last line as the device sends it after an output.
    pub(crate) fn sent_prompt_line(&self) -> String {
        let prompt = self.closing_prompt(true);
        match prompt.rfind('\n') {
            Some(at) => prompt[at + 1..].to_string(),
            None => prompt,
        }
    }

    /// Puts the session where a collecting client has it: privileged, paging off.
    pub(crate) fn privileged_unpaged(&mut self) {
        self.input = Input::Line;
        self.mode = Mode::Privileged;
        self.length = 0;
    }

    /// Puts the `timestamps` and `prompt_lines` quirks' lines before an output.
    fn add_quirk_lines(&self, text: &mut String) {
        let mut before = String::new();
        if self.options.quirks.timestamps {
            before.push_str(&quirks::timestamp_lines(&self.model));
        }
        if self.options.quirks.prompt_lines {
            before.push_str(&quirks::prompt_lines(
                &self.prompt().replace("\r\n", "\n"),
                &self.model.hostname,
            ));
        }
        text.insert_str(0, &before);
    }

    /// Runs one command for an SSH `exec` request: privileged, unpaged, no echo and no prompt.
    pub fn exec(&mut self, command: &str) -> Vec<Action> {
        self.mode = Mode::Privileged;
        self.length = 0;
        let mut out = vec![Action::Think];
        let tokens = tokenize(command.as_bytes());
        if tokens.is_empty() {
            return out;
        }
        if self.fault() == Some(Fault::Garbage) {
            push(&mut out, garbage());
            return out;
        }
        match self.run_exec(&tokens, command, 0) {
            Outcome::Text(mut text) => {
                text.push_str(self.persona.after_output);
                push(&mut out, crlf(&text));
            }
            Outcome::Drop(text) => {
                push(&mut out, crlf(&text));
                out.push(Action::Drop);
            }
            Outcome::Huge(bytes) => out.push(Action::Huge(bytes)),
            Outcome::AskSecret | Outcome::Exit => {}
        }
        out
    }

    /// Feeds bytes the client typed; returns what the device does, in order.
    pub fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        for &byte in input {
            if self.finished {
                break;
            }
            if self.after_cr && byte == b'\n' {
                self.after_cr = false;
                continue;
            }
            self.after_cr = byte == b'\r';
            match self.input {
                Input::Line => self.line_byte(byte, &mut out),
                Input::Secret => self.secret_byte(byte, &mut out),
                Input::More => self.more_byte(byte, &mut out),
                Input::AnyKey => {
                    // The key itself is swallowed; so is the LF of a CR LF.
                    self.input = Input::Line;
                    let Screen::Vt100 { after_key, .. } = self.persona.screen else {
                        continue;
                    };
                    let mut bytes = after_key.as_bytes().to_vec();
                    bytes.extend_from_slice(self.closing_prompt(true).as_bytes());
                    push(&mut out, bytes);
                }
            }
        }
        self.note_config_mode();
        self.present(out)
    }

    fn line_byte(&mut self, byte: u8, out: &mut Vec<Action>) {
        match byte {
            b'\r' | b'\n' if matches!(self.persona.screen, Screen::Vt100 { .. }) => {
                let line = std::mem::take(&mut self.line);
                let column = self.caret_base() + line.len() + 1;
                push(out, procurve::paint_enter(column));
                self.submit(&line, out);
            }
            b'\r' | b'\n' if self.persona.screen == Screen::RouterOs => {
                let line = std::mem::take(&mut self.line);
                let prompt = self.prompt();
                let last = prompt.rsplit('\n').next().unwrap_or(&prompt);
                push(out, mikrotik::repaint(last, &line, self.colours));
                push(out, b"\r\n".to_vec());
                self.submit(&line, out);
            }
            b'\r' | b'\n' => {
                let line = std::mem::take(&mut self.line);
                if self.options.quirks.ansi_prompt {
                    // Repaint the whole line, prompt and command, before ending it.
                    let prompt = self.prompt();
                    let last = prompt.rsplit('\n').next().unwrap_or(&prompt);
                    let mut bytes = quirks::painted_prompt(last, true).into_bytes();
                    bytes.extend_from_slice(&line);
                    push(out, bytes);
                }
                push(out, b"\r\n".to_vec());
                self.submit(&line, out);
            }
            // A DEL-only line editor ignores backspace and echoes nothing for it.
            0x08 if self.options.quirks.del_only => {}
            0x7f if self.options.quirks.del_only && self.line.pop().is_some() => {
                push(out, b"\x1b[1D\x1b[1P".to_vec());
            }
            0x08 | 0x7f if self.line.pop().is_some() => push(out, b"\x08 \x08".to_vec()),
            // Ctrl-U erases the line.
            0x15 => {
                let erase = b"\x08 \x08".repeat(self.line.len());
                self.line.clear();
                push(out, erase);
            }
            // Ctrl-C and Ctrl-Z abandon the line and leave configuration mode.
            0x03 | 0x1a => {
                self.line.clear();
                if matches!(self.mode, Mode::Config(_)) {
                    self.quit_config();
                }
                let mut bytes = if byte == 0x03 {
                    b"^C\r\n".to_vec()
                } else {
                    b"^Z\r\n".to_vec()
                };
                bytes.extend_from_slice(self.closing_prompt(true).as_bytes());
                push(out, bytes);
            }
            b if b >= 0x20 && b != 0x7f && self.line.len() < MAX_LINE => {
                self.line.push(b);
                let echo = match self.persona.screen {
                    Screen::Lines | Screen::RouterOs => vec![b],
                    Screen::Vt100 { .. } => {
                        procurve::paint_echo(self.caret_base() + self.line.len(), b)
                    }
                };
                push(out, echo);
            }
            _ => {}
        }
    }

    fn secret_byte(&mut self, byte: u8, out: &mut Vec<Action>) {
        match byte {
            b'\r' | b'\n' => {
                let typed = std::mem::take(&mut self.line);
                let rejected = self.fault() == Some(Fault::RejectEnable);
                let text = if !rejected && typed == self.options.secret.as_bytes() {
                    self.mode = Mode::Privileged;
                    "\n".to_string()
                } else {
                    self.secret_tries += 1;
                    if self.secret_tries < self.persona.secret_attempts {
                        // Asked again, still without echo (ASA: three tries).
                        let mut again = crlf(&format!("\n{}", self.persona.secret_retry));
                        again.extend_from_slice(b"Password: ");
                        push(out, again);
                        return;
                    }
                    format!("\n{}", self.persona.secret_refused)
                };
                self.input = Input::Line;
                let mut bytes = crlf(&text);
                bytes.extend_from_slice(self.closing_prompt(true).as_bytes());
                push(out, bytes);
            }
            0x08 if self.options.quirks.del_only => {}
            0x08 | 0x7f => {
                self.line.pop();
            }
            0x03 => {
                self.line.clear();
                self.input = Input::Line;
                let mut bytes = b"\r\n".to_vec();
                bytes.extend_from_slice(self.closing_prompt(true).as_bytes());
                push(out, bytes);
            }
            b if b >= 0x20 && b != 0x7f && self.line.len() < MAX_LINE => self.line.push(b),
            _ => {}
        }
    }

    fn more_byte(&mut self, byte: u8, out: &mut Vec<Action>) {
        // The marker is rubbed out, each vendor its own way, before the next page.
        let mut bytes = self.persona.pager_erase.bytes(self.persona.pager);
        let lines = match byte {
            b' ' => self.page_lines(),
            b'\r' | b'\n' => 1,
            _ => {
                self.pending.clear();
                0
            }
        };
        self.emit_lines(lines, &mut bytes);
        push(out, bytes);
    }

    /// Lines per page: one line of the terminal is kept for ` --More-- `.
    fn page_lines(&self) -> usize {
        self.length.saturating_sub(1).max(1)
    }

    /// Writes up to `count` pending lines, then either ` --More-- ` or the prompt.
    fn emit_lines(&mut self, count: usize, bytes: &mut Vec<u8>) {
        let mut after_message = false;
        for _ in 0..count {
            let Some(line) = self.pending.pop_front() else {
                break;
            };
            bytes.extend_from_slice(line.as_bytes());
            if self.pending.is_empty() && self.partial {
                after_message = true;
            } else {
                bytes.extend_from_slice(b"\r\n");
            }
        }
        if self.pending.is_empty() {
            self.input = Input::Line;
            self.partial = false;
            bytes.extend_from_slice(self.closing_prompt(!after_message).as_bytes());
        } else {
            self.input = Input::More;
            bytes.extend_from_slice(self.persona.pager.as_bytes());
        }
    }

    /// Handles a complete command line.
    fn submit(&mut self, line: &[u8], out: &mut Vec<Action>) {
        let tokens = tokenize(line);
        if tokens.is_empty() {
            push(out, self.closing_prompt(true).into_bytes());
            return;
        }
        out.push(Action::Think);
        if self.fault() == Some(Fault::Garbage) {
            push(out, garbage());
            return;
        }
        if self.fault() == Some(Fault::NoPrompt) {
            self.prompt_lost = true;
        }
        let raw = String::from_utf8_lossy(line).into_owned();
        let caret_base = self.caret_base();
        let outcome = match self.mode {
            Mode::Config(_) => self.run_config(&tokens, &raw, caret_base),
            _ => self.run_exec(&tokens, &raw, caret_base),
        };
        match outcome {
            Outcome::Text(mut text) => {
                text.push_str(self.persona.after_output);
                self.add_quirk_lines(&mut text);
                self.partial = !text.is_empty() && !text.ends_with('\n');
                self.pending = text.split_terminator('\n').map(str::to_owned).collect();
                let first = if self.length == 0 {
                    self.pending.len()
                } else {
                    self.page_lines()
                };
                let mut bytes = Vec::new();
                self.emit_lines(first, &mut bytes);
                push(out, bytes);
            }
            Outcome::AskSecret => {
                self.input = Input::Secret;
                self.secret_tries = 0;
                push(out, b"Password: ".to_vec());
            }
            Outcome::Exit => {
                self.finished = true;
                out.push(Action::Exit);
            }
            Outcome::Drop(text) => {
                self.finished = true;
                push(out, crlf(&text));
                out.push(Action::Drop);
            }
            Outcome::Huge(bytes) => {
                out.push(Action::Huge(bytes));
                push(out, self.closing_prompt(true).into_bytes());
            }
        }
    }

    fn run_exec(&mut self, tokens: &[(usize, &str)], raw: &str, caret_base: usize) -> Outcome {
        // An output modifier starts at the first `|`; the command is what comes before it.
        let pipe = raw.find('|');
        let head: Vec<(usize, &str)> = match pipe {
            None => tokens.to_vec(),
            Some(at) => tokens
                .iter()
                .filter(|(col, _)| *col < at)
                .map(|&(col, word)| (col, &word[..word.len().min(at - col)]))
                .collect(),
        };
        let privileged = self.mode != Mode::User;
        if privileged && let Some(outcome) = self.run_archive(tokens) {
            return outcome;
        }
        if privileged && let Some(outcome) = self.run_candidate_exec(tokens) {
            return outcome;
        }
        let errors = &self.persona.errors;
        let (cmd, number) = match resolve(self.persona.commands, &head, privileged) {
            Ok(found) => found,
            Err(e) => {
                let first_col = head.first().map_or(0, |(col, _)| *col);
                return Outcome::Text(error_text(errors, e, raw, caret_base, first_col));
            }
        };
        let Some(at) = pipe else {
            return self.run_command(cmd, number, privileged, &head);
        };
        // IOS accepts modifiers after `show` commands only.
        if !cmd.is_show() {
            return Outcome::Text(invalid_at(errors, errors.invalid, caret_base + at));
        }
        let filter = match Filter::parse(&raw[at + 1..]) {
            Ok(filter) => filter,
            Err(FilterError::UnknownAt(offset)) => {
                let column = caret_base + at + 1 + offset;
                return Outcome::Text(invalid_at(errors, errors.invalid, column));
            }
            Err(FilterError::Incomplete) => {
                return Outcome::Text(errors.incomplete.into());
            }
            Err(FilterError::BadRegex) => {
                return Outcome::Text("% Invalid regular expression\n\n".into());
            }
        };
        match self.run_command(cmd, number, privileged, &head) {
            Outcome::Text(text) => Outcome::Text(filter.apply(&text)),
            Outcome::Drop(text) => Outcome::Drop(filter.apply(&text)),
            other => other,
        }
    }

    /// Runs a resolved command; `words` are the line's words (a configuration command names
    /// the sub-mode it enters: FortiOS `config system interface`).
    fn run_command(
        &mut self,
        cmd: Cmd,
        number: Option<u32>,
        privileged: bool,
        words: &[(usize, &str)],
    ) -> Outcome {
        let text = match cmd {
            Cmd::Enable => {
                let rejected = self.fault() == Some(Fault::RejectEnable);
                if privileged || (self.options.secret.is_empty() && !rejected) {
                    self.mode = Mode::Privileged;
                    String::new()
                } else {
                    return Outcome::AskSecret;
                }
            }
            Cmd::Disable => {
                self.mode = Mode::User;
                String::new()
            }
            Cmd::Exit => return Outcome::Exit,
            Cmd::TerminalLength => {
                let n = number.unwrap_or(0);
                self.length = n as usize;
                self.message(self.persona.length_reply, quirks::DEFAULT_LENGTH_REPLY)
                    .replace("{n}", &n.to_string())
            }
            Cmd::TerminalWidth => {
                let n = number.unwrap_or(0);
                self.message(self.persona.width_reply, quirks::DEFAULT_WIDTH_REPLY)
                    .replace("{n}", &n.to_string())
            }
            Cmd::ShowRunningConfig | Cmd::ShowTechSupport if self.fault() == Some(Fault::Huge) => {
                return Outcome::Huge(crate::HUGE_OUTPUT_BYTES);
            }
            Cmd::ShowRunningConfig => {
                let mut config = (self.persona.running_config)(&self.model);
                if let Some(live) = &self.options.live {
                    config = live.dynamics.churn().render(live.index, config);
                }
                if self.fault() == Some(Fault::DropMidOutput) {
                    let mut half = config.len() / 2;
                    while !config.is_char_boundary(half) {
                        half -= 1;
                    }
                    return Outcome::Drop(config[..half].to_string());
                }
                config
            }
            Cmd::ShowVersion => (self.persona.version)(&self.model),
            Cmd::Noop => String::new(),
            Cmd::ShowIpInterfaceBrief => {
                dynamics::ip_interface_brief(&mut self.model, self.options.live.as_ref())
            }
            Cmd::ShowIpRoute => show::ip_route(&self.model),
            Cmd::ShowVlanBrief => show::vlan_brief(&self.model),
            Cmd::ShowProcessesCpu => {
                dynamics::processes_cpu(&self.model, self.options.live.as_ref())
            }
            Cmd::ShowTechSupport => show::tech_support(&self.model),
            Cmd::ConfigureTerminal => {
                self.mode = Mode::Config(Vec::new());
                self.enter_candidate();
                if let config::Entered::Mode(sub) = (self.persona.config.sub_mode)(words) {
                    self.mode = Mode::Config(vec![sub]);
                }
                self.message(self.persona.config_enter, "")
            }
            Cmd::WriteMemory => "Building configuration...\n[OK]\n".to_string(),
        };
        Outcome::Text(text)
    }
}

/// What a `Garbage` device answers: a few hundred random bytes, NULs and escapes included.
fn garbage() -> Vec<u8> {
    let mut rng = rand::rng();
    let len = rng.random_range(64..1024);
    let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
    // Make sure the nastiest bytes are there whatever the dice said.
    bytes.extend_from_slice(b"\0\x1b[2J\x1b]0;\x07\0\xff");
    bytes
}

/// Turns `\n` line ends into the terminal's `\r\n`.
fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

/// Appends bytes, merging with a preceding `Send` so the session writes fewer packets.
fn push(out: &mut Vec<Action>, bytes: Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    if let Some(Action::Send(last)) = out.last_mut() {
        last.extend_from_slice(&bytes);
    } else {
        out.push(Action::Send(bytes));
    }
}

#[cfg(test)]
mod quirk_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
