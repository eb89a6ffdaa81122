//! What a change of one copy means for the VM. A UUID may be defined on several hosts (the
//! shut-off copy a live migration leaves on its source, the incoming copy of one under way): it
//! is one VM, which runs where its active copy is. A migration is that place moving from one host
//! to another, whichever host's poll shows it first; copies that come and go beside it are
//! `copy-added` and `copy-removed`, not moves.
//!
//! The last active copy going away (stopped or gone) is not judged at once (`judgments`): the
//! next polls of the other hosts may show the VM running there (its source polled before its
//! destination, after a gap). It waits in the store for those polls, then is a migration or what
//! it looked like.

use super::judgments::Pending;
use super::{Placed, Recorder, UNKNOWN, config_change};
use crate::history::events::transition;
use crate::history::store::StoreError;
use crate::model::sample::VmState;
use std::collections::BTreeMap;

/// A migration as its event tells it.
pub(super) struct MoveSeen {
    pub started: Option<i64>,
    pub end: i64,
    pub actor: String,
    pub detail: String,
}

/// One copy's change, and where the VM ran before and after it.
pub(super) struct Change<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub host: usize,
    pub old: Option<Placed>,
    pub new: Option<Placed>,
    pub before: Option<usize>,
    pub after: Option<usize>,
    pub at: i64,
}

/// The active copy a VM runs on when it is not already running somewhere: running before
/// paused, then the one there first.
pub(super) fn best_active(copies: &BTreeMap<usize, Placed>) -> Option<usize> {
    copies
        .iter()
        .filter(|(_, p)| p.state.is_active())
        .min_by_key(|(h, p)| (p.state != VmState::Running, p.since, **h))
        .map(|(h, _)| *h)
}

impl Recorder {
    /// Where the VM runs after a change of its copies: where it ran while that copy is active.
    pub(super) fn rehome(&mut self, uuid: &str) -> Option<usize> {
        let copies = self.copies.get(uuid);
        let stays = self.home.get(uuid).copied().filter(|h| {
            copies
                .and_then(|c| c.get(h))
                .is_some_and(|p| p.state.is_active())
        });
        let home = stays.or_else(|| copies.and_then(best_active));
        match home {
            Some(h) => self.home.insert(uuid.to_owned(), h),
            None => self.home.remove(uuid),
        };
        home
    }

    /// The other hosts holding a copy, for details: "b (shutoff), c (paused)".
    pub(super) fn elsewhere(&self, uuid: &str, host: usize) -> String {
        self.copies
            .get(uuid)
            .into_iter()
            .flatten()
            .filter(|(h, _)| **h != host)
            .map(|(h, p)| format!("{} ({})", self.hosts[*h].name, p.state.label()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(super) fn judge(&mut self, c: &Change) -> Result<(), StoreError> {
        if self.baseline[c.host] {
            return Ok(());
        }
        match (c.before, c.after) {
            (Some(a), Some(b)) if a != b => self.migrated(c, a, b, None),
            (Some(a), Some(_)) if a == c.host => match self.visiting(c)? {
                true => Ok(()),
                false => self.copy_events(c),
            },
            (Some(_), Some(_)) => self.side_copy(c),
            (Some(_), None) => self.went(c),
            (None, Some(b)) => match self.pending.get(c.uuid).filter(|p| p.host != b).cloned() {
                Some(p) if self.drop_pending(c.uuid)? => self.migrated(c, p.host, b, Some(&p)),
                // Another recorder took it first: it wrote the move.
                Some(_) => Ok(()),
                None if self.arrived(c, b)? => Ok(()),
                None => {
                    self.confirm(c.uuid)?;
                    self.copy_events(c)
                }
            },
            // Not active anywhere: a waiting judgment stays for the hosts it waits on (they
            // may still show the VM running); its own copy going is part of it.
            (None, None) => match self.pending.get(c.uuid).cloned() {
                Some(p) if p.host == c.host && c.new.is_none() => self.gone_while_judged(c, &p),
                _ => self.copy_events(c),
            },
        }
    }

    fn migrated(
        &mut self,
        c: &Change,
        from: usize,
        to: usize,
        pending: Option<&Pending>,
    ) -> Result<(), StoreError> {
        // Either end seen only after a gap makes the whole move one found after the fact.
        let after_gap = self.gap[from] || pending.is_some_and(|p| p.actor == UNKNOWN);
        let seen = self.move_seen(c, Some(to), to, after_gap);
        let source_was = match pending {
            Some(p) => Some(p.was),
            None => c.old.as_ref().filter(|_| c.host == from).map(|o| o.state),
        };
        let lands = self
            .copies
            .get(c.uuid)
            .and_then(|k| k.get(&to))
            .map(|p| p.state);
        // A running VM that lands on a copy still paused runs once libvirt resumes it there:
        // that is the end of this move, not a "resumed" of its own.
        if source_was == Some(VmState::Running) && lands == Some(VmState::Paused) {
            self.arriving.insert(c.uuid.to_owned());
        } else {
            self.arriving.remove(c.uuid);
        }
        let MoveSeen {
            started,
            end,
            actor,
            mut detail,
        } = seen;
        if self
            .copies
            .get(c.uuid)
            .is_some_and(|k| k.contains_key(&from))
        {
            detail.push_str(&format!(
                "; a shut-off copy stays on {}",
                self.hosts[from].name
            ));
        }
        self.event(
            end,
            "migrated",
            Some((c.uuid, c.name)),
            to,
            Some((from, to, started)),
            actor,
            detail,
        )
    }

    /// What a migration's event says of it: its start if the destination reported one
    /// (`dest`: the host the start must have been reported for, if known), its end, who did it
    /// (from the audit, for `actor_host`; unknown when either end was seen after a gap), and
    /// how long it took.
    pub(super) fn move_seen(
        &mut self,
        c: &Change,
        dest: Option<usize>,
        actor_host: usize,
        after_gap: bool,
    ) -> MoveSeen {
        let started = self
            .migrating
            .remove(c.uuid)
            .filter(|(_, d)| dest.is_none_or(|t| *d == t))
            .map(|(t, _)| t);
        let end = self.ended.remove(c.uuid).unwrap_or(c.at);
        let mut actor = self.actor(actor_host, c.uuid, "migrated", end);
        if after_gap && actor == super::EXTERNAL {
            actor = UNKNOWN.into();
        }
        let detail = match started {
            Some(t) => format!("took {:.1}s", (end - t) as f64 / 1000.0),
            None => "start not seen".into(),
        };
        MoveSeen {
            started,
            end,
            actor,
            detail,
        }
    }

    /// Events of the copy the VM is judged by (its active one, or any when none is active).
    fn copy_events(&mut self, c: &Change) -> Result<(), StoreError> {
        let others = self.elsewhere(c.uuid, c.host);
        match (&c.old, &c.new) {
            (None, Some(p)) => {
                let (kind, detail) = if others.is_empty() {
                    ("defined", format!("appeared {}", p.state.label()))
                } else if p.state.is_active() {
                    (
                        "started",
                        format!("on a new copy; also defined on {others}"),
                    )
                } else {
                    (
                        "copy-added",
                        format!("{} copy; also defined on {others}", p.state.label()),
                    )
                };
                self.vm_event(c.at, kind, c.uuid, c.name, c.host, detail)
            }
            (Some(o), None) => {
                // Its last active copy went just before and is being judged (a move?).
                let judged = self
                    .pending
                    .get(c.uuid)
                    .map(|p| self.hosts[p.host].name.clone());
                let (kind, detail) = if let Some(h) = judged.filter(|_| others.is_empty()) {
                    (
                        "copy-removed",
                        format!("was {}; the VM left {h} just before", o.state.label()),
                    )
                } else if others.is_empty() {
                    ("undefined", format!("was {}", o.state.label()))
                } else {
                    (
                        "copy-removed",
                        format!("was {}; still defined on {others}", o.state.label()),
                    )
                };
                self.vm_event(c.at, kind, c.uuid, c.name, c.host, detail)
            }
            (Some(o), Some(p)) => {
                let arrived = self.arriving.remove(c.uuid)
                    && o.state == VmState::Paused
                    && p.state == VmState::Running;
                if let Some(kind) = transition(o.state, p.state).filter(|_| !arrived)
                    && !self.seen(c.at, c.uuid, kind, c.host)
                {
                    self.vm_event(c.at, kind, c.uuid, c.name, c.host, String::new())?;
                }
                match config_change(o, p) {
                    Some(d) => self.vm_event(c.at, "config-changed", c.uuid, c.name, c.host, d),
                    None => Ok(()),
                }
            }
            (None, None) => Ok(()),
        }
    }

    /// A copy beside the one the VM runs on: its own definition coming or going is an event;
    /// an incoming copy paused, running or given up is a step of a migration, not one.
    fn side_copy(&mut self, c: &Change) -> Result<(), StoreError> {
        let runs_on = self.hosts[c.before.unwrap_or(c.host)].name.clone();
        match (&c.old, &c.new) {
            (None, Some(p)) if !p.state.is_active() => {
                let detail = format!("{} copy; the VM runs on {runs_on}", p.state.label());
                self.vm_event(c.at, "copy-added", c.uuid, c.name, c.host, detail)
            }
            (Some(o), None) if !o.state.is_active() => {
                let detail = format!("{} copy; the VM runs on {runs_on}", o.state.label());
                self.vm_event(c.at, "copy-removed", c.uuid, c.name, c.host, detail)
            }
            (Some(o), Some(p)) if o.state == p.state => match config_change(o, p) {
                Some(d) => {
                    let detail = format!("copy: {d}");
                    self.vm_event(c.at, "config-changed", c.uuid, c.name, c.host, detail)
                }
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}
