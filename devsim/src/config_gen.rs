//! The deterministic device model: one function of `(hostname, seed)` decides a device's VLANs,
//! interfaces, addresses and routes, and every command's output is rendered from that model so
//! `show vlan brief` agrees with `show running-config`.
//!
//! The generator is a hand-written SplitMix64 over an FNV-1a hash rather than `rand`'s `StdRng`,
//! whose algorithm may change between releases: a pinned config or host key must not change
//! because a dependency was upgraded.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

pub(crate) const SITES: [&str; 5] = ["ams", "fra", "lon", "nyc", "sin"];
pub(crate) const ROLES: [&str; 3] = ["core", "edge", "access"];

/// Small deterministic generator (SplitMix64); statistical quality is plenty for fake configs.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(hostname: &str, seed: u64, stream: u64) -> Self {
        Rng(fnv1a(hostname.as_bytes())
            ^ seed.rotate_left(17)
            ^ stream.wrapping_mul(0xA24B_AED4_963E_E407))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The site and role of a device, shared by the inventory and the device's own configuration.
pub(crate) fn site_and_role(hostname: &str, seed: u64) -> (&'static str, &'static str) {
    let mut rng = Rng::new(hostname, seed, 1);
    (*rng.pick(&SITES), *rng.pick(&ROLES))
}

/// A VLAN defined on the device.
pub(crate) struct Vlan {
    pub id: u16,
    pub name: &'static str,
}

/// How an interface is used; it decides both its config stanza and its status.
pub(crate) enum Port {
    /// Switchport in one VLAN, optionally with a voice VLAN.
    Access { vlan: u16, voice: Option<u16> },
    /// 802.1Q trunk carrying some VLANs (access points, downstream switches).
    Trunk { native: u16, allowed: Vec<u16> },
    /// Layer-3 interface with an address (uplinks, SVIs, loopback); `None` is `no ip address`.
    Routed { address: Option<(Ipv4Addr, u8)> },
}

pub(crate) struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub port: Port,
    /// `shutdown` in the config: administratively down.
    pub shutdown: bool,
    /// Line protocol when not shut down (cable plugged in, SVI has an active port).
    pub link_up: bool,
    /// Only physical switch ports carry switchport and spanning-tree lines.
    pub physical: bool,
}

impl Interface {
    /// IOS's short form, as `show vlan brief` prints it (`Gi1/0/1`).
    pub fn short_name(&self) -> String {
        for (long, short) in [
            ("TenGigabitEthernet", "Te"),
            ("GigabitEthernet", "Gi"),
            ("FastEthernet", "Fa"),
        ] {
            if let Some(rest) = self.name.strip_prefix(long) {
                return format!("{short}{rest}");
            }
        }
        self.name.clone()
    }

    pub fn address(&self) -> Option<(Ipv4Addr, u8)> {
        match self.port {
            Port::Routed { address } => address,
            _ => None,
        }
    }

    /// Whether the interface is up/up, which is what puts its subnet in the routing table.
    pub fn is_up(&self) -> bool {
        !self.shutdown && self.link_up
    }
}

pub(crate) struct StaticRoute {
    pub network: Ipv4Addr,
    pub prefix: u8,
    pub next_hop: Ipv4Addr,
}

/// Everything about one device that any command's output depends on.
pub(crate) struct DeviceModel {
    pub hostname: String,
    pub site: &'static str,
    pub role: &'static str,
    pub platform: &'static str,
    pub serial: String,
    pub uptime: String,
    pub banner: Option<String>,
    enable_hash: String,
    users: Vec<(&'static str, String)>,
    pub vlans: Vec<Vlan>,
    pub interfaces: Vec<Interface>,
    pub routes: Vec<StaticRoute>,
    last_change: String,
}

/// VLANs a device may carry beyond the three every device has.
const OPTIONAL_VLANS: [(u16, &str); 6] = [
    (20, "VOICE"),
    (30, "PRINTERS"),
    (40, "WIFI-CORP"),
    (50, "WIFI-GUEST"),
    (60, "CAMERAS"),
    (70, "BMS"),
];
const USERS_VLAN: u16 = 10;
const MGMT_VLAN: u16 = 99;
const PARKING_VLAN: u16 = 999;

/// Services every device points at; `ip route 10.0.0.0/24` reaches them.
pub(crate) const NTP_SERVERS: [Ipv4Addr; 2] =
    [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
const LOG_HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
const NAME_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);

/// The device's number for address planning: the digits its name ends with, so neighbouring
/// devices get distinct subnets; a name without digits falls back to a hash.
fn device_number(hostname: &str) -> u32 {
    let digits: String = hostname
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse::<u32>()
        .unwrap_or_else(|_| (fnv1a(hostname.as_bytes()) % 60_000) as u32)
}

fn offset(base: Ipv4Addr, by: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base).wrapping_add(by))
}

fn md5_crypt_like(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut draw =
        |n: usize| -> String { (0..n).map(|_| char::from(*rng.pick(ALPHABET))).collect() };
    let salt = draw(4);
    let hash = draw(22);
    format!("$1${salt}${hash}")
}

impl DeviceModel {
    pub(crate) fn generate(hostname: &str, seed: u64) -> Self {
        let (site, role) = site_and_role(hostname, seed);
        let mut rng = Rng::new(hostname, seed, 2);
        let n = device_number(hostname);

        let mut vlans = vec![Vlan {
            id: USERS_VLAN,
            name: "USERS",
        }];
        let extra = 1 + rng.below(3) as usize;
        let mut optional: Vec<_> = OPTIONAL_VLANS.to_vec();
        for _ in 0..extra {
            let (id, name) = optional.remove(rng.below(optional.len() as u64) as usize);
            vlans.push(Vlan { id, name });
        }
        vlans.push(Vlan {
            id: MGMT_VLAN,
            name: "MGMT",
        });
        vlans.push(Vlan {
            id: PARKING_VLAN,
            name: "PARKING",
        });
        vlans.sort_by_key(|v| v.id);
        let user_vlans: Vec<u16> = vlans
            .iter()
            .map(|v| v.id)
            .filter(|&id| id != MGMT_VLAN && id != PARKING_VLAN && id != 20)
            .collect();
        let voice = vlans.iter().any(|v| v.id == 20).then_some(20);

        let (platform, ports) = if role == "access" {
            ("WS-C3750X-48P", 48)
        } else {
            ("WS-C3750X-24P", 24)
        };

        let mut interfaces = Vec::new();
        interfaces.push(Interface {
            name: "Loopback0".into(),
            description: Some("router-id".into()),
            port: Port::Routed {
                address: Some((offset(Ipv4Addr::new(10, 255, 0, 0), n % 65_534 + 1), 32)),
            },
            shutdown: false,
            link_up: true,
            physical: false,
        });
        interfaces.push(Interface {
            name: "FastEthernet0".into(),
            description: None,
            port: Port::Routed { address: None },
            shutdown: true,
            link_up: false,
            physical: false,
        });
        let mut ap = 0;
        for port in 1..=ports {
            let roll = rng.below(100);
            let (description, kind, shutdown) = if roll < 70 {
                let vlan = *rng.pick(&user_vlans);
                let voice = voice.filter(|_| rng.chance(if role == "access" { 35 } else { 60 }));
                let what = if voice.is_some() { "phone+pc" } else { "desk" };
                (
                    Some(format!("{what} {}-{:02}-{port:02}", site, 1 + rng.below(4))),
                    Port::Access { vlan, voice },
                    false,
                )
            } else if roll < 82 {
                ap += 1;
                let mut allowed: Vec<u16> = vlans
                    .iter()
                    .map(|v| v.id)
                    .filter(|&id| id != PARKING_VLAN)
                    .collect();
                allowed.sort_unstable();
                (
                    Some(format!("AP-{site}-{ap:02}")),
                    Port::Trunk {
                        native: MGMT_VLAN,
                        allowed,
                    },
                    false,
                )
            } else {
                (
                    Some("UNUSED".into()),
                    Port::Access {
                        vlan: PARKING_VLAN,
                        voice: None,
                    },
                    true,
                )
            };
            interfaces.push(Interface {
                name: format!("GigabitEthernet1/0/{port}"),
                description,
                port: kind,
                shutdown,
                link_up: rng.chance(80),
                physical: true,
            });
        }

        // Te1/1/1 is the uplink the default route leaves by; core and edge devices also have a
        // second routed link so their static routes have two next hops.
        let uplink_block = offset(Ipv4Addr::new(10, 64, 0, 0), (n.wrapping_mul(8)) % (1 << 22));
        let gateway = offset(uplink_block, 1);
        let second_peer = offset(uplink_block, 5);
        let peer_site = *rng.pick(&SITES);
        for te in 1..=4u32 {
            let routed = te == 1 || (te == 2 && role != "access");
            let (description, address) = match te {
                1 => (
                    Some(format!(
                        "uplink to {peer_site}-dist-01 Te1/0/{}",
                        1 + n % 48
                    )),
                    Some((offset(uplink_block, 2), 30)),
                ),
                2 if routed => (
                    Some(format!(
                        "uplink to {peer_site}-dist-02 Te1/0/{}",
                        1 + n % 48
                    )),
                    Some((offset(uplink_block, 6), 30)),
                ),
                _ => (None, None),
            };
            interfaces.push(Interface {
                name: format!("TenGigabitEthernet1/1/{te}"),
                description,
                port: Port::Routed { address },
                shutdown: !routed,
                link_up: routed,
                physical: true,
            });
        }

        interfaces.push(Interface {
            name: "Vlan1".into(),
            description: None,
            port: Port::Routed { address: None },
            shutdown: true,
            link_up: false,
            physical: false,
        });
        for (k, vlan) in vlans.iter().filter(|v| v.id != PARKING_VLAN).enumerate() {
            let subnet = offset(
                Ipv4Addr::new(10, 128, 0, 0),
                ((n.wrapping_mul(8) + k as u32) % 32_768) << 8,
            );
            // An SVI is up when some up port carries its VLAN, as on a real switch.
            let carried = interfaces.iter().any(|i| {
                i.is_up()
                    && match &i.port {
                        Port::Access { vlan: v, voice } => *v == vlan.id || *voice == Some(vlan.id),
                        Port::Trunk { allowed, .. } => allowed.contains(&vlan.id),
                        Port::Routed { .. } => false,
                    }
            });
            interfaces.push(Interface {
                name: format!("Vlan{}", vlan.id),
                description: Some(vlan.name.to_string()),
                port: Port::Routed {
                    address: Some((offset(subnet, 1), 24)),
                },
                shutdown: false,
                link_up: carried,
                physical: false,
            });
        }

        let mut routes = vec![
            StaticRoute {
                network: Ipv4Addr::UNSPECIFIED,
                prefix: 0,
                next_hop: gateway,
            },
            StaticRoute {
                network: Ipv4Addr::new(10, 0, 0, 0),
                prefix: 24,
                next_hop: gateway,
            },
        ];
        let candidates = [
            (Ipv4Addr::new(10, 200, 0, 0), 16),
            (Ipv4Addr::new(10, 210, 0, 0), 16),
            (Ipv4Addr::new(10, 220, 1 + rng.below(200) as u8, 0), 24),
            (Ipv4Addr::new(10, 230, 0, 0), 20),
        ];
        for (network, prefix) in candidates {
            if rng.chance(60) {
                let next_hop = if role != "access" && rng.chance(50) {
                    second_peer
                } else {
                    gateway
                };
                routes.push(StaticRoute {
                    network,
                    prefix,
                    next_hop,
                });
            }
        }

        let banner = rng.chance(70).then(|| {
            format!(
                "*****************************************************\n\
                 *  {hostname} ({site}/{role}) - fanout devsim lab device\n\
                 *  Authorised access only. Activity may be monitored.\n\
                 *****************************************************"
            )
        });
        let enable_hash = md5_crypt_like(&mut rng);
        let users = vec![
            ("admin", md5_crypt_like(&mut rng)),
            ("netops", md5_crypt_like(&mut rng)),
        ];
        let serial = format!(
            "FDO{}{}{}",
            1500 + rng.below(900),
            char::from(b'A' + rng.below(26) as u8),
            1000 + rng.below(9000)
        );
        let uptime = format!(
            "{} weeks, {} days, {} hours, {} minutes",
            1 + rng.below(80),
            rng.below(7),
            rng.below(24),
            rng.below(60)
        );
        let last_change = format!(
            "{:02}:{:02}:{:02} UTC {} {} {} 2025",
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.pick(&["Mon", "Tue", "Wed", "Thu", "Fri"]),
            rng.pick(&["Jan", "Feb", "Mar", "Apr", "May", "Jun"]),
            1 + rng.below(28)
        );

        DeviceModel {
            hostname: hostname.to_string(),
            site,
            role,
            platform,
            serial,
            uptime,
            banner,
            enable_hash,
            users,
            vlans,
            interfaces,
            routes,
            last_change,
        }
    }

    /// `show running-config`, with `\n` line ends.
    pub(crate) fn running_config(&self) -> String {
        let body = self.config_body();
        format!(
            "Building configuration...\n\nCurrent configuration : {} bytes\n{body}",
            body.len()
        )
    }

    fn config_body(&self) -> String {
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
        c.push_str(
            "!\nline con 0\n exec-timeout 15 0\n logging synchronous\nline vty 0 4\n \
             access-class 10 in\n exec-timeout 15 0\n logging synchronous\n login local\n \
             transport input ssh\nline vty 5 15\n access-class 10 in\n exec-timeout 15 0\n \
             login local\n transport input ssh\n!\n",
        );
        for ntp in NTP_SERVERS {
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

/// Dotted netmask for a prefix length.
pub(crate) fn mask(prefix: u8) -> Ipv4Addr {
    if prefix == 0 {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::from(u32::MAX << (32 - u32::from(prefix.min(32))))
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

    #[test]
    fn sites_and_roles_cover_their_sets() {
        let mut sites = std::collections::BTreeSet::new();
        let mut roles = std::collections::BTreeSet::new();
        for n in 1..=200 {
            let (site, role) = site_and_role(&format!("r{n:05}"), 1);
            sites.insert(site);
            roles.insert(role);
        }
        assert_eq!(sites.len(), SITES.len());
        assert_eq!(roles.len(), ROLES.len());
    }

    #[test]
    fn masks() {
        assert_eq!(mask(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(mask(30), Ipv4Addr::new(255, 255, 255, 252));
        assert_eq!(mask(32), Ipv4Addr::new(255, 255, 255, 255));
    }
}
