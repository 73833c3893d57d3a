//! Cisco NX-OS: logins land in `r1#` (no `enable`), `r1(config-if)#`, two-space indented
//! configuration with CIDR addresses, `% Invalid command at '^' marker.`.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Interface, Port};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::IOS_CONFIG;
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["quit"], None, false, Cmd::Exit),
    spec(
        &["terminal", "length"],
        Some(511),
        false,
        Cmd::TerminalLength,
    ),
    spec(&["terminal", "width"], Some(511), false, Cmd::TerminalWidth),
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
    spec(
        &["copy", "running-config", "startup-config"],
        None,
        false,
        Cmd::WriteMemory,
    ),
];

pub(super) const PERSONA: Persona = Persona {
    name: "cisco_nxos",
    ssh_id: "SSH-2.0-OpenSSH_8.3",
    login_privileged: true,
    login_text: "Cisco NX-OS Software\nCopyright (c) 2002-2022, Cisco Systems, Inc. All rights reserved.\n",
    prompts: Prompts {
        user: "{host}>",
        privileged: "{host}#",
        config: "{host}(config)#",
        sub_config: "{host}({mode})#",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: true,
        invalid: "% Invalid command at '^' marker.\n",
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
    config_enter: "Enter configuration commands, one per line. End with CNTL/Z.\n",
    config_leave: "",
    config: IOS_CONFIG,
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

fn name(intf: &Interface) -> String {
    match kind(intf) {
        Kind::Loopback(n) => format!("loopback{n}"),
        Kind::Management => "mgmt0".into(),
        Kind::Gigabit(n) => format!("Ethernet1/{n}"),
        Kind::TenGigabit(n) => format!("Ethernet1/{}", 48 + n),
        Kind::Vlan(n) => format!("Vlan{n}"),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "\n!Command: show running-config\n!Running configuration last done at: {lc}\n!Time: {lc}\n\n\
         version 9.3(10) Bios:version 05.45 \nhostname {h}\nvdc {h} id 1\n  \
         limit-resource vlan minimum 16 maximum 4094\n  limit-resource vrf minimum 2 maximum 4096\n\n\
         feature interface-vlan\nfeature lacp\nfeature lldp\n\n",
        lc = m.last_change,
        h = m.hostname
    );
    for (user, hash) in &m.users {
        let _ = writeln!(c, "username {user} password 5 {hash}  role network-admin");
    }
    let _ = write!(
        c,
        "ip domain-lookup\nip domain-name {}.lab.example.net\nip name-server {}\n",
        m.site,
        crate::model::NAME_SERVER
    );
    if m.telnet {
        c.push_str("feature telnet\n");
    }
    c.push_str("snmp-server contact noc@example.net\n\n");
    for r in &m.routes {
        let _ = writeln!(c, "ip route {}/{} {}", r.network, r.prefix, r.next_hop);
    }
    let ids: Vec<String> = m.vlans.iter().map(|v| v.id.to_string()).collect();
    let _ = writeln!(c, "vlan 1,{}", ids.join(","));
    for v in &m.vlans {
        let _ = write!(c, "vlan {}\n  name {}\n", v.id, v.name);
    }
    c.push_str("\nvrf context management\n\n");
    for intf in &m.interfaces {
        let _ = writeln!(c, "\ninterface {}", name(intf));
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "  description {d}");
        }
        match &intf.port {
            Port::Access { vlan, voice } => {
                let _ = writeln!(c, "  switchport access vlan {vlan}");
                if let Some(voice) = voice {
                    let _ = writeln!(c, "  switchport voice vlan {voice}");
                }
                c.push_str("  spanning-tree port type edge\n");
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    "  switchport mode trunk\n  switchport trunk native vlan {native}\n  \
                     switchport trunk allowed vlan {}\n",
                    list.join(",")
                );
            }
            Port::Routed { address } => {
                if intf.physical {
                    c.push_str("  no switchport\n");
                }
                if matches!(kind(intf), Kind::Management) {
                    c.push_str("  vrf member management\n");
                }
                if let Some((ip, prefix)) = address {
                    let _ = writeln!(c, "  ip address {ip}/{prefix}");
                }
            }
        }
        c.push_str(if intf.shutdown {
            "  shutdown\n"
        } else {
            "  no shutdown\n"
        });
    }
    c.push_str("line console\nline vty\nboot nxos bootflash:/nxos.9.3.10.bin \n");
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "ntp server {ntp} use-vrf default");
    }
    c.push_str("logging server 10.0.0.50 5 use-vrf default\n\n\n");
    c
}

fn version(m: &DeviceModel) -> String {
    format!(
        "Cisco Nexus Operating System (NX-OS) Software\n\
         TAC support: http://www.cisco.com/tac\n\
         Copyright (C) 2002-2022, Cisco and/or its affiliates.\n\
         All rights reserved.\n\
         The copyrights to certain works contained in this software are\n\
         owned by other third parties and used and distributed under their own\n\
         licenses, such as open source.  This software is provided \"as is,\" and unless\n\
         otherwise stated, there is no warranty, express or implied, including but not\n\
         limited to warranties of merchantability and fitness for a particular purpose.\n\
         \n\
         Software\n  \
         BIOS: version 05.45\n \
         NXOS: version 9.3(10)\n  \
         BIOS compile time:  11/22/2020\n  \
         NXOS image file is: bootflash:///nxos.9.3.10.bin\n  \
         NXOS compile time:  5/26/2022 12:00:00 [05/26/2022 20:46:27]\n\
         \n\
         \n\
         Hardware\n  \
         cisco Nexus9000 C93180YC-EX chassis \n  \
         Intel(R) Xeon(R) CPU  @ 1.80GHz with 24632252 kB of memory.\n  \
         Processor Board ID {serial}\n\
         \n  \
         Device name: {host}\n  \
         bootflash:   53298520 kB\n\
         Kernel uptime is {uptime}\n\
         \n\
         Last reset \n  \
         Reason: Unknown\n  \
         System version: \n  \
         Service: \n\
         \n\
         plugin\n  \
         Core Plugin, Ethernet Plugin\n\
         \n\
         Active Package(s):\n\
         \n",
        host = m.hostname,
        uptime = m.uptime,
        serial = m.serial,
    )
}
