//! Dell EMC OS10: logins with the sysadmin role land in `sw1#` (no enable), `configure
//! terminal` to `sw1(config)#`, interface contexts named `conf-if-eth1/1/1` and `conf-if-vl-10`.
//! `terminal length 0` turns paging off for the session; errors are `% Error: Unrecognized
//! command.` with no caret; the configuration is `show running-configuration` and uses CIDR
//! addresses; the pager says `--more--` and is rubbed out with a carriage return and blanks.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Port};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["exit"], None, false, Cmd::Exit),
    spec(
        &["terminal", "length"],
        Some(65_535),
        false,
        Cmd::TerminalLength,
    ),
    spec(
        &["show", "running-configuration"],
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
    spec(
        &["copy", "running-configuration", "startup-configuration"],
        None,
        false,
        Cmd::WriteMemory,
    ),
];

/// `interface ethernet 1/1/1` is `conf-if-eth1/1/1`, `interface vlan 10` `conf-if-vl-10`.
fn context(words: &[(usize, &str)]) -> Entered {
    let word = |i: usize| words.get(i).map(|(_, w)| w.to_ascii_lowercase());
    match (word(0).as_deref(), word(1).as_deref(), word(2)) {
        (Some("interface"), Some(kind), Some(id)) => {
            let short = match kind {
                "ethernet" => "eth".to_string(),
                "vlan" => "vl-".to_string(),
                "loopback" => "lo-".to_string(),
                "mgmt" => "ma-".to_string(),
                other => format!("{other}-"),
            };
            Entered::Mode(format!("conf-if-{short}{id}"))
        }
        (Some("interface"), _, None) => Entered::Incomplete,
        (Some("router"), Some(protocol), _) => Entered::Mode(format!("config-router-{protocol}")),
        _ => Entered::No,
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "dell_os10",
    ssh_id: "SSH-2.0-OpenSSH_7.9p1 Debian-10+deb10u2",
    login_privileged: true,
    login_text: "Linux OS10 4.19.0-17-amd64 #1 SMP Debian 4.19.194-3 x86_64\n\n\
                 The programs included with the Debian GNU/Linux system are free software;\n\
                 the exact distribution terms for each program are described in the\n\
                 individual files in /usr/share/doc/*/copyright.\n\n\
                 Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\n\
                 permitted by applicable law.\n",
    prompts: Prompts {
        user: "{host}>",
        privileged: "{host}#",
        config: "{host}(config)#",
        sub_config: "{host}({mode})#",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: false,
        invalid: "% Error: Unrecognized command.\n",
        unknown_command: None,
        incomplete: "% Error: Incomplete command.\n",
        ambiguous: "% Error: Ambiguous command.\n",
    },
    screen: Screen::Lines,
    pager: "--more--",
    pager_erase: PagerErase::CarriageReturn,
    paging_off: "terminal length 0",
    config_command: "show running-configuration",
    version_command: "show version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "",
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

fn name(k: &Kind) -> String {
    match k {
        Kind::Loopback(n) => format!("loopback{n}"),
        Kind::Management => "mgmt1/1/1".into(),
        Kind::Gigabit(n) => format!("ethernet1/1/{n}"),
        Kind::TenGigabit(n) => format!("ethernet1/1/{}", 48 + n),
        Kind::Vlan(n) => format!("vlan{n}"),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "! Version 10.5.2.3\n! Last configuration change at {changed}\n!\nip vrf default\n!\n\
         hostname {host}\nip domain-name {site}.lab.example.net\nip name-server {dns}\n",
        changed = m.last_change,
        host = m.hostname,
        site = m.site,
        dns = crate::model::NAME_SERVER,
    );
    for (user, hash) in &m.users {
        let _ = writeln!(
            c,
            "username {user} password $6$rounds=656000${hash} role sysadmin priv-lvl 15"
        );
    }
    c.push_str(
        "aaa authentication login default local\naaa authentication login console local\n!\n",
    );
    for intf in &m.interfaces {
        let _ = writeln!(c, "interface {}", name(&kind(intf)));
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " description \"{d}\"");
        }
        c.push_str(if intf.shutdown {
            " shutdown\n"
        } else {
            " no shutdown\n"
        });
        match &intf.port {
            Port::Access { vlan, .. } => {
                let _ = writeln!(c, " switchport access vlan {vlan}");
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    " switchport mode trunk\n switchport access vlan {native}\n \
                     switchport trunk allowed vlan {}\n",
                    list.join(",")
                );
            }
            Port::Routed { address } => {
                if intf.physical {
                    c.push_str(" no switchport\n");
                }
                if let Some((ip, prefix)) = address {
                    let _ = writeln!(c, " ip address {ip}/{prefix}");
                }
            }
        }
        c.push_str("!\n");
    }
    for r in &m.routes {
        let _ = writeln!(c, "ip route {}/{} {}", r.network, r.prefix, r.next_hop);
    }
    c.push_str("!\n");
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "ntp server {ntp}");
    }
    let _ = write!(
        c,
        "!\nlogging server {}\n!\nsnmp-server contact \"Contact Support\"\n!\n{telnet}",
        crate::model::LOG_HOST,
        telnet = if m.telnet {
            "ip telnet server enable\n!\n"
        } else {
            ""
        },
    );
    c
}

fn version(m: &DeviceModel) -> String {
    let model = if m.role == "access" {
        "S4148F-ON"
    } else {
        "S5248F-ON"
    };
    format!(
        "Dell EMC Networking OS10 Enterprise\n\
         Copyright (c) 1999-2021 by Dell Inc. All Rights Reserved.\n\
         OS Version: 10.5.2.3\n\
         Build Version: 10.5.2.3.256\n\
         Build Time: 2021-04-30T14:24:27+0000\n\
         System Type: {model}\n\
         Architecture: x86_64\n\
         Up Time: {uptime}\n",
        uptime = m.uptime,
    )
}
