//! Cisco IOS XR: `RP/0/RP0/CPU0:r1#` (logins are privileged), a timestamp line before every
//! `show` output, `!`-separated configuration with `ipv4 address` and `router static`.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Interface, Port, mask};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::IOS_CONFIG;
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["exit"], None, false, Cmd::Exit),
    spec(
        &["terminal", "length"],
        Some(512),
        false,
        Cmd::TerminalLength,
    ),
    spec(&["terminal", "width"], Some(512), false, Cmd::TerminalWidth),
    spec(
        &["show", "running-config"],
        None,
        false,
        Cmd::ShowRunningConfig,
    ),
    spec(&["show", "version"], None, false, Cmd::ShowVersion),
    spec(
        &["configure", "terminal"],
        None,
        false,
        Cmd::ConfigureTerminal,
    ),
    spec(&["configure"], None, false, Cmd::ConfigureTerminal),
];

pub(super) const PERSONA: Persona = Persona {
    name: "cisco_xr",
    ssh_id: "SSH-2.0-Cisco-2.0",
    login_privileged: true,
    login_text: "",
    prompts: Prompts {
        user: "RP/0/RP0/CPU0:{host}>",
        privileged: "RP/0/RP0/CPU0:{host}#",
        config: "RP/0/RP0/CPU0:{host}(config)#",
        sub_config: "RP/0/RP0/CPU0:{host}({mode})#",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: true,
        invalid: "% Invalid input detected at '^' marker.\n",
        unknown_command: None,
        incomplete: "% Incomplete command.\n",
        ambiguous: "% Ambiguous command:  \"{command}\"\n",
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
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

/// The device's clock as XR prints it before each `show` output (`Mon Mar 2 10:11:12.000 UTC`):
/// frozen at the model's last change, so the output stays deterministic.
fn clock(m: &DeviceModel) -> String {
    // `last_change` is `HH:MM:SS UTC Day Mon D YYYY`.
    let parts: Vec<&str> = m.last_change.split(' ').collect();
    match parts.as_slice() {
        [time, zone, day, month, date, _year] => {
            format!("{day} {month} {date} {time}.000 {zone}")
        }
        _ => m.last_change.clone(),
    }
}

fn name(intf: &Interface) -> String {
    match kind(intf) {
        Kind::Loopback(n) => format!("Loopback{n}"),
        Kind::Management => "MgmtEth0/RP0/CPU0/0".into(),
        Kind::Gigabit(n) => format!("GigabitEthernet0/0/0/{}", n - 1),
        Kind::TenGigabit(n) => format!("TenGigE0/0/1/{}", n - 1),
        Kind::Vlan(n) => format!("BVI{n}"),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "{}\nBuilding configuration...\n!! IOS XR Configuration 7.5.2\n\
         !! Last configuration change at {} by admin\n!\nhostname {}\n\
         domain name {}.lab.example.net\ndomain name-server {}\n",
        clock(m),
        m.last_change,
        m.hostname,
        m.site,
        crate::model::NAME_SERVER
    );
    for (user, hash) in &m.users {
        let _ = write!(
            c,
            "username {user}\n group root-lr\n group cisco-support\n secret 5 {hash}\n!\n"
        );
    }
    c.push_str("ntp\n");
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, " server {ntp}");
    }
    c.push_str("!\n");
    for intf in &m.interfaces {
        let _ = writeln!(c, "interface {}", name(intf));
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " description {d}");
        }
        match &intf.port {
            Port::Access { vlan, .. } => {
                let _ = writeln!(c, " l2transport\n  encapsulation dot1q {vlan}\n !");
            }
            Port::Trunk { native, .. } => {
                let _ = writeln!(
                    c,
                    " l2transport\n  encapsulation untagged\n  ! native vlan {native}\n !"
                );
            }
            Port::Routed { address } => {
                if let Some((ip, prefix)) = address {
                    let _ = writeln!(c, " ipv4 address {ip} {}", mask(*prefix));
                }
            }
        }
        if intf.shutdown {
            c.push_str(" shutdown\n");
        }
        c.push_str("!\n");
    }
    c.push_str("router static\n address-family ipv4 unicast\n");
    for r in &m.routes {
        let _ = writeln!(c, "  {}/{} {}", r.network, r.prefix, r.next_hop);
    }
    c.push_str(" !\n!\nlogging 10.0.0.50 vrf default severity info\n");
    if m.telnet {
        c.push_str("telnet vrf default ipv4 server max-servers 10\n");
    }
    c.push_str("ssh server v2\nssh server vrf default\nend\n\n");
    c
}

fn version(m: &DeviceModel) -> String {
    format!(
        "{clock}\n\
         Cisco IOS XR Software, Version 7.5.2\n\
         Copyright (c) 2013-2022 by Cisco Systems, Inc.\n\
         \n\
         Build Information:\n \
         Built By     : ingunawa\n \
         Built On     : Tue Jul 12 12:00:00 PDT 2022\n \
         Built Host   : iox-ucs-019\n \
         Workspace    : /auto/srcarchive15/prod/7.5.2/ncs5500/ws\n \
         Version      : 7.5.2\n \
         Location     : /opt/cisco/XR/packages/\n \
         Label        : 7.5.2\n\
         \n\
         cisco NCS-5500 () processor\n\
         System uptime is {uptime}\n\
         \n",
        clock = clock(m),
        uptime = m.uptime,
    )
}
