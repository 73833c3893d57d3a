//! Cisco ASA: IOS-like prompts (`fw1>`, `enable`, `fw1#`, `fw1(config-if)#`), but its own
//! dialect: `terminal pager 0` turns paging off (`terminal width` exists only in configuration
//! mode), errors carry an `ERROR: ` prefix under the `^`, the pager says `<--- More --->` and
//! rubs it out with a carriage return and blanks, and a wrong enable secret is asked for again
//! twice before `Access denied.`. The configuration names interfaces (`nameif`) and security
//! levels, and uses dotted masks.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, mask};
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
        &["terminal", "pager"],
        Some(2_147_483_647),
        false,
        Cmd::TerminalLength,
    ),
    spec(
        &["terminal", "pager", "lines"],
        Some(2_147_483_647),
        false,
        Cmd::TerminalLength,
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
    spec(&["write", "memory"], None, true, Cmd::WriteMemory),
];

pub(super) const PERSONA: Persona = Persona {
    name: "cisco_asa",
    ssh_id: "SSH-2.0-Cisco-1.25",
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
        caret: true,
        invalid: "ERROR: % Invalid input detected at '^' marker.\n",
        unknown_command: None,
        incomplete: "ERROR: % Incomplete command\n",
        ambiguous: "ERROR: % Ambiguous command:  \"{command}\"\n",
    },
    screen: Screen::Lines,
    pager: "<--- More --->",
    pager_erase: PagerErase::CarriageReturn,
    paging_off: "terminal pager 0",
    config_command: "show running-config",
    version_command: "show version",
    secret_attempts: 3,
    secret_retry: "Invalid password\n",
    secret_refused: "Access denied.\n",
    config_enter: "",
    config_leave: "",
    config: IOS_CONFIG,
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

/// The firewall's ports for the model's routed interfaces: uplinks are data ports, SVIs
/// sub-interfaces of the inside port, the management port its own; switch ports and
/// loopbacks have no place on a firewall.
fn port(k: &Kind) -> Option<String> {
    match k {
        Kind::Management => Some("Management1/1".into()),
        Kind::TenGigabit(n) => Some(format!("GigabitEthernet1/{n}")),
        Kind::Vlan(n) => Some(format!("GigabitEthernet1/8.{n}")),
        Kind::Loopback(_) | Kind::Gigabit(_) => None,
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let _ = write!(
        c,
        ": Saved\n\n:\n: Serial Number: {serial}\n\
         : Hardware:   ASA5516, 8192 MB RAM, CPU Atom C2000 series 2416 MHz, 1 CPU (8 cores)\n:\n\
         ASA Version 9.16(3)19 \n!\nhostname {host}\ndomain-name {site}.lab.example.net\n\
         enable password {enable} pbkdf2\nnames\nno mac-address auto\n\n",
        serial = m.serial,
        host = m.hostname,
        site = m.site,
        enable = m.enable_hash,
    );
    for intf in &m.interfaces {
        let k = kind(intf);
        let Some(port) = port(&k) else {
            continue;
        };
        let _ = writeln!(c, "!\ninterface {port}");
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " description {d}");
        }
        if intf.shutdown {
            c.push_str(" shutdown\n");
        }
        let (nameif, level) = match k {
            Kind::Management => ("management".to_string(), 0),
            Kind::TenGigabit(n) => (format!("outside{n}"), 0),
            Kind::Vlan(n) => {
                let _ = writeln!(c, " vlan {n}");
                let name = m.vlans.iter().find(|v| u32::from(v.id) == n);
                let nameif = name.map_or(format!("vlan{n}"), |v| v.name.to_ascii_lowercase());
                (nameif, 100)
            }
            Kind::Loopback(_) | Kind::Gigabit(_) => continue,
        };
        let _ = writeln!(c, " nameif {nameif}\n security-level {level}");
        match intf.address() {
            Some((ip, prefix)) => {
                let _ = writeln!(c, " ip address {ip} {} ", mask(prefix));
            }
            None => c.push_str(" no ip address\n"),
        }
    }
    let _ = write!(
        c,
        "!\nftp mode passive\ndns server-group DefaultDNS\n domain-name {}.lab.example.net\n\
         pager lines 24\nlogging enable\nlogging timestamp\nlogging host management {}\n\
         mtu management 1500\nmtu outside1 1500\nno failover\nno asdm history enable\n\
         arp timeout 14400\n",
        m.site,
        crate::model::LOG_HOST,
    );
    for r in &m.routes {
        let _ = writeln!(
            c,
            "route outside1 {} {} {} 1",
            r.network,
            mask(r.prefix),
            r.next_hop
        );
    }
    c.push_str(
        "timeout xlate 3:00:00\ntimeout conn 1:00:00\nuser-identity default-domain LOCAL\n\
         aaa authentication ssh console LOCAL \nhttp server enable\n",
    );
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "ntp server {ntp}");
    }
    if m.telnet {
        c.push_str("telnet 0.0.0.0 0.0.0.0 management\n");
    }
    c.push_str("ssh 0.0.0.0 0.0.0.0 management\nssh version 2\nssh timeout 30\n");
    for (user, hash) in &m.users {
        let _ = writeln!(c, "username {user} password {hash} pbkdf2 privilege 15");
    }
    let _ = write!(
        c,
        "!\nclass-map inspection_default\n match default-inspection-traffic\n!\n\
         prompt hostname context \nno call-home reporting anonymous\n\
         Cryptochecksum:{:0>32x}\n: end\n",
        crate::model::Rng::new(&m.hostname, 7, 9).next_u64()
    );
    c
}

fn version(m: &DeviceModel) -> String {
    let mut v = format!(
        "\nCisco Adaptive Security Appliance Software Version 9.16(3)19 \n\
         SSP Operating System Version 2.10(1.162)\n\
         Device Manager Version 7.18(1)152\n\
         \n\
         Compiled on Thu 09-Mar-23 17:40 GMT by builders\n\
         System image file is \"disk0:/asa9-16-3-19-lfbff-k8.SPA\"\n\
         Config file at boot was \"startup-config\"\n\
         \n\
         {host} up {uptime}\n\
         \n\
         Hardware:   ASA5516, 8192 MB RAM, CPU Atom C2000 series 2416 MHz, 1 CPU (8 cores)\n\
         Internal ATA Compact Flash, 8192MB\n\
         BIOS Flash M25P64 @ 0xfed01000, 16384KB\n\
         \n",
        host = m.hostname,
        uptime = m.uptime,
    );
    let mut n = 0;
    for intf in &m.interfaces {
        let k = kind(intf);
        if matches!(k, Kind::Vlan(_)) {
            continue;
        }
        if let Some(port) = port(&k) {
            let _ = writeln!(
                v,
                "{n:2}: Ext: {port:<22}: address is 00a7.42c1.{:04x}, irq 255",
                n + 1
            );
            n += 1;
        }
    }
    let _ = write!(
        v,
        "\nLicense mode: Smart Licensing\n\
         \n\
         Licensed features for this platform:\n\
         Maximum Physical Interfaces       : Unlimited      \n\
         Maximum VLANs                     : 150            \n\
         Inside Hosts                      : Unlimited      \n\
         Failover                          : Active/Active  \n\
         \n\
         Serial Number: {serial}\n\
         Configuration register is 0x1\n\
         Image type          : Release\n\
         Key Version         : A\n\
         \n\
         Configuration last modified by enable_15 at {changed}\n",
        serial = m.serial,
        changed = m.last_change,
    );
    v
}
