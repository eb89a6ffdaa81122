//! Recorders that share a database each hold some of the config's hosts, so a VM that moves
//! between hosts two of them hold is seen in halves: one sees it go, the other sees it come.
//! The store is where the halves meet. The recorder that sees the VM come while its copy on
//! another's host is still open and active writes no event (the move is under way, as with two
//! copies of its own); the one that sees it go looks there for the copy it went to, and if
//! none is written yet, its judgment waits in the store for the others' polls
//! (`foreign_until`), where the destination's recorder takes it as the first half of the move.
//! Whoever deletes the waiting row writes the event, so it is written once.

use super::copies::{Change, MoveSeen};
use super::{Recorder, UNKNOWN};
use crate::config::HostConfig;
use crate::history::lease::STALE_RENEWALS;
use crate::history::store::StoreError;
use crate::history::store::rows::{Move, NewEvent, OpenCopy, PendingRow, RowId};
use crate::model::sample::VmState;

/// One end of a move: a host this recorder holds, or one another holds.
#[derive(Clone, Copy)]
pub(super) enum End<'a> {
    Ours(usize),
    Theirs(&'a HostConfig),
}

impl Recorder {
    /// How long a judgment waits for the other recorders' polls: a poll interval for the
    /// destination to be polled, another for its batch to be written, and a recorder's stale
    /// time for a destination whose recorder died and is being replaced.
    pub(super) fn foreign_wait_ms(&self) -> i64 {
        (STALE_RENEWALS + 4) * self.me.renew_ms.max(1)
    }

    /// The end of a judgment's wait for the other recorders, for one made at `at`.
    pub(super) fn foreign_until(&self, at: i64) -> Option<i64> {
        (!self.others.is_empty()).then(|| at + self.foreign_wait_ms())
    }

    /// The VM's open copies and waiting judgments on the hosts other recorders hold.
    fn theirs(&mut self, uuid: &str) -> Result<(Vec<OpenCopy>, Vec<PendingRow>), StoreError> {
        if self.others.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let w = self.store.whereabouts(uuid)?;
        let other = |name: &str| self.others.iter().any(|h| h.name == name);
        let copies = w.copies.into_iter().filter(|c| other(&c.host)).collect();
        let pending = w.pending.into_iter().filter(|p| other(&p.host)).collect();
        Ok((copies, pending))
    }

    /// The host another recorder holds where the VM runs (its index in `others`) and since
    /// when, by the order a VM's own copies are told apart: running before paused, then the
    /// one there first.
    pub(super) fn active_elsewhere(
        &mut self,
        uuid: &str,
    ) -> Result<Option<(usize, i64)>, StoreError> {
        let (copies, _) = self.theirs(uuid)?;
        let best = copies
            .iter()
            .filter(|c| c.state.is_active())
            .min_by_key(|c| (c.state != VmState::Running, c.since));
        Ok(best.and_then(|c| {
            let i = self.others.iter().position(|h| h.name == c.host)?;
            Some((i, c.since))
        }))
    }

    /// The VM's last active copy among ours went: whether it went on on another recorder's
    /// host, written as the move. A copy there since before ours is where the VM ran all
    /// along (ours was the incoming copy of a move that did not happen): no event at all.
    pub(super) fn left(&mut self, c: &Change, since: i64) -> Result<Option<()>, StoreError> {
        let Some((i, there_since)) = self.active_elsewhere(c.uuid)? else {
            return Ok(None);
        };
        if there_since < since {
            return Ok(Some(()));
        }
        let to = self.others[i].clone();
        self.moved(c, End::Ours(c.host), End::Theirs(&to), false)
            .map(Some)
    }

    /// A judgment done waiting. Shared, the copy it went to may have been written since it
    /// was made (the two recorders' transactions crossed): then it is that move.
    pub(super) fn conclude(&mut self, uuid: &str) -> Result<(), StoreError> {
        let Some(p) = self.pending.get(uuid).cloned() else {
            return Ok(());
        };
        if p.foreign_until.is_some()
            && let Some((i, _)) = self.active_elsewhere(uuid)?
        {
            self.pending.remove(uuid);
            if !self.store.delete_pending(p.id)? {
                // The destination's recorder took it, and wrote the move.
                return Ok(());
            }
            let (to, name) = (self.others[i].clone(), self.name_of(uuid));
            let c = Change {
                uuid,
                name: &name,
                host: p.host,
                old: None,
                new: None,
                before: None,
                after: None,
                at: p.at,
            };
            return self.moved(&c, End::Ours(p.host), End::Theirs(&to), p.actor == UNKNOWN);
        }
        self.confirm(uuid)
    }

    /// The VM came active on a host of ours and on none other of ours. Whether that is the
    /// second half of a move from another recorder's host (written here, once) or a move
    /// under way that the source's recorder will write: then nothing more is to be done.
    pub(super) fn arrived(&mut self, c: &Change, to: usize) -> Result<bool, StoreError> {
        let (copies, pending) = self.theirs(c.uuid)?;
        for p in pending {
            // `theirs` keeps only judgments of the others' hosts.
            let Some(from) = self.others.iter().find(|h| h.name == p.host).cloned() else {
                continue;
            };
            // Its recorder may confirm it at the same time: the one that deletes it decides.
            if self.store.delete_pending(p.id)? {
                return self
                    .moved(c, End::Theirs(&from), End::Ours(to), p.actor == UNKNOWN)
                    .map(|()| true);
            }
        }
        Ok(copies.iter().any(|k| k.state.is_active()))
    }

    /// A change of state of our copy of a VM that is no event of its own: the running copy
    /// is on another recorder's host, there since before ours (ours is the incoming copy of
    /// a move under way), or ours is the paused copy a running VM was moved onto, now
    /// running (the move's end, which the source's recorder wrote).
    pub(super) fn visiting(&mut self, c: &Change) -> Result<bool, StoreError> {
        let (Some(o), Some(p)) = (&c.old, &c.new) else {
            return Ok(false);
        };
        if self.others.is_empty() || o.state == p.state {
            return Ok(false);
        }
        if let Some((_, since)) = self.active_elsewhere(c.uuid)?
            && since < o.since
        {
            return Ok(true);
        }
        if o.state == VmState::Paused && p.state == VmState::Running {
            let host = self.host_id(c.host)?;
            let source = self.store.moved_onto(c.uuid, host, o.since)?;
            return Ok(source == Some(VmState::Running));
        }
        Ok(false)
    }

    /// A move between a host of ours and one of another recorder's, as the migration event.
    pub(super) fn moved(
        &mut self,
        c: &Change,
        from: End,
        to: End,
        after_gap: bool,
    ) -> Result<(), StoreError> {
        let ours = match (from, to) {
            (_, End::Ours(i)) | (End::Ours(i), _) => i,
            (End::Theirs(_), End::Theirs(_)) => c.host,
        };
        let dest = match to {
            End::Ours(t) => Some(t),
            End::Theirs(_) => None,
        };
        let after_gap = after_gap || self.gap[ours];
        let MoveSeen {
            started,
            end,
            actor,
            detail,
        } = self.move_seen(c, dest, ours, after_gap);
        let vm = self.store.vm_id(c.uuid, c.name)?;
        let (from, to) = (self.end_id(from)?, self.end_id(to)?);
        self.store.insert_event(&NewEvent {
            at: end,
            kind: "migrated",
            vm: Some(vm),
            host: to,
            moved: Some(Move {
                from,
                to,
                started_at: started,
            }),
            actor: &actor,
            detail: &detail,
        })
    }

    fn end_id(&mut self, end: End) -> Result<RowId, StoreError> {
        match end {
            End::Ours(i) => self.host_id(i),
            End::Theirs(h) => self.store.host_id(&h.name, &h.uri),
        }
    }
}
