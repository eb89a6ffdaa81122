//! The TUI's recorder thread: takes the lease when no service holds it, writes every message it
//! is given, gives the lease up to `fleetwatch record` as soon as that starts, and says how it is
//! doing. A store that cannot be written (disk full) is reported and retried; one this user may
//! not write is only read. It never stops monitoring.

use super::config::HistoryConfig;
use super::lease::Role;
use super::recorder::{RecordError, Recorder};
use super::sqlite::SqliteStore;
use crate::config::HostConfig;
use crate::link::Message;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
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
}

impl Status {
    pub fn short(&self) -> String {
        match self {
            Status::Recording => "REC".into(),
            Status::Standby { pid, hostname } => format!("rec by {pid}@{hostname}"),
            Status::ReadOnly(_) => "history read-only".into(),
            Status::Error(_) => "REC FAILING".into(),
        }
    }
}

/// Sends messages to the recorder thread; dropping it stops the thread (lease released).
pub struct Writer {
    tx: Option<Sender<Message>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    pub fn send(&self, m: &Message) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(m.clone());
        }
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
    let (tx, rx) = mpsc::channel::<Message>();
    let thread = std::thread::Builder::new()
        .name("history".into())
        .spawn(move || {
            let Some(path) = cfg.db_path() else {
                let _ = status.send(Status::Error(
                    "no place for the history: set [history] path".into(),
                ));
                return;
            };
            let mut rec: Option<Recorder> = None;
            let mut next_try = Instant::now();
            let mut last: Option<Status> = None;
            let mut say = |s: Status| {
                if last.as_ref() != Some(&s) {
                    if let Status::Error(e) = &s {
                        tracing::warn!("history: {e}");
                    }
                    let _ = status.send(s.clone());
                    last = Some(s);
                }
            };
            loop {
                let now_ms = chrono::Utc::now().timestamp_millis();
                if rec.is_none() && Instant::now() >= next_try {
                    next_try = Instant::now() + RETRY;
                    match SqliteStore::open_rw(&path) {
                        Ok(c) => {
                            match Recorder::start_as(Role::Tui, c, cfg.clone(), &hosts, now_ms) {
                                Ok(r) => {
                                    rec = Some(r);
                                    say(Status::Recording);
                                }
                                Err(RecordError::Busy { pid, hostname }) => {
                                    say(Status::Standby { pid, hostname })
                                }
                                // A store's error names its file already.
                                Err(e) => say(Status::Error(e.to_string())),
                            }
                        }
                        Err(e) if e.is_read_only() => say(Status::ReadOnly(e.to_string())),
                        Err(e) => say(Status::Error(e.to_string())),
                    }
                }
                match rx.recv_timeout(Duration::from_secs(1)) {
                    Ok(m) => {
                        let Some(r) = rec.as_mut() else { continue };
                        match r.record(&m, chrono::Utc::now().timestamp_millis()) {
                            Ok(()) => say(Status::Recording),
                            Err(RecordError::LostLease) => {
                                // The service took over (or we were presumed dead): say who
                                // records now, and take the lease back once it is free.
                                rec = None;
                                next_try = Instant::now();
                            }
                            Err(e) => say(Status::Error(format!("{e}; monitoring goes on"))),
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        if let Some(r) = rec.as_mut()
                            && let Err(RecordError::LostLease) = r.tick(now_ms)
                        {
                            rec = None;
                            next_try = Instant::now();
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => {
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
