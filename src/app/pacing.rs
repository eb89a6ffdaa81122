//! When to draw. Collector messages come hundreds a second at fleet scale and each used to cost
//! a frame; now changes are gathered and drawn at most `MIN_GAP` apart, a key is drawn at once
//! (the operator waits for it), and with nothing new the screen is still drawn once a `TICK` so
//! ages and countdowns move. A frame whose picture did not change sends nothing (`Quiet`).

use std::time::{Duration, Instant};

/// At most ten frames a second for changes from the fleet: faster than anyone reads a table.
pub const MIN_GAP: Duration = Duration::from_millis(100);
/// The shown ages ("12s ago") and retry countdowns count in seconds.
pub const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Pacer {
    last: Option<Instant>,
    changed: bool,
    urgent: bool,
}

impl Pacer {
    /// Something shown may have changed: draw within `MIN_GAP`.
    pub fn changed(&mut self) {
        self.changed = true;
    }

    /// The operator did something: draw now.
    pub fn input(&mut self) {
        self.urgent = true;
    }

    /// When the next frame is due; `None` is now.
    pub fn next_at(&self) -> Option<Instant> {
        match self.last {
            None => None,
            Some(_) if self.urgent => None,
            Some(last) if self.changed => Some(last + MIN_GAP),
            Some(last) => Some(last + TICK),
        }
    }

    pub fn due(&self, now: Instant) -> bool {
        self.next_at().is_none_or(|at| at <= now)
    }

    pub fn drawn(&mut self, at: Instant) {
        self.last = Some(at);
        self.changed = false;
        self.urgent = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_changes_costs_one_frame_per_gap() {
        let mut p = Pacer::default();
        let t0 = Instant::now();
        assert!(p.due(t0), "the first frame is due at once");
        p.drawn(t0);
        let mut frames = 0;
        // 250 messages a second for one second, 4 ms apart.
        for i in 1..=250u32 {
            let now = t0 + Duration::from_millis(4 * u64::from(i));
            p.changed();
            if p.due(now) {
                frames += 1;
                p.drawn(now);
            }
        }
        assert!(
            (9..=10).contains(&frames),
            "{frames} frames for a second of changes"
        );
    }

    #[test]
    fn a_key_is_drawn_at_once_and_quiet_waits_a_tick() {
        let mut p = Pacer::default();
        let t0 = Instant::now();
        p.drawn(t0);
        assert!(
            !p.due(t0 + MIN_GAP),
            "nothing changed: no frame before the tick"
        );
        assert!(p.due(t0 + TICK), "the tick redraws ages");
        p.input();
        assert!(p.due(t0 + Duration::from_millis(1)), "a key does not wait");
        p.drawn(t0 + Duration::from_millis(1));
        p.changed();
        assert!(!p.due(t0 + Duration::from_millis(50)));
        assert!(p.due(t0 + Duration::from_millis(101)));
    }
}
