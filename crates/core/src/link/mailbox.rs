//! The bounded queue from the collectors to the app: one slot per host instead of a channel,
//! so a slow or stalled app costs at most a few entries per host, never memory that grows with
//! the time it was away.
//!
//! Each host's slot keeps its updates in the order they came, folded so it stays small:
//! - a sample replaces the host's sample the app has not taken yet; the older one's domain
//!   events go in front of the newer one's, so nothing libvirt reported is lost (samples are
//!   whole pictures otherwise: the newer one says all the older one did);
//! - a link update replaces the host's previous link update when no sample came between them
//!   (each is the host's whole link state), so the app sees links and samples in the order
//!   they happened, minus states that were already over when it looked;
//! - action updates are never folded: a host's producer waits for room instead (one action
//!   runs per host, so that is only its own action thread).
//!
//! Every folded entry is counted ([`MailboxReceiver::merged`]), so the UI can show that it
//! fell behind. The app is woken through a tokio [`Notify`] and takes everything pending at
//! once, in host order.

use super::{Message, Update};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Action updates one host may have waiting before its action thread waits for the app: a
/// migration reports progress about twice a second, so this is half a minute of a stalled app.
pub const ACTION_BACKLOG: usize = 64;

/// The app is gone (or the host is not one the mailbox was made for): nothing will read this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the app no longer reads collector updates")]
pub struct Closed;

/// The slots both ends share.
pub struct Mailbox {
    state: Mutex<State>,
    /// Wakes the app. `notify_one` keeps a permit when the app is not waiting, so a put between
    /// its look and its wait is not missed.
    wake: Notify,
    /// Wakes an action producer waiting for room.
    room: Condvar,
    merged: AtomicU64,
}

struct State {
    slots: Vec<Slot>,
    /// Hosts with something pending, each once, so the app's look costs what is pending, not
    /// the fleet.
    dirty: Vec<usize>,
    senders: usize,
    receiving: bool,
}

#[derive(Default)]
struct Slot {
    entries: VecDeque<Message>,
    listed: bool,
    actions: usize,
}

impl Mailbox {
    /// A mailbox for hosts `0..hosts`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(hosts: usize) -> (MailboxSender, MailboxReceiver) {
        let shared = Arc::new(Mailbox {
            state: Mutex::new(State {
                slots: (0..hosts).map(|_| Slot::default()).collect(),
                dirty: Vec::new(),
                senders: 1,
                receiving: true,
            }),
            wake: Notify::new(),
            room: Condvar::new(),
            merged: AtomicU64::new(0),
        });
        (
            MailboxSender {
                shared: shared.clone(),
            },
            MailboxReceiver {
                shared,
                taken: VecDeque::new(),
            },
        )
    }

    /// A panic elsewhere while the lock was held leaves plain data behind: still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put(&self, m: Message) -> Result<(), Closed> {
        let mut st = self.lock();
        if matches!(m.update, Update::Action(_)) {
            while st.receiving
                && st
                    .slots
                    .get(m.host)
                    .is_some_and(|s| s.actions >= ACTION_BACKLOG)
            {
                st = self.room.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
        if !st.receiving {
            return Err(Closed);
        }
        let host = m.host;
        let slot = st.slots.get_mut(host).ok_or(Closed)?;
        let folded = slot.push(m);
        let newly = !slot.listed;
        slot.listed = true;
        if newly {
            st.dirty.push(host);
        }
        drop(st);
        if folded > 0 {
            self.merged.fetch_add(folded, Ordering::Relaxed);
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Moves everything pending to `out`, host by host; says whether anyone may still send.
    fn take(&self, out: &mut VecDeque<Message>) -> bool {
        let mut st = self.lock();
        let mut dirty = std::mem::take(&mut st.dirty);
        dirty.sort_unstable();
        let mut freed = false;
        for &h in &dirty {
            if let Some(slot) = st.slots.get_mut(h) {
                freed |= slot.actions > 0;
                slot.actions = 0;
                slot.listed = false;
                out.extend(slot.entries.drain(..));
            }
        }
        dirty.clear();
        // The emptied list keeps its room for the next round.
        st.dirty = dirty;
        let open = st.senders > 0;
        drop(st);
        if freed {
            self.room.notify_all();
        }
        open
    }
}

impl Slot {
    /// Adds `m`, folding what it makes redundant; returns how many entries were folded away.
    fn push(&mut self, mut m: Message) -> u64 {
        let mut folded = 0;
        match &mut m.update {
            Update::Action(_) => self.actions += 1,
            Update::Link { .. } => {
                if let Some(i) = self.last_state()
                    && matches!(self.entries[i].update, Update::Link { .. })
                {
                    self.entries.remove(i);
                    folded += 1;
                }
            }
            Update::Sample(newer) => {
                let older = self
                    .entries
                    .iter()
                    .position(|e| matches!(e.update, Update::Sample(_)));
                if let Some(i) = older
                    && let Some(older) = self.entries.remove(i)
                {
                    folded += 1;
                    if let Update::Sample(older) = older.update {
                        merge_events(older, newer);
                    }
                    folded += self.join_links_around(i);
                }
            }
        }
        self.entries.push_back(m);
        folded
    }

    /// The last entry that is a link or a sample (not an action).
    fn last_state(&self) -> Option<usize> {
        self.entries
            .iter()
            .rposition(|e| !matches!(e.update, Update::Action(_)))
    }

    /// After a sample left position `i`, the link updates that were before and after it
    /// follow each other: the later one alone says what the link is.
    fn join_links_around(&mut self, i: usize) -> u64 {
        let is_link = |e: &Message| matches!(e.update, Update::Link { .. });
        let not_action = |e: &Message| !matches!(e.update, Update::Action(_));
        let before = self.entries.iter().take(i).rposition(not_action);
        let after = self
            .entries
            .iter()
            .skip(i)
            .position(not_action)
            .map(|k| k + i);
        match (before, after) {
            (Some(b), Some(a)) if is_link(&self.entries[b]) && is_link(&self.entries[a]) => {
                self.entries.remove(b);
                1
            }
            _ => 0,
        }
    }
}

/// The newer sample takes the older one's events in front of its own.
fn merge_events(
    older: Arc<crate::model::sample::HostSample>,
    newer: &mut Arc<crate::model::sample::HostSample>,
) {
    let mut events = match Arc::try_unwrap(older) {
        Ok(s) => s.events,
        Err(shared) => shared.events.clone(),
    };
    if events.is_empty() {
        return;
    }
    // The collector's fresh sample is not shared yet, so this does not copy its domains.
    let n = Arc::make_mut(newer);
    events.append(&mut n.events);
    n.events = events;
}

/// The collectors' end; clones share the slots, and the app sees the end once all are gone.
pub struct MailboxSender {
    shared: Arc<Mailbox>,
}

impl MailboxSender {
    /// Queues `m` for the app. Only an action update may wait, for room in its host's slot.
    pub fn send(&self, m: Message) -> Result<(), Closed> {
        self.shared.put(m)
    }

    /// Hosts `0..hosts()` have a slot; a message for any other is refused as [`Closed`].
    pub fn hosts(&self) -> usize {
        self.shared.lock().slots.len()
    }
}

impl Clone for MailboxSender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        MailboxSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for MailboxSender {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.senders = st.senders.saturating_sub(1);
        let last = st.senders == 0;
        drop(st);
        if last {
            self.shared.wake.notify_one();
        }
    }
}

/// The app's end.
pub struct MailboxReceiver {
    shared: Arc<Mailbox>,
    /// Taken from the slots but not handed out yet (by [`MailboxReceiver::recv`]).
    taken: VecDeque<Message>,
}

impl MailboxReceiver {
    /// Everything pending, in host order, waiting until there is something; `None` once every
    /// sender is gone and nothing is left.
    pub async fn recv_batch(&mut self) -> Option<Vec<Message>> {
        loop {
            let open = self.shared.take(&mut self.taken);
            if !self.taken.is_empty() {
                return Some(self.taken.drain(..).collect());
            }
            if !open {
                return None;
            }
            self.shared.wake.notified().await;
        }
    }

    /// One message, waiting until there is one; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            if let Some(m) = self.taken.pop_front() {
                return Some(m);
            }
            let open = self.shared.take(&mut self.taken);
            if self.taken.is_empty() {
                if !open {
                    return None;
                }
                self.shared.wake.notified().await;
            }
        }
    }

    /// One message if any is pending, without waiting.
    pub fn try_recv(&mut self) -> Option<Message> {
        if self.taken.is_empty() {
            self.shared.take(&mut self.taken);
        }
        self.taken.pop_front()
    }

    /// Everything pending, without waiting (empty if nothing is).
    pub fn try_batch(&mut self) -> Vec<Message> {
        self.shared.take(&mut self.taken);
        self.taken.drain(..).collect()
    }

    /// Entries folded into newer ones since the start: non-zero means the app fell behind.
    pub fn merged(&self) -> u64 {
        self.shared.merged.load(Ordering::Relaxed)
    }
}

impl Drop for MailboxReceiver {
    fn drop(&mut self) {
        self.shared.lock().receiving = false;
        self.shared.room.notify_all();
    }
}
