//! The deterministic device model: one function of `(hostname, seed)` decides a device's VLANs,
//! interfaces, addresses and routes, and every command's output is rendered from that model
//! (`config_gen` for the running-config, `show` for the rest) so `show vlan brief` agrees with
//! `show running-config`.
//!
//! The generator is a hand-written SplitMix64 over an FNV-1a hash rather than `rand`'s `StdRng`,
//! whose algorithm may change between releases: a pinned config or host key must not change
//! because a dependency was upgraded.

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
    /// Owned, because a pushed configuration may name a VLAN anything (`name CAMERAS-2`).
    pub name: String,
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
    pub enable_hash: String,
    pub users: Vec<(&'static str, String)>,
    pub vlans: Vec<Vlan>,
    pub interfaces: Vec<Interface>,
    pub routes: Vec<StaticRoute>,
    pub last_change: String,
    /// `transport input telnet ssh` on the vty lines (the `TelnetEnabled` drift).
    pub telnet: bool,
    /// The `ntp server` lines; a drifted device may lack one.
    pub ntp_servers: Vec<Ipv4Addr>,
}

/// The VLANs each role is meant to carry: USERS, MGMT and PARKING everywhere, and a few that
/// depend on the role. One set per role, so an inventory can state what every device of the role
/// should have and a validation job can find the devices that drifted from it.
const ROLE_VLANS: [(&str, &[(u16, &str)]); 3] = [
    (
        "core",
        &[
            (10, "USERS"),
            (20, "VOICE"),
            (60, "CAMERAS"),
            (70, "BMS"),
            (99, "MGMT"),
            (999, "PARKING"),
        ],
    ),
    (
        "edge",
        &[
            (10, "USERS"),
            (40, "WIFI-CORP"),
            (50, "WIFI-GUEST"),
            (99, "MGMT"),
            (999, "PARKING"),
        ],
    ),
    (
        "access",
        &[
            (10, "USERS"),
            (20, "VOICE"),
            (30, "PRINTERS"),
            (99, "MGMT"),
            (999, "PARKING"),
        ],
    ),
];

fn role_vlans(role: &str) -> &'static [(u16, &'static str)] {
    ROLE_VLANS
        .iter()
        .find(|(r, _)| *r == role)
        .map_or(ROLE_VLANS[2].1, |(_, v)| v)
}

/// The VLAN ids a device of this role should have, ascending.
pub(crate) fn intended_vlans(role: &str) -> Vec<u16> {
    role_vlans(role).iter().map(|(id, _)| *id).collect()
}

pub(crate) const USERS_VLAN: u16 = 10;
const VOICE_VLAN: u16 = 20;
pub(crate) const MGMT_VLAN: u16 = 99;
pub(crate) const PARKING_VLAN: u16 = 999;

/// Services every device points at; `ip route 10.0.0.0/24` reaches them.
pub(crate) const NTP_SERVERS: [Ipv4Addr; 2] =
    [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
pub(crate) const LOG_HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
pub(crate) const NAME_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);

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
        let mut plan = Plan {
            rng: Rng::new(hostname, seed, 2),
            n: device_number(hostname),
            site,
            role,
        };
        let vlans = plan.vlans();
        let (platform, ports) = if role == "access" {
            ("WS-C3750X-48P", 48)
        } else {
            ("WS-C3750X-24P", 24)
        };
        let loopback = offset(Ipv4Addr::new(10, 255, 0, 0), plan.n % 65_534 + 1);
        let mut interfaces = vec![
            Interface::layer3("Loopback0", Some("router-id"), Some((loopback, 32)), true),
            Interface::layer3("FastEthernet0", None, None, false),
        ];
        interfaces.extend(plan.switch_ports(&vlans, ports));
        let uplinks = plan.uplinks();
        interfaces.extend(uplinks.interfaces);
        interfaces.extend(plan.svis(&vlans, &interfaces));
        let routes = plan.routes(uplinks.gateway, uplinks.second_peer);

        let rng = &mut plan.rng;
        let banner = rng.chance(70).then(|| {
            format!(
                "*****************************************************\n\
                 *  {hostname} ({site}/{role}) - fanout devsim lab device\n\
                 *  Authorised access only. Activity may be monitored.\n\
                 *****************************************************"
            )
        });
        let enable_hash = md5_crypt_like(rng);
        let users = vec![
            ("admin", md5_crypt_like(rng)),
            ("netops", md5_crypt_like(rng)),
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
            telnet: false,
            ntp_servers: NTP_SERVERS.to_vec(),
        }
    }
}

impl Interface {
    /// A layer-3 interface that is not a switch port (loopback, SVI, management port).
    fn layer3(
        name: &str,
        description: Option<&str>,
        address: Option<(Ipv4Addr, u8)>,
        enabled: bool,
    ) -> Self {
        Interface {
            name: name.to_string(),
            description: description.map(str::to_string),
            port: Port::Routed { address },
            shutdown: !enabled,
            link_up: enabled,
            physical: false,
        }
    }
}

/// The routed uplinks and the next hops they give the static routes.
struct Uplinks {
    interfaces: Vec<Interface>,
    /// Peer on Te1/1/1, the default route's next hop.
    gateway: Ipv4Addr,
    /// Peer on Te1/1/2 (routed on core and edge devices only).
    second_peer: Ipv4Addr,
}

/// The state shared by the steps that lay out one device.
struct Plan {
    rng: Rng,
    /// The device's number, which spreads devices over distinct subnets.
    n: u32,
    site: &'static str,
    role: &'static str,
}

impl Plan {
    /// The role's VLAN set.
    fn vlans(&mut self) -> Vec<Vlan> {
        role_vlans(self.role)
            .iter()
            .map(|&(id, name)| Vlan {
                id,
                name: name.to_string(),
            })
            .collect()
    }

    /// The front-panel ports: mostly desks (some with phones), some access-point trunks, and
    /// unused ports parked and shut down.
    fn switch_ports(&mut self, vlans: &[Vlan], ports: u32) -> Vec<Interface> {
        let (site, rng) = (self.site, &mut self.rng);
        let user_vlans: Vec<u16> = vlans
            .iter()
            .map(|v| v.id)
            .filter(|&id| ![MGMT_VLAN, PARKING_VLAN, VOICE_VLAN].contains(&id))
            .collect();
        let voice = vlans
            .iter()
            .any(|v| v.id == VOICE_VLAN)
            .then_some(VOICE_VLAN);
        let phone_percent = if self.role == "access" { 35 } else { 60 };
        let trunk_vlans: Vec<u16> = vlans
            .iter()
            .map(|v| v.id)
            .filter(|&id| id != PARKING_VLAN)
            .collect();
        let mut aps = 0;
        let mut out = Vec::new();
        for port in 1..=ports {
            let roll = rng.below(100);
            let (description, kind, shutdown) = if roll < 70 {
                let vlan = *rng.pick(&user_vlans);
                let voice = voice.filter(|_| rng.chance(phone_percent));
                let what = if voice.is_some() { "phone+pc" } else { "desk" };
                let floor = 1 + rng.below(4);
                (
                    format!("{what} {site}-{floor:02}-{port:02}"),
                    Port::Access { vlan, voice },
                    false,
                )
            } else if roll < 82 {
                aps += 1;
                (
                    format!("AP-{site}-{aps:02}"),
                    Port::Trunk {
                        native: MGMT_VLAN,
                        allowed: trunk_vlans.clone(),
                    },
                    false,
                )
            } else {
                let parked = Port::Access {
                    vlan: PARKING_VLAN,
                    voice: None,
                };
                ("UNUSED".to_string(), parked, true)
            };
            out.push(Interface {
                name: format!("GigabitEthernet1/0/{port}"),
                description: Some(description),
                port: kind,
                shutdown,
                link_up: rng.chance(80),
                physical: true,
            });
        }
        out
    }

    /// Te1/1/1 is the uplink the default route leaves by; core and edge devices also route
    /// Te1/1/2 so their static routes have two next hops. Te1/1/3-4 are spare.
    fn uplinks(&mut self) -> Uplinks {
        let n = self.n;
        let block = offset(Ipv4Addr::new(10, 64, 0, 0), n.wrapping_mul(8) % (1 << 22));
        let peer_site = *self.rng.pick(&SITES);
        let mut interfaces = Vec::new();
        for te in 1..=4u32 {
            let routed = te == 1 || (te == 2 && self.role != "access");
            let (description, address) = if routed {
                let first = (te - 1) * 4;
                (
                    Some(format!(
                        "uplink to {peer_site}-dist-0{te} Te1/0/{}",
                        1 + n % 48
                    )),
                    Some((offset(block, first + 2), 30)),
                )
            } else {
                (None, None)
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
        Uplinks {
            interfaces,
            gateway: offset(block, 1),
            second_peer: offset(block, 5),
        }
    }

    /// Vlan1 (shut, as on most switches) and an SVI per VLAN except PARKING. An SVI is up when
    /// some up port carries its VLAN, as on a real switch.
    fn svis(&self, vlans: &[Vlan], ports: &[Interface]) -> Vec<Interface> {
        let mut out = vec![Interface::layer3("Vlan1", None, None, false)];
        for (k, vlan) in vlans.iter().filter(|v| v.id != PARKING_VLAN).enumerate() {
            let subnet = offset(
                Ipv4Addr::new(10, 128, 0, 0),
                ((self.n.wrapping_mul(8) + k as u32) % 32_768) << 8,
            );
            let carried = ports.iter().any(|i| {
                i.is_up()
                    && match &i.port {
                        Port::Access { vlan: v, voice } => *v == vlan.id || *voice == Some(vlan.id),
                        Port::Trunk { allowed, .. } => allowed.contains(&vlan.id),
                        Port::Routed { .. } => false,
                    }
            });
            let mut svi = Interface::layer3(
                &format!("Vlan{}", vlan.id),
                Some(vlan.name.as_str()),
                Some((offset(subnet, 1), 24)),
                true,
            );
            svi.link_up = carried;
            out.push(svi);
        }
        out
    }

    /// The default route and the services network always; a few summaries sometimes.
    fn routes(&mut self, gateway: Ipv4Addr, second_peer: Ipv4Addr) -> Vec<StaticRoute> {
        let route = |network, prefix, next_hop| StaticRoute {
            network,
            prefix,
            next_hop,
        };
        let mut routes = vec![
            route(Ipv4Addr::UNSPECIFIED, 0, gateway),
            route(Ipv4Addr::new(10, 0, 0, 0), 24, gateway),
        ];
        let candidates = [
            (Ipv4Addr::new(10, 200, 0, 0), 16),
            (Ipv4Addr::new(10, 210, 0, 0), 16),
            (Ipv4Addr::new(10, 220, 1 + self.rng.below(200) as u8, 0), 24),
            (Ipv4Addr::new(10, 230, 0, 0), 20),
        ];
        for (network, prefix) in candidates {
            if self.rng.chance(60) {
                let via_second = self.role != "access" && self.rng.chance(50);
                let next_hop = if via_second { second_peer } else { gateway };
                routes.push(route(network, prefix, next_hop));
            }
        }
        routes
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

#[cfg(test)]
mod tests {
    use super::*;

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
