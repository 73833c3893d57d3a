//! Palo Alto PAN-OS: `admin@fw1> ` in operational mode (no `enable`), `configure` to `[edit]`
//! and `admin@fw1# `; `set cli pager off` and `set cli scripting-mode on` are per-session
//! settings; `show system info` instead of `show version`, the running configuration as XML
//! (`show config running`), and `Unknown command: <word>` / `Invalid syntax.` for errors,
//! with no caret.

use super::{Errors, Kind, PagerErase, Persona, Prompts, Screen, kind};
use crate::model::{DeviceModel, Port};
use crate::shell::commands::{Cmd, Spec, spec};
use crate::shell::config::{ConfigModes, Entered};
use std::fmt::Write as _;

const COMMANDS: &[Spec] = &[
    spec(&["exit"], None, false, Cmd::Exit),
    spec(&["quit"], None, false, Cmd::Exit),
    spec(
        &["set", "cli", "pager", "off"],
        None,
        false,
        Cmd::TerminalLength,
    ),
    spec(
        &["set", "cli", "scripting-mode", "on"],
        None,
        false,
        Cmd::Noop,
    ),
    spec(
        &["set", "cli", "terminal", "width"],
        Some(500),
        false,
        Cmd::TerminalWidth,
    ),
    spec(&["show", "system", "info"], None, false, Cmd::ShowVersion),
    spec(
        &["show", "config", "running"],
        None,
        false,
        Cmd::ShowRunningConfig,
    ),
    spec(&["configure"], None, false, Cmd::ConfigureTerminal),
];

/// `edit network interface` moves into that part of the tree; `exit` climbs back out.
fn edit(words: &[(usize, &str)]) -> Entered {
    match words {
        [(_, first), ..] if !first.eq_ignore_ascii_case("edit") => Entered::No,
        [_] => Entered::Incomplete,
        [_, rest @ ..] => {
            let path: Vec<&str> = rest.iter().map(|(_, w)| *w).collect();
            Entered::Mode(path.join(" "))
        }
        [] => Entered::No,
    }
}

pub(super) const PERSONA: Persona = Persona {
    name: "paloalto_panos",
    ssh_id: "SSH-2.0-OpenSSH_8.0",
    // Operational mode is the only exec mode; the profile has no privilege command.
    login_privileged: true,
    login_text: "Number of failed attempts since last successful login: 0\n\n",
    prompts: Prompts {
        user: "{user}@{host}> ",
        privileged: "{user}@{host}> ",
        config: "[edit]\n{user}@{host}# ",
        sub_config: "[edit {mode}]\n{user}@{host}# ",
    },
    commands: COMMANDS,
    errors: Errors {
        caret: false,
        invalid: "Unknown command: {word}\n",
        unknown_command: None,
        incomplete: "Invalid syntax.\n",
        ambiguous: "Invalid syntax.\n",
    },
    screen: Screen::Lines,
    pager: "--More--",
    pager_erase: PagerErase::Backspaces,
    paging_off: "set cli pager off",
    config_command: "show config running",
    version_command: "show system info",
    secret_attempts: 1,
    secret_retry: "",
    secret_refused: "",
    config_enter: "Entering configuration mode\n",
    config_leave: "Exiting configuration mode\n",
    config: ConfigModes {
        end: &[],
        up: &["exit", "quit"],
        sub_mode: edit,
        nests: true,
        paging_off: None,
    },
    after_output: "",
    length_reply: "",
    width_reply: "",
    running_config,
    version,
};

/// Data ports are `ethernet1/N`; SVIs become sub-interfaces of the inside port.
fn port(k: &Kind) -> Option<String> {
    match k {
        Kind::TenGigabit(n) => Some(format!("ethernet1/{n}")),
        Kind::Vlan(n) => Some(format!("ethernet1/8.{n}")),
        Kind::Loopback(n) => Some(format!("loopback.{n}")),
        Kind::Management | Kind::Gigabit(_) => None,
    }
}

fn running_config(m: &DeviceModel) -> String {
    let mut c = String::with_capacity(8 * 1024);
    c.push_str(
        "<config version=\"10.2.0\" urldb=\"paloaltonetworks\" detail-version=\"10.2.4\">\n  \
         <mgt-config>\n    <users>\n",
    );
    for (user, hash) in &m.users {
        let _ = write!(
            c,
            "      <entry name=\"{user}\">\n        <phash>{hash}</phash>\n        \
             <permissions>\n          <role-based>\n            <superuser>yes</superuser>\n          \
             </role-based>\n        </permissions>\n      </entry>\n"
        );
    }
    c.push_str(
        "    </users>\n  </mgt-config>\n  <devices>\n    <entry name=\"localhost.localdomain\">\n      \
         <network>\n        <interface>\n          <ethernet>\n",
    );
    for intf in &m.interfaces {
        let k = kind(intf);
        let Some(port) = port(&k) else {
            continue;
        };
        if matches!(k, Kind::Vlan(_) | Kind::Loopback(_)) {
            continue;
        }
        let _ = writeln!(
            c,
            "            <entry name=\"{port}\">\n              <layer3>"
        );
        if let Port::Routed {
            address: Some((ip, prefix)),
        } = intf.port
        {
            let _ = writeln!(
                c,
                "                <ip>\n                  <entry name=\"{ip}/{prefix}\"/>\n                </ip>"
            );
        }
        c.push_str("              </layer3>\n");
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "              <comment>{d}</comment>");
        }
        if intf.shutdown {
            c.push_str("              <link-state>down</link-state>\n");
        }
        c.push_str("            </entry>\n");
    }
    c.push_str("          </ethernet>\n          <vlan>\n            <units>\n");
    for intf in &m.interfaces {
        let k = kind(intf);
        let (Kind::Vlan(n), Some((ip, prefix))) = (&k, intf.address()) else {
            continue;
        };
        let _ = write!(
            c,
            "              <entry name=\"vlan.{n}\">\n                <ip>\n                  \
             <entry name=\"{ip}/{prefix}\"/>\n                </ip>\n"
        );
        if let Some(d) = &intf.description {
            let _ = writeln!(c, "                <comment>{d}</comment>");
        }
        c.push_str("              </entry>\n");
    }
    c.push_str(
        "            </units>\n          </vlan>\n        </interface>\n        <virtual-router>\n          \
         <entry name=\"default\">\n            <routing-table>\n              <ip>\n                \
         <static-route>\n",
    );
    for (i, r) in m.routes.iter().enumerate() {
        let _ = write!(
            c,
            "                  <entry name=\"route-{i}\">\n                    \
             <destination>{}/{}</destination>\n                    <nexthop>\n                      \
             <ip-address>{}</ip-address>\n                    </nexthop>\n                  </entry>\n",
            r.network, r.prefix, r.next_hop
        );
    }
    let _ = write!(
        c,
        "                </static-route>\n              </ip>\n            </routing-table>\n          \
         </entry>\n        </virtual-router>\n      </network>\n      <deviceconfig>\n        <system>\n          \
         <hostname>{host}</hostname>\n          <domain>{site}.lab.example.net</domain>\n          \
         <dns-setting>\n            <servers>\n              <primary>{dns}</primary>\n            \
         </servers>\n          </dns-setting>\n          <ntp-servers>\n",
        host = m.hostname,
        site = m.site,
        dns = crate::model::NAME_SERVER,
    );
    for (ntp, which) in m.ntp_servers.iter().zip(["primary", "secondary"]) {
        let _ = write!(
            c,
            "            <{which}-ntp-server>\n              <ntp-server-address>{ntp}</ntp-server-address>\n            \
             </{which}-ntp-server>\n"
        );
    }
    c.push_str("          </ntp-servers>\n");
    if m.telnet {
        c.push_str("          <service>\n            <disable-telnet>no</disable-telnet>\n          </service>\n");
    }
    c.push_str("        </system>\n      </deviceconfig>\n    </entry>\n  </devices>\n</config>\n");
    c
}

fn version(m: &DeviceModel) -> String {
    let loopback = m.interfaces.iter().find_map(|i| {
        matches!(kind(i), Kind::Loopback(_))
            .then(|| i.address())
            .flatten()
    });
    let ip = loopback.map_or("unknown".to_string(), |(ip, _)| ip.to_string());
    format!(
        "\n\
         hostname: {host}\n\
         ip-address: {ip}\n\
         public-ip-address: unknown\n\
         netmask: 255.255.255.255\n\
         default-gateway: {gateway}\n\
         ip-assignment: static\n\
         ipv6-address: unknown\n\
         ipv6-link-local-address: unknown\n\
         mac-address: 00:50:56:a3:{a:02x}:{b:02x}\n\
         time: {changed}\n\
         uptime: {uptime}\n\
         family: vm\n\
         model: PA-VM\n\
         serial: {serial}\n\
         vm-mac-base: 7C:89:C1:{a:02X}:{b:02X}:00\n\
         vm-mac-count: 256\n\
         vm-uuid: 4223D1A2-{a:02X}{b:02X}-8C2E-0D41-9F63A7B21C05\n\
         vm-cpuid: ESX:A7060500FFFBEB1F\n\
         vm-license: VM-300\n\
         vm-cap-tier: 9.0 GB\n\
         vm-cpu-count: 4\n\
         vm-memory: 9206928\n\
         vm-mode: VMware ESXi\n\
         cloud-mode: non-cloud\n\
         sw-version: 10.2.4\n\
         global-protect-client-package-version: 0.0.0\n\
         device-dictionary-version: 76-412\n\
         app-version: 8729-8157\n\
         app-release-date: 2023/06/20 15:03:04 PDT\n\
         av-version: 0\n\
         threat-version: 8729-8157\n\
         threat-release-date: 2023/06/20 15:03:04 PDT\n\
         wildfire-version: 0\n\
         url-filtering-version: 20230621.20229\n\
         logdb-version: 10.2.1\n\
         platform-family: vm\n\
         vpn-disable-mode: off\n\
         multi-vsys: off\n\
         ZTP: Disabled\n\
         operational-mode: normal\n\
         device-certificate-status: None\n\
         \n",
        host = m.hostname,
        gateway = m
            .routes
            .first()
            .map_or(String::new(), |r| r.next_hop.to_string()),
        a = m.serial.len() * 7 % 256,
        b = m.serial.bytes().map(u32::from).sum::<u32>() % 256,
        changed = m.last_change,
        uptime = m.uptime,
        serial = m.serial,
    )
}
