//! HP ProCurve / Aruba OS-Switch: `sw1> ` (operator), `enable` to `sw1# ` (manager),
//! `sw1(config)# `, `sw1(eth-1)# `, `sw1(vlan-10)# `. `no page` needs manager level.
//!
//! What sets it apart is the screen. The switch drives a VT100: after login it shows its
//! copyright notice and waits at `Press any key to continue`; it paints every prompt at the
//! bottom row by cursor address (`ESC[24;1H ESC[2K ... sw1# `), echoes each typed character at
//! its column (`ESC[24;9Hs ESC[24;9H ESC[?25h ESC[24;10H`), and on Enter scrolls the line up by
//! deleting the top line and inserting one at the bottom (`ESC[1;0H ESC[1M ESC[24;1H ESC[1L`)
//! instead of sending a line end, so a command with no output is followed by its prompt with
//! no line end at all. Captures of real switches show exactly these sequences (Netmiko issues
//! #681, #1699, #1819). Outputs of `show` commands start with a blank line; the pager says
//! `-- MORE --, next page: Space, next line: Enter, quit: Control-C`.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Port, mask};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

/// The row the switch paints its prompt and input on: the bottom of a 24-row terminal.
const ROW: usize = 24;

const COMMANDS: &[Spec] = &[
    spec(&["enable"], None, false, Cmd::Enable),
    spec(&["disable"], None, true, Cmd::Disable),
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["logout"], None, false, Cmd::Exit),
    spec(&["no", "page"], None, true, Cmd::TerminalLength),
    spec(
        &["terminal", "length"],
        Some(1000),
        true,
        Cmd::TerminalLength,
    ),
    spec(
        &["terminal", "width"],
        Some(1920),
        false,
        Cmd::TerminalWidth,
    ),
    spec(
        &["show", "running-config"],
        None,
        true,
        Cmd::ShowRunningConfig,
    ),
    spec(&["show", "version"], None, false, Cmd::ShowVersion),
    spec(
        &["configure", "terminal"],
        None,
        true,
        Cmd::ConfigureTerminal,
    ),
    spec(&["configure"], None, true, Cmd::ConfigureTerminal),
    spec(&["write", "memory"], None, true, Cmd::WriteMemory),
];

/// `interface 1` is `eth-1`, `vlan 10` is `vlan-10`.
fn context(words: &[(usize, &str)]) -> Entered {
    let first = words[0].1.to_ascii_lowercase();
    let name = match first.as_str() {
        "interface" | "int" => "eth",
        "vlan" => "vlan",
        _ => return Entered::No,
    };
    match words.get(1) {
        None => Entered::Incomplete,
        Some((_, id)) => Entered::Mode(format!("{name}-{id}")),
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "hp_procurve",
    ssh_id: "SSH-2.0-Mocana SSH 6.3",
    login_privileged: false,
    login_text: "",
    prompts: Prompts {
        user: "{host}> ",
        privileged: "{host}# ",
        config: "{host}(config)# ",
        sub_config: "{host}({mode})# ",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: false,
        invalid: "Invalid input: {word}\n",
        unknown_command: None,
        incomplete: "Incomplete input: {command}\n",
        ambiguous: "Ambiguous input: {command}\n",
    },
    screen: SCREEN,
    pager: "-- MORE --, next page: Space, next line: Enter, quit: Control-C",
    pager_erase: PagerErase::EraseLine,
    paging_off: "no page",
    config_command: "show running-config",
    version_command: "show version",
    secret_attempts: 3,
    secret_retry: "Invalid password\n",
    secret_refused: "Invalid password\n",
    config_enter: "",
    config_leave: "",
    config: ConfigModes {
        end: &["end"],
        up: &["exit"],
        sub_mode: context,
        nests: false,
        paging_off: None,
    },
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

/// The screen as the switch paints it.
pub(super) const SCREEN: Screen = Screen::Vt100 {
    login: "\x1b[?6l\x1b[1;24r\x1b[?7h\x1b[2J\x1b[1;1H\x1b[1920;1920H\x1b[6n\x1b[1;1H\
            HP J9773A 2530-24G-PoEP Switch\r\nSoftware revision YA.16.10.0009\r\n\r\n\
            (C) Copyright 2020 Hewlett Packard Enterprise Development LP\r\n\r\n\
            \x20                  RESTRICTED RIGHTS LEGEND\r\n\
            Confidential computer software. Valid license from HPE required for possession,\r\n\
            use or copying. Consistent with FAR 12.211 and 12.212, Commercial Computer\r\n\
            Software, Computer Software Documentation, and Technical Data for Commercial\r\n\
            Items are licensed to the U.S. Government under vendor's standard commercial\r\n\
            license.\r\n\r\nWe'd like to keep you up to date about:\r\n\
            \x20 * Software feature updates\r\n  * New product announcements\r\n\
            \x20 * Special events\r\n\r\nPlease register your products now at:  \
            https://www.hpe.com/networking/register\r\n\r\n\r\n\r\n\
            Press any key to continue",
    after_key: "\x1b[2J\x1b[?7l\x1b[3;23r\x1b[?6l\x1b[24;1H\x1b[?25h\x1b[24;1H",
};

/// The prompt painted on the bottom row, the cursor parked after it.
pub(crate) fn paint_prompt(prompt: &str) -> String {
    let after = prompt.len() + 1;
    format!(
        "\x1b[1;{ROW}r\x1b[{ROW};1H\x1b[2K\x1b[{ROW};1H\x1b[?25h\x1b[{ROW};1H\x1b[{ROW};1H{prompt}\
         \x1b[{ROW};1H\x1b[{ROW};{after}H\x1b[{ROW};1H\x1b[?25h\x1b[{ROW};{after}H"
    )
}

/// The echo of one typed character at 1-based `column`.
pub(crate) fn paint_echo(column: usize, byte: u8) -> Vec<u8> {
    let mut bytes = format!("\x1b[{ROW};{column}H").into_bytes();
    bytes.push(byte);
    let next = column + 1;
    bytes.extend_from_slice(format!("\x1b[{ROW};{column}H\x1b[?25h\x1b[{ROW};{next}H").as_bytes());
    bytes
}

/// What Enter does with the cursor at 1-based `column`: the screen scrolls up by a line (the
/// top line deleted, a blank one inserted at the bottom) and the new bottom line is cleared. No
/// line end is sent.
pub(crate) fn paint_enter(column: usize) -> Vec<u8> {
    format!(
        "\x1b[1;0H\x1b[1M\x1b[{ROW};1H\x1b[1L\x1b[{ROW};{column}H\x1b[{ROW};1H\x1b[2K\x1b[{ROW};1H\
         \x1b[?25h\x1b[{ROW};1H\x1b[1;{ROW}r\x1b[{ROW};1H"
    )
    .into_bytes()
}

/// Front-panel ports are numbered; uplinks follow them.
fn port(m: &DeviceModel, k: &Kind) -> Option<u32> {
    let front = m.interfaces.iter().filter(|i| i.physical).count() as u32;
    match k {
        Kind::Gigabit(n) => Some(*n),
        Kind::TenGigabit(n) => Some(front.saturating_sub(4) + n),
        _ => None,
    }
}

/// `1-3,7` for the ports in `ports` (ascending).
fn ranges(ports: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut at = 0;
    while at < ports.len() {
        let mut end = at;
        while end + 1 < ports.len() && ports[end + 1] == ports[end] + 1 {
            end += 1;
        }
        out.push(if end == at {
            ports[at].to_string()
        } else {
            format!("{}-{}", ports[at], ports[end])
        });
        at = end + 1;
    }
    out.join(",")
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let gateway = m.routes.first().map(|r| r.next_hop);
    let _ = write!(
        c,
        "\nRunning configuration:\n\n; J9773A Configuration Editor; Created on release #YA.16.10.0009\n\
         ; Ver #14:41.44.00.04.19.02.13.98.82.34.61.18.28.f3.84.9c.63.ff.37.27:05\nhostname \"{host}\"\n\
         module 1 type j9773a\ntimesync sntp\nsntp unicast\n",
        host = m.hostname,
    );
    for (i, ntp) in m.ntp_servers.iter().enumerate() {
        let _ = writeln!(c, "sntp server priority {} {ntp}", i + 1);
    }
    let _ = writeln!(
        c,
        "ip dns server-address priority 1 {}",
        crate::model::NAME_SERVER
    );
    if let Some(gateway) = gateway {
        let _ = writeln!(c, "ip default-gateway {gateway}");
    }
    for intf in &m.interfaces {
        let k = kind(intf);
        let Some(n) = port(m, &k) else {
            continue;
        };
        if intf.description.is_none() && !intf.shutdown {
            continue;
        }
        let _ = writeln!(c, "interface {n}");
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "   name \"{d}\"");
        }
        if intf.shutdown {
            c.push_str("   disable\n");
        }
        c.push_str("   exit\n");
    }
    for v in &m.vlans {
        let mut untagged = Vec::new();
        let mut tagged = Vec::new();
        for intf in &m.interfaces {
            let Some(n) = port(m, &kind(intf)) else {
                continue;
            };
            match &intf.port {
                Port::Access { vlan, .. } if *vlan == v.id => untagged.push(n),
                Port::Trunk { native, .. } if *native == v.id => untagged.push(n),
                Port::Trunk { allowed, .. } if allowed.contains(&v.id) => tagged.push(n),
                _ => {}
            }
        }
        let _ = write!(c, "vlan {}\n   name \"{}\"\n", v.id, v.name);
        if !untagged.is_empty() {
            let _ = writeln!(c, "   untagged {}", ranges(&untagged));
        }
        if !tagged.is_empty() {
            let _ = writeln!(c, "   tagged {}", ranges(&tagged));
        }
        let svi = m
            .interfaces
            .iter()
            .find(|i| matches!(kind(i), Kind::Vlan(n) if n == u32::from(v.id)));
        match svi.and_then(|i| i.address()) {
            Some((ip, prefix)) => {
                let _ = writeln!(c, "   ip address {ip} {}", mask(prefix));
            }
            None => c.push_str("   no ip address\n"),
        }
        c.push_str("   exit\n");
    }
    for r in &m.routes {
        let _ = writeln!(
            c,
            "ip route {} {} {}",
            r.network,
            mask(r.prefix),
            r.next_hop
        );
    }
    let _ = write!(
        c,
        "logging {}\nsnmp-server community \"public\" unrestricted\n{telnet}\
         password manager sha1 \"{hash}\"\n",
        crate::model::LOG_HOST,
        telnet = if m.telnet { "" } else { "no telnet-server\n" },
        hash = m.enable_hash,
    );
    c
}

fn version(m: &DeviceModel) -> String {
    format!(
        "\n Image stamp:    /ws/swbuildm/rel_ukiah_qaoff/code/build/lvm(swbuildm_rel_ukiah_qaoff_rel_ukiah)\n\
         \x20                Jun 18 2020 15:09:28\n\
         \x20                YA.16.10.0009\n\
         \x20                1223\n\
         \x20Boot Image:     Primary\n\
         \n\
         \x20Boot ROM Version:    YA.15.20\n\
         \x20Active Boot ROM:     Primary\n\
         \n\
         \x20Serial Number:       {serial}\n\
         \x20Up Time:             {uptime}\n",
        serial = m.serial,
        uptime = m.uptime,
    )
}
