//! Juniper Junos: `admin@r1> ` in operational mode (no `enable`), `configure` to `[edit]` and
//! `admin@r1# `, `set cli screen-length 0`, `syntax error, expecting <command>.`, a blank line
//! before every prompt and the configuration in curly braces (`show configuration`).

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Interface, Port};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, no_sub_mode};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["quit"], None, false, Cmd::Exit),
    spec(
        &["set", "cli", "screen-length"],
        Some(100_000),
        false,
        Cmd::TerminalLength,
    ),
    spec(
        &["set", "cli", "screen-width"],
        Some(1024),
        false,
        Cmd::TerminalWidth,
    ),
    spec(
        &["show", "configuration"],
        None,
        false,
        Cmd::ShowRunningConfig,
    ),
    spec(&["show", "version"], None, false, Cmd::ShowVersion),
    spec(&["configure"], None, false, Cmd::ConfigureTerminal),
];

pub(super) const PERSONA: Persona = Persona {
    name: "juniper_junos",
    ssh_id: "SSH-2.0-OpenSSH_7.5",
    // Operational mode is the only exec mode; it shows `>` like a user prompt, and the profile
    // has no privilege command, so nothing asks for more.
    login_privileged: true,
    login_text: "--- JUNOS 21.4R3-S5.4 Kernel 64-bit  JNPR-12.1-20230321.be2f1a5_buil\n",
    prompts: Prompts {
        user: "{user}@{host}> ",
        privileged: "{user}@{host}> ",
        config: "[edit]\n{user}@{host}# ",
        sub_config: "[edit]\n{user}@{host}# ",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: true,
        invalid: "syntax error, expecting <command>.\n",
        unknown_command: Some("unknown command.\n"),
        incomplete: "syntax error, expecting <command>.\n",
        ambiguous: "'{command}' is ambiguous.\n",
    },
    screen: Screen::Lines,
    pager: "---(more)---",
    pager_erase: PagerErase::Backspaces,
    paging_off: "set cli screen-length 0",
    config_command: "show configuration",
    version_command: "show version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "% Access denied\n\n",
    config_enter: "Entering configuration mode\n",
    config_leave: "Exiting configuration mode\n",
    config: ConfigModes {
        end: &[],
        up: &["exit"],
        sub_mode: no_sub_mode,
        nests: false,
        paging_off: None,
    },
    after_output: "\n",
    length_reply: "Screen length set to {n}\n",
    width_reply: "Screen width set to {n}\n",
    running_config,
    version,
};

fn name(intf: &Interface) -> String {
    match kind(intf) {
        Kind::Loopback(n) => format!("lo{n}"),
        Kind::Management => "fxp0".into(),
        Kind::Gigabit(n) => format!("ge-0/0/{}", n - 1),
        Kind::TenGigabit(n) => format!("xe-0/1/{}", n - 1),
        Kind::Vlan(n) => format!("irb.{n}"),
    }
}

/// `HH:MM:SS UTC Day Mon D YYYY` as Junos's `YYYY-MM-DD HH:MM:SS UTC`.
fn commit_time(m: &DeviceModel) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = m.last_change.split(' ').collect();
    match parts.as_slice() {
        [time, zone, _day, month, date, year] => {
            let month = MONTHS.iter().position(|m| m == month).unwrap_or(0) + 1;
            let date: u32 = date.parse().unwrap_or(1);
            format!("{year}-{month:02}-{date:02} {time} {zone}")
        }
        _ => m.last_change.clone(),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "## Last commit: {} by admin\nversion 21.4R3-S5.4;\nsystem {{\n    host-name {};\n    \
         domain-name {}.lab.example.net;\n    root-authentication {{\n        \
         encrypted-password \"{}\"; ## SECRET-DATA\n    }}\n    login {{\n",
        commit_time(m),
        m.hostname,
        m.site,
        m.enable_hash
    );
    for (uid, (user, hash)) in (2000..).zip(&m.users) {
        let _ = write!(
            c,
            "        user {user} {{\n            uid {uid};\n            class super-user;\n            \
             authentication {{\n                encrypted-password \"{hash}\"; ## SECRET-DATA\n            \
             }}\n        }}\n"
        );
    }
    c.push_str("    }\n    services {\n        ssh;\n");
    if m.telnet {
        c.push_str("        telnet;\n");
    }
    let _ = write!(
        c,
        "    }}\n    name-server {{\n        {};\n    }}\n    syslog {{\n        host 10.0.0.50 {{\n            \
         any notice;\n        }}\n    }}\n    ntp {{\n",
        crate::model::NAME_SERVER
    );
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "        server {ntp};");
    }
    c.push_str("    }\n}\ninterfaces {\n");
    let mut irb = Vec::new();
    for intf in &m.interfaces {
        if let Kind::Vlan(n) = kind(intf) {
            irb.push((n, intf));
            continue;
        }
        let _ = writeln!(c, "    {} {{", name(intf));
        if intf.shutdown {
            c.push_str("        disable;\n");
        }
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "        description \"{d}\";");
        }
        c.push_str("        unit 0 {\n");
        match &intf.port {
            Port::Access { vlan, .. } => {
                let _ = write!(
                    c,
                    "            family ethernet-switching {{\n                interface-mode access;\n                \
                     vlan {{\n                    members {vlan};\n                }}\n            }}\n"
                );
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    "            family ethernet-switching {{\n                interface-mode trunk;\n                \
                     vlan {{\n                    members [ {} ];\n                }}\n            }}\n",
                    list.join(" ")
                );
                let _ = native;
            }
            Port::Routed { address } => inet(&mut c, *address, "            "),
        }
        c.push_str("        }\n    }\n");
    }
    if !irb.is_empty() {
        c.push_str("    irb {\n");
        for (n, intf) in &irb {
            let _ = writeln!(c, "        unit {n} {{");
            if intf.shutdown {
                c.push_str("            disable;\n");
            }
            if let Some(d) = &intf.description {
                let _ = writeln!(c, "            description \"{d}\";");
            }
            inet(&mut c, intf.address(), "            ");
            c.push_str("        }\n");
        }
        c.push_str("    }\n");
    }
    c.push_str("}\nrouting-options {\n    static {\n");
    for r in &m.routes {
        let _ = writeln!(
            c,
            "        route {}/{} next-hop {};",
            r.network, r.prefix, r.next_hop
        );
    }
    c.push_str("    }\n}\nvlans {\n");
    for v in &m.vlans {
        let _ = writeln!(
            c,
            "    {} {{\n        vlan-id {};\n        l3-interface irb.{};\n    }}",
            v.name, v.id, v.id
        );
    }
    c.push_str("}\n");
    c
}

fn inet(c: &mut String, address: Option<(std::net::Ipv4Addr, u8)>, indent: &str) {
    match address {
        Some((ip, prefix)) => {
            let _ = write!(
                c,
                "{indent}family inet {{\n{indent}    address {ip}/{prefix};\n{indent}}}\n"
            );
        }
        None => {
            let _ = writeln!(c, "{indent}family inet;");
        }
    }
}

fn version(m: &DeviceModel) -> String {
    const OS: &str = "20230321.be2f1a5_builder_stable_12_214";
    const NET: &str = "20230412.143810_builder_junos_214_r3_s5";
    format!(
        "Hostname: {host}\n\
         Model: mx204\n\
         Junos: 21.4R3-S5.4\n\
         JUNOS OS Kernel 64-bit  [{OS}]\n\
         JUNOS OS libs [{OS}]\n\
         JUNOS OS runtime [{OS}]\n\
         JUNOS OS time zone information [{OS}]\n\
         JUNOS network stack and utilities [{NET}]\n\
         JUNOS libs [{NET}]\n\
         JUNOS OS libs compat32 [{OS}]\n\
         JUNOS py base [{NET}]\n\
         JUNOS Packet Forwarding Engine Support (MX/EX92XX Common) [{NET}]\n",
        host = m.hostname,
    )
}
