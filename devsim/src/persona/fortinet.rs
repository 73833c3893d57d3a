//! Fortinet FortiOS (FortiGate): `fw1 # ` with no enable (`$` for read-only admins), `config
//! system interface` to `fw1 (interface) # `, `edit port1` to `fw1 (port1) # `, `next` and
//! `end` back out. Paging is a device setting, not a session one (`config system console` /
//! `set output standard`), so a collecting client meets `--More-- `, rubbed out with a
//! carriage return and blanks. An unknown first word is `Unknown action 0`; a bad later word
//! `command parse error before '<word>'` and `Command fail. Return code -61`.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, mask};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["get", "system", "status"], None, false, Cmd::ShowVersion),
    spec(
        &["show", "full-configuration"],
        None,
        false,
        Cmd::ShowRunningConfig,
    ),
    spec(
        &["config", "system", "console"],
        None,
        false,
        Cmd::ConfigureTerminal,
    ),
    spec(
        &["config", "system", "global"],
        None,
        false,
        Cmd::ConfigureTerminal,
    ),
    spec(
        &["config", "system", "interface"],
        None,
        false,
        Cmd::ConfigureTerminal,
    ),
    spec(
        &["config", "router", "static"],
        None,
        false,
        Cmd::ConfigureTerminal,
    ),
    spec(
        &["execute", "backup", "config"],
        None,
        false,
        Cmd::WriteMemory,
    ),
];

/// `config <path>` enters the path's last word, `edit <name>` the entry; both nest.
fn config_or_edit(words: &[(usize, &str)]) -> Entered {
    let Some((_, first)) = words.first() else {
        return Entered::No;
    };
    if !matches!(first.to_ascii_lowercase().as_str(), "config" | "edit") {
        return Entered::No;
    }
    match words.last() {
        Some((_, name)) if words.len() > 1 => Entered::Mode(name.trim_matches('"').to_string()),
        _ => Entered::Incomplete,
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "fortinet",
    ssh_id: "SSH-2.0-FortiSSH_7.2",
    login_privileged: true,
    login_text: "",
    prompts: Prompts {
        user: "{host} # ",
        privileged: "{host} # ",
        config: "{host} # ",
        sub_config: "{host} ({mode}) # ",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: false,
        invalid: "command parse error before '{word}'\nCommand fail. Return code -61\n",
        unknown_command: Some("Unknown action 0\n"),
        incomplete: "command parse error before ''\nCommand fail. Return code -61\n",
        ambiguous: "ambiguous command before '{command}'\nCommand fail. Return code -61\n",
    },
    screen: Screen::Lines,
    pager: "--More-- ",
    pager_erase: PagerErase::CarriageReturn,
    paging_off: "config system console\nset output standard\nend",
    config_command: "show full-configuration",
    version_command: "get system status",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "",
    config_enter: "",
    config_leave: "",
    config: ConfigModes {
        end: &["end", "abort"],
        up: &["next"],
        sub_mode: config_or_edit,
        nests: true,
        paging_off: Some("set output standard"),
    },
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

/// FortiGate ports: uplinks are `portN`, SVIs VLAN interfaces on the inside port.
fn port(k: &Kind) -> Option<String> {
    match k {
        Kind::TenGigabit(n) => Some(format!("port{n}")),
        Kind::Vlan(n) => Some(format!("vlan{n}")),
        Kind::Loopback(n) => Some(format!("loop{n}")),
        Kind::Management => Some("mgmt".into()),
        Kind::Gigabit(_) => None,
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        "#config-version=FGVM64-7.2.5-FW-build1517-230606:opmode=0:vdom=0:user=admin\n\
         #conf_file_ver={ver}\n#buildno=1517\n#global_vdom=1\n\
         config system global\n    set alias \"FortiGate-VM64\"\n    set hostname \"{host}\"\n    \
         set timezone 04\nend\nconfig system accprofile\n    edit \"prof_admin\"\n        \
         set secfabgrp read-write\n        set ftviewgrp read-write\n    next\nend\n\
         config system interface\n",
        ver = crate::model::Rng::new(&m.hostname, 7, 11).next_u64() % 1_000_000_000,
        host = m.hostname,
    );
    for intf in &m.interfaces {
        let k = kind(intf);
        let Some(name) = port(&k) else {
            continue;
        };
        let _ = write!(c, "    edit \"{name}\"\n        set vdom \"root\"\n");
        if let Some((ip, prefix)) = intf.address() {
            let _ = writeln!(c, "        set ip {ip} {}", mask(prefix));
        }
        let access = match k {
            Kind::Management => "ping https ssh http",
            Kind::TenGigabit(_) => "ping",
            _ => "ping https ssh",
        };
        let _ = writeln!(c, "        set allowaccess {access}");
        if intf.shutdown {
            c.push_str("        set status down\n");
        }
        match k {
            Kind::Vlan(n) => {
                let _ = write!(
                    c,
                    "        set interface \"port8\"\n        set vlanid {n}\n"
                );
            }
            Kind::Loopback(_) => c.push_str("        set type loopback\n"),
            _ => c.push_str("        set type physical\n"),
        }
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "        set description \"{d}\"");
        }
        c.push_str("    next\n");
    }
    let _ = write!(
        c,
        "end\nconfig system dns\n    set primary {dns}\nend\nconfig system ntp\n    \
         set ntpsync enable\n    set type custom\n    config ntpserver\n",
        dns = crate::model::NAME_SERVER,
    );
    for (i, ntp) in m.ntp_servers.iter().enumerate() {
        let _ = write!(
            c,
            "        edit {}\n            set server \"{ntp}\"\n        next\n",
            i + 1
        );
    }
    c.push_str("    end\nend\nconfig system admin\n");
    for (user, hash) in &m.users {
        let _ = write!(
            c,
            "    edit \"{user}\"\n        set accprofile \"super_admin\"\n        \
             set vdom \"root\"\n        set password ENC SH2{hash}\n    next\n"
        );
    }
    c.push_str("end\nconfig router static\n");
    for (i, r) in m.routes.iter().enumerate() {
        let _ = write!(
            c,
            "    edit {}\n        set dst {} {}\n        set gateway {}\n        \
             set device \"port1\"\n    next\n",
            i + 1,
            r.network,
            mask(r.prefix),
            r.next_hop
        );
    }
    c.push_str("end\n");
    if m.telnet {
        c.push_str("config system admin-telnet\n    set status enable\nend\n");
    }
    c
}

fn version(m: &DeviceModel) -> String {
    format!(
        "Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)\n\
         Virus-DB: 91.04090(2023-06-07 13:28)\n\
         Extended DB: 91.04090(2023-06-07 13:27)\n\
         IPS-DB: 6.00741(2015-12-01 02:30)\n\
         IPS-ETDB: 0.00000(2001-01-01 00:00)\n\
         APP-DB: 6.00741(2015-12-01 02:30)\n\
         INDUSTRIAL-DB: 6.00741(2015-12-01 02:30)\n\
         Serial-Number: FGVM02TM{serial}\n\
         License Status: Valid\n\
         VM Resources: 2 CPU/2 allowed, 4007 MB RAM/4096 MB allowed\n\
         Log hard disk: Available\n\
         Hostname: {host}\n\
         Private Encryption: Disable\n\
         Operation Mode: NAT\n\
         Current virtual domain: root\n\
         Max number of virtual domains: 10\n\
         Virtual domains status: 1 in NAT mode, 0 in TP mode\n\
         Virtual domain configuration: disable\n\
         FIPS-CC mode: disable\n\
         Current HA mode: standalone\n\
         Branch point: 1517\n\
         Release Version Information: GA\n\
         FortiOS x86-64: Yes\n\
         System time: {changed}\n\
         Last reboot reason: warm reboot\n",
        serial = &m.serial[3..],
        host = m.hostname,
        changed = m.last_change,
    )
}
