//! Devices that change while they run: interfaces that flap and CPU load that varies and spikes,
//! so a monitor has something to notice. Two sources of change, both reflected in `show ip
//! interface brief` and `show processes cpu`:
//!
//! - a seeded schedule ([`DynamicsConfig`]): a share of the devices flaps one interface on a
//!   fixed period, and every device's CPU wanders around its own baseline with occasional spikes;
//! - forced state set through [`Dynamics`] (or its HTTP face, [`control`]): tests take a chosen
//!   interface down or up, pin a device's CPU, or push extra traffic through an interface (its
//!   SNMP octet counters climb faster), and it holds until cleared.
//!
//! Forced state wins over the schedule. With the default (empty) configuration and nothing
//! forced, devices print exactly what the static model says.

pub mod control;

use crate::device::{check_percent, seeded_subset};
use crate::model::{DeviceModel, Rng};
use crate::{Device, DevsimError, show};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often a scheduled CPU value is redrawn: about the "five seconds" IOS averages over.
const CPU_WINDOW: Duration = Duration::from_secs(5);

/// The seeded, time-driven part of the dynamics. `Default` is a fleet that never changes on its
/// own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DynamicsConfig {
    /// A share of the devices that flap one interface on a schedule.
    pub flap: Option<FlapSchedule>,
    /// CPU that varies around a per-device baseline and sometimes spikes.
    pub cpu: Option<CpuVariation>,
}

/// Which devices flap and how fast.
#[derive(Debug, Clone, PartialEq)]
pub struct FlapSchedule {
    /// Share of the devices that flap, 0 to 100, chosen by `seed`.
    pub percent: f64,
    /// One full down-and-up cycle: the interface is down for the first half of each period
    /// (shifted by a per-device phase so the fleet does not flap in step).
    pub period: Duration,
    /// Picks the devices, their interface and their phase.
    pub seed: u64,
}

/// How CPU load varies.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuVariation {
    /// Chance, 0 to 100, that a device spikes (85-99%) in any five-second window.
    pub spike_percent: u64,
    /// Decides baselines, noise and spikes.
    pub seed: u64,
}

/// What has been forced on one device.
#[derive(Debug, Default, Clone)]
struct Forced {
    /// Interface name → link up (`true`) or down.
    links: BTreeMap<String, bool>,
    /// Five-second CPU percentage shown while set.
    cpu: Option<u8>,
}

/// The live state of a fleet's devices. Shared by every session of the fleet and the control
/// API; cheap to read on every command.
#[derive(Debug)]
pub struct Dynamics {
    config: DynamicsConfig,
    /// The schedule is a function of the time since this instant.
    started: Instant,
    /// Device index by name, for the control API.
    by_name: HashMap<String, usize>,
    /// Device names by index.
    names: Vec<String>,
    /// Indexes of the devices that flap on the schedule.
    flapping: Vec<bool>,
    /// Forced state by device index; a device nobody touched holds an empty entry.
    forced: Vec<Mutex<Forced>>,
    /// The fleet seed, to rebuild a device's model for the control API.
    seed: u64,
    /// Each device's drift, so the control API's model matches what sessions show.
    drift: Vec<Vec<crate::Drift>>,
    /// Configuration changes and moving stamps (off unless asked for).
    churn: crate::churn::ConfigChurn,
    /// Extra traffic forced through interfaces, by device then interface. Kept apart from
    /// `forced` because clearing stops the extra traffic but must not take back what it
    /// carried: octet counters only go up.
    traffic: Vec<Mutex<BTreeMap<String, Boost>>>,
}

/// Extra traffic on one interface, as a share of its line rate integrated over time.
#[derive(Debug, Default, Clone, Copy)]
struct Boost {
    /// Line-rate seconds carried by earlier, ended boosts (0.5 = half the line for a second).
    carried: f64,
    /// The boost running now: its share of the line rate and since when.
    running: Option<(f64, Instant)>,
}

impl Boost {
    fn line_seconds(&self) -> f64 {
        self.carried
            + self
                .running
                .map_or(0.0, |(share, since)| share * since.elapsed().as_secs_f64())
    }

    /// Ends the running boost, keeping what it carried.
    fn stop(&mut self) {
        self.carried = self.line_seconds();
        self.running = None;
    }
}

/// One device's view of the fleet's [`Dynamics`], handed to its shell.
#[derive(Debug, Clone)]
pub struct LiveDevice {
    /// The fleet's live state.
    pub dynamics: Arc<Dynamics>,
    /// Which device this is.
    pub index: usize,
}

/// The state of one interface as `show ip interface brief` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceState {
    /// `GigabitEthernet1/0/1`.
    pub name: String,
    /// `up`, `down` or `administratively down`.
    pub status: &'static str,
}

impl Dynamics {
    pub(crate) fn new(
        devices: &[Device],
        config: DynamicsConfig,
        seed: u64,
        drift: Vec<Vec<crate::Drift>>,
    ) -> Result<Self, DevsimError> {
        let mut flapping = vec![false; devices.len()];
        if let Some(flap) = &config.flap {
            check_percent("flap", flap.percent)?;
            if flap.period < Duration::from_millis(100) {
                return Err(DevsimError::InvalidConfig {
                    reason: format!(
                        "flap period {:?} is shorter than 100ms; devices would flap faster than any poll",
                        flap.period
                    ),
                });
            }
            for index in seeded_subset(devices.len(), flap.percent, flap.seed, 17) {
                flapping[index] = true;
            }
        }
        if let Some(cpu) = &config.cpu
            && cpu.spike_percent > 100
        {
            return Err(DevsimError::InvalidConfig {
                reason: format!("CPU spike chance {} is outside 0..=100", cpu.spike_percent),
            });
        }
        Ok(Dynamics {
            config,
            started: Instant::now(),
            by_name: devices.iter().map(|d| (d.name.clone(), d.index)).collect(),
            names: devices.iter().map(|d| d.name.clone()).collect(),
            forced: devices.iter().map(|_| Mutex::default()).collect(),
            flapping,
            seed,
            drift,
            churn: crate::churn::ConfigChurn::new(devices.len()),
            traffic: devices.iter().map(|_| Mutex::default()).collect(),
        })
    }

    /// The fleet's configuration churn: change devices' configurations, move stamps.
    pub fn churn(&self) -> &crate::churn::ConfigChurn {
        &self.churn
    }

    /// The index of the device called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Whether device `index` flaps on the schedule.
    pub fn flaps_on_schedule(&self, index: usize) -> bool {
        self.flapping.get(index).copied().unwrap_or(false)
    }

    fn forced(&self, index: usize) -> Option<MutexGuard<'_, Forced>> {
        // A poisoned lock only means a panic elsewhere mid-update of plain data; keep serving.
        self.forced
            .get(index)
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Forces `interface` of device `index` down (`up == false`) or up until cleared. Fails if
    /// the device has no such interface.
    pub fn set_link(&self, index: usize, interface: &str, up: bool) -> Result<(), String> {
        let name = self.device_name(index)?;
        let model = self.model(index, &name);
        if !model.interfaces.iter().any(|i| i.name == interface) {
            return Err(format!("device {name} has no interface {interface:?}"));
        }
        if let Some(mut forced) = self.forced(index) {
            forced.links.insert(interface.to_string(), up);
        }
        Ok(())
    }

    /// Shows `percent` as device `index`'s five-second CPU until cleared with `None`.
    pub fn set_cpu(&self, index: usize, percent: Option<u8>) -> Result<(), String> {
        self.device_name(index)?;
        if let Some(p) = percent.filter(|p| *p > 100) {
            return Err(format!("CPU {p}% is above 100%"));
        }
        if let Some(mut forced) = self.forced(index) {
            forced.cpu = percent;
        }
        Ok(())
    }

    /// Pushes `percent` of the line rate through `interface` of device `index`, on top of its
    /// usual traffic, until cleared with `None` (its octet counters climb faster, so a poller
    /// sees its utilisation rise). Fails if the device has no such interface.
    pub fn set_traffic(
        &self,
        index: usize,
        interface: &str,
        percent: Option<u8>,
    ) -> Result<(), String> {
        let name = self.device_name(index)?;
        let model = self.model(index, &name);
        if !model.interfaces.iter().any(|i| i.name == interface) {
            return Err(format!("device {name} has no interface {interface:?}"));
        }
        if let Some(p) = percent.filter(|p| *p > 100) {
            return Err(format!("traffic {p}% is above 100% of the line rate"));
        }
        let mut boosts = self.boosts(index);
        let boost = boosts.entry(interface.to_string()).or_default();
        boost.stop();
        boost.running = percent.map(|p| (f64::from(p) / 100.0, Instant::now()));
        Ok(())
    }

    /// Line-rate seconds of extra traffic `interface` of device `index` has carried so far:
    /// the SNMP agent adds this times the line rate to its octet counters.
    pub fn extra_traffic(&self, index: usize, interface: &str) -> f64 {
        self.traffic.get(index).map_or(0.0, |m| {
            m.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(interface)
                .map_or(0.0, Boost::line_seconds)
        })
    }

    fn boosts(&self, index: usize) -> MutexGuard<'_, BTreeMap<String, Boost>> {
        self.traffic[index]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Drops everything forced on device `index`; the schedule (if any) takes over again.
    pub fn clear(&self, index: usize) -> Result<(), String> {
        self.device_name(index)?;
        if let Some(mut forced) = self.forced(index) {
            *forced = Forced::default();
        }
        self.boosts(index).values_mut().for_each(Boost::stop);
        Ok(())
    }

    fn device_name(&self, index: usize) -> Result<String, String> {
        self.names
            .get(index)
            .cloned()
            .ok_or_else(|| format!("no device with index {index}"))
    }

    /// Device `index`'s interfaces as they are now.
    pub fn interfaces(&self, index: usize) -> Result<Vec<InterfaceState>, String> {
        let name = self.device_name(index)?;
        let mut model = self.model(index, &name);
        self.apply_links(index, &mut model);
        Ok(model
            .interfaces
            .iter()
            .map(|i| InterfaceState {
                name: i.name.clone(),
                status: show::status(i).0,
            })
            .collect())
    }

    /// The static model sessions of device `index` render from.
    fn model(&self, index: usize, name: &str) -> DeviceModel {
        DeviceModel::generate(name, self.seed)
            .drifted(self.drift.get(index).map_or(&[], Vec::as_slice))
    }

    /// Device `index`'s five-second CPU percentage now.
    pub fn cpu(&self, index: usize) -> Result<u8, String> {
        let name = self.device_name(index)?;
        Ok(self.cpu_now(index, &name).unwrap_or(STATIC_CPU))
    }

    /// Overwrites the model's link states with the scheduled and forced ones.
    fn apply_links(&self, index: usize, model: &mut DeviceModel) {
        if self.flaps_on_schedule(index)
            && let Some(flap) = &self.config.flap
        {
            let mut rng = Rng::new(&model.hostname, flap.seed, 18);
            // Flap an interface that is up in the static model, or the change would not show.
            let candidates: Vec<usize> = (0..model.interfaces.len())
                .filter(|&i| model.interfaces[i].is_up())
                .collect();
            if !candidates.is_empty() {
                let chosen = *rng.pick(&candidates);
                let period = flap.period.as_millis().max(1);
                let phase = u128::from(rng.below(period as u64));
                let at = (self.started.elapsed().as_millis() + phase) % period;
                model.interfaces[chosen].link_up = at >= period / 2;
            }
        }
        if let Some(forced) = self.forced(index) {
            for intf in &mut model.interfaces {
                if let Some(&up) = forced.links.get(&intf.name) {
                    intf.link_up = up;
                }
            }
        }
    }

    /// The five-second CPU now, or `None` when the device shows its static value.
    fn cpu_now(&self, index: usize, hostname: &str) -> Option<u8> {
        if let Some(percent) = self.forced(index).and_then(|f| f.cpu) {
            return Some(percent);
        }
        let cpu = self.config.cpu.as_ref()?;
        let window = self.started.elapsed().as_secs() / CPU_WINDOW.as_secs();
        let baseline = 2 + Rng::new(hostname, cpu.seed, 19).below(20);
        let mut rng = Rng::new(hostname, cpu.seed ^ window.rotate_left(23), 20);
        let value = if rng.chance(cpu.spike_percent) {
            85 + rng.below(15)
        } else {
            baseline + rng.below(8)
        };
        Some(value as u8)
    }
}

/// The five-second CPU the static `show processes cpu` prints.
const STATIC_CPU: u8 = 3;

impl LiveDevice {
    /// `show ip interface brief` with the scheduled and forced link states applied.
    pub(crate) fn ip_interface_brief(&self, model: &mut DeviceModel) -> String {
        let saved: Vec<bool> = model.interfaces.iter().map(|i| i.link_up).collect();
        self.dynamics.apply_links(self.index, model);
        let text = show::ip_interface_brief(model);
        // The shell's model stays the static one: only the live view changes.
        for (intf, up) in model.interfaces.iter_mut().zip(saved) {
            intf.link_up = up;
        }
        text
    }

    /// `show processes cpu` with the current CPU load in its utilisation line.
    pub(crate) fn processes_cpu(&self, model: &DeviceModel) -> String {
        let text = show::processes_cpu(model);
        let Some(five) = self.dynamics.cpu_now(self.index, &model.hostname) else {
            return text;
        };
        let (_, table) = text.split_once('\n').unwrap_or((&text, ""));
        // The one- and five-minute averages lag behind the five-second figure.
        let one = (u32::from(five) + 3 * 4) / 4;
        let five_min = (u32::from(five) + 7 * 5) / 8;
        format!(
            "CPU utilization for five seconds: {five}%/0%; one minute: {one}%; five minutes: {five_min}%\n{table}"
        )
    }
}

/// `show ip interface brief` for a shell that may or may not have live state.
pub(crate) fn ip_interface_brief(model: &mut DeviceModel, live: Option<&LiveDevice>) -> String {
    match live {
        Some(live) => live.ip_interface_brief(model),
        None => show::ip_interface_brief(model),
    }
}

/// `show processes cpu` for a shell that may or may not have live state.
pub(crate) fn processes_cpu(model: &DeviceModel, live: Option<&LiveDevice>) -> String {
    match live {
        Some(live) => live.processes_cpu(model),
        None => show::processes_cpu(model),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FleetConfig;
    use crate::device::plan_devices;

    fn dynamics(config: DynamicsConfig, count: usize) -> Arc<Dynamics> {
        let devices = plan_devices(&FleetConfig {
            count,
            ..FleetConfig::default()
        })
        .unwrap();
        Arc::new(Dynamics::new(&devices, config, 1, vec![Vec::new(); count]).unwrap())
    }

    fn five_seconds(text: &str) -> u32 {
        let rest = text
            .strip_prefix("CPU utilization for five seconds: ")
            .unwrap();
        rest[..rest.find('%').unwrap()].parse().unwrap()
    }

    #[test]
    fn without_config_or_forcing_output_is_the_static_model() {
        let live = LiveDevice {
            dynamics: dynamics(DynamicsConfig::default(), 3),
            index: 1,
        };
        let mut model = DeviceModel::generate("r00002", 1);
        assert_eq!(
            live.ip_interface_brief(&mut model),
            show::ip_interface_brief(&model)
        );
        assert_eq!(live.processes_cpu(&model), show::processes_cpu(&model));
    }

    #[test]
    fn forced_traffic_adds_up_and_stops_without_going_back() {
        let dynamics = dynamics(DynamicsConfig::default(), 3);
        assert!(dynamics.set_traffic(1, "Nope0", Some(50)).is_err());
        assert!(dynamics.set_traffic(1, "Loopback0", Some(101)).is_err());
        assert_eq!(dynamics.extra_traffic(1, "Loopback0"), 0.0);
        dynamics.set_traffic(1, "Loopback0", Some(100)).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let running = dynamics.extra_traffic(1, "Loopback0");
        assert!((0.19..1.0).contains(&running), "{running}");
        dynamics.clear(1).unwrap();
        let kept = dynamics.extra_traffic(1, "Loopback0");
        assert!(kept >= running);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(dynamics.extra_traffic(1, "Loopback0"), kept);
        assert_eq!(dynamics.extra_traffic(0, "Loopback0"), 0.0);
    }

    #[test]
    fn forced_link_and_cpu_show_until_cleared() {
        let dynamics = dynamics(DynamicsConfig::default(), 3);
        let live = LiveDevice {
            dynamics: dynamics.clone(),
            index: 2,
        };
        let mut model = DeviceModel::generate("r00003", 1);
        let line = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("Loopback0 "))
                .unwrap()
                .to_string()
        };
        assert!(line(&live.ip_interface_brief(&mut model)).ends_with(" up                    up"));
        dynamics.set_link(2, "Loopback0", false).unwrap();
        dynamics.set_cpu(2, Some(97)).unwrap();
        let brief = live.ip_interface_brief(&mut model);
        assert!(
            line(&brief).ends_with(" down                  down"),
            "{brief}"
        );
        assert_eq!(five_seconds(&live.processes_cpu(&model)), 97);
        // Other devices are untouched, and the shell's own model keeps its static state.
        assert!(
            model
                .interfaces
                .iter()
                .any(|i| i.name == "Loopback0" && i.link_up)
        );
        assert_eq!(dynamics.cpu(1).unwrap(), STATIC_CPU);
        let states = dynamics.interfaces(2).unwrap();
        assert!(
            states
                .iter()
                .any(|s| s.name == "Loopback0" && s.status == "down")
        );
        dynamics.clear(2).unwrap();
        assert!(line(&live.ip_interface_brief(&mut model)).ends_with(" up                    up"));
        assert_eq!(live.processes_cpu(&model), show::processes_cpu(&model));
        assert!(dynamics.set_link(2, "Serial9/9", false).is_err());
        assert!(dynamics.set_cpu(2, Some(101)).is_err());
        assert!(dynamics.set_cpu(7, Some(50)).is_err());
    }

    #[test]
    fn scheduled_flaps_go_down_and_come_back() {
        let dynamics = dynamics(
            DynamicsConfig {
                flap: Some(FlapSchedule {
                    percent: 100.0,
                    period: Duration::from_millis(400),
                    seed: 5,
                }),
                cpu: None,
            },
            2,
        );
        assert!(dynamics.flaps_on_schedule(0));
        let down_count = |d: &Dynamics| {
            d.interfaces(0)
                .unwrap()
                .iter()
                .filter(|s| s.status == "down")
                .count()
        };
        let mut seen = std::collections::BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(3);
        while seen.len() < 2 && Instant::now() < deadline {
            seen.insert(down_count(&dynamics));
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(seen.len(), 2, "the down count never changed: {seen:?}");
    }

    #[test]
    fn scheduled_cpu_varies_within_bounds_and_spikes() {
        let dynamics = dynamics(
            DynamicsConfig {
                flap: None,
                cpu: Some(CpuVariation {
                    spike_percent: 30,
                    seed: 9,
                }),
            },
            200,
        );
        let values: Vec<u8> = (0..200).map(|i| dynamics.cpu(i).unwrap()).collect();
        assert!(values.iter().all(|v| (2..100).contains(v)), "{values:?}");
        assert!(values.iter().any(|v| *v >= 85), "no spike in 200 devices");
        assert!(values.iter().any(|v| *v < 30), "no device at its baseline");
        assert!(
            Dynamics::new(
                &plan_devices(&FleetConfig::default()).unwrap(),
                DynamicsConfig {
                    flap: None,
                    cpu: Some(CpuVariation {
                        spike_percent: 101,
                        seed: 1
                    }),
                },
                1,
                vec![],
            )
            .is_err()
        );
    }
}
