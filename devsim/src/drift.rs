//! Configuration drift: a seeded subset of devices that differ from their intended state in ways a
//! validation job should catch (a VLAN deleted, the default route gone, telnet enabled, an NTP
//! server missing). The drift is applied to the device model, so every command agrees with it.

use crate::device::{check_percent, seeded_subset};
use crate::model::{self, DeviceModel, Port, Rng};
use crate::{Device, DevsimError};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// Which share of a fleet drifts, and how it is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftConfig {
    /// Share of the devices that drift, 0 to 100; rounded to the nearest whole device.
    pub percent: f64,
    /// The same seed picks the same devices and the same drifts on every run.
    pub seed: u64,
}

/// One way a device differs from its intended configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Drift {
    /// A VLAN of the device's role set is not defined: no `vlan N` stanza, no `interface VlanN`,
    /// not in trunk allowed lists, not in `show vlan brief`. Access ports that were in it still
    /// say `switchport access vlan N`, as on a switch where someone deleted the VLAN.
    MissingVlan(u16),
    /// No `ip route 0.0.0.0 0.0.0.0 ...` and so no `S*` line or gateway of last resort.
    NoDefaultRoute,
    /// `transport input telnet ssh` under every `line vty`.
    TelnetEnabled,
    /// No `ntp server 10.0.0.1` (the second server stays).
    NtpMissing,
}

impl fmt::Display for Drift {
    /// `missing_vlan:30`, `no_default_route`, `telnet_enabled`, `ntp_missing`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::MissingVlan(id) => write!(f, "missing_vlan:{id}"),
            Drift::NoDefaultRoute => f.write_str("no_default_route"),
            Drift::TelnetEnabled => f.write_str("telnet_enabled"),
            Drift::NtpMissing => f.write_str("ntp_missing"),
        }
    }
}

impl Serialize for Drift {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Each device's drifts, empty for the devices that keep their intended configuration.
pub(crate) fn plan_drift(
    devices: &[Device],
    drift: Option<&DriftConfig>,
    fleet_seed: u64,
) -> Result<Vec<Vec<Drift>>, DevsimError> {
    let mut out = vec![Vec::new(); devices.len()];
    let Some(cfg) = drift else {
        return Ok(out);
    };
    check_percent("drift", cfg.percent)?;
    for index in seeded_subset(devices.len(), cfg.percent, cfg.seed, 13) {
        let device = &devices[index];
        let mut rng = Rng::new(&device.name, cfg.seed ^ fleet_seed.rotate_left(29), 14);
        let vlans = model::intended_vlans(device.role);
        let mut kinds = vec![
            Drift::MissingVlan(*rng.pick(&vlans)),
            Drift::NoDefaultRoute,
            Drift::TelnetEnabled,
            Drift::NtpMissing,
        ];
        let wanted = 1 + rng.below(3) as usize;
        let mut chosen = Vec::with_capacity(wanted);
        while chosen.len() < wanted {
            chosen.push(kinds.remove(rng.below(kinds.len() as u64) as usize));
        }
        chosen.sort();
        out[index] = chosen;
    }
    Ok(out)
}

impl DeviceModel {
    /// The model with these drifts applied; every renderer then shows them consistently.
    pub(crate) fn drifted(mut self, drift: &[Drift]) -> Self {
        for d in drift {
            match *d {
                Drift::MissingVlan(id) => {
                    self.vlans.retain(|v| v.id != id);
                    let svi = format!("Vlan{id}");
                    self.interfaces.retain(|i| i.name != svi);
                    for intf in &mut self.interfaces {
                        if let Port::Trunk { allowed, .. } = &mut intf.port {
                            allowed.retain(|&v| v != id);
                        }
                    }
                }
                Drift::NoDefaultRoute => self.routes.retain(|r| r.prefix != 0),
                Drift::TelnetEnabled => self.telnet = true,
                Drift::NtpMissing => self.ntp_servers.retain(|s| *s != model::NTP_SERVERS[0]),
            }
        }
        self
    }
}

/// The `--drift-report` document: `{device: [drifts]}` for the devices that drifted.
pub(crate) fn report(devices: &[Device], drift: &[Vec<Drift>]) -> String {
    let map: BTreeMap<&str, &[Drift]> = devices
        .iter()
        .zip(drift)
        .filter(|(_, d)| !d.is_empty())
        .map(|(device, d)| (device.name.as_str(), d.as_slice()))
        .collect();
    // A map of strings to lists of strings always serializes.
    serde_json::to_string_pretty(&map).expect("drift report serializes")
}

/// Exactly what a device named `hostname` in a fleet with this `seed` and these drifts prints for
/// `show running-config` (`\n` line ends); with no drift it equals [`crate::running_config`].
pub fn device_running_config(hostname: &str, seed: u64, drift: &[Drift]) -> String {
    DeviceModel::generate(hostname, seed)
        .drifted(drift)
        .running_config()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::plan_devices;
    use crate::{FleetConfig, running_config, show};

    fn devices(count: usize) -> Vec<Device> {
        plan_devices(&FleetConfig {
            count,
            ..FleetConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn plan_is_seeded_and_sized() {
        let devices = devices(300);
        let cfg = DriftConfig {
            percent: 10.0,
            seed: 3,
        };
        let a = plan_drift(&devices, Some(&cfg), 1).unwrap();
        assert_eq!(a, plan_drift(&devices, Some(&cfg), 1).unwrap());
        assert_eq!(a.iter().filter(|d| !d.is_empty()).count(), 30);
        let other = DriftConfig { seed: 4, ..cfg };
        assert_ne!(a, plan_drift(&devices, Some(&other), 1).unwrap());
        for (device, drift) in devices.iter().zip(&a) {
            for d in drift {
                if let Drift::MissingVlan(id) = d {
                    assert!(model::intended_vlans(device.role).contains(id));
                }
            }
        }
        let kinds: std::collections::HashSet<_> =
            a.iter().flatten().map(std::mem::discriminant).collect();
        assert_eq!(kinds.len(), 4, "every kind of drift occurs");
        assert!(
            plan_drift(&devices, None, 1)
                .unwrap()
                .iter()
                .all(Vec::is_empty)
        );
    }

    #[test]
    fn each_drift_shows_in_config_and_show_commands_alike() {
        let name = "r00004";
        let clean = DeviceModel::generate(name, 1);
        assert_eq!(device_running_config(name, 1, &[]), running_config(name, 1));
        let vlan = crate::model::USERS_VLAN;
        assert!(
            clean.vlans.iter().any(|v| v.id == vlan),
            "every role carries USERS"
        );
        let all = [
            Drift::MissingVlan(vlan),
            Drift::NoDefaultRoute,
            Drift::TelnetEnabled,
            Drift::NtpMissing,
        ];
        let drifted = DeviceModel::generate(name, 1).drifted(&all);
        let config = drifted.running_config();
        assert_eq!(config, device_running_config(name, 1, &all));
        let clean_config = clean.running_config();

        assert!(clean_config.contains(&format!("\nvlan {vlan}\n")));
        assert!(!config.contains(&format!("\nvlan {vlan}\n")));
        assert!(!config.contains(&format!("\ninterface Vlan{vlan}\n")));
        let brief = show::vlan_brief(&drifted);
        assert!(!brief.lines().any(|l| l.starts_with(&format!("{vlan:<4} "))));
        assert!(
            show::vlan_brief(&clean)
                .lines()
                .any(|l| l.starts_with(&format!("{vlan:<4} ")))
        );
        assert!(!show::ip_interface_brief(&drifted).contains(&format!("\nVlan{vlan} ")));

        assert!(clean_config.contains("\nip route 0.0.0.0 0.0.0.0 "));
        assert!(!config.contains("\nip route 0.0.0.0 0.0.0.0 "));
        let route = show::ip_route(&drifted);
        assert!(!route.contains("\nS*"), "{route}");
        assert!(route.contains("Gateway of last resort is not set"));

        assert_eq!(config.matches("\n transport input telnet ssh\n").count(), 2);
        assert!(!clean_config.contains("telnet"));

        assert!(!config.contains("\nntp server 10.0.0.1\n"));
        assert!(config.contains("\nntp server 10.0.0.2\nend\n"));

        let header: usize = config
            .lines()
            .nth(2)
            .and_then(|l| l.strip_prefix("Current configuration : "))
            .and_then(|l| l.strip_suffix(" bytes"))
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert_eq!(header, config.len() - config.find("\n!\n").unwrap() - 1);
    }

    #[test]
    fn report_lists_only_drifted_devices() {
        let devices = devices(3);
        let drift = vec![
            vec![],
            vec![Drift::MissingVlan(30), Drift::NtpMissing],
            vec![],
        ];
        let value: serde_json::Value = serde_json::from_str(&report(&devices, &drift)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"r00002": ["missing_vlan:30", "ntp_missing"]})
        );
    }
}
