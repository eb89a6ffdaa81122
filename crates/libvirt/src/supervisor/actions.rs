//! The action path: a small pool of threads runs the actions the app asks for, each on the
//! connection the scheduler made last for its host, apart from polling, so a long migration
//! does not stop the host's samples. One action runs per host at a time, in the order asked;
//! hosts do not wait for each other beyond the pool's size.

use super::panics::internal_error;
use crate::error::{ActError, ActionError};
use crate::executor::Actor;
use crate::meter::Heartbeat;
use crate::source::Connector;
use fleetwatch_core::actions::{ActionFailure, ActionRequest, ActionUpdate};
use fleetwatch_core::link::{MailboxSender, Message, Update};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// The scheduler fills it on connecting and empties it when the connection is dropped.
pub(super) type ActorSlot = Arc<Mutex<Option<Arc<dyn Actor>>>>;

/// For collectors that watch nothing (a TUI watching through the shared store): an action
/// opens a connection to its one host, and closes it when done.
pub(super) struct Dial {
    pub connector: Arc<dyn Connector>,
    pub uris: Vec<String>,
}

pub(super) struct ActionPool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    actors: Vec<ActorSlot>,
    /// Per host: the operator asked the running action to stop.
    aborts: Vec<AtomicBool>,
    out: MailboxSender,
    dial: Option<Dial>,
}

struct State {
    /// Requests not started, oldest first.
    queue: VecDeque<(usize, ActionRequest)>,
    /// Per host: one of its actions is running.
    busy: Vec<bool>,
    stop: bool,
}

impl Shared {
    /// A panic elsewhere while the lock was held leaves plain data behind: still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ActionPool {
    pub(super) fn start(
        threads: usize,
        actors: Vec<ActorSlot>,
        out: MailboxSender,
        dial: Option<Dial>,
    ) -> std::io::Result<ActionPool> {
        let hosts = actors.len();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                busy: vec![false; hosts],
                stop: false,
            }),
            work: Condvar::new(),
            aborts: (0..hosts).map(|_| AtomicBool::new(false)).collect(),
            actors,
            out,
            dial,
        });
        for n in 0..threads {
            let s = shared.clone();
            std::thread::Builder::new()
                .name(format!("fw-act-{n}"))
                .spawn(move || serve(&s))?;
        }
        Ok(ActionPool { shared })
    }

    pub(super) fn submit(&self, host: usize, req: ActionRequest) -> Result<(), ActError> {
        let mut st = self.shared.lock();
        if host >= st.busy.len() {
            return Err(ActError::NoSuchHost);
        }
        if st.stop {
            return Err(ActError::Ended);
        }
        st.queue.push_back((host, req));
        drop(st);
        self.shared.work.notify_all();
        Ok(())
    }

    pub(super) fn abort(&self, host: usize) {
        if let Some(a) = self.shared.aborts.get(host) {
            a.store(true, Ordering::SeqCst);
        }
    }

    /// Actions not started are dropped; a running one ends on its own.
    pub(super) fn stop(&self) {
        let mut st = self.shared.lock();
        st.stop = true;
        st.queue.clear();
        drop(st);
        self.shared.work.notify_all();
    }
}

impl Drop for ActionPool {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(shared: &Shared) {
    loop {
        let (host, req) = {
            let mut st = shared.lock();
            loop {
                if st.stop {
                    return;
                }
                // The oldest request of a host with nothing running: a host's actions keep
                // their order, and one slow host does not hold up the others.
                let free = st
                    .queue
                    .iter()
                    .position(|(h, _)| !st.busy.get(*h).copied().unwrap_or(true));
                if let Some(next) = free.and_then(|i| st.queue.remove(i)) {
                    if let Some(b) = st.busy.get_mut(next.0) {
                        *b = true;
                    }
                    break next;
                }
                st = shared.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        run(shared, host, &req);
        if let Some(b) = shared.lock().busy.get_mut(host) {
            *b = false;
        }
        // A request of this host may be waiting for it to be free.
        shared.work.notify_all();
    }
}

fn run(shared: &Shared, host: usize, req: &ActionRequest) {
    let send = |update: ActionUpdate| {
        // The app gone, nobody reads the outcome; the action itself has run or been refused.
        let _ = shared.out.send(Message {
            host,
            at: Instant::now(),
            update: Update::Action(update),
        });
    };
    let Some(abort) = shared.aborts.get(host) else {
        return;
    };
    abort.store(false, Ordering::SeqCst);
    let actor = shared
        .actors
        .get(host)
        .and_then(|slot| slot.lock().ok().and_then(|s| s.clone()));
    let dialed = match (&actor, &shared.dial) {
        (None, Some(d)) => Some(dial(d, host)),
        _ => None,
    };
    let actor = match dialed {
        Some(Ok(a)) => Some(a),
        Some(Err(e)) => {
            send(ActionUpdate::Done {
                id: req.id,
                result: Err(ActionFailure::from(e)),
            });
            return;
        }
        None => actor,
    };
    let result = match actor {
        None => Err(ActionError::NotConnected),
        Some(a) => {
            send(ActionUpdate::Running { id: req.id });
            let run = catch_unwind(AssertUnwindSafe(|| {
                a.execute(req, abort, &mut |progress| {
                    send(ActionUpdate::Progress {
                        id: req.id,
                        progress,
                    });
                })
            }));
            run.unwrap_or_else(|p| Err(internal_error(host, "", "an action", &*p).into()))
        }
    };
    send(ActionUpdate::Done {
        id: req.id,
        result: result.map_err(ActionFailure::from),
    });
}

/// A connection of its own to `host`, for one action.
fn dial(d: &Dial, host: usize) -> Result<Arc<dyn Actor>, ActionError> {
    let uri = d.uris.get(host).ok_or(ActionError::NotConnected)?;
    let source = d
        .connector
        .connect(uri, &Heartbeat::new())
        .map_err(|e| ActionError::Connect(e.to_string()))?;
    source.actor().ok_or(ActionError::NotConnected)
}
