//! The scheduler thread: every host's state machine and one timer queue (what is due when).
//! It never calls libvirt, so it always keeps time: it hands connects and polls to the call
//! pool, marks a late host stale, gives up a call when no heartbeat came for the timeout, and
//! reconnects with jittered back-off, at most `connects` hosts at once.

use super::actions::ActorSlot;
use super::jitter::{Rng, process_salt};
use super::jobs::{Call, Event, Job, Outcome, Watch};
use super::limits::Limits;
use super::pool::Pool;
use super::reaper::Reaper;
use super::state::{HostState, Phase};
use super::timing::Timing;
use crate::error::LinkError;
use crate::source::Connector;
use fleetwatch_core::link::{LinkState, MailboxSender, Message, Update};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

mod parking;

/// Past the stale mark, a late poll re-announces it this often, so the shown age keeps moving.
const STALE_TICK: Duration = Duration::from_secs(1);

pub(super) struct Scheduler {
    hosts: Vec<HostState>,
    timing: Timing,
    limits: Limits,
    connector: Arc<dyn Connector>,
    out: MailboxSender,
    pool: Pool,
    reaper: Option<Reaper>,
    /// (when, host, generation): a host's older timers are skipped, not searched for.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Connects in flight.
    connects: usize,
    /// Hosts due to connect while every connect slot is taken, first come first served.
    waiting: VecDeque<usize>,
    tickets: u64,
    /// The app no longer reads: there is nothing left to collect for.
    closed: bool,
}

pub(super) struct Setup {
    pub(super) timing: Timing,
    pub(super) limits: Limits,
    pub(super) connector: Arc<dyn Connector>,
    pub(super) out: MailboxSender,
    pub(super) pool: Pool,
    pub(super) reaper: Option<Reaper>,
}

impl Scheduler {
    /// `watched`: which hosts to connect to; the others wait parked until watched.
    pub(super) fn new(
        uris: &[String],
        actors: Vec<ActorSlot>,
        watched: &[bool],
        s: Setup,
    ) -> Scheduler {
        let salt = process_salt();
        let mut sched = Scheduler {
            hosts: Vec::with_capacity(uris.len()),
            timing: s.timing,
            limits: s.limits,
            connector: s.connector,
            out: s.out,
            pool: s.pool,
            reaper: s.reaper,
            timers: BinaryHeap::with_capacity(uris.len() * 2),
            connects: 0,
            waiting: VecDeque::new(),
            tickets: 0,
            closed: false,
        };
        for (i, (uri, actor)) in uris.iter().zip(actors).enumerate() {
            let (mut host, first) =
                HostState::new(uri, actor, &sched.timing, Rng::for_host(i, salt));
            host.watched = watched.get(i).copied().unwrap_or(false);
            if !host.watched {
                host.phase = Phase::Parked;
            }
            sched.hosts.push(host);
            if sched.hosts[i].watched {
                sched.arm(i, first);
            }
        }
        sched
    }

    pub(super) fn run(mut self, events: Receiver<Event>) {
        for h in 0..self.hosts.len() {
            if self.hosts[h].watched {
                self.link(h, LinkState::Connecting, None);
            }
        }
        while !self.closed {
            self.fire_due();
            let next = self.timers.peek().map(|Reverse((at, ..))| *at);
            let ev = match next {
                Some(at) => events.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match ev {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(e) => self.on_event(e),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        // The pool stops as the scheduler is dropped.
    }

    fn fire_due(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, h, generation))) = self.timers.peek() {
            if at > now || self.closed {
                return;
            }
            self.timers.pop();
            if self.hosts.get(h).is_some_and(|s| s.timer == generation) {
                self.on_timer(h);
            }
        }
    }

    /// Sets the host's one timer, replacing any earlier one.
    fn arm(&mut self, h: usize, at: Instant) {
        let generation = self.disarm(h);
        self.timers.push(Reverse((at, h, generation)));
    }

    fn disarm(&mut self, h: usize) -> u64 {
        let s = &mut self.hosts[h];
        s.timer += 1;
        s.timer
    }

    fn emit(&mut self, host: usize, update: Update) {
        let m = Message {
            host,
            at: Instant::now(),
            update,
        };
        if self.out.send(m).is_err() {
            self.closed = true;
        }
    }

    fn link(&mut self, h: usize, state: LinkState, error: Option<String>) {
        self.emit(
            h,
            Update::Link {
                state,
                error,
                retry: None,
            },
        );
    }

    fn on_timer(&mut self, h: usize) {
        match self.hosts[h].phase {
            Phase::Starting => self.connect(h),
            Phase::Backoff => {
                self.hosts[h].backoff.waited(false);
                self.connect(h);
            }
            Phase::Idle(_) => self.poll(h),
            Phase::Connecting { .. } | Phase::Polling { .. } => self.watch(h),
            Phase::Closing { .. } => self.watch_close(h),
            Phase::WaitingForSlot | Phase::Parked => {}
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Finished {
                host,
                ticket,
                outcome,
            } => {
                if self.hosts.get(host).and_then(HostState::ticket) == Some(ticket) {
                    self.finished(host, outcome);
                }
            }
            Event::HungReturned { host } => {
                if let Some(s) = self.hosts.get_mut(host) {
                    s.hung = s.hung.saturating_sub(1);
                }
            }
            Event::PollNow(Some(h)) if h < self.hosts.len() => self.poll_now(h),
            Event::PollNow(Some(_)) => {}
            Event::PollNow(None) => (0..self.hosts.len()).for_each(|h| self.poll_now(h)),
            Event::Watch(watched) => self.watch_only(&watched),
            Event::Stop => {}
        }
    }

    fn poll_now(&mut self, h: usize) {
        match self.hosts[h].phase {
            Phase::Idle(_) => self.poll(h),
            Phase::Backoff => {
                self.hosts[h].backoff.waited(true);
                self.connect(h);
            }
            Phase::Starting => self.connect(h),
            _ => {}
        }
    }

    /// A connect is due: made now if a slot is free, queued for one otherwise, refused while
    /// too many of the host's (or all hosts') calls are still hung.
    fn connect(&mut self, h: usize) {
        // The fleet-wide limit first: it is the one that holds every host back.
        let hung = self.pool.hung();
        if hung >= self.limits.hung_total {
            return self.fail(h, LinkError::HungLimit { hung });
        }
        let live = self.hosts[h].hung;
        if live >= self.limits.hung_per_host {
            return self.fail(h, LinkError::StillHung { live });
        }
        if self.connects < self.limits.connects {
            return self.start_connect(h);
        }
        let retrying = matches!(self.hosts[h].phase, Phase::Backoff);
        self.disarm(h);
        self.hosts[h].phase = Phase::WaitingForSlot;
        self.waiting.push_back(h);
        if retrying {
            let limit = self.limits.connects;
            self.link(
                h,
                LinkState::Connecting,
                Some(format!(
                    "waiting for a free connect slot (at most {limit} connects at a time)"
                )),
            );
        }
    }

    fn start_connect(&mut self, h: usize) {
        self.connects += 1;
        let watch = Watch::new();
        let ticket = self.ticket();
        self.hosts[h].phase = Phase::Connecting {
            ticket,
            watch: watch.clone(),
        };
        self.pool.submit(Job {
            host: h,
            uri: self.hosts[h].uri.clone(),
            ticket,
            watch,
            call: Call::Connect {
                connector: self.connector.clone(),
            },
        });
        // No deadline can come sooner: the clock starts when a thread takes the job.
        self.arm(h, Instant::now() + self.timing.timeout);
    }

    /// A connect ended (answered or given up): the next host waiting for a slot goes.
    fn release_slot(&mut self) {
        self.connects = self.connects.saturating_sub(1);
        while self.connects < self.limits.connects {
            let Some(h) = self.waiting.pop_front() else {
                return;
            };
            if matches!(self.hosts[h].phase, Phase::WaitingForSlot) {
                self.connect(h);
            }
        }
    }

    fn ticket(&mut self) -> u64 {
        self.tickets += 1;
        self.tickets
    }

    fn poll(&mut self, h: usize) {
        if !matches!(self.hosts[h].phase, Phase::Idle(_)) {
            return;
        }
        let Phase::Idle(source) = std::mem::replace(&mut self.hosts[h].phase, Phase::Starting)
        else {
            return;
        };
        let now = Instant::now();
        let iv = self.timing.interval;
        // Half an interval of grace: a far host whose slower polls (the fuller one every few
        // polls, an XML re-read) run a little past the interval is not late enough to call
        // stale, and would otherwise flicker STALE while it answers every call.
        let stale_at = now + iv + iv / 2;
        let watch = Watch::new();
        let ticket = self.ticket();
        self.hosts[h].phase = Phase::Polling {
            ticket,
            watch: watch.clone(),
            started: now,
            stale_at,
        };
        self.pool.submit(Job {
            host: h,
            uri: self.hosts[h].uri.clone(),
            ticket,
            watch,
            call: Call::Poll(source),
        });
        self.arm(h, stale_at.min(now + self.timing.timeout));
    }

    /// A call in flight: given up once no libvirt call of it completed for the timeout (a far
    /// host that answers every call slowly stays up, however long the whole poll takes), and
    /// shown stale once a poll is late.
    fn watch(&mut self, h: usize) {
        let now = Instant::now();
        let timeout = self.timing.timeout;
        let (watch, stale_at, connecting) = match &self.hosts[h].phase {
            Phase::Connecting { watch, .. } => (watch.clone(), None, true),
            Phase::Polling {
                watch, stale_at, ..
            } => (watch.clone(), Some(*stale_at), false),
            _ => return,
        };
        let deadline = watch.deadline(timeout);
        if deadline.is_some_and(|d| now >= d) {
            if !self.pool.abandon(&watch) {
                // It finished just now: its outcome is on the way.
                return;
            }
            self.hosts[h].hung += 1;
            if let Some(r) = &self.reaper {
                r.end_for(&self.hosts[h].uri);
            }
            if connecting {
                self.release_slot();
                return self.fail(h, LinkError::ConnectTimeout { timeout });
            }
            return self.fail(h, LinkError::PollTimeout { timeout });
        }
        let mut next = deadline.unwrap_or(now + timeout);
        if let Some(stale_at) = stale_at {
            if now >= stale_at {
                self.link(h, LinkState::Stale, None);
                next = next.min(now + STALE_TICK);
            } else {
                next = next.min(stale_at);
            }
        }
        self.arm(h, next);
    }

    fn finished(&mut self, h: usize, outcome: Outcome) {
        match outcome {
            Outcome::Connected(r) => {
                self.release_slot();
                match r {
                    Ok((source, actor)) if self.hosts[h].watched => {
                        self.set_actor(h, actor);
                        self.hosts[h].phase = Phase::Idle(source);
                        self.poll(h);
                    }
                    // Let go while it connected.
                    Ok((source, _)) => self.close(h, source),
                    Err(e) => self.fail(h, e),
                }
            }
            Outcome::Polled(Ok((source, _))) if !self.hosts[h].watched => self.close(h, source),
            Outcome::Polled(Ok((source, sample))) => {
                self.hosts[h].backoff.succeeded();
                self.emit(h, Update::Sample(sample));
                let now = Instant::now();
                let s = &mut self.hosts[h];
                let started = match s.phase {
                    Phase::Polling { started, .. } => started,
                    _ => now,
                };
                s.phase = Phase::Idle(source);
                let next = s.next_poll(started, now, self.timing.interval);
                self.arm(h, next);
            }
            Outcome::Polled(Err(e)) => self.fail(h, e),
            Outcome::Closed => self.closed_now(h),
        }
    }

    fn set_actor(&mut self, h: usize, actor: Option<Arc<dyn crate::executor::Actor>>) {
        if let Ok(mut slot) = self.hosts[h].actor.lock() {
            *slot = actor;
        }
    }

    /// The host is down until its next attempt; no action may run on a connection that is
    /// gone, so the actor goes with it.
    fn fail(&mut self, h: usize, e: LinkError) {
        let now = Instant::now();
        self.set_actor(h, None);
        if !self.hosts[h].watched {
            // Let go meanwhile: nobody waits for its retry.
            self.hosts[h].phase = Phase::Parked;
            self.disarm(h);
            return;
        }
        let s = &mut self.hosts[h];
        s.phase = Phase::Backoff;
        let retry = s.backoff.failed(&mut s.rng, now);
        self.arm(h, retry.at);
        self.emit(
            h,
            Update::Link {
                state: LinkState::Down,
                error: Some(e.to_string()),
                retry: Some(retry),
            },
        );
    }
}
