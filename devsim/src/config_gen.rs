//! `show running-config`: the device model rendered as IOS 15.2 prints its configuration.

use crate::model::{
    DeviceModel, Interface, LOG_HOST, NAME_SERVER, PARKING_VLAN, Port, USERS_VLAN, mask,
};
use std::fmt::Write as _;

impl DeviceModel {
    /// `show running-config`, with `\n` line ends.
    pub(crate) fn running_config(&self) -> String {
        let body = self.config_body();
        format!(
            "Building configuration...\n\nCurrent configuration : {} bytes\n{body}",
            body.len()
        )
    }

    pub(crate) fn config_body(&self) -> String {
        let mut c = String::with_capacity(16 * 1024);
        let h = &self.hostname;
        // `write!` into a String cannot fail; the results are ignored on purpose throughout.
        let _ = write!(
            c,
            "!\n! Last configuration change at {lc} by admin\n! NVRAM config last updated at {lc} by admin\n!\n",
            lc = self.last_change
        );
        c.push_str(
            "version 15.2\nno service pad\nservice timestamps debug datetime msec\n\
             service timestamps log datetime msec\nservice password-encryption\n!\n",
        );
        let _ = write!(
            c,
            "hostname {h}\n!\nboot-start-marker\nboot-end-marker\n!\n"
        );
        c.push_str("logging buffered 64000 informational\n");
        let _ = writeln!(c, "enable secret 5 {}\n!", self.enable_hash);
        for (name, hash) in &self.users {
            let _ = writeln!(c, "username {name} privilege 15 secret 5 {hash}");
        }
        c.push_str("no aaa new-model\nclock timezone UTC 0 0\n");
        let _ = write!(
            c,
            "switch 1 provision {}\nsystem mtu routing 1500\nip routing\n!\n",
            self.platform.to_ascii_lowercase()
        );
        let _ = write!(
            c,
            "!\nip domain-name {}.lab.example.net\nip name-server {NAME_SERVER}\n\
             ip dhcp snooping vlan {USERS_VLAN}\nip dhcp snooping\nvtp mode transparent\n!\n",
            self.site
        );
        c.push_str(
            "!\nmls qos map policed-dscp  0 10 18 24 46 to 8\nmls qos\n!\n\
             spanning-tree mode rapid-pvst\n",
        );
        if self.role == "access" {
            c.push_str("spanning-tree portfast bpduguard default\n");
        }
        c.push_str(
            "spanning-tree extend system-id\n!\nvlan internal allocation policy ascending\n!\n",
        );
        for vlan in &self.vlans {
            let _ = write!(c, "vlan {}\n name {}\n!\n", vlan.id, vlan.name);
        }
        c.push_str("ip ssh version 2\n!\n!\n");
        for intf in &self.interfaces {
            self.interface_stanza(&mut c, intf);
        }
        c.push_str("ip forward-protocol nd\nno ip http server\nno ip http secure-server\n!\n");
        if self.role != "access" {
            c.push_str(
                "ip access-list extended MGMT-IN\n permit tcp 10.0.0.0 0.0.0.255 any eq 22\n \
                 permit udp 10.0.0.0 0.0.0.255 any eq snmp\n permit icmp any any echo\n \
                 permit icmp any any echo-reply\n deny   ip any any log\n!\n",
            );
        }
        for r in &self.routes {
            let _ = writeln!(
                c,
                "ip route {} {} {}",
                r.network,
                mask(r.prefix),
                r.next_hop
            );
        }
        let _ = write!(
            c,
            "!\nlogging trap notifications\nlogging source-interface Loopback0\nlogging host {LOG_HOST}\n\
             access-list 10 permit 10.0.0.0 0.0.0.255\n!\nsnmp-server location {}\n\
             snmp-server contact noc@example.net\nsnmp-server community devsim-ro RO 10\n\
             snmp-server enable traps snmp linkdown linkup coldstart warmstart\n\
             snmp-server host 10.0.0.50 version 2c devsim-ro\n!\n",
            self.site
        );
        if let Some(banner) = &self.banner {
            let _ = write!(c, "banner motd ^C\n{banner}\n^C\n");
        }
        let transport = if self.telnet { "telnet ssh" } else { "ssh" };
        let _ = write!(
            c,
            "!\nline con 0\n exec-timeout 15 0\n logging synchronous\nline vty 0 4\n \
             access-class 10 in\n exec-timeout 15 0\n logging synchronous\n login local\n \
             transport input {transport}\nline vty 5 15\n access-class 10 in\n exec-timeout 15 0\n \
             login local\n transport input {transport}\n!\n",
        );
        for ntp in &self.ntp_servers {
            let _ = writeln!(c, "ntp server {ntp}");
        }
        c.push_str("end\n");
        c
    }

    fn interface_stanza(&self, c: &mut String, intf: &Interface) {
        let _ = writeln!(c, "interface {}", intf.name);
        if let Some(d) = &intf.description {
            let _ = writeln!(c, " description {d}");
        }
        match &intf.port {
            Port::Access { vlan, voice } => {
                let _ = write!(
                    c,
                    " switchport access vlan {vlan}\n switchport mode access\n"
                );
                if let Some(voice) = voice {
                    let _ = write!(
                        c,
                        " switchport voice vlan {voice}\n srr-queue bandwidth share 1 30 35 5\n \
                         priority-queue out\n mls qos trust device cisco-phone\n mls qos trust cos\n"
                    );
                }
                if *vlan != PARKING_VLAN {
                    c.push_str(" switchport port-security maximum 3\n switchport port-security\n");
                    // Access switches leave broadcast control to their distribution layer.
                    if self.role != "access" {
                        c.push_str(" storm-control broadcast level 10.00\n");
                    }
                }
                if intf.shutdown {
                    c.push_str(" shutdown\n");
                }
                c.push_str(" spanning-tree portfast\n");
                // Access switches enable BPDU guard globally instead.
                if self.role != "access" {
                    c.push_str(" spanning-tree bpduguard enable\n");
                }
            }
            Port::Trunk { native, allowed } => {
                let list: Vec<String> = allowed.iter().map(u16::to_string).collect();
                let _ = write!(
                    c,
                    " switchport trunk native vlan {native}\n switchport trunk allowed vlan {}\n \
                     switchport mode trunk\n mls qos trust dscp\n",
                    list.join(",")
                );
                if intf.shutdown {
                    c.push_str(" shutdown\n");
                }
                c.push_str(" spanning-tree portfast trunk\n");
            }
            Port::Routed { address } => {
                if intf.physical {
                    c.push_str(" no switchport\n");
                }
                match address {
                    Some((ip, prefix)) => {
                        let _ = writeln!(c, " ip address {ip} {}", mask(*prefix));
                    }
                    None => c.push_str(" no ip address\n"),
                }
                if intf.name.starts_with("Vlan") && address.is_some() {
                    c.push_str(" ip helper-address 10.0.0.67\n");
                }
                if intf.shutdown {
                    c.push_str(" shutdown\n");
                }
            }
        }
        c.push_str("!\n");
    }
}

/// Exactly the text a device named `hostname` in a fleet with this `seed` prints for
/// `show running-config`, with `\n` line ends instead of the wire's `\r\n`. The device prints this
/// text and then its prompt, so the output a client collects (echo and prompt removed, CRLF
/// turned to LF) equals this string byte for byte.
pub fn running_config(hostname: &str, seed: u64) -> String {
    DeviceModel::generate(hostname, seed).running_config()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_input_same_config_and_different_devices_differ() {
        assert_eq!(running_config("r00001", 7), running_config("r00001", 7));
        assert_ne!(running_config("r00001", 7), running_config("r00002", 7));
        assert_ne!(running_config("r00001", 7), running_config("r00001", 8));
    }

    #[test]
    fn config_has_the_promised_shape_and_size() {
        for seed in [1, 2, 99] {
            for n in 1..=300 {
                let name = format!("r{n:05}");
                let cfg = running_config(&name, seed);
                assert!(
                    (8 * 1024..=15 * 1024).contains(&cfg.len()),
                    "{name} seed {seed}: {} bytes",
                    cfg.len()
                );
                assert!(cfg.starts_with("Building configuration...\n\nCurrent configuration : "));
                assert!(cfg.contains(&format!("\nhostname {name}\n")));
                assert!(cfg.contains("\nenable secret 5 $1$"));
                assert!(cfg.contains("\nip route 0.0.0.0 0.0.0.0 10.64."));
                assert!(cfg.contains("\nntp server 10.0.0.1\nntp server 10.0.0.2\nend\n"));
                assert!(cfg.contains(
                    "\ninterface Loopback0\n description router-id\n ip address 10.255."
                ));
                let interfaces = cfg.matches("\ninterface ").count();
                assert!(
                    (20..=60).contains(&interfaces),
                    "{name}: {interfaces} interfaces"
                );
                assert!(cfg.ends_with("end\n"));
            }
        }
    }

    #[test]
    fn current_configuration_counts_the_body() {
        let cfg = running_config("r00042", 3);
        let header_end = cfg.find(" bytes\n").unwrap() + " bytes\n".len();
        let stated: usize = cfg["Building configuration...\n\nCurrent configuration : ".len()
            ..cfg.find(" bytes\n").unwrap()]
            .parse()
            .unwrap();
        assert_eq!(stated, cfg.len() - header_end);
    }
}
