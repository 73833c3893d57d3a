//! Vendor personas: how each simulated device speaks. A persona is data — prompt templates, the
//! command table, the vendor's error wording, the pager marker, what entering configuration mode
//! prints — plus two renderers (`show running-config` / `show configuration` and `show version`)
//! over the shared [`DeviceModel`]. The CLI state machine in `shell.rs` is the same for all of
//! them; only what it prints differs.
//!
//! Every fanout CLI platform has one: `cisco_ios`, `cisco_xe`, `cisco_nxos`, `cisco_xr`,
//! `arista_eos`, `juniper_junos`, `cisco_asa`, `paloalto_panos`, `fortinet`, `huawei_vrp`,
//! `hp_comware`, `hp_procurve`, `dell_os10`, `dell_os6`, `brocade_fastiron` and
//! `mikrotik_routeros`.

mod asa;
mod comware;
mod dell_os6;
mod eos;
mod fastiron;
mod fortinet;
mod huawei;
mod ios;
mod junos;
pub(crate) mod mikrotik;
mod nxos;
mod os10;
mod panos;
pub(crate) mod procurve;
pub(crate) mod quirks;
mod xr;

pub use quirks::Quirks;

use crate::model::{DeviceModel, Interface};
use crate::shell::commands::Spec;
use crate::shell::config::ConfigModes;
use crate::shell::{Action, Shell, ShellOptions};

/// A device's platform: which persona it runs, and what devsim's inventory says in `platform:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Platform {
    #[default]
    CiscoIos,
    CiscoXe,
    CiscoNxos,
    CiscoXr,
    AristaEos,
    JuniperJunos,
    CiscoAsa,
    PaloaltoPanos,
    Fortinet,
    HuaweiVrp,
    HpComware,
    HpProcurve,
    DellOs10,
    DellOs6,
    BrocadeFastiron,
    MikrotikRouteros,
}

impl Platform {
    /// Every platform with a persona, in the order `fanout platforms` lists them.
    pub const ALL: [Platform; 16] = [
        Platform::CiscoIos,
        Platform::CiscoXe,
        Platform::CiscoNxos,
        Platform::CiscoXr,
        Platform::AristaEos,
        Platform::JuniperJunos,
        Platform::CiscoAsa,
        Platform::PaloaltoPanos,
        Platform::Fortinet,
        Platform::HuaweiVrp,
        Platform::HpComware,
        Platform::HpProcurve,
        Platform::DellOs10,
        Platform::DellOs6,
        Platform::BrocadeFastiron,
        Platform::MikrotikRouteros,
    ];

    /// fanout's platform name (`cisco_ios`).
    pub fn name(self) -> &'static str {
        self.persona().name
    }

    pub(crate) fn persona(self) -> &'static Persona {
        match self {
            Platform::CiscoIos => &ios::IOS,
            Platform::CiscoXe => &ios::XE,
            Platform::CiscoNxos => &nxos::PERSONA,
            Platform::CiscoXr => &xr::PERSONA,
            Platform::AristaEos => &eos::PERSONA,
            Platform::JuniperJunos => &junos::PERSONA,
            Platform::CiscoAsa => &asa::PERSONA,
            Platform::PaloaltoPanos => &panos::PERSONA,
            Platform::Fortinet => &fortinet::PERSONA,
            Platform::HuaweiVrp => &huawei::PERSONA,
            Platform::HpComware => &comware::PERSONA,
            Platform::HpProcurve => &procurve::PERSONA,
            Platform::DellOs10 => &os10::PERSONA,
            Platform::DellOs6 => &dell_os6::PERSONA,
            Platform::BrocadeFastiron => &fastiron::PERSONA,
            Platform::MikrotikRouteros => &mikrotik::PERSONA,
        }
    }

    /// The commands that turn paging off, as fanout's built-in profile sends them; what a client
    /// needs to know to read a whole output.
    pub fn paging_off_command(self) -> &'static str {
        self.persona().paging_off
    }

    /// The command that prints the configuration (`show configuration` on Junos).
    pub fn config_command(self) -> &'static str {
        self.persona().config_command
    }

    /// The command that prints the software version (`show version` on most).
    pub fn version_command(self) -> &'static str {
        self.persona().version_command
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Platform {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name() == text.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Platform::ALL.iter().map(|p| p.name()).collect();
                format!("unknown platform {text:?} ({})", names.join(", "))
            })
    }
}

/// Exactly what a healthy, undrifted device of `platform` named `hostname` in a fleet seeded with
/// `seed` prints for `command` typed in privileged mode with paging off, between the echo of the
/// command and the next prompt, with `\n` line ends. A client that collected the command's
/// output (echo and prompt removed, CRLF turned to LF) got this string byte for byte. Error
/// markers line up under the prompt of a login named `admin` (the Junos prompt shows it).
/// `quirks` are those of the fleet (they add lines to outputs).
pub fn command_output(
    platform: Platform,
    quirks: Quirks,
    hostname: &str,
    seed: u64,
    command: &str,
) -> String {
    session_outputs(platform, quirks, hostname, seed, &[command]).remove(0)
}

/// [`command_output`] for commands typed one after the other in one session, so a command may
/// change the mode the next runs in (`configure terminal`, `interface ...`). Each output ends
/// where the next prompt's line starts: a Junos `[edit]` line is output, and so is a message
/// the prompt follows on its line (`prompt_after_message`). Quirks that only paint the screen
/// differently (`lf_cr`, `ansi_prompt`, ...) change nothing here: what the screen shows is
/// the same.
pub fn session_outputs(
    platform: Platform,
    quirks: Quirks,
    hostname: &str,
    seed: u64,
    commands: &[&str],
) -> Vec<String> {
    let mut shell = Shell::new(
        hostname,
        seed,
        ShellOptions {
            platform,
            quirks: quirks.content(),
            ..ShellOptions::default()
        },
    );
    shell.privileged_unpaged();
    let mut outputs = Vec::with_capacity(commands.len());
    for command in commands {
        let echo = String::from_utf8_lossy(&shell.echo_of(command)).into_owned();
        let mut bytes = Vec::new();
        for action in shell.feed(format!("{command}\n").as_bytes()) {
            if let Action::Send(chunk) = action {
                bytes.extend(chunk);
            }
        }
        let prompt_line = shell.sent_prompt_line();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix(&echo).unwrap_or(&text);
        let text = text.strip_suffix(&prompt_line).unwrap_or(text);
        outputs.push(text.replace("\r\n", "\n"));
    }
    outputs
}

/// Prompt templates: `{host}` is the hostname, `{user}` the login name, `{mode}` a config
/// sub-mode (`config-if`). A `\n` in a template puts a line before the prompt (Junos `[edit]`).
pub(crate) struct Prompts {
    /// User EXEC; unused by platforms whose logins land in privileged mode.
    pub user: &'static str,
    pub privileged: &'static str,
    pub config: &'static str,
    pub sub_config: &'static str,
}

/// How the vendor says a command line is wrong. Texts carry their own line ends.
pub(crate) struct Errors {
    /// A `^` line under the offending word precedes the message (all but EOS).
    pub caret: bool,
    pub invalid: &'static str,
    /// Said instead of `invalid` when the first word is unknown (Junos `unknown command.`).
    /// In both, `{word}` is the word the device stumbled on (FortiOS, PAN-OS, ProCurve name it).
    pub unknown_command: Option<&'static str>,
    pub incomplete: &'static str,
    /// `{command}` is the line as typed.
    pub ambiguous: &'static str,
}

/// One vendor's CLI.
pub(crate) struct Persona {
    /// fanout's platform name.
    pub name: &'static str,
    /// The SSH identification string the device announces.
    pub ssh_id: &'static str,
    /// Logins land in privileged mode (NX-OS, XR, Junos): no `enable`.
    pub login_privileged: bool,
    /// Printed on login before the banner (Junos's version line); may be empty.
    pub login_text: &'static str,
    pub prompts: Prompts,
    pub commands: &'static [Spec],
    pub errors: Errors,
    /// How the terminal is painted.
    pub screen: Screen,
    /// What a paused page ends with.
    pub pager: &'static str,
    /// How the marker is rubbed out when the page goes on.
    pub pager_erase: PagerErase,
    /// What a client types to turn paging off (lines). Where that is a device setting rather
    /// than a session one (FortiOS), fanout's profile does not send it and answers the pager.
    pub paging_off: &'static str,
    pub config_command: &'static str,
    /// The command that prints the software version (`display version`, `show system info`).
    pub version_command: &'static str,
    /// How many wrong enable secrets the device takes before giving up (ASA asks three times).
    pub secret_attempts: u8,
    /// Said before asking for the secret again.
    pub secret_retry: &'static str,
    /// Said when it gives up (`% Access denied`), before the prompt.
    pub secret_refused: &'static str,
    /// What entering configuration mode prints.
    pub config_enter: &'static str,
    /// What leaving configuration mode prints.
    pub config_leave: &'static str,
    /// How configuration mode is entered, climbed and left.
    pub config: ConfigModes,
    /// Appended to every command's output before the prompt (Junos leaves a blank line).
    pub after_output: &'static str,
    /// What setting the screen length or width says; `{n}` is the number.
    pub length_reply: &'static str,
    pub width_reply: &'static str,
    pub running_config: fn(&DeviceModel) -> String,
    pub version: fn(&DeviceModel) -> String,
}

impl Persona {
    /// Fills a prompt template in.
    pub(crate) fn prompt(&self, template: &str, host: &str, user: &str, mode: &str) -> String {
        template
            .replace("{host}", host)
            .replace("{user}", user)
            .replace("{mode}", mode)
    }
}

/// How a CLI paints its terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    /// Line by line: typed characters echoed as typed, a line end after a command, prompts as
    /// text.
    Lines,
    /// A VT100 painted by cursor address (HP ProCurve, see `procurve.rs`): `login` is shown
    /// until a key is pressed, then `after_key` and the prompt.
    Vt100 {
        login: &'static str,
        after_key: &'static str,
    },
    /// MikroTik RouterOS: the terminal follows options in the login name (see
    /// `mikrotik.rs`), and on Enter the line editor repaints the whole line.
    RouterOs,
}

/// How a vendor's pager rubs its marker out before the next page, so the page's lines join up
/// on the screen. Each style is one a client must recognise and drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PagerErase {
    /// Backspaces over the marker, as many blanks, backspaces again (IOS, NX-OS, EOS).
    Backspaces,
    /// Carriage return, blanks over the marker, carriage return (FortiOS, ASA).
    CarriageReturn,
    /// `ESC[nD`, n blanks, `ESC[nD`, with the vendor's own n whatever the marker's length
    /// (Huawei 42, Comware 16).
    CursorLeft(usize),
    /// Back to column one and erase the line: `\r ESC[2K` (ProCurve, Dell OS10).
    EraseLine,
}

impl PagerErase {
    /// The bytes that rub `marker` out.
    pub(crate) fn bytes(self, marker: &str) -> Vec<u8> {
        let width = marker.trim_end().len();
        match self {
            PagerErase::Backspaces => {
                let mut bytes = b"\x08".repeat(width);
                bytes.extend(b" ".repeat(width));
                bytes.extend(b"\x08".repeat(width));
                bytes
            }
            PagerErase::CarriageReturn => format!("\r{}\r", " ".repeat(width)).into_bytes(),
            PagerErase::CursorLeft(n) => {
                format!("\x1b[{n}D{}\x1b[{n}D", " ".repeat(n)).into_bytes()
            }
            PagerErase::EraseLine => b"\r\x1b[2K".to_vec(),
        }
    }
}

/// What an interface of the model is, for vendors that name interfaces their own way.
pub(crate) enum Kind {
    Loopback(u32),
    /// The out-of-band management port.
    Management,
    /// A 1G front-panel port, 1-based.
    Gigabit(u32),
    /// A 10G uplink, 1-based.
    TenGigabit(u32),
    Vlan(u32),
}

/// Classifies a model interface by its IOS name.
pub(crate) fn kind(intf: &Interface) -> Kind {
    let last = |name: &str| -> u32 {
        name.rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let name = intf.name.as_str();
    if let Some(n) = name.strip_prefix("Loopback") {
        Kind::Loopback(n.parse().unwrap_or(0))
    } else if let Some(n) = name.strip_prefix("Vlan") {
        Kind::Vlan(n.parse().unwrap_or(0))
    } else if name.starts_with("TenGigabitEthernet") {
        Kind::TenGigabit(last(name))
    } else if name.starts_with("GigabitEthernet") {
        Kind::Gigabit(last(name))
    } else {
        Kind::Management
    }
}

#[cfg(test)]
mod tests;
