//! `show` command output rendered from the device model, in the column layout IOS 15.2 uses, so
//! the TextFSM templates written for real devices parse it.

use crate::model::{DeviceModel, Interface, Port, mask};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// `show version`.
pub(crate) fn version(m: &DeviceModel) -> String {
    let gig = m
        .interfaces
        .iter()
        .filter(|i| i.name.starts_with("GigabitEthernet"))
        .count();
    let ten = m
        .interfaces
        .iter()
        .filter(|i| i.name.starts_with("TenGigabit"))
        .count();
    let virt = m
        .interfaces
        .iter()
        .filter(|i| i.name.starts_with("Vlan") || i.name.starts_with("Loopback"))
        .count();
    let mac = base_mac(&m.serial);
    let ports = gig + ten + 2;
    format!(
        "Cisco IOS Software, C3750E Software (C3750E-UNIVERSALK9-M), Version 15.2(4)E10, RELEASE SOFTWARE (fc2)\n\
         Technical Support: http://www.cisco.com/techsupport\n\
         Copyright (c) 1986-2020 by Cisco Systems, Inc.\n\
         Compiled Tue 31-Mar-20 03:17 by prod_rel_team\n\
         \n\
         ROM: Bootstrap program is C3750E boot loader\n\
         BOOTLDR: C3750E Boot Loader (C3750X-HBOOT-M) Version 15.2(3r)E, RELEASE SOFTWARE (fc1)\n\
         \n\
         {host} uptime is {uptime}\n\
         System returned to ROM by power-on\n\
         System image file is \"flash:/c3750e-universalk9-mz.152-4.E10/c3750e-universalk9-mz.152-4.E10.bin\"\n\
         Last reload reason: power-on\n\
         \n\
         \n\
         License Level: ipservices\n\
         License Type: Permanent\n\
         Next reload license Level: ipservices\n\
         \n\
         cisco {platform} (PowerPC405) processor (revision W0) with 262144K bytes of memory.\n\
         Processor board ID {serial}\n\
         Last reset from power-on\n\
         {virt} Virtual Ethernet interfaces\n\
         1 FastEthernet interface\n\
         {gig} Gigabit Ethernet interfaces\n\
         {ten} Ten Gigabit Ethernet interfaces\n\
         The password-recovery mechanism is enabled.\n\
         \n\
         512K bytes of flash-simulated non-volatile configuration memory.\n\
         Base ethernet MAC Address       : {mac}\n\
         Motherboard assembly number     : 73-12554-08\n\
         Model number                    : {platform}-S\n\
         System serial number            : {serial}\n\
         \n\
         Switch Ports Model                     SW Version            SW Image\n\
         ------ ----- -----                     ----------            ----------\n\
         *    1 {ports:<5} {platform:<25} 15.2(4)E10            C3750E-UNIVERSALK9-M\n\
         \n\
         \n\
         Configuration register is 0xF\n",
        host = m.hostname,
        uptime = m.uptime,
        platform = m.platform,
        serial = m.serial,
    )
}

fn base_mac(serial: &str) -> String {
    let h = serial.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let b = h.to_be_bytes();
    format!("00:22:BD:{:02X}:{:02X}:{:02X}", b[1], b[2], b[3])
}

/// `show ip interface brief`.
pub(crate) fn ip_interface_brief(m: &DeviceModel) -> String {
    let mut out = String::from(
        "Interface              IP-Address      OK? Method Status                Protocol\n",
    );
    for intf in &m.interfaces {
        let (ip, method) = match (&intf.port, intf.address()) {
            (_, Some((ip, _))) => (ip.to_string(), "NVRAM"),
            (Port::Routed { .. }, None) => ("unassigned".to_string(), "NVRAM"),
            _ => ("unassigned".to_string(), "unset"),
        };
        let (status, protocol) = status(intf);
        let _ = writeln!(
            out,
            "{:<22} {:<15} YES {:<6} {:<21} {}",
            intf.name, ip, method, status, protocol
        );
    }
    out
}

pub(crate) fn status(intf: &Interface) -> (&'static str, &'static str) {
    if intf.shutdown {
        ("administratively down", "down")
    } else if intf.link_up {
        ("up", "up")
    } else {
        ("down", "down")
    }
}

/// `show vlan brief`: the configured VLANs with their access ports, then IOS's legacy VLANs.
pub(crate) fn vlan_brief(m: &DeviceModel) -> String {
    let mut out = String::from(
        "\nVLAN Name                             Status    Ports\n\
         ---- -------------------------------- --------- -------------------------------\n",
    );
    let ports_in = |id: u16| -> Vec<String> {
        m.interfaces
            .iter()
            .filter(|i| matches!(i.port, Port::Access { vlan, .. } if vlan == id))
            .map(Interface::short_name)
            .collect()
    };
    let mut rows: Vec<(u16, &str, &str)> = vec![(1, "default", "active")];
    rows.extend(m.vlans.iter().map(|v| (v.id, v.name.as_str(), "active")));
    rows.extend([
        (1002, "fddi-default", "act/unsup"),
        (1003, "token-ring-default", "act/unsup"),
        (1004, "fddinet-default", "act/unsup"),
        (1005, "trnet-default", "act/unsup"),
    ]);
    for (id, name, state) in rows {
        let lines = wrap_ports(&ports_in(id));
        let first = lines.first().map(String::as_str).unwrap_or("");
        let row = format!("{id:<4} {name:<32} {state:<9} {first}");
        let _ = writeln!(out, "{}", row.trim_end());
        for more in lines.iter().skip(1) {
            let _ = writeln!(out, "{:48}{more}", "");
        }
    }
    out
}

/// IOS fills the 31-column ports field greedily and continues on indented lines.
fn wrap_ports(ports: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for port in ports {
        if line.is_empty() {
            line.push_str(port);
        } else if line.len() + 2 + port.len() <= 31 {
            line.push_str(", ");
            line.push_str(port);
        } else {
            line.push(',');
            lines.push(std::mem::take(&mut line));
            line.push_str(port);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

const ROUTE_CODES: &str = "\
Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP
       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area
       N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2
       E1 - OSPF external type 1, E2 - OSPF external type 2
       i - IS-IS, su - IS-IS summary, L1 - IS-IS level-1, L2 - IS-IS level-2
       ia - IS-IS inter area, * - candidate default, U - per-user static route
       o - ODR, P - periodic downloaded static route, H - NHRP, l - LISP
       + - replicated route, % - next hop override
";

/// `show ip route`: connected and local routes of up interfaces, and the static routes.
pub(crate) fn ip_route(m: &DeviceModel) -> String {
    struct Entry {
        network: Ipv4Addr,
        prefix: u8,
        code: &'static str,
        text: String,
    }
    let mut entries = Vec::new();
    for intf in m.interfaces.iter().filter(|i| i.is_up()) {
        let Some((ip, prefix)) = intf.address() else {
            continue;
        };
        let network = Ipv4Addr::from(u32::from(ip) & u32::from(mask(prefix)));
        entries.push(Entry {
            network,
            prefix,
            code: "C",
            text: format!("is directly connected, {}", intf.name),
        });
        if prefix < 32 {
            entries.push(Entry {
                network: ip,
                prefix: 32,
                code: "L",
                text: format!("is directly connected, {}", intf.name),
            });
        }
    }
    let mut default = None;
    for r in &m.routes {
        if r.prefix == 0 {
            default = Some(r.next_hop);
        } else {
            entries.push(Entry {
                network: r.network,
                prefix: r.prefix,
                code: "S",
                text: format!("[1/0] via {}", r.next_hop),
            });
        }
    }
    entries.sort_by_key(|e| (u32::from(e.network), e.prefix));

    let mut out = String::from(ROUTE_CODES);
    out.push('\n');
    match default {
        Some(gw) => {
            let _ = write!(
                out,
                "Gateway of last resort is {gw} to network 0.0.0.0\n\nS*    0.0.0.0/0 [1/0] via {gw}\n"
            );
        }
        None => out.push_str("Gateway of last resort is not set\n\n"),
    }
    // Every route the model produces lies in 10.0.0.0/8, so IOS groups them under that
    // classful network.
    let mut masks: Vec<u8> = entries.iter().map(|e| e.prefix).collect();
    masks.sort_unstable();
    masks.dedup();
    let _ = writeln!(
        out,
        "      10.0.0.0/8 is variably subnetted, {} subnets, {} masks",
        entries.len(),
        masks.len()
    );
    for e in &entries {
        let _ = writeln!(out, "{:<9}{}/{} {}", e.code, e.network, e.prefix, e.text);
    }
    out
}

/// `show processes cpu`: the utilisation header and a process table, steady per device.
pub(crate) fn processes_cpu(m: &DeviceModel) -> String {
    const PROCESSES: [&str; 12] = [
        "Chunk Manager",
        "Load Meter",
        "Check heaps",
        "Pool Manager",
        "ARP Input",
        "IP Input",
        "CDP Protocol",
        "Spanning Tree",
        "SSH Process",
        "SNMP ENGINE",
        "NTP",
        "HRPC hl2mm request",
    ];
    let salt = u64::from(m.serial.bytes().map(u32::from).sum::<u32>());
    let mut out = String::from(
        "CPU utilization for five seconds: 3%/0%; one minute: 4%; five minutes: 5%
          PID Runtime(ms)     Invoked      uSecs   5Sec   1Min   5Min TTY Process 
",
    );
    for (k, name) in PROCESSES.iter().enumerate() {
        let k = k as u64;
        let runtime = (salt * 37 + k * 7_919) % 2_000_000;
        let invoked = (salt * 13 + k * 104_729) % 9_000_000 + 1;
        let usecs = runtime * 1000 / invoked;
        let (five, one, fivem) = match k {
            5 => ("1.03%", "0.87%", "0.91%"),
            8 => ("0.15%", "0.07%", "0.02%"),
            _ => ("0.00%", "0.00%", "0.00%"),
        };
        let _ = writeln!(
            out,
            "{:>4} {:>11} {:>11} {:>10} {:>6} {:>6} {:>6} {:>3} {name} ",
            k + 1,
            runtime,
            invoked,
            usecs,
            five,
            one,
            fivem,
            0
        );
    }
    out
}

/// `show tech-support`: the other show commands one after another, each under IOS's banner line.
pub(crate) fn tech_support(m: &DeviceModel) -> String {
    let mut out = String::new();
    type Render = fn(&DeviceModel) -> String;
    let sections: [(&str, Render); 5] = [
        ("show version", version),
        ("show processes cpu", processes_cpu),
        ("show ip interface brief", ip_interface_brief),
        ("show vlan brief", vlan_brief),
        ("show ip route", ip_route),
    ];
    for (title, render) in sections {
        let _ = write!(
            out,
            "\n------------------ {title} ------------------\n\n{}\n",
            render(m)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> DeviceModel {
        DeviceModel::generate("r00007", 1)
    }

    #[test]
    fn vlan_brief_lists_configured_vlans_and_their_ports() {
        let m = model();
        let text = vlan_brief(&m);
        for vlan in &m.vlans {
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{:<4} {}", vlan.id, vlan.name))),
                "vlan {} missing:\n{text}",
                vlan.id
            );
        }
        for line in text.lines() {
            assert!(line.len() <= 80, "line too long: {line:?}");
        }
        let access = m
            .interfaces
            .iter()
            .filter(|i| matches!(i.port, Port::Access { .. }))
            .count();
        assert_eq!(text.matches("Gi1/0/").count(), access);
    }

    #[test]
    fn ip_route_has_the_default_route_and_connected_uplink() {
        let m = model();
        let text = ip_route(&m);
        let gw = m.routes[0].next_hop;
        assert!(
            text.contains(&format!("\nS*    0.0.0.0/0 [1/0] via {gw}\n")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "Gateway of last resort is {gw} to network 0.0.0.0"
        )));
        assert!(text.contains("is directly connected, TenGigabitEthernet1/1/1\n"));
        assert!(text.contains("S        10.0.0.0/24 [1/0] via "));
    }

    #[test]
    fn interface_brief_lists_every_interface_once() {
        let m = model();
        let text = ip_interface_brief(&m);
        assert_eq!(text.lines().count(), m.interfaces.len() + 1);
        assert!(
            text.contains(
                "\nLoopback0              10.255.0.8      YES NVRAM  up                    up\n"
            ),
            "{text}"
        );
        assert!(text.contains("administratively down down"));
    }

    #[test]
    fn processes_cpu_and_tech_support() {
        let m = model();
        let cpu = processes_cpu(&m);
        assert!(cpu.starts_with(
            "CPU utilization for five seconds: 3%/0%; one minute: 4%; five minutes: 5%\n"
        ));
        assert!(cpu.contains(" SSH Process \n"), "{cpu}");
        let tech = tech_support(&m);
        assert!(tech.contains("------------------ show version ------------------"));
        assert!(tech.contains(&version(&m)));
        assert!((2_000..20_000).contains(&tech.len()), "{}", tech.len());
    }

    #[test]
    fn version_names_host_and_serial() {
        let m = model();
        let text = version(&m);
        assert!(text.contains(&format!("\nr00007 uptime is {}\n", m.uptime)));
        assert!(text.contains(&format!("\nProcessor board ID {}\n", m.serial)));
        assert!(text.ends_with("Configuration register is 0xF\n"));
    }
}
