//! The action path: a thread per host runs the actions the app asks for on the connection the
//! supervisor made last, apart from polling, so a long migration does not stop the host's
//! samples.

use super::panics::internal_error;
use crate::error::ActionError;
use crate::executor::Actor;
use fleetwatch_core::actions::{ActionFailure, ActionRequest, ActionUpdate};
use fleetwatch_core::link::{Message, Update};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

/// The supervisor fills it on connecting and empties it when the connection is dropped.
pub(super) type ActorSlot = Arc<Mutex<Option<Arc<dyn Actor>>>>;

/// One thread per host carries out actions, one at a time, on the connection the supervisor
/// last made; polling goes on meanwhile.
pub(super) fn spawn_actions(
    host: usize,
    slot: ActorSlot,
    abort: Arc<AtomicBool>,
    tx: UnboundedSender<Message>,
) -> std::io::Result<Sender<ActionRequest>> {
    let (req_tx, req_rx) = mpsc::channel::<ActionRequest>();
    std::thread::Builder::new()
        .name(format!("act-{host}"))
        .spawn(move || {
            let send = |update: ActionUpdate| {
                tx.send(Message {
                    host,
                    at: Instant::now(),
                    update: Update::Action(update),
                })
                .is_ok()
            };
            while let Ok(req) = req_rx.recv() {
                abort.store(false, Ordering::SeqCst);
                let actor = slot.lock().ok().and_then(|s| s.clone());
                let result = match actor {
                    None => Err(ActionError::NotConnected),
                    Some(a) => {
                        if !send(ActionUpdate::Running { id: req.id }) {
                            return;
                        }
                        let run = catch_unwind(AssertUnwindSafe(|| {
                            a.execute(&req, &abort, &mut |progress| {
                                send(ActionUpdate::Progress {
                                    id: req.id,
                                    progress,
                                });
                            })
                        }));
                        run.unwrap_or_else(|p| {
                            Err(internal_error(host, "", "an action", &*p).into())
                        })
                    }
                };
                let result = result.map_err(ActionFailure::from);
                if !send(ActionUpdate::Done { id: req.id, result }) {
                    return;
                }
            }
        })?;
    Ok(req_tx)
}
