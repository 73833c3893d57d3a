//! Dell EMC Networking OS6 (N1100/N2000/N3000/N4000, and the PowerConnect 7000/8000 it grew
//! from): IOS-like, `r1>` until `enable`, `r1#`, `configure` (no `terminal`) to `r1(config)#`,
//! interface contexts named after the port (`r1(config-if-Gi1/0/1)#`, `r1(config-if-vlan10)#`).
//! `terminal length 0` turns paging off; errors stand under a `^`; a wrong enable secret is
//! `Incorrect Password!`; the pager says `--More-- or (q)uit`. The configuration starts with
//! `!Current Configuration:` and, unlike IOS, closes each interface stanza with `exit`.

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
        true,
        Cmd::ShowRunningConfig,
    ),
    spec(&["show", "version"], None, false, Cmd::ShowVersion),
    spec(&["configure"], None, true, Cmd::ConfigureTerminal),
    spec(&["write", "memory"], None, true, Cmd::WriteMemory),
];

/// `interface Gi1/0/1` is `config-if-Gi1/0/1`, `interface vlan 10` `config-if-vlan10`, `vlan
/// 10` `config-vlan10`, `router ospf` `config-router`.
fn context(words: &[(usize, &str)]) -> Entered {
    let word = |i: usize| words.get(i).map(|(_, w)| *w);
    let first = words[0].1.to_ascii_lowercase();
    match first.as_str() {
        "interface" | "int" => match (word(1), word(2)) {
            (None, _) => Entered::Incomplete,
            (Some(kind), Some(id)) if kind.eq_ignore_ascii_case("vlan") => {
                Entered::Mode(format!("config-if-vlan{id}"))
            }
            (Some(kind), Some(id)) if kind.eq_ignore_ascii_case("loopback") => {
                Entered::Mode(format!("config-if-loopback{id}"))
            }
            (Some(port), _) => Entered::Mode(format!("config-if-{port}")),
        },
        "vlan" => match word(1) {
            None => Entered::Incomplete,
            Some(id) => Entered::Mode(format!("config-vlan{id}")),
        },
        "router" => match word(1) {
            None => Entered::Incomplete,
            Some(_) => Entered::Mode("config-router".into()),
        },
        _ => Entered::No,
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "dell_os6",
    ssh_id: "SSH-2.0-OpenSSH_7.5",
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
        invalid: "% Invalid input detected at '^' marker.\n",
        unknown_command: None,
        incomplete: "Command not found / Incomplete command. Use ? to list commands.\n",
        ambiguous: "% Ambiguous command.\n",
    },
    screen: Screen::Lines,
    pager: "--More-- or (q)uit",
    pager_erase: PagerErase::Backspaces,
    paging_off: "terminal length 0",
    config_command: "show running-config",
    version_command: "show version",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "Incorrect Password!\n",
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

/// The switch's model: a 48-port N3048 at the core and edge, a 24-port N2024 in access.
fn model(m: &DeviceModel) -> &'static str {
    if m.role == "access" { "N2024" } else { "N3048" }
}

/// OS6 names ports by unit/slot/port with a two-letter lead, as the prompt shows them.
fn name(k: &Kind) -> String {
    match k {
        Kind::Loopback(n) => format!("loopback {n}"),
        Kind::Management => "out-of-band".into(),
        Kind::Gigabit(n) => format!("Gi1/0/{n}"),
        Kind::TenGigabit(n) => format!("Te1/1/{n}"),
        Kind::Vlan(n) => format!("vlan {n}"),
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    let model = model(m);
    let _ = write!(
        c,
        "!Current Configuration:\n!System Description \"Dell Networking {model}, 6.6.3.10, \
         Linux 4.14.138\"\n!System Software Version 6.6.3.10\n!\nconfigure\n",
    );
    let ids: Vec<String> = m.vlans.iter().map(|v| v.id.to_string()).collect();
    let _ = writeln!(c, "vlan {}\nexit", ids.join(","));
    for v in &m.vlans {
        let _ = write!(c, "vlan {}\nname \"{}\"\nexit\n", v.id, v.name);
    }
    let _ = write!(
        c,
        "hostname \"{host}\"\nslot 1/0 1    ! Dell Networking {model}\nstack\nmember 1 1    ! {model}\n\
         exit\nip domain-name \"{site}.lab.example.net\"\nip name-server {dns}\n",
        host = m.hostname,
        site = m.site,
        dns = crate::model::NAME_SERVER,
    );
    for r in &m.routes {
        let _ = writeln!(
            c,
            "ip route {} {} {}",
            r.network,
            mask(r.prefix),
            r.next_hop
        );
    }
    for intf in m.interfaces.iter().filter(|i| !i.physical) {
        let k = kind(intf);
        if matches!(k, Kind::Management) {
            continue;
        }
        let _ = writeln!(c, "interface {}", name(&k));
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "description \"{d}\"");
        }
        match intf.address() {
            Some((ip, prefix)) => {
                let _ = writeln!(c, "ip address {ip} {}", mask(prefix));
            }
            None => c.push_str("no ip address\n"),
        }
        if intf.shutdown {
            c.push_str("shutdown\n");
        }
        c.push_str("exit\n");
    }
    for (user, hash) in &m.users {
        let _ = writeln!(
            c,
            "username \"{user}\" password {hash} privilege 15 encrypted"
        );
    }
    let _ = writeln!(c, "enable password {} encrypted", m.enable_hash);
    for ntp in &m.ntp_servers {
        let _ = writeln!(c, "sntp server {ntp}");
    }
    let _ = writeln!(c, "logging {}", crate::model::LOG_HOST);
    if !m.telnet {
        c.push_str("no ip telnet server enable\n");
    }
    c.push_str("ip ssh server\napplication install SupportAssist auto-restart start-on-boot\n!\n");
    for intf in m.interfaces.iter().filter(|i| i.physical) {
        let _ = writeln!(c, "interface {}", name(&kind(intf)));
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "description \"{d}\"");
        }
        match &intf.port {
            Port::Access { vlan, voice } => {
                let _ = writeln!(c, "switchport access vlan {vlan}");
                if let Some(voice) = voice {
                    let _ = writeln!(c, "switchport voice vlan {voice}");
                }
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    "switchport mode trunk\nswitchport trunk native vlan {native}\n\
                     switchport trunk allowed vlan {}\n",
                    list.join(",")
                );
            }
            Port::Routed { address } => {
                if let Some((ip, prefix)) = address {
                    let _ = writeln!(c, "ip address {ip} {}", mask(*prefix));
                }
            }
        }
        if intf.shutdown {
            c.push_str("shutdown\n");
        }
        c.push_str("exit\n!\n");
    }
    c.push_str("snmp-server community \"public\" ro\neula-consent support-assist reject\nexit\n");
    c
}

fn version(m: &DeviceModel) -> String {
    let model = model(m);
    format!(
        "\nMachine Description............... Dell Networking Switch\n\
         System Model ID................... {model}\n\
         Machine Type...................... Dell Networking {model}\n\
         Serial Number..................... {serial}\n\
         Manufacturer...................... 0xbc00\n\
         System Object ID.................. 1.3.6.1.4.1.674.10895.3065\n\
         SOC Version....................... BCM56342_A0\n\
         HW Version........................ 3\n\
         CPLD Version...................... 16\n\
         System Up Time.................... {uptime}\n\
         \n\
         unit active      backup      current-active next-active\n\
         ---- ----------- ----------- -------------- --------------\n\
         1    6.6.3.10    6.5.4.4     6.6.3.10       6.6.3.10\n\
         \n",
        serial = m.serial,
        uptime = m.uptime,
    )
}
