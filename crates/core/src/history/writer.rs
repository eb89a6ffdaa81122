//! The TUI's recorder thread: takes the lease when no service holds it, writes the messages it
//! is given in batches (what queued up within [`BATCH_WINDOW`], one transaction each), gives the
//! lease up to `fleetwatch record` as soon as that starts, and says how it is doing. A store that
//! cannot be written (disk full) is reported and retried; one this user may not write is only
//! read. It never stops monitoring: the queue to it is bounded (see [`super::queue`]), so a
//! stalled store costs dropped messages, counted and shown, never a blocked UI or memory.

use super::config::HistoryConfig;
use super::lease::Role;
use super::queue::{self, Batch, QueueTx};
use super::recorder::{BATCH_MAX, BATCH_WINDOW, RecordError, Recorder};
use super::sqlite::SqliteStore;
use crate::config::HostConfig;
use crate::link::Message;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// We write the history.
    Recording,
    /// Another process does; we only read.
    Standby { pid: i64, hostname: String },
    /// This user may not write the store: it is read, not recorded into (no banner: nothing
    /// is failing that the user can fix here).
    ReadOnly(String),
    /// The store cannot be written now; the reason, for a banner.
    Error(String),
    /// We write the history but fall behind: the queue to the recorder was full and `dropped`
    /// messages (since the start) were not recorded; changes they held are recorded later,
    /// by "unknown".
    Behind { dropped: u64 },
}

impl Status {
    pub fn short(&self) -> String {
        match self {
            Status::Recording => "REC".into(),
            Status::Standby { pid, hostname } => format!("rec by {pid}@{hostname}"),
            Status::ReadOnly(_) => "history read-only".into(),
            Status::Error(_) => "REC FAILING".into(),
            Status::Behind { .. } => "REC dropping".into(),
        }
    }
}

/// Sends messages to the recorder thread; dropping it stops the thread (lease released).
pub struct Writer {
    tx: Option<QueueTx>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Queues the message for the recorder; never blocks (a full queue drops it, counted).
    pub fn send(&self, m: &Message) {
        if let Some(tx) = &self.tx {
            tx.send(m);
        }
    }

    /// Messages waiting for the recorder now: at most [`queue::capacity`] of the hosts.
    pub fn queued(&self) -> usize {
        self.tx.as_ref().map_or(0, QueueTx::queued)
    }

    /// Messages dropped because the queue was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.tx.as_ref().map_or(0, QueueTx::dropped)
    }
}

impl Drop for Writer {
    /// Lets the thread finish its write and release the lease, so the next recorder need not
    /// wait for it to go stale.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const RETRY: Duration = Duration::from_secs(10);

pub fn spawn(
    cfg: HistoryConfig,
    hosts: Vec<HostConfig>,
    status: UnboundedSender<Status>,
) -> std::io::Result<Writer> {
    let (tx, mut rx) = queue::bounded(hosts.len(), status);
    let thread = std::thread::Builder::new()
        .name("history".into())
        .spawn(move || {
            let Some(path) = cfg.db_path() else {
                rx.say(Status::Error(
                    "no place for the history: set [history] path".into(),
                ));
                return;
            };
            let mut rec: Option<Recorder> = None;
            let mut next_try = Instant::now();
            loop {
                let now_ms = chrono::Utc::now().timestamp_millis();
                if rec.is_none() && Instant::now() >= next_try {
                    next_try = Instant::now() + RETRY;
                    match SqliteStore::open_rw(&path) {
                        Ok(c) => {
                            match Recorder::start_as(Role::Tui, c, cfg.clone(), &hosts, now_ms) {
                                Ok(r) => {
                                    rec = Some(r);
                                    rx.say(Status::Recording);
                                }
                                Err(RecordError::Busy { pid, hostname }) => {
                                    rx.say(Status::Standby { pid, hostname })
                                }
                                // A store's error names its file already.
                                Err(e) => rx.say(Status::Error(e.to_string())),
                            }
                        }
                        Err(e) if e.is_read_only() => rx.say(Status::ReadOnly(e.to_string())),
                        Err(e) => rx.say(Status::Error(e.to_string())),
                    }
                }
                match rx.next_batch(Duration::from_secs(1), BATCH_WINDOW, BATCH_MAX) {
                    Batch::Messages { batch, closed } => {
                        if let Some(r) = rec.as_mut() {
                            match r.record_queued(&batch, chrono::Utc::now().timestamp_millis()) {
                                Ok(()) => rx.say_written(),
                                Err(RecordError::LostLease) => {
                                    // The service took over (or we were presumed dead): say
                                    // who records now, and take the lease back once it is free.
                                    rec = None;
                                    next_try = Instant::now();
                                }
                                Err(e) => rx.say(Status::Error(format!("{e}; monitoring goes on"))),
                            }
                        }
                        if closed {
                            if let Some(r) = rec {
                                r.stop();
                            }
                            return;
                        }
                    }
                    Batch::Idle => {
                        if let Some(r) = rec.as_mut()
                            && let Err(RecordError::LostLease) = r.tick(now_ms)
                        {
                            rec = None;
                            next_try = Instant::now();
                        }
                    }
                    Batch::Closed => {
                        if let Some(r) = rec {
                            r.stop();
                        }
                        return;
                    }
                }
            }
        })?;
    Ok(Writer {
        tx: Some(tx),
        thread: Some(thread),
    })
}
