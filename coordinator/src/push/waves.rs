//! Which hosts go in which wave: the canaries first, then each wave up to where `--waves` says
//! it ends, as a share of all hosts (`10%`) or a host count (`30`). The last wave must reach
//! every host, so no host is silently left out of a rollout.

/// The waves as (name, host indexes), in order; hosts keep the inventory's order.
pub fn plan(
    total: usize,
    canary: usize,
    ends: &[String],
) -> Result<Vec<(String, Vec<usize>)>, String> {
    if canary > total {
        return Err(format!(
            "--canary {canary} is more than the {total} selected hosts"
        ));
    }
    let mut bounds = Vec::new();
    for end in ends {
        let text = end.trim();
        let bound = match text.strip_suffix('%') {
            Some(percent) => {
                let p: f64 = percent
                    .trim()
                    .parse()
                    .ok()
                    .filter(|p: &f64| *p > 0.0 && *p <= 100.0)
                    .ok_or_else(|| format!("--waves {text:?}: a share is 1% to 100%"))?;
                ((total as f64) * p / 100.0).ceil() as usize
            }
            None => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--waves {text:?}: give a share (10%) or a host count"))?
                .min(total),
        };
        bounds.push(bound);
    }
    if bounds.windows(2).any(|w| w[1] < w[0]) {
        return Err(format!(
            "--waves {}: each wave must end at or after the one before",
            ends.join(",")
        ));
    }
    if let Some(&last) = bounds.last()
        && last < total
    {
        return Err(format!(
            "--waves {}: the last wave ends at host {last} of {total}; end it at 100% so every host is reached",
            ends.join(",")
        ));
    }
    if bounds.is_empty() {
        bounds.push(total);
    }
    let mut waves = Vec::new();
    if canary > 0 {
        waves.push(("canary".to_string(), (0..canary).collect()));
    }
    let mut start = canary;
    for bound in bounds {
        if bound <= start {
            continue;
        }
        let name = format!(
            "wave {}",
            waves
                .iter()
                .filter(|(n, _): &&(String, Vec<usize>)| n != "canary")
                .count()
                + 1
        );
        waves.push((name, (start..bound).collect()));
        start = bound;
    }
    Ok(waves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(waves: &[(String, Vec<usize>)]) -> Vec<(String, usize)> {
        waves.iter().map(|(n, m)| (n.clone(), m.len())).collect()
    }

    fn ends(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn canary_then_cumulative_shares() {
        let waves = plan(300, 5, &ends(&["10%", "50%", "100%"])).unwrap();
        assert_eq!(
            sizes(&waves),
            [
                ("canary".to_string(), 5),
                ("wave 1".to_string(), 25),
                ("wave 2".to_string(), 120),
                ("wave 3".to_string(), 150)
            ]
        );
        assert_eq!(waves[1].1[0], 5);
        assert_eq!(waves[3].1.last(), Some(&299));
    }

    #[test]
    fn counts_and_one_wave_by_default() {
        assert_eq!(
            sizes(&plan(10, 0, &[]).unwrap()),
            [("wave 1".to_string(), 10)]
        );
        let waves = plan(10, 2, &ends(&["4", "10"])).unwrap();
        assert_eq!(
            sizes(&waves)[1..],
            [("wave 1".to_string(), 2), ("wave 2".to_string(), 6)]
        );
    }

    #[test]
    fn a_rollout_that_leaves_hosts_out_is_refused() {
        assert!(plan(10, 0, &ends(&["50%"])).unwrap_err().contains("100%"));
        assert!(plan(10, 0, &ends(&["50%", "20%", "100%"])).is_err());
        assert!(plan(10, 11, &[]).is_err());
        assert!(plan(10, 0, &ends(&["x"])).is_err());
        assert!(plan(10, 0, &ends(&["0%"])).is_err());
    }
}
