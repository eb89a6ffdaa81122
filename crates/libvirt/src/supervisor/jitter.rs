//! A tiny PRNG that keeps hosts out of step: each host draws its place in the poll interval and
//! its back-off waits from its own generator, seeded from its index and the process's start, so
//! neither the hosts of one fleetwatch nor two fleetwatch processes fall into lockstep. Not for
//! anything that needs unpredictability.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// splitmix64: a few lines, no dependency, and good enough for spreading timers.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn for_host(host: usize, salt: u64) -> Rng {
        let mut r = Rng(salt ^ (host as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        // The first outputs of nearby seeds are alike: stir before use.
        r.next_u64();
        r
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fraction in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A duration in [lo, hi] (lo when hi is not above it).
    pub(super) fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        match hi.checked_sub(lo) {
            Some(span) if !span.is_zero() => lo + span.mul_f64(self.unit()),
            _ => lo,
        }
    }
}

/// Differs between processes and runs, so two fleetwatch started together spread differently.
pub(super) fn process_salt() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_bounds_and_hosts_differ() {
        let (lo, hi) = (Duration::from_millis(500), Duration::from_secs(1));
        let mut r = Rng::for_host(3, 42);
        for _ in 0..10_000 {
            let d = r.between(lo, hi);
            assert!(lo <= d && d <= hi, "{d:?}");
            let u = r.unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
        assert_eq!(r.between(hi, lo), hi, "an empty range is its low end");
        let firsts: std::collections::HashSet<u64> = (0..1_000)
            .map(|h| Rng::for_host(h, 42).next_u64())
            .collect();
        assert_eq!(firsts.len(), 1_000, "neighbouring hosts draw differently");
    }

    #[test]
    fn the_same_seed_draws_the_same() {
        let a: Vec<u64> = (0..5).map(|_| Rng::for_host(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
    }
}
