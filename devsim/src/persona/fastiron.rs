//! Brocade / Ruckus FastIron (ICX switches): every prompt starts with the login's transport,
//! `SSH@r1>` until `enable`, `SSH@r1#`, `SSH@r1(config)#`, interface contexts named after the
//! port's speed (`SSH@r1(config-if-e1000-1/1/1)#`), `SSH@r1(config-vif-10)#` for a virtual
//! interface. `skip-page-display` (privileged only) turns paging off and says so; errors name
//! the word with no caret (`Invalid input -> bogus`, then `Type ? for a list`); a wrong enable
//! secret is `Error - Incorrect username or password.`; the pager spells its keys out. The
//! configuration lists VLANs with their member ports before anything else.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Port, mask};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["enable"], None, false, Cmd::Enable),
    spec(&["disable"], None, true, Cmd::Disable),
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["logout"], None, false, Cmd::Exit),
    spec(&["quit"], None, false, Cmd::Exit),
    spec(&["skip-page-display"], None, true, Cmd::TerminalLength),
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
    spec(&["write", "memory"], None, true, Cmd::WriteMemory),
];

/// `interface ethernet 1/1/1` is `config-if-e1000-1/1/1`, `interface ve 10` `config-vif-10`,
/// `interface loopback 1` `config-lbif-1`, `vlan 10` `config-vlan-10`, `router ospf`
/// `config-ospf-router`.
fn context(words: &[(usize, &str)]) -> Entered {
    let word = |i: usize| words.get(i).map(|(_, w)| w.to_ascii_lowercase());
    match (word(0).as_deref(), word(1).as_deref(), word(2)) {
        (Some("interface" | "int"), Some(kind), Some(id)) => {
            let name = match kind {
                k if "ethernet".starts_with(k) && k.len() >= 3 => "if-e1000",
                "ve" => "vif",
                k if "loopback".starts_with(k) && k.len() >= 2 => "lbif",
                "management" => "if-mgmt",
                _ => return Entered::No,
            };
            Entered::Mode(format!("config-{name}-{id}"))
        }
        (Some("interface" | "int"), _, None) => Entered::Incomplete,
        (Some("vlan"), Some(id), _) => Entered::Mode(format!("config-vlan-{id}")),
        (Some("vlan"), None, _) => Entered::Incomplete,
        (Some("router"), Some(protocol), _) => Entered::Mode(format!("config-{protocol}-router")),
        _ => Entered::No,
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "brocade_fastiron",
    ssh_id: "SSH-2.0-RomSShell_5.40",
    login_privileged: false,
    login_text: "",
    prompts: Prompts {
        user: "SSH@{host}>",
        privileged: "SSH@{host}#",
        config: "SSH@{host}(config)#",
        sub_config: "SSH@{host}({mode})#",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: false,
        invalid: "Invalid input -> {word}\nType ? for a list\n",
        unknown_command: None,
        incomplete: "Incomplete command.\n",
        ambiguous: "Ambiguous input -> {command}\n",
    },
    screen: Screen::Lines,
    pager: "--More--, next page: Space, next line: Return key, quit: Control-c",
    pager_erase: PagerErase::Backspaces,
    paging_off: "skip-page-display",
    config_command: "show running-config",
    version_command: "show version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "Error - Incorrect username or password.\n",
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
    length_reply: "Disable page display mode\n",
    width_reply: "",
    running_config,
    version,
};

/// FastIron numbers ports unit/module/port: the front panel is module 1, the 10G uplinks
/// module 2.
fn port(k: &Kind) -> Option<String> {
    match k {
        Kind::Gigabit(n) => Some(format!("1/1/{n}")),
        Kind::TenGigabit(n) => Some(format!("1/2/{n}")),
        _ => None,
    }
}

/// `ethe 1/1/1 to 1/1/3 ethe 1/1/7`, FastIron's way of listing member ports.
fn members(ports: &[(u32, u32)]) -> String {
    let mut out = String::new();
    let mut at = 0;
    while at < ports.len() {
        let mut end = at;
        while end + 1 < ports.len()
            && ports[end + 1].0 == ports[at].0
            && ports[end + 1].1 == ports[end].1 + 1
        {
            end += 1;
        }
        let (module, first) = ports[at];
        let _ = write!(out, "ethe 1/{module}/{first} ");
        if end > at {
            let _ = write!(out, "to 1/{module}/{} ", ports[end].1);
        }
        at = end + 1;
    }
    out
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    c.push_str(
        "Current configuration:\n!\nver 08.0.95dT213\n!\nstack unit 1\n  \
         module 1 icx7150-48p-poe-port-management-module\n  \
         module 2 icx7150-4-sfp-plus-port-40g-module\n!\n!\n!\n\
         vlan 1 name DEFAULT-VLAN by port\n!\n",
    );
    for v in &m.vlans {
        let mut untagged = Vec::new();
        let mut tagged = Vec::new();
        for intf in &m.interfaces {
            let at = match kind(intf) {
                Kind::Gigabit(n) => (1, n),
                Kind::TenGigabit(n) => (2, n),
                _ => continue,
            };
            match &intf.port {
                Port::Access { vlan, .. } if *vlan == v.id => untagged.push(at),
                Port::Trunk { native, .. } if *native == v.id => untagged.push(at),
                Port::Trunk { allowed, .. } if allowed.contains(&v.id) => tagged.push(at),
                _ => {}
            }
        }
        let _ = writeln!(c, "vlan {} name {} by port", v.id, v.name);
        if !tagged.is_empty() {
            let _ = writeln!(c, " tagged {}", members(&tagged));
        }
        if !untagged.is_empty() {
            let _ = writeln!(c, " untagged {}", members(&untagged));
        }
        let svi = m
            .interfaces
            .iter()
            .any(|i| matches!(kind(i), Kind::Vlan(n) if n == u32::from(v.id)));
        if svi {
            let _ = writeln!(c, " router-interface ve {}", v.id);
        }
        c.push_str("!\n");
    }
    let _ = write!(
        c,
        "!\naaa authentication login default local\nenable super-user-password 8 {enable}\n\
         hostname {host}\nip dns domain-list {site}.lab.example.net\nip dns server-address {dns}\n",
        enable = m.enable_hash,
        host = m.hostname,
        site = m.site,
        dns = crate::model::NAME_SERVER,
    );
    for r in &m.routes {
        let _ = writeln!(c, "ip route {}/{} {}", r.network, r.prefix, r.next_hop);
    }
    let _ = writeln!(c, "!\nlogging host {}", crate::model::LOG_HOST);
    for (user, hash) in &m.users {
        let _ = writeln!(c, "username {user} password 8 {hash}");
    }
    if m.telnet {
        c.push_str("telnet server\n");
    }
    c.push_str("!\nntp\n");
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, " server {ntp}");
    }
    c.push_str("!\n!\n");
    for intf in &m.interfaces {
        let k = kind(intf);
        let Some(port) = port(&k) else {
            continue;
        };
        if intf.description.is_none() && !intf.shutdown && intf.address().is_none() {
            continue;
        }
        let _ = writeln!(c, "interface ethernet {port}");
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " port-name {d}");
        }
        if let Some((ip, prefix)) = intf.address() {
            let _ = writeln!(c, " ip address {ip} {}", mask(prefix));
        }
        if intf.shutdown {
            c.push_str(" disable\n");
        }
        c.push_str("!\n");
    }
    for intf in &m.interfaces {
        let Kind::Vlan(n) = kind(intf) else {
            continue;
        };
        if n == 1 {
            continue;
        }
        let _ = writeln!(c, "interface ve {n}");
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " port-name {d}");
        }
        if let Some((ip, prefix)) = intf.address() {
            let _ = writeln!(c, " ip address {ip} {}", mask(prefix));
        }
        c.push_str("!\n");
    }
    c.push_str("!\nend\n");
    c
}

fn version(m: &DeviceModel) -> String {
    format!(
        "  Copyright (c) Ruckus Networks, Inc. All rights reserved.\n\
         \x20   UNIT 1: compiled on Mar 11 2021 at 00:19:27 labeled as SPS08095dT213\n\
         \x20     (31205520 bytes) from Primary SPS08095dT213.bin (UFI)\n\
         \x20       SW: Version 08.0.95dT213\n\
         \x20     Compressed Primary Boot Code size = 786944, Version:10.1.18T225 (mnz10118)\n\
         \x20      Compiled on Thu Jan 21 01:08:55 2021\n\
         \n\
         \x20 HW: Stackable ICX7150-48P-4X1G\n\
         ==========================================================================\n\
         UNIT 1: SL 1: ICX7150-48P-4X1G POE 48-port Management Module\n\
         \x20     Serial  #:{serial}\n\
         \x20     Software Package: BASE_SOFT_PACKAGE\n\
         \x20     Current License: 4X1G\n\
         \x20     P-ASIC  0: type B160, rev 11  Chip BCM56160_B0\n\
         ==========================================================================\n\
         UNIT 1: SL 2: ICX7150-4X10GF 4-port 40G Module\n\
         ==========================================================================\n\
         \x201000 MHz ARM processor ARMv7 88 MHz bus\n\
         \x208192 KB boot flash memory\n\
         \x202048 MB code flash memory\n\
         \x201024 MB DRAM\n\
         STACKID 1  system uptime is {uptime}\n\
         The system started at 18:28:15 GMT+00 Fri Jan 01 2021\n\
         \n\
         The system : started=cold start\n\
         \n",
        serial = m.serial,
        uptime = m.uptime,
    )
}
