//! Hosts watched and let go while the collectors run: a recorder whose share of a shared
//! config changed keeps the connections of the hosts it still records and opens only the new
//! ones. A host let go has its connection closed on a call thread and stays parked (no timer,
//! no message) until it is watched again; one let go in the middle of a call parks when the
//! call ends, and what that call brought is not sent.

use super::super::jobs::{Call, Job, Watch};
use super::super::state::Phase;
use super::Scheduler;
use crate::source::Source;
use fleetwatch_core::link::LinkState;
use std::time::Instant;

impl Scheduler {
    pub(super) fn watch_only(&mut self, watched: &[bool]) {
        for h in 0..self.hosts.len() {
            let want = watched.get(h).copied().unwrap_or(false);
            if want == self.hosts[h].watched {
                continue;
            }
            if want {
                self.unpark(h);
            } else {
                self.park(h);
            }
        }
    }

    fn park(&mut self, h: usize) {
        self.hosts[h].watched = false;
        self.set_actor(h, None);
        match std::mem::replace(&mut self.hosts[h].phase, Phase::Parked) {
            Phase::Idle(source) => self.close(h, source),
            // Its outcome parks it (see `finished` and `fail`).
            p @ (Phase::Connecting { .. } | Phase::Polling { .. } | Phase::Closing { .. }) => {
                self.hosts[h].phase = p;
            }
            // A host waiting for a connect slot stays in the queue, which skips it.
            Phase::Starting | Phase::Backoff | Phase::WaitingForSlot | Phase::Parked => {
                self.disarm(h);
            }
        }
    }

    fn unpark(&mut self, h: usize) {
        self.hosts[h].watched = true;
        // A host still closing connects again once it has closed.
        if matches!(self.hosts[h].phase, Phase::Parked) {
            self.hosts[h].phase = Phase::Starting;
            self.link(h, LinkState::Connecting, None);
            self.connect(h);
        }
    }

    /// Closes a host's connection on a call thread, watched for the timeout like any call.
    pub(super) fn close(&mut self, h: usize, source: Box<dyn Source>) {
        let watch = Watch::new();
        let ticket = self.ticket();
        self.hosts[h].phase = Phase::Closing {
            ticket,
            watch: watch.clone(),
        };
        self.pool.submit(Job {
            host: h,
            uri: self.hosts[h].uri.clone(),
            ticket,
            watch,
            call: Call::Close(source),
        });
        self.arm(h, Instant::now() + self.timing.timeout);
    }

    /// Its connection is closed (or its close given up on): parked, or connecting again if it
    /// was watched again meanwhile.
    pub(super) fn closed_now(&mut self, h: usize) {
        if self.hosts[h].watched {
            self.hosts[h].phase = Phase::Starting;
            self.connect(h);
        } else {
            self.hosts[h].phase = Phase::Parked;
            self.disarm(h);
        }
    }

    /// A close that hangs is given up like a hung call: its thread is replaced and counted.
    pub(super) fn watch_close(&mut self, h: usize) {
        let Phase::Closing { watch, .. } = &self.hosts[h].phase else {
            return;
        };
        let watch = watch.clone();
        match watch.deadline(self.timing.timeout) {
            Some(d) if Instant::now() >= d => {
                if self.pool.abandon(&watch) {
                    self.hosts[h].hung += 1;
                    self.closed_now(h);
                }
            }
            Some(d) => self.arm(h, d),
            // Still queued behind other calls: the clock has not started.
            None => self.arm(h, Instant::now() + self.timing.timeout),
        }
    }
}
