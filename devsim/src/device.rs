//! What a fleet is made of: its configuration, its fault modes and its devices' identities.

use crate::DevsimError;
use crate::model;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Everything needed to start a [`crate::Fleet`]. `Default` gives a 10-device fleet on
/// `127.1.0.1..` with an OS-chosen port, no latency and the credentials `admin`/`admin`/`enable`.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Number of devices.
    pub count: usize,
    /// First device address; the others follow, skipping `.0` and `.255` last octets because
    /// some clients and tools treat those as network or broadcast addresses.
    pub base: Ipv4Addr,
    /// TCP port shared by every device; 0 lets the OS pick one (see [`crate::Fleet::port`]).
    pub port: u16,
    /// TCP port of every device's HTTP API; 0 lets the OS pick one (see
    /// [`crate::Fleet::http_port`]). The inventory carries it as `data.http_port`.
    pub http_port: u16,
    /// Time before a command's output starts, like a real device thinking.
    pub latency: Duration,
    /// Extra uniformly random delay in `0..=jitter` per command, so sessions do not march in step.
    pub jitter: Duration,
    /// Login user name, the same on every device.
    pub username: String,
    /// Login password, the same on every device.
    pub password: String,
    /// `enable` secret, the same on every device.
    pub secret: String,
    /// Makes configs, sites, roles and host keys deterministic: the same seed is the same fleet.
    pub seed: u64,
    /// Fault mode by device index (0-based, so index 0 is `r00001`). Wins over [`Self::fault_mix`]
    /// for the devices it names.
    pub faults: HashMap<usize, Fault>,
    /// A seeded share of the fleet that misbehaves, for tests of many mixed failures at once; see
    /// [`crate::Fleet::fault_of`] for which device got which mode.
    pub fault_mix: Option<FaultMix>,
    /// A seeded share of the fleet whose configuration drifts from its intended state; see
    /// [`crate::Fleet::drift_of`].
    pub drift: Option<crate::DriftConfig>,
    /// Interfaces that flap and CPU that varies on a seeded schedule; see [`crate::dynamics`].
    pub dynamics: crate::DynamicsConfig,
    /// The platforms devices run, handed out in turn by index (`[ios, junos]`: r00001 IOS,
    /// r00002 Junos, r00003 IOS, ...); empty means every device is `cisco_ios`.
    pub platforms: Vec<crate::Platform>,
    /// Prompt-detection traps every device sets (banner, timestamps, prompt-like lines, split
    /// writes); none by default.
    pub quirks: crate::Quirks,
    /// How long one minute of Junos `commit confirmed N` lasts: a minute, unless a test wants
    /// the automatic rollback sooner.
    pub confirm_minute: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            count: 10,
            base: Ipv4Addr::new(127, 1, 0, 1),
            port: 0,
            http_port: 0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            username: "admin".into(),
            password: "admin".into(),
            secret: "enable".into(),
            seed: 1,
            faults: HashMap::new(),
            fault_mix: None,
            drift: None,
            dynamics: crate::DynamicsConfig::default(),
            platforms: Vec::new(),
            quirks: crate::Quirks::default(),
            confirm_minute: Duration::from_secs(60),
        }
    }
}

/// A way for one device to misbehave, so clients can be tested against failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Accept the TCP connection and reset it at once (`SO_LINGER` 0) before sending a byte. One
    /// wildcard listener cannot refuse a SYN for a single address, so this is the closest a shared
    /// listener gets to `ECONNREFUSED`: the client sees `ECONNRESET` or EOF on its first read.
    Refuse,
    /// Refuse the first connection as [`Fault::Refuse`] does, then serve normally: an SSH daemon
    /// restarting, the case retries exist for.
    RefuseFirst,
    /// Accept the TCP connection and never send a byte, not even the SSH banner (a hung device).
    Silent,
    /// Send the SSH banner, then never answer the key exchange (a device stuck mid-handshake).
    StallKex,
    /// Reject every password and keyboard-interactive answer (wrong credentials).
    RejectAuth,
    /// Log in, but refuse every `enable` secret with `% Access denied`.
    RejectEnable,
    /// Everything sent on the session channel trickles out one byte every 100 ms.
    Slow,
    /// Close the channel halfway through `show running-config` (a device that drops mid-output).
    DropMidOutput,
    /// The first prompt comes, but after the first command's output no prompt ever again.
    NoPrompt,
    /// After login, every command line is answered with random binary bytes (NULs, escape
    /// sequences) and no prompt.
    Garbage,
    /// `show tech-support` and `show running-config` print about 100 MB, generated in chunks as
    /// the client's SSH window allows, so the device's memory stays bounded.
    Huge,
    /// `exit` does not end the session: no exit status, no EOF, the channel stays open until the
    /// client closes it.
    HoldOpen,
    /// The first configuration line that changes something takes effect, then the channel
    /// closes abruptly: a device lost mid-change. Not in [`Fault::ALL`], so seeded mixes stay
    /// what they were; named like the others.
    DropMidConfig,
}

impl Fault {
    /// Every mode, in declaration order; the default set of a [`FaultMix`].
    pub const ALL: [Fault; 12] = [
        Fault::Refuse,
        Fault::RefuseFirst,
        Fault::Silent,
        Fault::StallKex,
        Fault::RejectAuth,
        Fault::RejectEnable,
        Fault::Slow,
        Fault::DropMidOutput,
        Fault::NoPrompt,
        Fault::Garbage,
        Fault::Huge,
        Fault::HoldOpen,
    ];

    /// The kebab-case name the CLI uses (`reject-auth`).
    pub fn name(self) -> &'static str {
        match self {
            Fault::Refuse => "refuse",
            Fault::RefuseFirst => "refuse-first",
            Fault::Silent => "silent",
            Fault::StallKex => "stall-kex",
            Fault::RejectAuth => "reject-auth",
            Fault::RejectEnable => "reject-enable",
            Fault::Slow => "slow",
            Fault::DropMidOutput => "drop-mid-output",
            Fault::NoPrompt => "no-prompt",
            Fault::Garbage => "garbage",
            Fault::Huge => "huge",
            Fault::HoldOpen => "hold-open",
            Fault::DropMidConfig => "drop-mid-config",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let every = || Fault::ALL.into_iter().chain([Fault::DropMidConfig]);
        every().find(|f| f.name() == text.trim()).ok_or_else(|| {
            let names: Vec<&str> = every().map(|f| f.name()).collect();
            format!("unknown fault {text:?} ({})", names.join(", "))
        })
    }
}

/// A seeded share of the fleet given fault modes: the same `(percent, seed, modes)` picks the
/// same devices and modes on every run.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMix {
    /// Share of the devices that misbehave, 0 to 100; rounded to the nearest whole device.
    pub percent: f64,
    /// Chooses which devices, and which mode each gets.
    pub seed: u64,
    /// Modes handed out in turn over the chosen devices, so each appears about equally often;
    /// empty means [`Fault::ALL`].
    pub modes: Vec<Fault>,
}

/// One simulated device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `r00001`-style name, also the device's hostname and prompt.
    pub name: String,
    /// Loopback address the device answers on.
    pub address: Ipv4Addr,
    /// Position in the fleet, 0-based; the key of [`FleetConfig::faults`].
    pub index: usize,
    /// Site code (`ams`, `fra`, `lon`, `nyc`, `sin`), so inventory filters have something to select.
    pub site: &'static str,
    /// Role (`core`, `edge`, `access`); it also shapes the device's configuration.
    pub role: &'static str,
    /// Which vendor's CLI it speaks; the inventory's `platform:` for it.
    pub platform: crate::Platform,
}

/// The name of the device at `index`: `r00001` for index 0.
pub(crate) fn device_name(index: usize) -> String {
    format!("r{:05}", index + 1)
}

/// Checks the configuration and lays out the devices, before any socket is opened.
pub(crate) fn plan_devices(cfg: &FleetConfig) -> Result<Vec<Device>, DevsimError> {
    if cfg.count == 0 {
        return Err(DevsimError::InvalidConfig {
            reason: "a fleet needs at least one device".into(),
        });
    }
    if let Some(index) = cfg.faults.keys().find(|&&i| i >= cfg.count) {
        return Err(DevsimError::InvalidConfig {
            reason: format!(
                "fault for device index {index}, but the fleet has only {} devices (indexes start at 0)",
                cfg.count
            ),
        });
    }
    if let Some(mix) = &cfg.fault_mix {
        check_percent("fault", mix.percent)?;
    }
    let addresses = addresses(cfg.base, cfg.count, in_private_network_namespace())?;
    Ok(addresses
        .into_iter()
        .enumerate()
        .map(|(index, address)| {
            let name = device_name(index);
            let (site, role) = model::site_and_role(&name, cfg.seed);
            Device {
                name,
                address,
                index,
                site,
                role,
                platform: match cfg.platforms.as_slice() {
                    [] => crate::Platform::default(),
                    mix => mix[index % mix.len()],
                },
            }
        })
        .collect())
}

pub(crate) fn check_percent(what: &str, percent: f64) -> Result<(), DevsimError> {
    if (0.0..=100.0).contains(&percent) {
        Ok(())
    } else {
        Err(DevsimError::InvalidConfig {
            reason: format!("{what} percentage {percent} is outside 0..=100"),
        })
    }
}

/// `round(count * percent / 100)` distinct device indexes, in a seeded random order: the same
/// seed picks the same devices, and a larger percentage picks a superset.
pub(crate) fn seeded_subset(count: usize, percent: f64, seed: u64, stream: u64) -> Vec<usize> {
    let wanted = ((count as f64) * percent / 100.0).round() as usize;
    let wanted = wanted.min(count);
    let mut order: Vec<usize> = (0..count).collect();
    let mut rng = model::Rng::new("fleet", seed, stream);
    // A partial Fisher-Yates shuffle: the first `wanted` slots are a uniform sample.
    for i in 0..wanted {
        let j = i + rng.below((count - i) as u64) as usize;
        order.swap(i, j);
    }
    order.truncate(wanted);
    order
}

/// Each device's fault: the explicit [`FleetConfig::faults`] first, then the seeded mix.
pub(crate) fn plan_faults(cfg: &FleetConfig) -> Vec<Option<Fault>> {
    let mut faults = vec![None; cfg.count];
    if let Some(mix) = &cfg.fault_mix {
        let modes: &[Fault] = if mix.modes.is_empty() {
            &Fault::ALL
        } else {
            &mix.modes
        };
        for (k, index) in seeded_subset(cfg.count, mix.percent, mix.seed, 11)
            .into_iter()
            .enumerate()
        {
            faults[index] = Some(modes[k % modes.len()]);
        }
    }
    for (&index, &fault) in &cfg.faults {
        if let Some(slot) = faults.get_mut(index) {
            *slot = Some(fault);
        }
    }
    faults
}

/// Whether this process runs in a network namespace made with `ip netns add` (as multi-host
/// tests do), not the host's own: there a fleet may use any address, since only the test's
/// namespaces can reach it. Such namespaces are the ones bind-mounted under /run/netns.
fn in_private_network_namespace() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(mine) = std::fs::metadata("/proc/self/ns/net") else {
        return false;
    };
    let Ok(named) = std::fs::read_dir("/run/netns") else {
        return false;
    };
    named.flatten().any(|entry| {
        std::fs::metadata(entry.path())
            .is_ok_and(|ns| ns.ino() == mine.ino() && ns.dev() == mine.dev())
    })
}

/// `count` consecutive addresses from `base`, skipping `.0` and `.255`; all loopback unless
/// `private_network` (see [`in_private_network_namespace`]).
fn addresses(
    base: Ipv4Addr,
    count: usize,
    private_network: bool,
) -> Result<Vec<Ipv4Addr>, DevsimError> {
    let mut out = Vec::with_capacity(count);
    let mut next = u32::from(base);
    while out.len() < count {
        let address = Ipv4Addr::from(next);
        if !address.is_loopback() && !private_network {
            return Err(DevsimError::NotLoopback { address });
        }
        let last = address.octets()[3];
        if last != 0 && last != 255 {
            out.push(address);
        }
        next = next
            .checked_add(1)
            .ok_or(DevsimError::NotLoopback { address })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_skip_network_and_broadcast_octets() {
        let got = addresses(Ipv4Addr::new(127, 1, 0, 253), 4, false).unwrap();
        assert_eq!(
            got,
            [
                Ipv4Addr::new(127, 1, 0, 253),
                Ipv4Addr::new(127, 1, 0, 254),
                Ipv4Addr::new(127, 1, 1, 1),
                Ipv4Addr::new(127, 1, 1, 2),
            ]
        );
        let five_hundred = addresses(Ipv4Addr::new(127, 1, 0, 1), 500, false).unwrap();
        assert_eq!(five_hundred[499], Ipv4Addr::new(127, 1, 1, 246));
    }

    #[test]
    fn addresses_never_leave_loopback() {
        let err = addresses(Ipv4Addr::new(127, 255, 255, 250), 10, false).unwrap_err();
        assert!(matches!(err, DevsimError::NotLoopback { .. }), "{err}");
        let err = addresses(Ipv4Addr::new(10, 0, 0, 1), 1, false).unwrap_err();
        assert!(matches!(err, DevsimError::NotLoopback { .. }), "{err}");
        // Inside a test's own network namespace any address is fine.
        let private = addresses(Ipv4Addr::new(10, 77, 2, 1), 2, true).unwrap();
        assert_eq!(private[1], Ipv4Addr::new(10, 77, 2, 2));
        // This test process runs in the host's namespace.
        assert!(!in_private_network_namespace());
    }

    #[test]
    fn plan_rejects_empty_fleets_and_stray_faults() {
        let empty = FleetConfig {
            count: 0,
            ..FleetConfig::default()
        };
        assert!(plan_devices(&empty).is_err());
        let stray = FleetConfig {
            count: 2,
            faults: HashMap::from([(2, Fault::Silent)]),
            ..FleetConfig::default()
        };
        assert!(plan_devices(&stray).is_err());
    }

    #[test]
    fn fault_mix_is_deterministic_and_explicit_faults_win() {
        let cfg = FleetConfig {
            count: 200,
            fault_mix: Some(FaultMix {
                percent: 10.0,
                seed: 7,
                modes: vec![Fault::Silent, Fault::Slow],
            }),
            faults: HashMap::from([(0, Fault::Huge)]),
            ..FleetConfig::default()
        };
        let a = plan_faults(&cfg);
        assert_eq!(a, plan_faults(&cfg));
        assert_eq!(a[0], Some(Fault::Huge));
        let mixed: Vec<_> = a
            .iter()
            .enumerate()
            .filter(|(i, f)| *i != 0 && f.is_some())
            .collect();
        assert!((19..=20).contains(&mixed.len()), "{}", mixed.len());
        let silent = a.iter().filter(|f| **f == Some(Fault::Silent)).count();
        let slow = a.iter().filter(|f| **f == Some(Fault::Slow)).count();
        assert!(silent >= 9 && slow >= 9, "{silent} {slow}");
        let other = plan_faults(&FleetConfig {
            fault_mix: Some(FaultMix {
                seed: 8,
                ..cfg.fault_mix.clone().unwrap()
            }),
            ..cfg.clone()
        });
        assert_ne!(a, other, "another seed picks other devices");
        assert!(
            plan_devices(&FleetConfig {
                fault_mix: Some(FaultMix {
                    percent: 101.0,
                    seed: 1,
                    modes: vec![]
                }),
                ..FleetConfig::default()
            })
            .is_err()
        );
    }

    #[test]
    fn fault_names_round_trip() {
        for fault in Fault::ALL.into_iter().chain([Fault::DropMidConfig]) {
            assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
        }
        assert!("explode".parse::<Fault>().is_err());
    }

    #[test]
    fn names_are_zero_padded_and_one_based() {
        let devices = plan_devices(&FleetConfig::default()).unwrap();
        assert_eq!(devices[0].name, "r00001");
        assert_eq!(devices[9].name, "r00010");
        assert_eq!(devices[9].address, Ipv4Addr::new(127, 1, 0, 10));
    }
}
