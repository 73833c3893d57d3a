//! Arista EOS: IOS-like (`r1>`, `enable`, `r1#`), but terse errors with no `^` marker, three-space
//! indented configuration and `show version` in Arista's layout.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Interface, Port};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::IOS_CONFIG;
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["enable"], None, false, Cmd::Enable),
    spec(&["disable"], None, true, Cmd::Disable),
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["logout"], None, false, Cmd::Exit),
    spec(&["quit"], None, false, Cmd::Exit),
    spec(
        &["terminal", "length"],
        Some(32767),
        false,
        Cmd::TerminalLength,
    ),
    spec(
        &["terminal", "width"],
        Some(32767),
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

pub(super) const PERSONA: Persona = Persona {
    name: "arista_eos",
    ssh_id: "SSH-2.0-OpenSSH_7.8",
    login_privileged: false,
    login_text: "",
    prompts: Prompts {
        user: "{host}>",
        privileged: "{host}#",
        config: "{host}(config)#",
        sub_config: "{host}({mode})#",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: false,
        invalid: "% Invalid input\n",
        unknown_command: None,
        incomplete: "% Incomplete command\n",
        ambiguous: "% Ambiguous command\n",
    },
    screen: Screen::Lines,
    pager: " --More-- ",
    pager_erase: PagerErase::Backspaces,
    paging_off: "terminal length 0",
    config_command: "show running-config",
    version_command: "show version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "% Access denied\n\n",
    config_enter: "",
    config_leave: "",
    config: IOS_CONFIG,
    after_output: "",
    length_reply: "Pagination disabled.\n",
    width_reply: "Width set to {n} columns.\n",
    running_config,
    version,
};

fn name(intf: &Interface) -> String {
    match kind(intf) {
        Kind::Loopback(n) => format!("Loopback{n}"),
        Kind::Management => "Management1".into(),
        Kind::Gigabit(n) => format!("Ethernet{n}"),
        Kind::TenGigabit(n) => format!("Ethernet{}/1", 48 + n),
        Kind::Vlan(n) => format!("Vlan{n}"),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "! Command: show running-config\n! device: {h} (DCS-7050SX3-48YC8, EOS-4.28.3M)\n!\n\
         ! boot system flash:/EOS-4.28.3M.swi\n!\nno aaa root\n!\n",
        h = m.hostname
    );
    for (user, hash) in &m.users {
        let _ = writeln!(
            c,
            "username {user} privilege 15 role network-admin secret sha512 {hash}"
        );
    }
    let _ = write!(
        c,
        "!\nservice routing protocols model multi-agent\n!\nhostname {}\n\
         ip name-server vrf default {}\ndns domain {}.lab.example.net\n!\n\
         spanning-tree mode mstp\n!\n",
        m.hostname,
        crate::model::NAME_SERVER,
        m.site
    );
    for v in &m.vlans {
        let _ = write!(c, "vlan {}\n   name {}\n!\n", v.id, v.name);
    }
    for intf in &m.interfaces {
        let _ = writeln!(c, "interface {}", name(intf));
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "   description {d}");
        }
        if intf.shutdown {
            c.push_str("   shutdown\n");
        }
        match &intf.port {
            Port::Access { vlan, .. } => {
                let _ = writeln!(c, "   switchport access vlan {vlan}");
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    "   switchport trunk native vlan {native}\n   switchport trunk allowed vlan {}\n   \
                     switchport mode trunk\n",
                    list.join(",")
                );
            }
            Port::Routed { address } => {
                if intf.physical {
                    c.push_str("   no switchport\n");
                }
                if let Some((ip, prefix)) = address {
                    let _ = writeln!(c, "   ip address {ip}/{prefix}");
                }
            }
        }
        c.push_str("!\n");
    }
    c.push_str("ip routing\n!\n");
    for r in &m.routes {
        let _ = writeln!(c, "ip route {}/{} {}", r.network, r.prefix, r.next_hop);
    }
    c.push_str("!\n");
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "ntp server {ntp}");
    }
    c.push_str("!\nmanagement ssh\n");
    if m.telnet {
        c.push_str("!\nmanagement telnet\n   no shutdown\n");
    }
    c.push_str("!\nend\n");
    c
}

fn version(m: &DeviceModel) -> String {
    format!(
        "Arista DCS-7050SX3-48YC8-F\n\
         Hardware version: 11.01\n\
         Serial number: {serial}\n\
         Hardware MAC address: 001c.7300.{n:04x}\n\
         System MAC address: 001c.7300.{n:04x}\n\
         \n\
         Software image version: 4.28.3M\n\
         Architecture: x86_64\n\
         Internal build version: 4.28.3M-28836926.4283M\n\
         Internal build ID: 5b4a2c0c-8d4c-4a8f-9f0c-0d3f6a8e2a11\n\
         Image format version: 3.0\n\
         Image optimization: Strata-4GB\n\
         \n\
         Uptime: {uptime}\n\
         Total memory: 8099732 kB\n\
         Free memory: 6212340 kB\n\
         \n",
        serial = m.serial,
        n = m.serial.bytes().map(u32::from).sum::<u32>() & 0xffff,
        uptime = m.uptime,
    )
}
