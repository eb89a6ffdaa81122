//! What a starting recorder takes from the store: each host's state, every open placement
//! (all copies of every VM), where each VM runs, and the judgments the last recorder had not
//! made yet. With these the first polls after a restart are compared with the truth as recorded,
//! not with an empty fleet.

use super::copies::{Pending, best_active};
use super::{Placed, Recorder, link_of, state_of};
use crate::link::LinkState;
use crate::model::sample::VmState;
use rusqlite::OptionalExtension;
use std::collections::BTreeSet;

impl Recorder {
    /// After a write that failed and was rolled back: back to what the store holds.
    pub(super) fn reload(&mut self) -> rusqlite::Result<()> {
        // Ids too: a rolled-back insert may have left one that is no row.
        self.ids = super::Ids::default();
        self.copies.clear();
        self.home.clear();
        self.pending.clear();
        self.arriving.clear();
        self.host_rows.iter_mut().for_each(|r| *r = None);
        self.load()
    }

    pub(super) fn load(&mut self) -> rusqlite::Result<()> {
        for i in 0..self.hosts.len() {
            let hid = self.host_id(i)?;
            let open: Option<(i64, String)> = self
                .conn
                .query_row(
                    "SELECT id, state FROM host_states WHERE host_id = ?1 AND until IS NULL ORDER BY since DESC LIMIT 1",
                    [hid],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            self.host_rows[i] = open.map(|(row, s)| (row, link_of(&s)));
            self.baseline[i] = self.host_rows[i].is_none();
            let mut stmt = self.conn.prepare(
                "SELECT v.uuid, p.id, p.state, p.vcpus, p.memory_bytes, p.since, p.max_memory_bytes
                 FROM placements p JOIN vms v ON v.id = p.vm_id
                 WHERE p.host_id = ?1 AND p.until IS NULL",
            )?;
            let rows = stmt.query_map([hid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Placed {
                        host: i,
                        state: state_of(&r.get::<_, String>(2)?),
                        vcpus: r.get(3)?,
                        memory: r.get(4)?,
                        max_memory: r.get(6)?,
                        disks: String::new(),
                        row: r.get(1)?,
                        since: r.get(5)?,
                    },
                ))
            })?;
            for row in rows {
                let (uuid, p) = row?;
                self.copies.entry(uuid).or_default().insert(i, p);
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
    fn load_arriving(&mut self) -> rusqlite::Result<()> {
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
            let arrived: Option<String> = self
                .conn
                .query_row(
                    "SELECT (SELECT p.state FROM placements p WHERE p.vm_id = e.vm_id AND p.host_id = e.from_host_id
                              AND p.state IN ('running', 'paused') AND p.since <= e.at ORDER BY p.since DESC LIMIT 1)
                     FROM events e JOIN vms v ON v.id = e.vm_id
                     WHERE v.uuid = ?1 AND e.kind = 'migrated' AND e.to_host_id = ?2 AND e.at >= ?3
                       AND NOT EXISTS (SELECT 1 FROM events l WHERE l.vm_id = e.vm_id AND (l.at > e.at OR (l.at = e.at AND l.id > e.id)))",
                    rusqlite::params![uuid, hid, since],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            if arrived.as_deref() == Some("running") {
                self.arriving.insert(uuid);
            }
        }
        Ok(())
    }

    /// Judgments left open: each waits again for every other host that was up, since none of
    /// their polls since is known to this recorder.
    fn load_pending(&mut self) -> rusqlite::Result<()> {
        let names: Vec<String> = self.hosts.iter().map(|h| h.name.clone()).collect();
        let mut stmt = self.conn.prepare(
            "SELECT p.id, v.uuid, h.name, p.at, p.actor, p.was FROM pending p
             JOIN vms v ON v.id = p.vm_id JOIN hosts h ON h.id = p.host_id ORDER BY p.id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        for (id, uuid, host, at, actor, was) in rows {
            let Some(host) = names.iter().position(|n| *n == host) else {
                // Its host is no longer configured: no poll will ever settle it.
                self.confirm_row(id)?;
                continue;
            };
            let waiting = self.up_hosts_but(host);
            self.pending.insert(
                uuid,
                Pending {
                    id,
                    host,
                    at,
                    actor,
                    was: state_of(&was),
                    waiting,
                },
            );
        }
        Ok(())
    }

    /// Hosts whose polls can still show a VM elsewhere: those last recorded up.
    pub(super) fn up_hosts_but(&self, host: usize) -> BTreeSet<usize> {
        (0..self.hosts.len())
            .filter(|&i| i != host)
            .filter(|&i| matches!(self.host_rows[i], Some((_, LinkState::Up))))
            .collect()
    }
}
