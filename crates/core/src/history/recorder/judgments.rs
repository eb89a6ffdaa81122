//! Waiting judgments: the last active copy of a VM stopped or went, and the other hosts'
//! next polls tell whether it was a stop, an undefinition or the source half of a move. Each
//! is a row in the store (`pending`), so a restarted recorder waits on where this one was.

use super::Recorder;
use super::copies::Change;
use crate::history::events::transition;
use crate::history::store::StoreError;
use crate::history::store::rows::{NewPending, RowId};
use crate::model::sample::VmState;
use std::collections::BTreeSet;

/// A judgment waits no longer than this for hosts that do not poll (stuck connecting).
const PENDING_MAX_MS: i64 = 10 * 60_000;

#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// Its row among the store's waiting judgments.
    pub id: RowId,
    pub host: usize,
    pub at: i64,
    pub actor: String,
    /// The state of the copy before it went.
    pub was: VmState,
    /// Hosts whose next poll may still show the VM running.
    pub waiting: BTreeSet<usize>,
    /// Sharing a database: until when the other recorders' hosts may still show it running.
    pub foreign_until: Option<i64>,
}

impl Recorder {
    /// The VM's last active copy stopped or went: a stop, an undefinition or the source half
    /// of a migration, which the other hosts' next polls tell apart.
    pub(super) fn went(&mut self, c: &Change) -> Result<(), StoreError> {
        let Some(old) = &c.old else { return Ok(()) };
        if self.left(c, old.since)?.is_some() {
            return Ok(());
        }
        let (kind, detail): (&'static str, String) = match &c.new {
            None => {
                let others = self.elsewhere(c.uuid, c.host);
                let mut d = format!("was {}", old.state.label());
                if !others.is_empty() {
                    d.push_str(&format!("; still defined on {others}"));
                }
                ("undefined", d)
            }
            Some(p) => match transition(old.state, p.state) {
                Some(k) => (k, String::new()),
                None => return Ok(()),
            },
        };
        if self.seen(c.at, c.uuid, kind, c.host) {
            return Ok(());
        }
        let actor = self.actor(c.host, c.uuid, kind, c.at);
        let waiting = self.up_hosts_but(c.host);
        let foreign_until = self.foreign_until(c.at);
        if kind == "crashed" || (waiting.is_empty() && foreign_until.is_none()) {
            return self.event(
                c.at,
                kind,
                Some((c.uuid, c.name)),
                c.host,
                None,
                actor,
                detail,
            );
        }
        self.confirm(c.uuid)?;
        let vm = self.store.vm_id(c.uuid, c.name)?;
        let host = self.host_id(c.host)?;
        let id = self.store.insert_pending(&NewPending {
            vm,
            host,
            at: c.at,
            kind,
            actor: &actor,
            detail: &detail,
            was: old.state,
        })?;
        let p = Pending {
            id,
            host: c.host,
            at: c.at,
            actor,
            was: old.state,
            waiting,
            foreign_until,
        };
        self.pending.insert(c.uuid.to_owned(), p);
        Ok(())
    }

    /// After a poll of `host` (or its loss, with `lost`): judgments no host can change any more
    /// become the events they looked like.
    pub(super) fn settle(&mut self, host: usize, now: i64, lost: bool) -> Result<(), StoreError> {
        let mut due: Vec<String> = Vec::new();
        for (u, p) in &mut self.pending {
            if lost || p.at <= now {
                p.waiting.remove(&host);
            }
            let others_done = p.foreign_until.is_none_or(|t| now >= t);
            if (p.waiting.is_empty() && others_done) || now - p.at > PENDING_MAX_MS {
                due.push(u.clone());
            }
        }
        due.sort_unstable();
        for u in due {
            tracing::debug!(vm = %u, host = %self.hosts[host].name, now, "judgment settled");
            self.conclude(&u)?;
        }
        Ok(())
    }

    /// Writes the VM's waiting judgment as the event it looked like.
    pub(super) fn confirm(&mut self, uuid: &str) -> Result<(), StoreError> {
        match self.pending.remove(uuid) {
            Some(p) => self.confirm_row(p.id),
            None => Ok(()),
        }
    }

    pub(super) fn confirm_row(&mut self, id: RowId) -> Result<(), StoreError> {
        self.store.confirm_pending(id)
    }

    /// Whether it was still ours to drop (sharing a database, another recorder may have
    /// taken it as part of a move it saw the other half of).
    pub(super) fn drop_pending(&mut self, uuid: &str) -> Result<bool, StoreError> {
        match self.pending.remove(uuid) {
            Some(p) => self.store.delete_pending(p.id),
            None => Ok(true),
        }
    }

    /// The copy a waiting judgment is about went too: the shut-off copy a migration leaves on
    /// its source undefined after the move, or a stop then an undefinition. Still one
    /// judgment, now of an undefinition: a move the other hosts show is the whole of it.
    pub(super) fn gone_while_judged(&mut self, c: &Change, p: &Pending) -> Result<(), StoreError> {
        let detail = format!(
            "was {}; shut off first, undefined {:.1}s later",
            p.was.label(),
            (c.at - p.at).max(0) as f64 / 1000.0
        );
        self.pending.remove(c.uuid);
        // Sharing a database: another recorder took it as part of a move it saw.
        if !self.store.delete_pending(p.id)? {
            return Ok(());
        }
        let vm = self.store.vm_id(c.uuid, c.name)?;
        let host = self.host_id(c.host)?;
        let id = self.store.insert_pending(&NewPending {
            vm,
            host,
            at: p.at,
            kind: "undefined",
            actor: &p.actor,
            detail: &detail,
            was: p.was,
        })?;
        self.pending
            .insert(c.uuid.to_owned(), Pending { id, ..p.clone() });
        Ok(())
    }
}
