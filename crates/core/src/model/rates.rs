//! Rates from two cumulative counters. A counter that went backwards (a VM restarted, a device
//! was replaced) gives "unknown", never a negative or absurd rate.

/// Per-second rate between two readings `dt` seconds apart.
pub fn per_second(prev: Option<u64>, cur: Option<u64>, dt: f64) -> Option<f64> {
    match (prev, cur) {
        (Some(p), Some(c)) if c >= p && dt > 0.0 => Some((c - p) as f64 / dt),
        _ => None,
    }
}

/// CPU use in percent of `cpus` CPUs from cumulative CPU nanoseconds.
pub fn cpu_percent(prev_ns: Option<u64>, cur_ns: Option<u64>, dt: f64, cpus: u32) -> Option<f64> {
    if cpus == 0 {
        return None;
    }
    per_second(prev_ns, cur_ns, dt)
        .map(|ns_per_s| (ns_per_s / 1e9 / f64::from(cpus) * 100.0).min(100.0))
}

/// A ratio that is "unknown" when its denominator is.
pub fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_growing_counter() {
        assert_eq!(per_second(Some(100), Some(300), 2.0), Some(100.0));
    }

    #[test]
    fn reset_counter_is_unknown() {
        assert_eq!(per_second(Some(300), Some(100), 2.0), None);
        assert_eq!(per_second(None, Some(100), 2.0), None);
        assert_eq!(per_second(Some(1), Some(2), 0.0), None);
    }

    #[test]
    fn cpu_percent_of_vcpus() {
        // 1 s of CPU time in 2 s on 2 vCPUs: a quarter of the VM's capacity.
        assert_eq!(
            cpu_percent(Some(0), Some(1_000_000_000), 2.0, 2),
            Some(25.0)
        );
        assert_eq!(cpu_percent(Some(0), Some(1_000_000_000), 2.0, 0), None);
        // Jitter between sample time and counter read never shows more than 100%.
        assert_eq!(
            cpu_percent(Some(0), Some(2_100_000_000), 2.0, 1),
            Some(100.0)
        );
    }
}
