//! MikroTik RouterOS: `[admin@r1] > ` at the root, `[admin@r1] /interface> ` inside a menu
//! (`/` goes back), no enable and no configuration mode: commands act at once. Errors name the
//! place: `bad command name bogus (line 1 column 6)`, `syntax error (line 1 column 9)`.
//!
//! Its terminal depends on the login name: RouterOS reads options after a `+` in it (`admin+ct`,
//! Netmiko logs in as `admin+ct511w4098h`). Without `c` it colours the command line: on Enter
//! the line editor repaints the whole line, prompt and command in colour. Without `t` it asks
//! the terminal for its size (`ESC[9999B ESC[6n`) before the first prompt; with `<n>h` it pages
//! after that many lines instead of 24, at `-- [Q quit|D dump|down]`.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Port};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["/quit"], None, false, Cmd::Exit),
    spec(&["quit"], None, false, Cmd::Exit),
    spec(
        &["/system", "resource", "print"],
        None,
        false,
        Cmd::ShowVersion,
    ),
    spec(
        &["system", "resource", "print"],
        None,
        false,
        Cmd::ShowVersion,
    ),
    spec(&["/export"], None, false, Cmd::ShowRunningConfig),
    spec(&["export"], None, false, Cmd::ShowRunningConfig),
    spec(&["/interface"], None, false, Cmd::ConfigureTerminal),
    spec(&["/ip", "address"], None, false, Cmd::ConfigureTerminal),
    spec(&["/system"], None, false, Cmd::ConfigureTerminal),
];

/// A bare menu path (`/interface`, `/ip address`) moves into that menu.
fn menu(words: &[(usize, &str)]) -> Entered {
    if words.iter().all(|(_, w)| !w.contains('=')) && words[0].1.starts_with('/') {
        let path: Vec<&str> = words
            .iter()
            .map(|(_, w)| w.trim_start_matches('/'))
            .collect();
        if path.iter().all(|w| !w.is_empty()) {
            return Entered::Mode(format!("/{}", path.join(" ")));
        }
    }
    Entered::No
}

pub(super) const PERSONA: Persona = Persona {
    name: "mikrotik_routeros",
    ssh_id: "SSH-2.0-ROSSSH",
    login_privileged: true,
    login_text: "\n\n\n\n\n  MMM      MMM       KKK                          TTTTTTTTTTT      KKK\n  \
                 MMMM    MMMM       KKK                          TTTTTTTTTTT      KKK\n  \
                 MMM MMMM MMM  III  KKK  KKK  RRRRRR     OOOOOO      TTT     III  KKK  KKK\n  \
                 MMM  MM  MMM  III  KKKKK     RRR  RRR  OOO  OOO     TTT     III  KKKKK\n  \
                 MMM      MMM  III  KKK KKK   RRRRRR    OOO  OOO     TTT     III  KKK KKK\n  \
                 MMM      MMM  III  KKK  KKK  RRR  RRR   OOOOOO      TTT     III  KKK  KKK\n\n  \
                 MikroTik RouterOS 7.11.2 (c) 1999-2023       https://www.mikrotik.com/\n\n\
                 Press F1 for help\n\n",
    prompts: Prompts {
        user: "[{user}@{host}] > ",
        privileged: "[{user}@{host}] > ",
        config: "[{user}@{host}] > ",
        sub_config: "[{user}@{host}] {mode}> ",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: false,
        invalid: "syntax error (line 1 column {column})\n",
        unknown_command: Some("bad command name {word} (line 1 column {column})\n"),
        incomplete: "expected end of command (line 1 column 1)\n",
        ambiguous: "ambiguous value of command (line 1 column 1)\n",
    },
    screen: Screen::RouterOs,
    pager: "-- [Q quit|D dump|down]",
    pager_erase: PagerErase::EraseLine,
    paging_off: "",
    config_command: "/export",
    version_command: "/system resource print",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "",
    config_enter: "",
    config_leave: "",
    config: ConfigModes {
        end: &["/"],
        up: &[".."],
        sub_mode: menu,
        nests: false,
        paging_off: None,
    },
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

/// What a RouterOS login name asks of the terminal: `admin+ct511w4098h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginOptions {
    /// The name without its options, as prompts show it.
    pub user: String,
    /// `c` not given: the command line is coloured.
    pub colours: bool,
    /// `t` not given: the terminal is asked for its size.
    pub detect: bool,
    /// `<n>h`: lines per page.
    pub height: Option<usize>,
}

impl LoginOptions {
    pub(crate) fn parse(login: &str) -> Self {
        let (user, options) = login.split_once('+').unwrap_or((login, ""));
        let mut height = None;
        let mut number = String::new();
        for c in options.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            if c == 'h' {
                height = number.parse().ok();
            }
            number.clear();
        }
        LoginOptions {
            user: user.to_string(),
            colours: !options.contains('c'),
            detect: !options.contains('t'),
            height,
        }
    }
}

/// The line as RouterOS repaints it on Enter: back to column one, the prompt, the command with
/// its words coloured (menus, commands and arguments each their own colour).
pub(crate) fn repaint(prompt: &str, line: &[u8], colours: bool) -> Vec<u8> {
    let mut bytes = format!("\r{prompt}").into_bytes();
    if !colours {
        bytes.extend_from_slice(line);
        return bytes;
    }
    for (i, word) in line.split(|&b| b == b' ').enumerate() {
        if i > 0 {
            bytes.push(b' ');
        }
        let colour: &[u8] = if word.starts_with(b"/") {
            b"\x1b[35m"
        } else if word.contains(&b'=') {
            b"\x1b[33m"
        } else {
            b"\x1b[36m"
        };
        bytes.extend_from_slice(colour);
        bytes.extend_from_slice(word);
        bytes.extend_from_slice(b"\x1b[m");
    }
    bytes
}

fn port(k: &Kind) -> Option<String> {
    match k {
        Kind::Gigabit(n) => Some(format!("ether{n}")),
        Kind::TenGigabit(n) => Some(format!("sfp-sfpplus{n}")),
        _ => None,
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "# {changed} by RouterOS 7.11.2\n# software id = {id}\n#\n# model = CRS326-24G-2S+\n\
         # serial number = {serial}\n/interface bridge\nadd name=bridge1 vlan-filtering=yes\n\
         /interface ethernet\n",
        changed = m.last_change,
        id = &m.serial[m.serial.len() - 4..],
        serial = m.serial,
    );
    for intf in &m.interfaces {
        let Some(name) = port(&kind(intf)) else {
            continue;
        };
        if intf.description.is_none() && !intf.shutdown {
            continue;
        }
        let _ = write!(c, "set [ find default-name={name} ]");
        if let Some(d) = &intf.description {
            let _ = write!(c, " comment=\"{d}\"");
        }
        if intf.shutdown {
            c.push_str(" disabled=yes");
        }
        c.push('\n');
    }
    c.push_str("/interface vlan\n");
    for v in &m.vlans {
        let _ = writeln!(
            c,
            "add comment={} interface=bridge1 name=vlan{} vlan-id={}",
            v.name, v.id, v.id
        );
    }
    c.push_str("/interface bridge port\n");
    for intf in &m.interfaces {
        let (Some(name), Port::Access { vlan, .. }) = (port(&kind(intf)), &intf.port) else {
            continue;
        };
        let _ = writeln!(c, "add bridge=bridge1 interface={name} pvid={vlan}");
    }
    c.push_str("/ip address\n");
    for intf in &m.interfaces {
        let Some((ip, prefix)) = intf.address() else {
            continue;
        };
        let interface = match kind(intf) {
            Kind::Vlan(n) => format!("vlan{n}"),
            Kind::Loopback(_) => "lo".to_string(),
            k => port(&k).unwrap_or_else(|| "ether1".into()),
        };
        let _ = writeln!(c, "add address={ip}/{prefix} interface={interface}");
    }
    let _ = write!(
        c,
        "/ip dns\nset servers={}\n/ip route\n",
        crate::model::NAME_SERVER
    );
    for r in &m.routes {
        let _ = writeln!(
            c,
            "add dst-address={}/{} gateway={}",
            r.network, r.prefix, r.next_hop
        );
    }
    if !m.telnet {
        c.push_str("/ip service\nset telnet disabled=yes\n");
    }
    let _ = write!(
        c,
        "/system identity\nset name={}\n/system logging action\nset 3 remote={}\n\
         /system ntp client\nset enabled=yes\n/system ntp client servers\n",
        m.hostname,
        crate::model::LOG_HOST
    );
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "add address={ntp}");
    }
    c
}

fn version(m: &DeviceModel) -> String {
    format!(
        "                   uptime: {uptime}\n\
         \x20                 version: 7.11.2 (stable)\n\
         \x20              build-time: Aug/31/2023 13:55:47\n\
         \x20        factory-software: 6.44.6\n\
         \x20             free-memory: 425.3MiB\n\
         \x20            total-memory: 512.0MiB\n\
         \x20                     cpu: ARMv7\n\
         \x20               cpu-count: 1\n\
         \x20           cpu-frequency: 800MHz\n\
         \x20                cpu-load: 1%\n\
         \x20          free-hdd-space: 2.9MiB\n\
         \x20         total-hdd-space: 16.0MiB\n\
         \x20 write-sect-since-reboot: 2519\n\
         \x20        write-sect-total: 208361\n\
         \x20              bad-blocks: 0%\n\
         \x20       architecture-name: arm\n\
         \x20              board-name: CRS326-24G-2S+\n\
         \x20                platform: MikroTik\n\
         \x20           serial-number: {serial}\n",
        uptime = m.uptime,
        serial = m.serial,
    )
}
