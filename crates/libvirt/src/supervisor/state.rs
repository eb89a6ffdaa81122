//! One host's place in the schedule, as the scheduler keeps it: what it is doing, when its
//! polls fall, its back-off, and the calls of it left hung.

use super::actions::ActorSlot;
use super::backoff::Backoff;
use super::jitter::Rng;
use super::jobs::Watch;
use super::timing::Timing;
use crate::source::Source;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// First connects are spread over the interval, but over no more than this: with an interval
/// of an hour, the operator should still see every host within seconds.
const FIRST_SPREAD_MAX: Duration = Duration::from_secs(5);

pub(super) enum Phase {
    /// Before its first connect, which waits for the host's offset in the interval.
    Starting,
    /// Down, waiting out the back-off before the next connect.
    Backoff,
    /// Due to connect, waiting for one of the connect slots.
    WaitingForSlot,
    Connecting {
        ticket: u64,
        watch: Arc<Watch>,
    },
    /// Connected between polls: its source is home.
    Idle(Box<dyn Source>),
    Polling {
        ticket: u64,
        watch: Arc<Watch>,
        /// When the poll was handed to the pool: the next is timed from its start.
        started: Instant,
        stale_at: Instant,
    },
    /// Let go: its connection is being closed on a call thread (closing a remote connection
    /// is a round trip, which may hang like any other).
    Closing {
        ticket: u64,
        watch: Arc<Watch>,
    },
    /// Not watched: no connection, no timer, no message.
    Parked,
}

pub(super) struct HostState {
    pub(super) uri: Arc<str>,
    pub(super) phase: Phase,
    pub(super) backoff: Backoff,
    pub(super) rng: Rng,
    /// Its polls fall on `anchor` + k·interval: each host keeps its own offset in the
    /// interval, so the fleet's polls stay spread instead of falling into step.
    pub(super) anchor: Instant,
    /// The generation of the host's one live timer; older timers of it are ignored.
    pub(super) timer: u64,
    /// Calls of this host given up on and not returned yet.
    pub(super) hung: usize,
    pub(super) actor: ActorSlot,
    /// Whether the host is to be watched; one let go while a call of it is in flight parks
    /// when that call ends.
    pub(super) watched: bool,
}

impl HostState {
    /// A host about to start, and when its first connect is due: at its own place in the
    /// interval, drawn once, which its polls keep from then on.
    pub(super) fn new(
        uri: &str,
        actor: ActorSlot,
        t: &Timing,
        mut rng: Rng,
    ) -> (HostState, Instant) {
        let now = Instant::now();
        let place = if t.spread { rng.unit() } else { 0.0 };
        let host = HostState {
            uri: Arc::from(uri),
            phase: Phase::Starting,
            backoff: Backoff::new(t),
            rng,
            anchor: now + t.interval.mul_f64(place),
            timer: 0,
            hung: 0,
            actor,
            watched: true,
        };
        (host, now + t.interval.min(FIRST_SPREAD_MAX).mul_f64(place))
    }

    /// The ticket of the job in flight, if any.
    pub(super) fn ticket(&self) -> Option<u64> {
        match &self.phase {
            Phase::Connecting { ticket, .. }
            | Phase::Polling { ticket, .. }
            | Phase::Closing { ticket, .. } => Some(*ticket),
            _ => None,
        }
    }

    /// The next poll after one that started at `started` and ended at `now`: the first of the
    /// host's own times at least half an interval after its start, so a poll asked for by the
    /// operator is not followed by another right after it; at once if that time has passed.
    /// Timed from the end instead, a far host whose poll takes more than half the interval
    /// (three round trips and an XML read at 200 ms) lost every other time and was polled
    /// every 4 s at a 2 s interval.
    pub(super) fn next_poll(
        &mut self,
        started: Instant,
        now: Instant,
        interval: Duration,
    ) -> Instant {
        let earliest = started + interval / 2;
        if interval.is_zero() || self.anchor >= earliest {
            return self.anchor.max(now);
        }
        let behind = (earliest - self.anchor).as_nanos();
        let steps = behind.div_ceil(interval.as_nanos());
        let ahead = u32::try_from(steps)
            .ok()
            .and_then(|k| interval.checked_mul(k))
            .and_then(|d| self.anchor.checked_add(d));
        // Moving the anchor along keeps the step count small however long the host runs.
        self.anchor = ahead.unwrap_or(earliest);
        self.anchor.max(now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::timing::Timing;
    use super::*;

    fn host(anchor: Instant) -> HostState {
        let t = Timing::new(Duration::from_secs(2), Duration::from_secs(10));
        HostState {
            uri: Arc::from("test:///default"),
            phase: Phase::Starting,
            backoff: Backoff::new(&t),
            rng: Rng::for_host(0, 0),
            anchor,
            timer: 0,
            hung: 0,
            actor: ActorSlot::default(),
            watched: true,
        }
    }

    #[test]
    fn polls_keep_the_hosts_own_offset() {
        let s = Duration::from_secs(2);
        let t0 = Instant::now();
        let mut h = host(t0 + Duration::from_millis(700));
        let ms = |n| t0 + Duration::from_millis(n);
        // A quick poll at its time: the next one a whole interval on.
        assert_eq!(h.next_poll(ms(700), ms(710), s), ms(2_700));
        // A far host's poll taking more than half the interval keeps its next time.
        assert_eq!(h.next_poll(ms(2_700), ms(4_300), s), ms(4_700));
        // A poll that ran past its next time: the next one at once, then its own times again.
        assert_eq!(h.next_poll(ms(4_700), ms(7_000), s), ms(7_000));
        assert_eq!(h.next_poll(ms(7_000), ms(7_100), s), ms(8_700));
        // One asked for just before its time: that time is skipped, not polled twice.
        assert_eq!(h.next_poll(ms(10_500), ms(10_510), s), ms(12_700));
    }

    #[test]
    fn first_connects_are_spread_but_never_far_off() {
        let mut t = Timing::new(Duration::from_secs(3600), Duration::from_secs(3600));
        let starts: Vec<(Instant, Instant)> = (0..200)
            .map(|i| {
                let (h, first) = HostState::new("x", ActorSlot::default(), &t, Rng::for_host(i, 5));
                (h.anchor, first)
            })
            .collect();
        let now = Instant::now();
        assert!(
            starts
                .iter()
                .all(|(_, first)| *first <= now + FIRST_SPREAD_MAX)
        );
        // The hour's polls are spread over the hour, the first connects over seconds.
        let latest = starts.iter().map(|(a, _)| *a).max().unwrap();
        assert!(latest > now + Duration::from_secs(1800));
        t.spread = false;
        let (h, first) = HostState::new("x", ActorSlot::default(), &t, Rng::for_host(0, 5));
        assert!(first <= Instant::now() && h.anchor <= Instant::now());
    }
}
