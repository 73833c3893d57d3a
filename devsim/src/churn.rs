//! Configuration churn, for testing backups: devices whose configuration really changes over
//! time, and (separately) stamps in `show running-config` that move every time it is shown
//! without the configuration changing. A backup must record the first and ignore the second.
//!
//! Both are off until asked for: with neither, every device prints exactly
//! [`crate::running_config`] as before.

use crate::device::seeded_subset;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Stream of the seeded choice of churned devices, apart from drift's and flaps'.
const CHURN_STREAM: u64 = 31;

#[derive(Debug)]
pub struct ConfigChurn {
    /// Changes made to each device so far; 0 is the configuration as generated.
    generations: Vec<AtomicU32>,
    /// Churn steps taken, so each step picks its own devices.
    steps: AtomicU64,
    /// `show running-config` prints stamps that move every time it is shown.
    moving_stamps: AtomicBool,
    /// Configurations shown so far, so two showings never print the same stamps.
    shown: AtomicU64,
}

impl ConfigChurn {
    pub(crate) fn new(devices: usize) -> Self {
        ConfigChurn {
            generations: (0..devices).map(|_| AtomicU32::new(0)).collect(),
            steps: AtomicU64::new(0),
            moving_stamps: AtomicBool::new(false),
            shown: AtomicU64::new(0),
        }
    }

    /// Changes the configuration of `percent` of the devices (rounded to whole devices), chosen
    /// by `seed` and the number of steps taken before; returns their indexes, sorted.
    pub fn step(&self, percent: f64, seed: u64) -> Vec<usize> {
        let step = self.steps.fetch_add(1, Ordering::Relaxed);
        let mut chosen = seeded_subset(
            self.generations.len(),
            percent.clamp(0.0, 100.0),
            seed.wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            CHURN_STREAM,
        );
        chosen.sort_unstable();
        for &index in &chosen {
            self.generations[index].fetch_add(1, Ordering::Relaxed);
        }
        chosen
    }

    /// Whether timestamps move on every showing (`! NVRAM config last updated`,
    /// `ntp clock-period`, and so `Current configuration : N bytes`).
    pub fn set_moving_stamps(&self, on: bool) {
        self.moving_stamps.store(on, Ordering::Relaxed);
    }

    /// How many times device `index`'s configuration has changed.
    pub fn generation(&self, index: usize) -> u32 {
        self.generations
            .get(index)
            .map_or(0, |g| g.load(Ordering::Relaxed))
    }

    /// The configuration device `index` shows now: `config` with its changes and, if asked
    /// for, stamps of this moment.
    pub(crate) fn render(&self, index: usize, config: String) -> String {
        let generation = self.generation(index);
        let moving = self.moving_stamps.load(Ordering::Relaxed);
        if generation == 0 && !moving {
            return config;
        }
        let mut inserted = Vec::new();
        if generation > 0 {
            // A real configuration line, different for every change.
            inserted.push(format!(
                "ip host devsim-change-{generation} 10.255.{}.{}",
                (generation >> 8) & 0xff,
                generation & 0xff
            ));
        }
        let mut lines: Vec<String> = config.lines().map(str::to_string).collect();
        if moving {
            let shown = self.shown.fetch_add(1, Ordering::Relaxed);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let stamp = format!(
                "{:02}:{:02}:{:02}.{:03} UTC",
                now.as_secs() / 3600 % 24,
                now.as_secs() / 60 % 60,
                now.as_secs() % 60,
                (now.subsec_millis() + shown as u32) % 1000
            );
            for line in &mut lines {
                if line.starts_with("! NVRAM config last updated at ") {
                    *line = format!("! NVRAM config last updated at {stamp} by admin");
                }
            }
            inserted.push(format!("ntp clock-period {}", 17_179_869 + shown));
        }
        let at = lines
            .iter()
            .position(|l| l.starts_with("hostname ") || l.contains("host-name "))
            .map_or(lines.len(), |i| i + 1);
        lines.splice(at..at, inserted);
        let mut text = lines.join("\n");
        text.push('\n');
        recount(text)
    }
}

/// `Current configuration : N bytes` counts what follows it, as IOS prints it.
fn recount(text: String) -> String {
    const HEADER: &str = "Current configuration : ";
    let Some(start) = text.find(HEADER) else {
        return text;
    };
    let Some(end) = text[start..].find('\n').map(|e| start + e + 1) else {
        return text;
    };
    let body = text.len() - end;
    format!("{}{HEADER}{body} bytes\n{}", &text[..start], &text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_churn_the_configuration_is_untouched() {
        let churn = ConfigChurn::new(3);
        let config = crate::running_config("r00001", 1);
        assert_eq!(churn.render(0, config.clone()), config);
    }

    #[test]
    fn a_step_changes_the_chosen_share_and_only_them() {
        let churn = ConfigChurn::new(200);
        let first = churn.step(5.0, 7);
        assert_eq!(first.len(), 10);
        let second = churn.step(5.0, 7);
        assert_eq!(second.len(), 10);
        assert_ne!(first, second, "each step picks its own devices");
        let config = crate::running_config("r00001", 1);
        for index in 0..200 {
            let changed = first.contains(&index) || second.contains(&index);
            let shown = churn.render(index, config.clone());
            assert_eq!(shown != config, changed, "device {index}");
        }
        let twice = first.iter().find(|i| second.contains(i));
        if let Some(&index) = twice {
            assert!(
                churn
                    .render(index, config.clone())
                    .contains("devsim-change-2")
            );
        }
    }

    #[test]
    fn moving_stamps_differ_every_showing_and_the_byte_count_follows() {
        let churn = ConfigChurn::new(1);
        churn.set_moving_stamps(true);
        let config = crate::running_config("r00001", 1);
        let (a, b) = (churn.render(0, config.clone()), churn.render(0, config));
        assert_ne!(a, b);
        assert!(a.contains("ntp clock-period 17179869\n"), "{a}");
        assert!(b.contains("ntp clock-period 17179870\n"));
        let header = a
            .lines()
            .find(|l| l.starts_with("Current configuration"))
            .unwrap();
        let end = a.find(header).unwrap() + header.len() + 1;
        assert_eq!(
            header,
            format!("Current configuration : {} bytes", a.len() - end)
        );
    }
}
