//! Reconnect back-off: a down host is retried after a wait that doubles with each failure up
//! to a cap, so a host that stays down costs little, and starts short again once the host
//! answers or the operator asks for a retry.

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
        Backoff {
            start: t.backoff_start,
            cap: t.backoff_cap,
            delay: t.backoff_start,
            attempts: 0,
        }
    }

    /// The host answered: the next failure starts the schedule over.
    pub(super) fn succeeded(&mut self) {
        self.delay = self.start;
        self.attempts = 0;
    }

    /// Counts a failure; returns how long to wait and the schedule to show.
    pub(super) fn failed(&mut self) -> (Duration, Retry) {
        self.attempts = self.attempts.saturating_add(1);
        let retry = Retry {
            attempts: self.attempts,
            at: Instant::now() + self.delay,
        };
        (self.delay, retry)
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
        let mut waits = Vec::new();
        for _ in 0..4 {
            let (d, _) = b.failed();
            waits.push(d);
            b.waited(false);
        }
        assert_eq!(waits, [s, 2 * s, 4 * s, 4 * s]);
        assert_eq!(b.failed().1.attempts, 5);
        b.waited(true);
        assert_eq!(b.failed().0, s, "a retry now starts the waits over");
        b.succeeded();
        let (d, r) = b.failed();
        assert_eq!((d, r.attempts), (s, 1));
    }
}
