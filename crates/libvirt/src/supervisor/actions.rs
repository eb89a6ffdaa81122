//! The action path: a small pool of threads runs the actions the app asks for, each on the
//! connection the scheduler made last for its host, apart from polling, so a long migration
//! does not stop the host's samples. One action runs per host at a time, in the order asked
//! (live migrations: up to a limit together, as an evacuation asks); hosts do not wait for
//! each other beyond the pool's size.

use super::panics::internal_error;
use crate::error::{ActError, ActionError};
use crate::executor::Actor;
use crate::meter::Heartbeat;
use crate::source::Connector;
use fleetwatch_core::actions::{ActionFailure, ActionKind, ActionRequest, ActionUpdate};
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
    /// Per host: how many of its actions run, and how many of those are migrations.
    busy: Vec<usize>,
    migrating: Vec<usize>,
    /// Migrations one host may run together.
    migrations_per_host: usize,
    stop: bool,
}

impl State {
    /// Whether `req` may start on `host` now, beside what runs there.
    fn may_start(&self, host: usize, req: &ActionRequest) -> bool {
        let (Some(&busy), Some(&migrating)) = (self.busy.get(host), self.migrating.get(host))
        else {
            return false;
        };
        busy == 0
            || (matches!(req.kind, ActionKind::Migrate { .. })
                && migrating == busy
                && busy < self.migrations_per_host)
    }
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
        migrations_per_host: usize,
        actors: Vec<ActorSlot>,
        out: MailboxSender,
        dial: Option<Dial>,
    ) -> std::io::Result<ActionPool> {
        let hosts = actors.len();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                busy: vec![0; hosts],
                migrating: vec![0; hosts],
                migrations_per_host: migrations_per_host.max(1),
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
                // The oldest request of its host that may start: a host's actions keep their
                // order (none passes an older one still waiting), and one slow host does not
                // hold up the others.
                let mut waiting = Vec::new();
                let mut free = None;
                for (i, (h, req)) in st.queue.iter().enumerate() {
                    if waiting.contains(h) {
                        continue;
                    }
                    if st.may_start(*h, req) {
                        free = Some(i);
                        break;
                    }
                    waiting.push(*h);
                }
                if let Some(next) = free.and_then(|i| st.queue.remove(i)) {
                    let h = next.0;
                    // A new run on an idle host forgets an abort asked of the last one; one
                    // beside others keeps it, so an abort stops every migration under way.
                    if st.busy[h] == 0
                        && let Some(a) = shared.aborts.get(h)
                    {
                        a.store(false, Ordering::SeqCst);
                    }
                    st.busy[h] += 1;
                    if matches!(next.1.kind, ActionKind::Migrate { .. }) {
                        st.migrating[h] += 1;
                    }
                    break next;
                }
                st = shared.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        run(shared, host, &req);
        let mut st = shared.lock();
        st.busy[host] = st.busy[host].saturating_sub(1);
        if matches!(req.kind, ActionKind::Migrate { .. }) {
            st.migrating[host] = st.migrating[host].saturating_sub(1);
        }
        drop(st);
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
