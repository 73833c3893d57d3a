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
    /// Fault mode by device index (0-based, so index 0 is `r00001`).
    pub faults: HashMap<usize, Fault>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            count: 10,
            base: Ipv4Addr::new(127, 1, 0, 1),
            port: 0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            username: "admin".into(),
            password: "admin".into(),
            secret: "enable".into(),
            seed: 1,
            faults: HashMap::new(),
        }
    }
}

/// A way for one device to misbehave, so clients can be tested against failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Accept the TCP connection and never send a byte, not even the SSH banner (a hung device).
    Silent,
    /// Reject every password and keyboard-interactive answer (wrong credentials).
    RejectAuth,
    /// Close the channel halfway through `show running-config` (a device that drops mid-output).
    DropMidOutput,
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
    let addresses = addresses(cfg.base, cfg.count)?;
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
            }
        })
        .collect())
}

/// `count` consecutive loopback addresses from `base`, skipping `.0` and `.255`.
fn addresses(base: Ipv4Addr, count: usize) -> Result<Vec<Ipv4Addr>, DevsimError> {
    let mut out = Vec::with_capacity(count);
    let mut next = u32::from(base);
    while out.len() < count {
        let address = Ipv4Addr::from(next);
        if !address.is_loopback() {
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
        let got = addresses(Ipv4Addr::new(127, 1, 0, 253), 4).unwrap();
        assert_eq!(
            got,
            [
                Ipv4Addr::new(127, 1, 0, 253),
                Ipv4Addr::new(127, 1, 0, 254),
                Ipv4Addr::new(127, 1, 1, 1),
                Ipv4Addr::new(127, 1, 1, 2),
            ]
        );
        let five_hundred = addresses(Ipv4Addr::new(127, 1, 0, 1), 500).unwrap();
        assert_eq!(five_hundred[499], Ipv4Addr::new(127, 1, 1, 246));
    }

    #[test]
    fn addresses_never_leave_loopback() {
        let err = addresses(Ipv4Addr::new(127, 255, 255, 250), 10).unwrap_err();
        assert!(matches!(err, DevsimError::NotLoopback { .. }), "{err}");
        let err = addresses(Ipv4Addr::new(10, 0, 0, 1), 1).unwrap_err();
        assert!(matches!(err, DevsimError::NotLoopback { .. }), "{err}");
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
    fn names_are_zero_padded_and_one_based() {
        let devices = plan_devices(&FleetConfig::default()).unwrap();
        assert_eq!(devices[0].name, "r00001");
        assert_eq!(devices[9].name, "r00010");
        assert_eq!(devices[9].address, Ipv4Addr::new(127, 1, 0, 10));
    }
}
