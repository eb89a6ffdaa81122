//! One supervisor thread per host keeps a worker thread that owns the libvirt connection. The
//! supervisor never calls libvirt itself, so it can always keep time: it marks a slow host stale,
//! gives up on a hung call after the timeout (the worker is abandoned, not waited for), and
//! reconnects with exponential back-off. A hung host therefore never delays another host or the UI.

mod actions;
mod backoff;
mod panics;
mod timing;
mod watch;
mod worker;

use crate::error::ActError;
use crate::source::Connector;
use actions::{ActorSlot, spawn_actions};
use fleetwatch_core::actions::ActionRequest;
use fleetwatch_core::link::{LinkState, Message, Update};
use panics::internal_error;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;
use watch::Supervisor;

pub use timing::{Control, Timing};

/// Running collectors. Dropping it stops every supervisor at its next wake-up.
pub struct Collectors {
    controls: Vec<Sender<Control>>,
    actions: Vec<Sender<ActionRequest>>,
    aborts: Vec<Arc<AtomicBool>>,
}

impl Collectors {
    pub fn start(
        uris: &[String],
        timing: Timing,
        connector: Arc<dyn Connector>,
        tx: UnboundedSender<Message>,
    ) -> std::io::Result<Collectors> {
        let mut controls = Vec::with_capacity(uris.len());
        let mut actions = Vec::with_capacity(uris.len());
        let mut aborts = Vec::with_capacity(uris.len());
        for (host, uri) in uris.iter().enumerate() {
            let (ctl_tx, ctl_rx) = mpsc::channel();
            let actor: ActorSlot = Arc::default();
            let abort = Arc::new(AtomicBool::new(false));
            actions.push(spawn_actions(
                host,
                actor.clone(),
                abort.clone(),
                tx.clone(),
            )?);
            aborts.push(abort);
            let sup = Supervisor {
                host,
                uri: uri.clone(),
                timing,
                connector: connector.clone(),
                tx: tx.clone(),
                ctl: ctl_rx,
                live_workers: Arc::new(AtomicUsize::new(0)),
                actor,
            };
            std::thread::Builder::new()
                .name(format!("collect-{host}"))
                .spawn(move || {
                    let (tx, uri) = (sup.tx.clone(), sup.uri.clone());
                    if let Err(p) = catch_unwind(AssertUnwindSafe(|| sup.run())) {
                        // The host is no longer watched: say so rather than freeze its row.
                        let e = internal_error(host, &uri, "the supervisor", &*p);
                        let _ = tx.send(Message {
                            host,
                            at: Instant::now(),
                            update: Update::Link {
                                state: LinkState::Down,
                                error: Some(format!(
                                    "{e}; this host is no longer watched until fleetwatch restarts"
                                )),
                                retry: None,
                            },
                        });
                    }
                })?;
            controls.push(ctl_tx);
        }
        Ok(Collectors {
            controls,
            actions,
            aborts,
        })
    }

    /// Hands an action to its host's action thread; the outcome comes back as a message.
    pub fn act(&self, host: usize, req: ActionRequest) -> Result<(), ActError> {
        self.actions
            .get(host)
            .ok_or(ActError::NoSuchHost)?
            .send(req)
            .map_err(|_| ActError::Ended)
    }

    /// Asks the host's running action (a migration) to stop.
    pub fn abort(&self, host: usize) {
        if let Some(a) = self.aborts.get(host) {
            a.store(true, Ordering::SeqCst);
        }
    }

    pub fn poll_now_host(&self, host: usize) {
        if let Some(c) = self.controls.get(host) {
            let _ = c.send(Control::PollNow);
        }
    }

    pub fn poll_now(&self) {
        for c in &self.controls {
            let _ = c.send(Control::PollNow);
        }
    }
}
