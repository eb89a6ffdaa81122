//! The rows the recorder writes: events with their actor, and placements opened and closed.

use super::{DEDUPE_MS, EXTERNAL, Placed, Recorder, UNKNOWN, causes};
use rusqlite::params;

impl Recorder {
    /// The operator of a fleetwatch action that caused this event, from the audit in the same
    /// store: a started (not refused or failed) action on the VM shortly before it.
    pub(super) fn own_action(&self, uuid: &str, kind: &str, at: i64) -> Option<String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.operator, s.action FROM actions s
                 WHERE s.uuid = ?1 AND s.phase = 'start' AND s.at BETWEEN ?2 AND ?3
                   AND NOT EXISTS (SELECT 1 FROM actions e WHERE e.action_id = s.action_id AND e.phase = 'end'
                                   AND e.outcome IN ('refused', 'failed', 'aborted'))
                 ORDER BY s.at DESC LIMIT 5",
            )
            .ok()?;
        let rows = stmt
            .query_map(params![uuid, at - 600_000, at + 5_000], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .ok()?;
        #[allow(clippy::let_and_return)] // the binding ends the borrow of `stmt` first
        let found = rows
            .flatten()
            .find(|(_, action)| causes(action, kind))
            .map(|(op, _)| op);
        found
    }

    pub(super) fn actor(&self, host: usize, uuid: &str, kind: &str, at: i64) -> String {
        if let Some(a) = self.own_action(uuid, kind, at) {
            return a;
        }
        if self.gap.get(host).copied().unwrap_or(true) {
            UNKNOWN.into()
        } else {
            EXTERNAL.into()
        }
    }

    pub(super) fn seen(&mut self, at: i64, uuid: &str, kind: &'static str, host: usize) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|(t, ..)| *t < at - 2 * DEDUPE_MS)
        {
            self.recent.pop_front();
        }
        let dup = self.recent.iter().any(|(t, u, k, h)| {
            u == uuid && *k == kind && *h == host && (t - at).abs() <= DEDUPE_MS
        });
        if !dup {
            self.recent.push_back((at, uuid.to_owned(), kind, host));
        }
        dup
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn event(
        &mut self,
        at: i64,
        kind: &str,
        uuid: Option<(&str, &str)>,
        host: usize,
        moved: Option<(usize, usize, Option<i64>)>,
        actor: String,
        detail: String,
    ) -> rusqlite::Result<()> {
        let vm_id = match uuid {
            Some((u, name)) => Some(self.ids.vm(&self.conn, u, name)?),
            None => None,
        };
        let host_id = self.host_id(host)?;
        let (from, to, started) = match moved {
            Some((a, b, s)) => (Some(self.host_id(a)?), Some(self.host_id(b)?), s),
            None => (None, None, None),
        };
        self.conn.execute(
            "INSERT INTO events (at, kind, vm_id, host_id, from_host_id, to_host_id, started_at, actor, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![at, kind, vm_id, host_id, from, to, started, actor, detail],
        )?;
        Ok(())
    }

    /// An event about one VM on one host, with the actor found for it.
    pub(super) fn vm_event(
        &mut self,
        at: i64,
        kind: &'static str,
        uuid: &str,
        name: &str,
        host: usize,
        detail: String,
    ) -> rusqlite::Result<()> {
        let actor = self.actor(host, uuid, kind, at);
        self.event(at, kind, Some((uuid, name)), host, None, actor, detail)
    }

    pub(super) fn open_row(
        &mut self,
        uuid: &str,
        name: &str,
        p: &Placed,
        at: i64,
    ) -> rusqlite::Result<i64> {
        let vm = self.ids.vm(&self.conn, uuid, name)?;
        let hid = self.host_id(p.host)?;
        self.conn.execute(
            "INSERT INTO placements (vm_id, host_id, state, vcpus, memory_bytes, max_memory_bytes, since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![vm, hid, p.state.label(), p.vcpus, p.memory, p.max_memory, at],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub(super) fn close_row(&self, row: i64, at: i64) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE placements SET until = ?2 WHERE id = ?1 AND until IS NULL",
            params![row, at],
        )?;
        Ok(())
    }

    pub(super) fn host_id(&mut self, host: usize) -> rusqlite::Result<i64> {
        let h = &self.hosts[host];
        self.ids.host(&self.conn, &h.name, &h.uri)
    }

    pub(super) fn name_of(&mut self, uuid: &str) -> String {
        self.conn
            .query_row("SELECT name FROM vms WHERE uuid = ?1", [uuid], |r| r.get(0))
            .unwrap_or_else(|_| uuid.to_owned())
    }
}
