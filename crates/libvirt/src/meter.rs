//! What a poll's libvirt calls cost and whether they still move: the supervisor gives a host up
//! only when no call has completed for the whole timeout, so a far host that answers every call
//! slowly stays up, while one that hangs in a call goes down on time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a job last completed a libvirt call, shared between the call thread (which beats) and
/// the scheduler (which keeps the deadline). Cloning shares the same clock.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    origin: Instant,
    /// Microseconds after `origin` of the last beat; atomics, so neither side ever blocks.
    last: Arc<AtomicU64>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::new()
    }
}

impl Heartbeat {
    /// A heartbeat whose last beat is now.
    pub fn new() -> Heartbeat {
        Heartbeat {
            origin: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records progress: a call completed just now.
    pub fn beat(&self) {
        let us = u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last.fetch_max(us, Ordering::Relaxed);
    }

    pub fn last(&self) -> Instant {
        self.origin + Duration::from_micros(self.last.load(Ordering::Relaxed))
    }
}

/// Counts and times one poll's libvirt calls where they are made, and beats the heartbeat after
/// each one.
#[derive(Debug)]
pub struct Meter<'a> {
    beat: &'a Heartbeat,
    /// Round trips made so far.
    pub calls: u32,
    /// The quickest call that was a single round trip: the best estimate of the RTT this poll.
    pub fastest: Option<Duration>,
}

impl<'a> Meter<'a> {
    pub fn new(beat: &'a Heartbeat) -> Meter<'a> {
        Meter {
            beat,
            calls: 0,
            fastest: None,
        }
    }

    /// A call that is one round trip.
    pub fn rpc<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.rpcs(1, f)
    }

    /// A call that makes `n` round trips; only single ones say what a round trip costs.
    pub fn rpcs<T>(&mut self, n: u32, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        self.calls = self.calls.saturating_add(n);
        if n == 1 {
            self.fastest = Some(self.fastest.map_or(took, |f| f.min(took)));
        }
        self.beat.beat();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_move_the_last_progress_forward_only() {
        let h = Heartbeat::new();
        let first = h.last();
        std::thread::sleep(Duration::from_millis(5));
        h.clone().beat();
        assert!(h.last() >= first + Duration::from_millis(5));
    }

    #[test]
    fn meter_counts_round_trips_and_keeps_the_fastest_single_one() {
        let h = Heartbeat::new();
        let mut m = Meter::new(&h);
        m.rpcs(2, || std::thread::sleep(Duration::from_millis(1)));
        assert_eq!((m.calls, m.fastest), (2, None));
        let v = m.rpc(|| 7);
        m.rpc(|| std::thread::sleep(Duration::from_millis(3)));
        assert_eq!((v, m.calls), (7, 4));
        assert!(m.fastest.unwrap() < Duration::from_millis(3));
    }
}
