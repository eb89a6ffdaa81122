//! Reconnect back-off: a down host is retried after a wait that doubles with each failure up
//! to a cap, so a host that stays down costs little, and starts short again once the host
//! answers or the operator asks for a retry. Each wait is drawn between half the delay and the
//! delay, so hosts that went down together (a network blip) do not all come back together.

use super::jitter::Rng;
use super::timing::Timing;
use fleetwatch_core::link::Retry;
use std::time::{Duration, Instant};

pub(super) struct Backoff {
    start: Duration,
    cap: Duration,
    delay: Duration,
    /// Failures in a row, shown with the error so the operator sees a host that keeps failing.
    attempts: u32,
}

impl Backoff {
    pub(super) fn new(t: &Timing) -> Backoff {
        // A zero wait would retry a refusing host in a busy loop.
        let start = t.backoff_start.max(Duration::from_millis(1));
        Backoff {
            start,
            cap: t.backoff_cap.max(start),
            delay: start,
            attempts: 0,
        }
    }

    /// The host answered: the next failure starts the schedule over.
    pub(super) fn succeeded(&mut self) {
        self.delay = self.start;
        self.attempts = 0;
    }

    /// Counts a failure at `now`; returns the schedule to show, whose `at` is when the next
    /// attempt is due.
    pub(super) fn failed(&mut self, rng: &mut Rng, now: Instant) -> Retry {
        self.attempts = self.attempts.saturating_add(1);
        Retry {
            attempts: self.attempts,
            at: now + rng.between(self.delay / 2, self.delay),
        }
    }

    /// After the wait: a retry the operator asked for waits short again if it fails, one that
    /// waited out the delay waits twice as long.
    pub(super) fn waited(&mut self, cut_short: bool) {
        self.delay = if cut_short {
            self.start
        } else {
            (self.delay * 2).min(self.cap)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_to_the_cap_and_starts_over_on_success_or_a_retry_now() {
        let s = Duration::from_secs(1);
        let mut t = Timing::new(s, s);
        t.backoff_cap = 4 * s;
        let mut b = Backoff::new(&t);
        let mut rng = Rng::for_host(0, 1);
        let now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..4 {
            waits.push(b.failed(&mut rng, now).at - now);
            b.waited(false);
        }
        for (w, d) in waits.iter().zip([s, 2 * s, 4 * s, 4 * s]) {
            assert!(d / 2 <= *w && *w <= d, "{w:?} outside [{:?}, {d:?}]", d / 2);
        }
        assert_eq!(b.failed(&mut rng, now).attempts, 5);
        b.waited(true);
        assert!(
            b.failed(&mut rng, now).at - now <= s,
            "a retry now starts over"
        );
        b.succeeded();
        let r = b.failed(&mut rng, now);
        assert!(r.at - now <= s && r.attempts == 1, "{r:?}");
    }

    #[test]
    fn hosts_that_fail_together_retry_apart() {
        let s = Duration::from_secs(8);
        let t = Timing::new(s, s);
        let now = Instant::now();
        let waits: std::collections::BTreeSet<Duration> = (0..100)
            .map(|h| Backoff::new(&t).failed(&mut Rng::for_host(h, 9), now).at - now)
            .collect();
        // Without jitter all hundred would wait the same 1 s.
        assert!(waits.len() > 90, "{} distinct waits", waits.len());
        let (lo, hi) = (waits.first().copied(), waits.last().copied());
        assert!(
            lo.zip(hi)
                .is_some_and(|(lo, hi)| hi - lo > Duration::from_millis(250))
        );
    }
}
