//! The bounded queue from the app loop to the recorder thread. Sending never blocks and memory
//! never grows past the queue's capacity, however long SQLite stalls (a locked file, a slow
//! disk): when the queue is full the message is dropped and counted, and its host is marked so
//! that its next queued message says messages were lost before it; the recorder then treats what
//! that one shows as found after a gap (actor "unknown"), since a dropped message may have held
//! the change.

use super::recorder::Queued;
use super::writer::Status;
use crate::link::Message;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Room for four polls of every host, and never less than 1,024 messages.
pub fn capacity(hosts: usize) -> usize {
    hosts.saturating_mul(4).max(1024)
}

/// What both ends see: counts, marks, and what the UI was last told.
struct Shared {
    status: UnboundedSender<Status>,
    /// The status last sent, so neither end repeats it and the sender knows whether the
    /// recorder is recording (a drop is news then) or failing (its banner stays).
    said: Mutex<Option<Status>>,
    dropped: AtomicU64,
    /// Messages in the queue now (a gauge for the status and for tests).
    queued: AtomicUsize,
    /// Per host: a message of it was dropped since its last one queued.
    lost: Vec<AtomicBool>,
}

impl Shared {
    fn say(&self, s: Status) {
        // A panic elsewhere while this was held leaves a usable value.
        let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        if said.as_ref() != Some(&s) {
            if let Status::Error(e) = &s {
                tracing::warn!("history: {e}");
            }
            let _ = self.status.send(s.clone());
            *said = Some(s);
        }
    }

    fn recording(&self) -> bool {
        let said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        matches!(*said, Some(Status::Recording))
    }
}

/// The app loop's end.
pub struct QueueTx {
    tx: SyncSender<Queued>,
    shared: Arc<Shared>,
}

/// The recorder thread's end.
pub struct QueueRx {
    rx: Receiver<Queued>,
    shared: Arc<Shared>,
    /// The drop count when the recorder last looked, and when it last saw it grow.
    seen: (u64, Option<Instant>),
}

/// A queue for `hosts` hosts' messages; statuses go to `status`.
pub fn bounded(hosts: usize, status: UnboundedSender<Status>) -> (QueueTx, QueueRx) {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity(hosts));
    let shared = Arc::new(Shared {
        status,
        said: Mutex::new(None),
        dropped: AtomicU64::new(0),
        queued: AtomicUsize::new(0),
        lost: (0..hosts).map(|_| AtomicBool::new(false)).collect(),
    });
    let rx = QueueRx {
        rx,
        shared: shared.clone(),
        seen: (0, None),
    };
    (QueueTx { tx, shared }, rx)
}

impl QueueTx {
    /// Queues a copy of the message, or drops it when the queue is full. Never blocks.
    pub fn send(&self, m: &Message) {
        let Some(lost) = self.shared.lost.get(m.host) else {
            // A host the recorder does not know: it would ignore the message anyway.
            return;
        };
        let after_loss = lost.load(Ordering::Relaxed);
        let q = Queued {
            message: m.clone(),
            after_loss,
        };
        // Counted before it is sent, so the gauge never goes below zero when the recorder takes
        // the message at once.
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(q) {
            Ok(()) => {
                if after_loss {
                    lost.store(false, Ordering::Relaxed);
                }
            }
            Err(TrySendError::Full(_)) => {
                self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                lost.store(true, Ordering::Relaxed);
                let n = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // The recorder may be stuck in a write for seconds: say it now, from here.
                if self.shared.recording() {
                    self.shared.say(Status::Behind { dropped: n });
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.shared.queued.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Messages waiting for the recorder now; never more than the queue's capacity.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// Messages dropped since the queue was made.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

pub enum Batch {
    /// `closed`: the sender is gone; nothing comes after these.
    Messages { batch: Vec<Queued>, closed: bool },
    /// Nothing came within the wait.
    Idle,
    /// The sender is gone and nothing is left.
    Closed,
}

/// After drops stop, "dropping" stays shown this long, so a stall that comes and goes does
/// not make the header flicker.
const DROPS_SHOWN_FOR: Duration = Duration::from_secs(10);

impl QueueRx {
    /// Waits up to `wait` for a message, then gathers what else comes within `window` of it,
    /// `max` messages at most.
    pub fn next_batch(&mut self, wait: Duration, window: Duration, max: usize) -> Batch {
        let first = match self.rx.recv_timeout(wait) {
            Ok(q) => self.taken(q),
            Err(RecvTimeoutError::Timeout) => return Batch::Idle,
            Err(RecvTimeoutError::Disconnected) => return Batch::Closed,
        };
        let until = Instant::now() + window;
        let mut batch = vec![first];
        let mut closed = false;
        while batch.len() < max {
            match self
                .rx
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(q) => batch.push(self.taken(q)),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        Batch::Messages { batch, closed }
    }

    fn taken(&self, q: Queued) -> Queued {
        self.shared.queued.fetch_sub(1, Ordering::Relaxed);
        q
    }

    pub fn say(&self, s: Status) {
        self.shared.say(s);
    }

    /// After a batch was written: recording, or recording but dropping (recently).
    pub fn say_written(&mut self) {
        let n = self.shared.dropped.load(Ordering::Relaxed);
        if n != self.seen.0 {
            self.seen = (n, Some(Instant::now()));
        }
        match self.seen.1 {
            Some(t) if t.elapsed() < DROPS_SHOWN_FOR => self.say(Status::Behind { dropped: n }),
            _ => self.say(Status::Recording),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{LinkState, Update};

    fn link(host: usize) -> Message {
        Message {
            host,
            at: Instant::now(),
            update: Update::Link {
                state: LinkState::Up,
                error: None,
                retry: None,
            },
        }
    }

    fn drain(rx: &mut QueueRx) -> Vec<(usize, bool)> {
        match rx.next_batch(Duration::ZERO, Duration::ZERO, usize::MAX) {
            Batch::Messages { batch, .. } => batch
                .into_iter()
                .map(|q| (q.message.host, q.after_loss))
                .collect(),
            Batch::Idle | Batch::Closed => Vec::new(),
        }
    }

    #[test]
    fn a_full_queue_drops_counts_and_marks_only_the_next_message_of_the_dropped_host() {
        let (status, mut said) = tokio::sync::mpsc::unbounded_channel();
        let (tx, mut rx) = bounded(2, status);
        rx.say(Status::Recording);
        let cap = capacity(2);
        for _ in 0..cap {
            tx.send(&link(1));
        }
        assert_eq!(tx.queued(), cap);
        // Full: these go, host 0's twice, host 1's once; a host nobody knows is not counted.
        tx.send(&link(0));
        tx.send(&link(0));
        tx.send(&link(1));
        tx.send(&link(7));
        assert_eq!((tx.queued(), tx.dropped()), (cap, 3));
        let first = drain(&mut rx);
        assert_eq!(first.len(), cap);
        assert!(first.iter().all(|&(_, lost)| !lost), "sent before any loss");
        assert_eq!(tx.queued(), 0);
        for h in [0, 0, 1, 1] {
            tx.send(&link(h));
        }
        assert_eq!(
            drain(&mut rx),
            [(0, true), (0, false), (1, true), (1, false)]
        );
        let mut statuses = Vec::new();
        while let Ok(s) = said.try_recv() {
            statuses.push(s);
        }
        assert_eq!(
            statuses,
            [Status::Recording, Status::Behind { dropped: 1 }],
            "said once, at the first drop, while the recorder may be stuck"
        );
        rx.say_written();
        assert_eq!(said.try_recv().ok(), Some(Status::Behind { dropped: 3 }));
    }

    #[test]
    fn a_failing_recorder_keeps_its_banner_when_messages_drop() {
        let (status, mut said) = tokio::sync::mpsc::unbounded_channel();
        let (tx, rx) = bounded(1, status);
        rx.say(Status::Error("disk full".into()));
        for _ in 0..capacity(1) + 5 {
            tx.send(&link(0));
        }
        assert_eq!(tx.dropped(), 5);
        assert_eq!(
            said.try_recv().ok(),
            Some(Status::Error("disk full".into()))
        );
        assert!(said.try_recv().is_err());
    }
}
