//! What a starting recorder takes from the store: each host's state, every open placement
//! (all copies of every VM), where each VM runs, and the judgments the last recorder had not
//! made yet. With these the first polls after a restart are compared with the truth as recorded,
//! not with an empty fleet.

use super::copies::best_active;
use super::judgments::Pending;
use super::{Placed, Recorder};
use crate::history::store::StoreError;
use crate::link::LinkState;
use crate::model::sample::VmState;
use std::collections::{BTreeSet, HashSet};

impl Recorder {
    /// After a write that failed and was rolled back: back to what the store holds.
    pub(super) fn reload(&mut self) -> Result<(), StoreError> {
        // Events, statistics and sizes the rollback took away are no longer written: the same
        // change seen again is no duplicate, and the next sample writes its statistics.
        let keep = self.recent.len().saturating_sub(self.recent_added);
        self.recent.truncate(keep);
        self.recent_added = 0;
        self.last_raw.clear();
        // Configs published in a write that rolled back are published again.
        self.published.clear();
        self.host_last_raw.iter_mut().for_each(|t| *t = None);
        self.sizes.iter_mut().for_each(|s| *s = None);
        self.copies.clear();
        self.on_host.iter_mut().for_each(HashSet::clear);
        self.home.clear();
        self.pending.clear();
        self.arriving.clear();
        self.host_rows.iter_mut().for_each(|r| *r = None);
        self.load()
    }

    pub(super) fn load(&mut self) -> Result<(), StoreError> {
        // A few queries a host: at hundreds of hosts loading outlasts a lease's stale time,
        // and the others would take the hosts this recorder is loading.
        let mut renewed = std::time::Instant::now();
        let renew_every = std::time::Duration::from_millis(self.me.renew_ms.max(1) as u64 / 2);
        for i in 0..self.hosts.len() {
            if renewed.elapsed() >= renew_every {
                renewed = std::time::Instant::now();
                let now = chrono::Utc::now().timestamp_millis();
                self.store.renew_lease(&self.me, now)?;
            }
            let hid = self.host_id(i)?;
            // An unreadable state row is as good as none: the host's history starts anew.
            self.host_rows[i] = self.store.current_host_state(hid).ok().flatten();
            self.baseline[i] = self.host_rows[i].is_none();
            if !self.baseline[i] {
                let name = self.hosts[i].name.clone();
                self.unrecorded_since[i] = self.store.host_written_until(&name)?;
            }
            for o in self.store.open_placements(hid)? {
                let p = Placed {
                    host: i,
                    state: o.state,
                    vcpus: o.vcpus,
                    memory: o.memory,
                    max_memory: o.max_memory,
                    disks: String::new(),
                    disks_from: None,
                    row: o.row,
                    since: o.since,
                };
                self.put_copy(&o.uuid, p);
            }
        }
        for (uuid, copies) in &self.copies {
            if let Some(h) = best_active(copies) {
                self.home.insert(uuid.clone(), h);
            }
        }
        self.load_arriving()?;
        self.load_pending()
    }

    /// VMs whose last event is a move of a running VM onto the paused copy they are still on:
    /// that copy running is the move's end (see `Recorder::arriving`).
    fn load_arriving(&mut self) -> Result<(), StoreError> {
        let paused: Vec<(String, i64, usize)> = self
            .home
            .iter()
            .filter_map(|(u, &h)| {
                let p = self.copies.get(u)?.get(&h)?;
                (p.state == VmState::Paused).then(|| (u.clone(), p.since, h))
            })
            .collect();
        for (uuid, since, host) in paused {
            let hid = self.host_id(host)?;
            if self.store.moved_onto(&uuid, hid, since)? == Some(VmState::Running) {
                self.arriving.insert(uuid);
            }
        }
        Ok(())
    }

    /// Judgments left open: each waits again for every other host that was up, since none of
    /// their polls since is known to this recorder.
    fn load_pending(&mut self) -> Result<(), StoreError> {
        for row in self.store.pending()? {
            let Some(host) = self.hosts.iter().position(|h| h.name == row.host) else {
                // Another recorder's host: its own judgment, which it settles.
                if self.others.iter().any(|h| h.name == row.host) {
                    continue;
                }
                // Its host is no longer configured: no poll will ever settle it.
                self.confirm_row(row.id)?;
                continue;
            };
            let waiting = self.up_hosts_but(host);
            let foreign_until = self.foreign_until(row.at);
            self.pending.insert(
                row.uuid,
                Pending {
                    id: row.id,
                    host,
                    at: row.at,
                    actor: row.actor,
                    was: row.was,
                    waiting,
                    foreign_until,
                },
            );
        }
        Ok(())
    }

    /// Hosts whose polls can still show a VM elsewhere: those last recorded up.
    pub(super) fn up_hosts_but(&self, host: usize) -> BTreeSet<usize> {
        (0..self.hosts.len())
            .filter(|&i| i != host)
            .filter(|&i| self.host_rows[i].is_some_and(|r| r.state == LinkState::Up))
            .collect()
    }
}
