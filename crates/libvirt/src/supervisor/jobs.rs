//! What the scheduler hands the call threads and what comes back: a job is one blocking call
//! (a connect, or a poll that carries the host's source along), its outcome brings the source
//! home. A job the scheduler gave up on keeps its thread until the call returns; the source it
//! carried is dropped there.

use super::panics::internal_error;
use crate::error::LinkError;
use crate::executor::Actor;
use crate::meter::Heartbeat;
use crate::source::{Connector, Source};
use fleetwatch_core::model::sample::HostSample;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const FINISHED: u8 = 2;
const ABANDONED: u8 = 3;

/// Shared between the scheduler, which keeps the job's time, and the thread running it. The
/// state moves once from queued to running and once more to finished or abandoned, so exactly
/// one side decides what becomes of the outcome.
pub(super) struct Watch {
    state: AtomicU8,
    /// Beaten when the call starts and after each libvirt call inside it.
    pub(super) beat: Heartbeat,
}

impl Watch {
    pub(super) fn new() -> Arc<Watch> {
        Arc::new(Watch {
            state: AtomicU8::new(QUEUED),
            beat: Heartbeat::new(),
        })
    }

    fn shift(&self, from: u8, to: u8) -> bool {
        self.state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// A thread takes the job; the host's clock starts now, not when it was queued.
    pub(super) fn start(&self) -> bool {
        let started = self.shift(QUEUED, RUNNING);
        if started {
            self.beat.beat();
        }
        started
    }

    /// The call returned: false if the scheduler gave up on it first.
    pub(super) fn finish(&self) -> bool {
        self.shift(RUNNING, FINISHED)
    }

    /// Gives the job up: false if it already finished (its outcome is on the way) or never
    /// started.
    pub(super) fn abandon(&self) -> bool {
        self.shift(RUNNING, ABANDONED)
    }

    /// One timeout after the last completed call; none while the job waits for a thread, as
    /// a busy pool is not the host's fault.
    pub(super) fn deadline(&self, timeout: Duration) -> Option<Instant> {
        (self.state.load(Ordering::Acquire) == RUNNING).then(|| self.beat.last() + timeout)
    }
}

pub(super) enum Call {
    Connect {
        connector: Arc<dyn Connector>,
    },
    Poll(Box<dyn Source>),
    /// Drops the source, closing its connection.
    Close(Box<dyn Source>),
}

pub(super) struct Job {
    pub(super) host: usize,
    pub(super) uri: Arc<str>,
    /// Tells this job's outcome from a later job's of the same host.
    pub(super) ticket: u64,
    pub(super) watch: Arc<Watch>,
    pub(super) call: Call,
}

pub(super) type Connected = (Box<dyn Source>, Option<Arc<dyn Actor>>);

pub(super) enum Outcome {
    Connected(Result<Connected, LinkError>),
    /// A failed poll drops its source: the connection is not trusted any more.
    Polled(Result<(Box<dyn Source>, Arc<HostSample>), LinkError>),
    Closed,
}

/// What reaches the scheduler.
pub(super) enum Event {
    Finished {
        host: usize,
        ticket: u64,
        outcome: Outcome,
    },
    /// A call the scheduler gave up on has returned; its thread is free of it.
    HungReturned {
        host: usize,
    },
    /// Poll now, and retry a down host now instead of waiting out the back-off: one host, or
    /// every host.
    PollNow(Option<usize>),
    /// Which hosts to watch (by index; missing ones are not): the others' connections close
    /// and they stay parked until watched again, the watched ones keep theirs.
    Watch(Vec<bool>),
    Stop,
}

impl Job {
    /// Makes the call. A panic in the connector or the source is that host's error; the
    /// source of a poll that panicked may be half-updated and is dropped.
    pub(super) fn run(self) -> (usize, u64, Outcome) {
        let Job {
            host,
            uri,
            ticket,
            watch,
            call,
        } = self;
        let beat = &watch.beat;
        let outcome = match call {
            Call::Connect { connector } => {
                let r = catch_unwind(AssertUnwindSafe(|| {
                    connector.connect(&uri, beat).map(|s| {
                        let actor = s.actor();
                        (s, actor)
                    })
                }));
                Outcome::Connected(match r {
                    Ok(r) => r.map_err(LinkError::from),
                    Err(p) => Err(internal_error(host, &uri, "connect", &*p).into()),
                })
            }
            Call::Poll(mut source) => {
                let r = catch_unwind(AssertUnwindSafe(|| source.poll(beat)));
                Outcome::Polled(match r {
                    Ok(Ok(sample)) => Ok((source, Arc::new(sample))),
                    Ok(Err(e)) => Err(e.into()),
                    Err(p) => Err(internal_error(host, &uri, "poll", &*p).into()),
                })
            }
            Call::Close(source) => {
                // A panic in a connection's drop is as closed as it gets.
                let _ = catch_unwind(AssertUnwindSafe(move || drop(source)));
                Outcome::Closed
            }
        };
        (host, ticket, outcome)
    }
}
