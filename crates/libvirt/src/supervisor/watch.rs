//! The supervisor thread of one host: connects through a worker, asks it for a poll each
//! interval, and keeps time while it waits, so a hung call is given up and reconnected with
//! back-off without blocking anything else.

use super::actions::ActorSlot;
use super::backoff::Backoff;
use super::timing::{Control, Timing};
use super::worker::{Live, Reply, Worker, work};
use crate::children;
use crate::error::LinkError;
use crate::meter::Heartbeat;
use crate::source::Connector;
use fleetwatch_core::link::{LinkState, Message, Update};
use fleetwatch_core::model::sample::HostSample;
use fleetwatch_core::transport::{self, Transport};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Abandoned workers still stuck in a call; past this many we stop opening new connections to
/// that host until one of them returns, so a host that hangs for hours does not pile up threads.
const MAX_ABANDONED: usize = 3;

pub(super) struct Supervisor {
    pub(super) host: usize,
    pub(super) uri: String,
    pub(super) timing: Timing,
    pub(super) connector: Arc<dyn Connector>,
    pub(super) tx: UnboundedSender<Message>,
    pub(super) ctl: Receiver<Control>,
    pub(super) live_workers: Arc<AtomicUsize>,
    pub(super) actor: ActorSlot,
}

/// Why a wait ended.
enum Woke {
    Elapsed,
    PollNow,
    Stop,
}

impl Supervisor {
    fn emit(&self, update: Update) -> bool {
        self.tx
            .send(Message {
                host: self.host,
                at: Instant::now(),
                update,
            })
            .is_ok()
    }

    fn link(&self, state: LinkState, error: Option<String>) -> bool {
        self.emit(Update::Link {
            state,
            error,
            retry: None,
        })
    }

    /// A connection given up while a call hangs keeps its ssh process alive (the worker thread
    /// is stuck inside libvirt); ending that process also frees the thread.
    fn abandon(&self) {
        if Transport::of(&self.uri) == Transport::Ssh {
            children::end_for_host(transport::host(&self.uri));
        }
    }

    fn wait(&self, d: Duration) -> Woke {
        match self.ctl.recv_timeout(d) {
            Ok(Control::PollNow) => Woke::PollNow,
            Err(RecvTimeoutError::Timeout) => Woke::Elapsed,
            Err(RecvTimeoutError::Disconnected) => Woke::Stop,
        }
    }

    pub(super) fn run(self) {
        let mut backoff = Backoff::new(&self.timing);
        let mut worker: Option<Worker> = None;
        if !self.link(LinkState::Connecting, None) {
            return;
        }
        loop {
            let failure = match worker.as_ref() {
                None => match self.connect() {
                    Ok(w) => {
                        worker = Some(w);
                        continue;
                    }
                    Err(e) => e,
                },
                Some(w) => {
                    let started = Instant::now();
                    match self.poll(w, started) {
                        Ok(sample) => {
                            backoff.succeeded();
                            if !self.emit(Update::Sample(std::sync::Arc::new(sample))) {
                                return;
                            }
                            let next = started + self.timing.interval;
                            match self.wait(next.saturating_duration_since(Instant::now())) {
                                Woke::Stop => return,
                                Woke::Elapsed | Woke::PollNow => continue,
                            }
                        }
                        Err(e) => {
                            // Drop (or abandon, if it is stuck) the worker and its connection;
                            // no action may run on a connection that is gone.
                            worker = None;
                            if let Ok(mut slot) = self.actor.lock() {
                                *slot = None;
                            }
                            e
                        }
                    }
                }
            };
            let (delay, retry) = backoff.failed();
            if !self.emit(Update::Link {
                state: LinkState::Down,
                error: Some(failure.to_string()),
                retry: Some(retry),
            }) {
                return;
            }
            match self.wait(delay) {
                Woke::Stop => return,
                Woke::PollNow => backoff.waited(true),
                Woke::Elapsed => backoff.waited(false),
            }
        }
    }

    fn connect(&self) -> Result<Worker, LinkError> {
        let live = self.live_workers.load(Ordering::SeqCst);
        if live >= MAX_ABANDONED {
            return Err(LinkError::StillHung { live });
        }
        let (cmd_tx, cmd_rx) = mpsc::channel::<Heartbeat>();
        let (reply_tx, reply_rx) = mpsc::channel();
        let uri = self.uri.clone();
        let connector = self.connector.clone();
        let live = self.live_workers.clone();
        let host = self.host;
        let progress = Heartbeat::new();
        let beats = progress.clone();
        live.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name(format!("libvirt-{}", self.host))
            .spawn(move || {
                let _live = Live(live);
                work(host, &uri, &*connector, &beats, cmd_rx, reply_tx);
            });
        if let Err(e) = spawned {
            self.live_workers.fetch_sub(1, Ordering::SeqCst);
            return Err(LinkError::Spawn(e));
        }
        // Like a poll: given up only when no call of the connect completed for the timeout.
        let started = Instant::now();
        let answer = loop {
            let deadline = progress.last().max(started) + self.timing.timeout;
            let now = Instant::now();
            if now >= deadline {
                break Err(RecvTimeoutError::Timeout);
            }
            match reply_rx.recv_timeout(deadline - now) {
                Err(RecvTimeoutError::Timeout) => continue,
                other => break other,
            }
        };
        match answer {
            Ok(Reply::Connected(actor)) => {
                if let Ok(mut slot) = self.actor.lock() {
                    *slot = actor;
                }
                Ok(Worker {
                    cmd: cmd_tx,
                    reply: reply_rx,
                })
            }
            Ok(Reply::ConnectFailed(e)) => Err(e),
            Ok(Reply::Polled(_)) => Err(LinkError::Protocol),
            Err(RecvTimeoutError::Timeout) => {
                self.abandon();
                Err(LinkError::ConnectTimeout {
                    timeout: self.timing.timeout,
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(LinkError::DiedConnecting),
        }
    }

    /// One poll, reporting the host stale once it is late and giving up when no libvirt call
    /// has completed for the timeout: a far host whose every call is slow but answered stays
    /// up, however long the whole poll takes, and keeps the work of its connection.
    fn poll(&self, w: &Worker, started: Instant) -> Result<HostSample, LinkError> {
        let progress = Heartbeat::new();
        if w.cmd.send(progress.clone()).is_err() {
            return Err(LinkError::WorkerEnded);
        }
        // Half an interval of grace: a far host whose slower polls (the fuller one every few
        // polls, an XML re-read) run a little past the interval is not late enough to call
        // stale, and would otherwise flicker STALE while it answers every call (CI, stop 18).
        let stale_at = started + self.timing.interval + self.timing.interval / 2;
        loop {
            let now = Instant::now();
            let deadline = progress.last().max(started) + self.timing.timeout;
            if now >= deadline {
                self.abandon();
                return Err(LinkError::PollTimeout {
                    timeout: self.timing.timeout,
                });
            }
            // Past the interval, wake each second so the shown age of the last sample keeps
            // moving; wake at the deadline, which progress may have moved on by then.
            let until = if now < stale_at {
                stale_at.min(deadline)
            } else {
                (now + Duration::from_secs(1)).min(deadline)
            };
            match w.reply.recv_timeout(until - now) {
                Ok(Reply::Polled(r)) => return r,
                Ok(_) => return Err(LinkError::Protocol),
                Err(RecvTimeoutError::Disconnected) => return Err(LinkError::WorkerEnded),
                Err(RecvTimeoutError::Timeout) => {
                    let now = Instant::now();
                    let deadline = progress.last().max(started) + self.timing.timeout;
                    if now >= stale_at && now < deadline {
                        self.link(LinkState::Stale, None);
                    }
                }
            }
        }
    }
}
