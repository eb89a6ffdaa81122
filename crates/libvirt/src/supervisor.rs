//! One supervisor thread per host keeps a worker thread that owns the libvirt connection. The
//! supervisor never calls libvirt itself, so it can always keep time: it marks a slow host stale,
//! gives up on a hung call after the timeout (the worker is abandoned, not waited for), and
//! reconnects with exponential back-off. A hung host therefore never delays another host or the UI.

use super::executor::Actor;
use super::{Connector, Heartbeat, Source, children};
use fleetwatch_core::actions::{ActionRequest, ActionUpdate};
use fleetwatch_core::link::{LinkState, Message, Retry, Update};
use fleetwatch_core::model::sample::HostSample;
use fleetwatch_core::transport::{self, Transport};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Abandoned workers still stuck in a call; past this many we stop opening new connections to
/// that host until one of them returns, so a host that hangs for hours does not pile up threads.
const MAX_ABANDONED: usize = 3;

/// The text of a caught panic.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Logs a panic caught in a collector thread and words it as the host's error.
fn internal_error(host: usize, uri: &str, during: &str, payload: &(dyn Any + Send)) -> String {
    let msg = panic_message(payload);
    tracing::error!(host, uri, "collector panicked in {during}: {msg}");
    format!("internal error in the collector: {msg} (see the log)")
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    pub timeout: Duration,
    pub backoff_start: Duration,
    pub backoff_cap: Duration,
}

impl Timing {
    pub fn new(interval: Duration, timeout: Duration) -> Timing {
        Timing {
            interval,
            timeout,
            backoff_start: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
        }
    }
}

/// Requests from the app to a host's supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Poll now, and retry a down host now instead of waiting out the back-off.
    PollNow,
}

/// Running collectors. Dropping it stops every supervisor at its next wake-up.
pub struct Collectors {
    controls: Vec<Sender<Control>>,
    actions: Vec<Sender<ActionRequest>>,
    aborts: Vec<Arc<AtomicBool>>,
}

type ActorSlot = Arc<Mutex<Option<Arc<dyn Actor>>>>;

/// One thread per host carries out actions, one at a time, on the connection the supervisor
/// last made; polling goes on meanwhile.
fn spawn_actions(
    host: usize,
    slot: ActorSlot,
    abort: Arc<AtomicBool>,
    tx: UnboundedSender<Message>,
) -> std::io::Result<Sender<ActionRequest>> {
    let (req_tx, req_rx) = mpsc::channel::<ActionRequest>();
    std::thread::Builder::new().name(format!("act-{host}")).spawn(move || {
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
                None => Err("not connected to the host for writing (down, or read-only): nothing was done".into()),
                Some(a) => {
                    if !send(ActionUpdate::Running { id: req.id }) {
                        return;
                    }
                    let run = catch_unwind(AssertUnwindSafe(|| {
                        a.execute(&req, &abort, &mut |progress| {
                            send(ActionUpdate::Progress { id: req.id, progress });
                        })
                    }));
                    run.unwrap_or_else(|p| Err(internal_error(host, "", "an action", &*p)))
                }
            };
            if !send(ActionUpdate::Done { id: req.id, result }) {
                return;
            }
        }
    })?;
    Ok(req_tx)
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
    pub fn act(&self, host: usize, req: ActionRequest) -> Result<(), String> {
        self.actions
            .get(host)
            .ok_or_else(|| "no such host".to_owned())?
            .send(req)
            .map_err(|_| "the host's action thread has ended".to_owned())
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

enum Reply {
    Connected(Option<Arc<dyn Actor>>),
    ConnectFailed(String),
    Polled(Result<HostSample, String>),
}

struct Worker {
    /// Each poll request carries the heartbeat the worker beats while it polls.
    cmd: Sender<Heartbeat>,
    reply: Receiver<Reply>,
}

struct Supervisor {
    host: usize,
    uri: String,
    timing: Timing,
    connector: Arc<dyn Connector>,
    tx: UnboundedSender<Message>,
    ctl: Receiver<Control>,
    live_workers: Arc<AtomicUsize>,
    actor: ActorSlot,
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

    fn run(self) {
        let mut backoff = self.timing.backoff_start;
        let mut attempts = 0u32;
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
                            backoff = self.timing.backoff_start;
                            attempts = 0;
                            if !self.emit(Update::Sample(Box::new(sample))) {
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
            attempts = attempts.saturating_add(1);
            let retry = Retry {
                attempts,
                at: Instant::now() + backoff,
            };
            if !self.emit(Update::Link {
                state: LinkState::Down,
                error: Some(failure),
                retry: Some(retry),
            }) {
                return;
            }
            match self.wait(backoff) {
                Woke::Stop => return,
                Woke::PollNow => backoff = self.timing.backoff_start,
                Woke::Elapsed => backoff = (backoff * 2).min(self.timing.backoff_cap),
            }
        }
    }

    fn connect(&self) -> Result<Worker, String> {
        let live = self.live_workers.load(Ordering::SeqCst);
        if live >= MAX_ABANDONED {
            return Err(format!(
                "{live} earlier calls to this host are still hung; waiting for them before reconnecting"
            ));
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
            return Err(format!("cannot start a collector thread: {e}"));
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
            Ok(Reply::Polled(_)) => Err("collector protocol error".into()),
            Err(RecvTimeoutError::Timeout) => {
                self.abandon();
                Err(format!(
                    "no answer to connect within {}",
                    humantime::format_duration(self.timing.timeout)
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err("collector thread died while connecting".into())
            }
        }
    }

    /// One poll, reporting the host stale once it is late and giving up when no libvirt call
    /// has completed for the timeout: a far host whose every call is slow but answered stays
    /// up, however long the whole poll takes, and keeps the work of its connection.
    fn poll(&self, w: &Worker, started: Instant) -> Result<HostSample, String> {
        let progress = Heartbeat::new();
        if w.cmd.send(progress.clone()).is_err() {
            return Err("collector thread ended".into());
        }
        let stale_at = started + self.timing.interval;
        loop {
            let now = Instant::now();
            let deadline = progress.last().max(started) + self.timing.timeout;
            if now >= deadline {
                self.abandon();
                return Err(format!(
                    "no answer within {}; reconnecting",
                    humantime::format_duration(self.timing.timeout)
                ));
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
                Ok(_) => return Err("collector protocol error".into()),
                Err(RecvTimeoutError::Disconnected) => return Err("collector thread ended".into()),
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

/// A worker thread counted in `live_workers` until it ends, however it ends.
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The worker: owns the connection, polls when asked. If the supervisor gave up on it, its
/// channels are closed and it exits as soon as the stuck call returns. A panic in the
/// connector or the source is that host's error: the connection is dropped and the
/// supervisor reconnects with back-off, as after any failure.
fn work(
    host: usize,
    uri: &str,
    connector: &dyn Connector,
    progress: &Heartbeat,
    cmd: Receiver<Heartbeat>,
    reply: Sender<Reply>,
) {
    let connected = catch_unwind(AssertUnwindSafe(|| {
        connector.connect(uri, progress).map(|source| {
            let actor = source.actor();
            (source, actor)
        })
    }));
    let mut source: Box<dyn Source> = match connected {
        Ok(Ok((source, actor))) => {
            if reply.send(Reply::Connected(actor)).is_err() {
                return;
            }
            source
        }
        Ok(Err(e)) => {
            let _ = reply.send(Reply::ConnectFailed(e));
            return;
        }
        Err(p) => {
            let e = internal_error(host, uri, "connect", &*p);
            let _ = reply.send(Reply::ConnectFailed(e));
            return;
        }
    };
    while let Ok(progress) = cmd.recv() {
        match catch_unwind(AssertUnwindSafe(|| source.poll(&progress))) {
            Ok(r) => {
                if reply.send(Reply::Polled(r)).is_err() {
                    return;
                }
            }
            Err(p) => {
                let e = internal_error(host, uri, "poll", &*p);
                let _ = reply.send(Reply::Polled(Err(e)));
                // The source may be half-updated: drop it; the supervisor reconnects.
                return;
            }
        }
    }
}
