//! Huawei VRP: `<sw1>` in user view (where `display` commands run; no enable), `system-view`
//! to `[sw1]`, views named after what they configure (`[sw1-GigabitEthernet0/0/1]`,
//! `[sw1-vlan10]`, `[sw1-ospf-1]`), `quit` one view up and `return` straight back.
//! `screen-length 0 temporary` turns paging off for this terminal only and says so; errors sit
//! under a `^` (`Error: Unrecognized command found at '^' position.`), and the pager's
//! `  ---- More ----` is rubbed out with `ESC[42D`, 42 blanks, `ESC[42D`.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Port, mask};
use crate::shell::commands::{Cmd, Spec, spec, spec_tail};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["quit"], None, false, Cmd::Exit),
    spec_tail(
        &["screen-length"],
        512,
        &["temporary"],
        false,
        Cmd::TerminalLength,
    ),
    spec(&["display", "version"], None, false, Cmd::ShowVersion),
    spec(
        &["display", "current-configuration"],
        None,
        false,
        Cmd::ShowRunningConfig,
    ),
    spec(&["system-view"], None, false, Cmd::ConfigureTerminal),
];

/// The view a system-view line enters, named as the prompt shows it.
pub(super) fn vrp_view(words: &[(usize, &str)]) -> Entered {
    let word = |i: usize| words.get(i).map(|(_, w)| *w);
    let first = word(0).unwrap_or("").to_ascii_lowercase();
    let needs_one = |name: String| match word(1) {
        None => Entered::Incomplete,
        Some(_) => Entered::Mode(name),
    };
    match first.as_str() {
        "interface" => needs_one(word(1).unwrap_or("").to_string()),
        "vlan" if word(1) == Some("batch") => Entered::No,
        "vlan" => needs_one(format!("vlan{}", word(1).unwrap_or(""))),
        "ospf" => needs_one(format!("ospf-{}", word(1).unwrap_or(""))),
        "bgp" => needs_one("bgp".into()),
        "aaa" => Entered::Mode("aaa".into()),
        "user-interface" => match (word(1), word(2), word(3)) {
            (Some(kind), Some(from), Some(to)) => Entered::Mode(format!("ui-{kind}{from}-{to}")),
            (Some(kind), Some(only), None) => Entered::Mode(format!("ui-{kind}{only}")),
            _ => Entered::Incomplete,
        },
        _ => Entered::No,
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "huawei_vrp",
    ssh_id: "SSH-2.0-HUAWEI-1.5",
    login_privileged: true,
    login_text: "\nInfo: The max number of VTY users is 10, and the number\n      \
                 of current VTY users on line is 1.\n      \
                 The current login time is 2025-06-02 10:14:07.\n",
    prompts: Prompts {
        user: "<{host}>",
        privileged: "<{host}>",
        config: "[{host}]",
        sub_config: "[{host}-{mode}]",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: true,
        invalid: "Error: Unrecognized command found at '^' position.\n",
        unknown_command: None,
        incomplete: "Error:Incomplete command found at '^' position.\n",
        ambiguous: "Error:Ambiguous command found at '^' position.\n",
    },
    screen: Screen::Lines,
    pager: "  ---- More ----",
    pager_erase: PagerErase::CursorLeft(42),
    paging_off: "screen-length 0 temporary",
    config_command: "display current-configuration",
    version_command: "display version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "",
    config_enter: "Enter system view, return user view with Ctrl+Z.\n",
    config_leave: "",
    config: ConfigModes {
        end: &["return"],
        up: &["quit"],
        sub_mode: vrp_view,
        nests: false,
        paging_off: None,
    },
    after_output: "",
    length_reply: "Info: The configuration takes effect on the current user terminal interface only.\n",
    width_reply: "",
    running_config,
    version,
};

fn name(k: &Kind) -> String {
    match k {
        Kind::Loopback(n) => format!("LoopBack{n}"),
        Kind::Management => "MEth0/0/1".into(),
        Kind::Gigabit(n) => format!("GigabitEthernet0/0/{n}"),
        Kind::TenGigabit(n) => format!("XGigabitEthernet0/0/{n}"),
        Kind::Vlan(n) => format!("Vlanif{n}"),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let vlans: Vec<String> = m.vlans.iter().map(|v| v.id.to_string()).collect();
    let _ = write!(
        c,
        "!Software Version V200R011C10SPC500\n#\n sysname {host}\n#\n vlan batch {vlans}\n#\n \
         stp enable\n#\n dns resolve\n dns server {dns}\n dns domain {site}.lab.example.net\n#\n",
        host = m.hostname,
        vlans = vlans.join(" "),
        dns = crate::model::NAME_SERVER,
        site = m.site,
    );
    for v in &m.vlans {
        let _ = write!(c, "vlan {}\n description {}\n#\n", v.id, v.name);
    }
    c.push_str("aaa\n");
    for (user, hash) in &m.users {
        let _ = write!(
            c,
            " local-user {user} password irreversible-cipher $1a${hash}$\n \
             local-user {user} privilege level 15\n local-user {user} service-type ssh\n"
        );
    }
    c.push_str("#\n");
    for intf in &m.interfaces {
        let _ = writeln!(c, "interface {}", name(&kind(intf)));
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " description {d}");
        }
        if intf.shutdown {
            c.push_str(" shutdown\n");
        }
        match &intf.port {
            Port::Access { vlan, voice } => {
                let _ = write!(c, " port link-type access\n port default vlan {vlan}\n");
                if let Some(voice) = voice {
                    let _ = writeln!(c, " voice-vlan {voice} enable");
                }
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    " port link-type trunk\n port trunk pvid vlan {native}\n \
                     port trunk allow-pass vlan {}\n",
                    list.join(" ")
                );
            }
            Port::Routed { address } => {
                if intf.physical {
                    c.push_str(" undo portswitch\n");
                }
                if let Some((ip, prefix)) = address {
                    let _ = writeln!(c, " ip address {ip} {}", mask(*prefix));
                }
            }
        }
        c.push_str("#\n");
    }
    for r in &m.routes {
        let _ = writeln!(
            c,
            "ip route-static {} {} {}",
            r.network,
            mask(r.prefix),
            r.next_hop
        );
    }
    c.push_str("#\n");
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "ntp-service unicast-server {ntp}");
    }
    let _ = write!(
        c,
        "#\n info-center loghost {}\n#\n stelnet server enable\n{telnet}#\n\
         user-interface con 0\n authentication-mode password\nuser-interface vty 0 4\n \
         authentication-mode aaa\n protocol inbound {inbound}\n#\nreturn\n",
        crate::model::LOG_HOST,
        telnet = if m.telnet {
            " telnet server enable\n"
        } else {
            ""
        },
        inbound = if m.telnet { "all" } else { "ssh" },
    );
    c
}

fn version(m: &DeviceModel) -> String {
    let model = if m.role == "access" {
        "S5720-52X-SI-AC"
    } else {
        "S5720-28X-SI-AC"
    };
    format!(
        "Huawei Versatile Routing Platform Software\n\
         VRP (R) software, Version 5.170 (S5720 V200R011C10SPC500)\n\
         Copyright (C) 2000-2018 HUAWEI TECH CO., LTD\n\
         HUAWEI {model} Routing Switch uptime is {uptime}\n\
         \n\
         ES5D2S52S000 0(Master)  : uptime is {uptime}\n\
         DDR             Memory Size : 512   M bytes\n\
         FLASH Total     Memory Size : 512   M bytes\n\
         FLASH Available Memory Size : 287   M bytes\n\
         Pcb           Version   : VER.B\n\
         BootROM       Version   : 020a.0001\n\
         BootLoad      Version   : 020a.0001\n\
         CPLD          Version   : 0106\n\
         Software      Version   : VRP (R) Software, Version 5.170 (V200R011C10SPC500)\n\
         FLASH         Version   : 0000.0000\n\
         Serial Number           : {serial}\n",
        uptime = m.uptime,
        serial = m.serial,
    )
}
