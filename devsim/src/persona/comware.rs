//! HPE Comware (H3C): the VRP family's views with their own names and words. `<sw1>` in user
//! view, `system-view` to `[sw1]` (saying `System View: return to User View with Ctrl+Z.`),
//! `[sw1-Vlan-interface10]`, `[sw1-line-vty0-63]`; `screen-length disable` turns paging off
//! for this session; errors are `% Unrecognized command found at '^' position.` under a caret;
//! the pager's `  ---- More ----` is rubbed out with `ESC[16D`, 16 blanks, `ESC[16D`.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Port};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["quit"], None, false, Cmd::Exit),
    spec(
        &["screen-length", "disable"],
        None,
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
fn comware_view(words: &[(usize, &str)]) -> Entered {
    let word = |i: usize| words.get(i).map(|(_, w)| *w);
    let first = word(0).unwrap_or("").to_ascii_lowercase();
    let with = |name: Option<String>| name.map_or(Entered::Incomplete, Entered::Mode);
    match first.as_str() {
        "interface" => with(word(1).map(str::to_string)),
        "vlan" => with(word(1).map(|n| format!("vlan{n}"))),
        "ospf" => with(word(1).map(|n| format!("ospf-{n}"))),
        "bgp" => with(word(1).map(|_| "bgp-default".to_string())),
        "line" => match (word(1), word(2), word(3)) {
            (Some(kind), Some(from), Some(to)) => Entered::Mode(format!("line-{kind}{from}-{to}")),
            (Some(kind), Some(only), None) => Entered::Mode(format!("line-{kind}{only}")),
            _ => Entered::Incomplete,
        },
        "local-user" => match (word(1), word(3)) {
            (Some(user), Some(class)) => Entered::Mode(format!("luser-{class}-{user}")),
            (Some(user), None) => Entered::Mode(format!("luser-manage-{user}")),
            _ => Entered::Incomplete,
        },
        _ => Entered::No,
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "hp_comware",
    ssh_id: "SSH-2.0-Comware-7.1.064",
    login_privileged: true,
    login_text: "\n******************************************************************************\n\
                 * Copyright (c) 2010-2019 Hewlett Packard Enterprise Development LP          *\n\
                 * Without the owner's prior written consent,                                 *\n\
                 * no decompiling or reverse-engineering shall be allowed.                    *\n\
                 ******************************************************************************\n\n",
    prompts: Prompts {
        user: "<{host}>",
        privileged: "<{host}>",
        config: "[{host}]",
        sub_config: "[{host}-{mode}]",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: true,
        invalid: "% Unrecognized command found at '^' position.\n",
        unknown_command: None,
        incomplete: "% Incomplete command found at '^' position.\n",
        ambiguous: "% Ambiguous command found at '^' position.\n",
    },
    screen: Screen::Lines,
    pager: "  ---- More ----",
    pager_erase: PagerErase::CursorLeft(16),
    paging_off: "screen-length disable",
    config_command: "display current-configuration",
    version_command: "display version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "",
    config_enter: "System View: return to User View with Ctrl+Z.\n",
    config_leave: "",
    config: ConfigModes {
        end: &["return"],
        up: &["quit"],
        sub_mode: comware_view,
        nests: false,
        paging_off: None,
    },
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

fn name(k: &Kind) -> String {
    match k {
        Kind::Loopback(n) => format!("LoopBack{n}"),
        Kind::Management => "M-GigabitEthernet0/0/0".into(),
        Kind::Gigabit(n) => format!("GigabitEthernet1/0/{n}"),
        Kind::TenGigabit(n) => format!("Ten-GigabitEthernet1/0/{}", 48 + n),
        Kind::Vlan(n) => format!("Vlan-interface{n}"),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "#\n version 7.1.064, Release 3208P10\n#\n sysname {host}\n#\n clock timezone UTC add 00:00:00\n#\n \
         irf mac-address persistent timer\n irf auto-update enable\n#\n dns server {dns}\n \
         dns domain {site}.lab.example.net\n#\n stp global enable\n#\n",
        host = m.hostname,
        dns = crate::model::NAME_SERVER,
        site = m.site,
    );
    c.push_str("vlan 1\n#\n");
    for v in &m.vlans {
        let _ = write!(c, "vlan {}\n name {}\n#\n", v.id, v.name);
    }
    for intf in &m.interfaces {
        let _ = writeln!(c, "interface {}", name(&kind(intf)));
        let physical = intf.physical;
        match &intf.port {
            Port::Routed { .. } if physical => c.push_str(" port link-mode route\n"),
            Port::Access { .. } | Port::Trunk { .. } => c.push_str(" port link-mode bridge\n"),
            Port::Routed { .. } => {}
        }
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " description {d}");
        }
        if intf.shutdown {
            c.push_str(" shutdown\n");
        }
        match &intf.port {
            Port::Access { vlan, voice } => {
                let _ = writeln!(c, " port access vlan {vlan}");
                if let Some(voice) = voice {
                    let _ = writeln!(c, " voice-vlan {voice} enable");
                }
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    " port link-type trunk\n port trunk permit vlan {}\n port trunk pvid vlan {native}\n",
                    list.join(" ")
                );
            }
            Port::Routed { address } => {
                if let Some((ip, prefix)) = address {
                    let _ = writeln!(c, " ip address {ip} {}", crate::model::mask(*prefix));
                }
            }
        }
        c.push_str("#\n");
    }
    for r in &m.routes {
        let _ = writeln!(
            c,
            " ip route-static {} {} {}",
            r.network, r.prefix, r.next_hop
        );
    }
    c.push_str("#\n");
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, " ntp-service unicast-server {ntp}");
    }
    let _ = write!(
        c,
        "#\n info-center loghost {}\n#\n ssh server enable\n{telnet}#\nline class aux\n \
         user-role network-admin\n#\nline vty 0 63\n authentication-mode scheme\n \
         user-role network-operator\n#\n",
        crate::model::LOG_HOST,
        telnet = if m.telnet {
            " telnet server enable\n"
        } else {
            ""
        },
    );
    for (user, hash) in &m.users {
        let _ = write!(
            c,
            "local-user {user} class manage\n password hash $h$6${hash}\n service-type ssh\n \
             authorization-attribute user-role network-admin\n#\n"
        );
    }
    c.push_str("return\n");
    c
}

fn version(m: &DeviceModel) -> String {
    let model = if m.role == "access" {
        "5130-48G-4SFP+ EI"
    } else {
        "5130-24G-4SFP+ EI"
    };
    format!(
        "HPE Comware Software, Version 7.1.064, Release 3208P10\n\
         Copyright (c) 2010-2019 Hewlett Packard Enterprise Development LP\n\
         HPE {model} Switch uptime is {uptime}\n\
         Last reboot reason : Cold reboot\n\
         \n\
         Boot image: flash:/5130ei-cmw710-boot-r3208p10.bin\n\
         Boot image version: 7.1.064, Release 3208P10\n\
         System image: flash:/5130ei-cmw710-system-r3208p10.bin\n\
         System image version: 7.1.064, Release 3208P10\n\
         \n\
         Slot 1:\n\
         Uptime is {uptime}\n\
         {model} Switch with 2 Processors\n\
         BOARD TYPE:         {model} Switch\n\
         DRAM:               1024M bytes\n\
         FLASH:              512M bytes\n\
         PCB 1 Version:      VER.B\n\
         Bootrom Version:    149\n\
         CPLD 1 Version:     002\n\
         Release Version:    HPE {model} Switch-3208P10\n\
         Patch Version  :    None\n\
         Reboot Cause  :     ColdReboot\n\
         [SubSlot 0] 48GE+4SFP Plus\n\
         Serial number:      CN{serial}\n",
        uptime = m.uptime,
        serial = &m.serial[3..],
    )
}
