//! The collectors: one scheduler thread keeps every host's state machine and a timer queue; a
//! fixed pool of call threads makes the blocking libvirt calls (connect, poll), each host's
//! source travelling with its job and back; a small pool of action threads carries out
//! actions. The scheduler never calls libvirt, so it can always keep time: it marks a slow host
//! stale, gives up on a hung call after the timeout (its thread is replaced, not waited for),
//! and reconnects with jittered back-off, a few hosts at a time. Threads stay the same at any
//! fleet size, plus the calls left hung, which are capped per host and in all.
//!
//! ```text
//! app ──PollNow──▶ scheduler ──Job(connect | poll + source)──▶ call pool (threads)
//!                     ▲  └──Link / Sample──▶ mailbox ──▶ app         │
//!                     └──────────Finished(outcome + source)──────────┘
//! app ──act──▶ action pool ──Running / Progress / Done──▶ mailbox ──▶ app
//! ```

mod actions;
mod backoff;
mod jitter;
mod jobs;
mod limits;
mod panics;
mod pool;
mod reaper;
mod scheduler;
mod state;
mod timing;

use crate::error::ActError;
use crate::source::Connector;
use actions::{ActionPool, ActorSlot};
use fleetwatch_core::actions::ActionRequest;
use fleetwatch_core::link::{LinkState, MailboxSender, Message, Update};
use jobs::Event;
use panics::panic_message;
use pool::Pool;
use reaper::Reaper;
use scheduler::{Scheduler, Setup};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::time::Instant;

pub use limits::{
    DEFAULT_ACTIONS, DEFAULT_CONNECTS, DEFAULT_HUNG_PER_HOST, DEFAULT_HUNG_TOTAL, DEFAULT_THREADS,
    Limits,
};
pub use timing::Timing;

/// Running collectors. Dropping it stops the scheduler and both pools; calls in flight end
/// with their calls.
pub struct Collectors {
    events: Sender<Event>,
    actions: ActionPool,
}

impl Collectors {
    /// Collectors with the default [`Limits`].
    pub fn start(
        uris: &[String],
        timing: Timing,
        connector: Arc<dyn Connector>,
        out: MailboxSender,
    ) -> std::io::Result<Collectors> {
        Collectors::start_with(uris, timing, Limits::default(), connector, out)
    }

    pub fn start_with(
        uris: &[String],
        timing: Timing,
        limits: Limits,
        connector: Arc<dyn Connector>,
        out: MailboxSender,
    ) -> std::io::Result<Collectors> {
        let all = vec![true; uris.len()];
        Collectors::start_watching(uris, &all, timing, limits, connector, out)
    }

    /// Collectors of `uris` that connect to the `watched` ones only (by index); the others
    /// wait, parked, for [`Collectors::watch_only`]. Host indices in messages are always the
    /// index in `uris`.
    pub fn start_watching(
        uris: &[String],
        watched: &[bool],
        timing: Timing,
        limits: Limits,
        connector: Arc<dyn Connector>,
        out: MailboxSender,
    ) -> std::io::Result<Collectors> {
        if out.hosts() < uris.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "a mailbox for {} hosts cannot take {} hosts' updates",
                    out.hosts(),
                    uris.len()
                ),
            ));
        }
        let limits = limits.sane();
        let actors: Vec<ActorSlot> = uris.iter().map(|_| ActorSlot::default()).collect();
        let (events, inbox) = mpsc::channel();
        let pool = Pool::start(limits.threads, limits.hung_total, events.clone())?;
        let actions = ActionPool::start(
            limits.actions,
            limits.migrations_per_host,
            actors.clone(),
            out.clone(),
            None,
        )?;
        let setup = Setup {
            timing,
            limits,
            connector,
            out: out.clone(),
            pool,
            reaper: Reaper::start_for(uris)?,
        };
        let sched = Scheduler::new(uris, actors, watched, setup);
        let hosts = uris.len();
        let spawned = std::thread::Builder::new()
            .name("fw-schedule".into())
            .spawn(move || {
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| sched.run(inbox))) {
                    // No host is watched any more: say so rather than freeze every row.
                    let message = panic_message(&*p);
                    tracing::error!("collector scheduler panicked: {message}");
                    for host in 0..hosts {
                        let _ = out.send(Message {
                            host,
                            at: Instant::now(),
                            update: Update::Link {
                                state: LinkState::Down,
                                error: Some(format!(
                                    "internal error in the collector: {message} (see the log); \
                                     this host is no longer watched until fleetwatch restarts"
                                )),
                                retry: None,
                            },
                        });
                    }
                }
            });
        // Failing, the pools stop as they are dropped.
        spawned?;
        Ok(Collectors { events, actions })
    }

    /// Collectors that watch no host, for a TUI that watches the fleet through the shared
    /// store: only actions, each on a connection opened to its host for it and closed after.
    /// Watching adds no libvirt connection; acting adds one, for the action's time.
    pub fn on_demand(
        uris: &[String],
        limits: Limits,
        connector: Arc<dyn Connector>,
        out: MailboxSender,
    ) -> std::io::Result<Collectors> {
        let limits = limits.sane();
        let actors: Vec<ActorSlot> = uris.iter().map(|_| ActorSlot::default()).collect();
        let dial = actions::Dial {
            connector,
            uris: uris.to_vec(),
        };
        let actions = ActionPool::start(
            limits.actions,
            limits.migrations_per_host,
            actors,
            out,
            Some(dial),
        )?;
        // Nothing is scheduled: "poll now" has nobody to ask.
        let (events, _) = mpsc::channel();
        Ok(Collectors { events, actions })
    }

    /// Queues an action for its host; the outcome comes back as messages.
    pub fn act(&self, host: usize, req: ActionRequest) -> Result<(), ActError> {
        self.actions.submit(host, req)
    }

    /// Asks the host's running action (a migration) to stop.
    pub fn abort(&self, host: usize) {
        self.actions.abort(host);
    }

    pub fn poll_now_host(&self, host: usize) {
        let _ = self.events.send(Event::PollNow(Some(host)));
    }

    pub fn poll_now(&self) {
        let _ = self.events.send(Event::PollNow(None));
    }

    /// Watches the hosts marked (by index; missing ones are not) and lets the others go:
    /// their connections are closed and they send nothing until watched again. Hosts watched
    /// before and still keep their connections and their place in the interval.
    pub fn watch_only(&self, watched: Vec<bool>) {
        let _ = self.events.send(Event::Watch(watched));
    }
}

impl Drop for Collectors {
    fn drop(&mut self) {
        // The action pool stops as it is dropped, right after.
        let _ = self.events.send(Event::Stop);
    }
}
