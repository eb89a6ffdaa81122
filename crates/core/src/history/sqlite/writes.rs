//! The recorder's writes in SQL: ids of hosts and VMs, events, placements, host states and
//! sizes, statistics, recordings, pending judgments and meta values.

use crate::history::moment::Stat;
use crate::history::store::rows::{NewEvent, NewPending, NewPlacement, RowId, Series};
use crate::link::LinkState;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

/// Ids of hosts and VMs, cached: every write names them.
#[derive(Debug, Default)]
pub(super) struct Ids {
    hosts: HashMap<String, i64>,
    vms: HashMap<String, (i64, String)>,
}

impl Ids {
    pub(super) fn host(&mut self, c: &Connection, name: &str, uri: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.hosts.get(name) {
            return Ok(id);
        }
        c.execute(
            "INSERT INTO hosts (name, uri) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET uri = ?2",
            params![name, uri],
        )?;
        let id: i64 = c.query_row("SELECT id FROM hosts WHERE name = ?1", [name], |r| r.get(0))?;
        self.hosts.insert(name.to_owned(), id);
        Ok(id)
    }

    /// The VM's id; a renamed VM keeps its id and gets its new name.
    pub(super) fn vm(&mut self, c: &Connection, uuid: &str, name: &str) -> rusqlite::Result<i64> {
        if let Some((id, known)) = self.vms.get(uuid)
            && known == name
        {
            return Ok(*id);
        }
        let found: Option<(i64, String)> = c
            .query_row("SELECT id, name FROM vms WHERE uuid = ?1", [uuid], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let id = match found {
            Some((id, old)) => {
                if old != name {
                    c.execute("UPDATE vms SET name = ?2 WHERE id = ?1", params![id, name])?;
                }
                id
            }
            None => {
                c.execute(
                    "INSERT INTO vms (uuid, name) VALUES (?1, ?2)",
                    params![uuid, name],
                )?;
                c.last_insert_rowid()
            }
        };
        self.vms.insert(uuid.to_owned(), (id, name.to_owned()));
        Ok(id)
    }
}

pub(super) fn event(c: &Connection, e: &NewEvent) -> rusqlite::Result<()> {
    let (from, to, started) = match e.moved {
        Some(m) => (Some(m.from), Some(m.to), m.started_at),
        None => (None, None, None),
    };
    c.execute(
        "INSERT INTO events (at, kind, vm_id, host_id, from_host_id, to_host_id, started_at, actor, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![e.at, e.kind, e.vm, e.host, from, to, started, e.actor, e.detail],
    )?;
    Ok(())
}

pub(super) fn open_placement(c: &Connection, p: &NewPlacement) -> rusqlite::Result<RowId> {
    c.execute(
        "INSERT INTO placements (vm_id, host_id, state, vcpus, memory_bytes, max_memory_bytes, since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![p.vm, p.host, p.state.label(), p.vcpus, p.memory, p.max_memory, p.since],
    )?;
    Ok(c.last_insert_rowid())
}

pub(super) fn close_placement(c: &Connection, row: RowId, at: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE placements SET until = ?2 WHERE id = ?1 AND until IS NULL",
        params![row, at],
    )?;
    Ok(())
}

pub(super) fn open_host_state(
    c: &Connection,
    host: RowId,
    state: LinkState,
    error: Option<&str>,
    at: i64,
) -> rusqlite::Result<RowId> {
    c.execute(
        "INSERT INTO host_states (host_id, state, error, since) VALUES (?1, ?2, ?3, ?4)",
        params![host, state.label(), error, at],
    )?;
    Ok(c.last_insert_rowid())
}

pub(super) fn close_host_state(c: &Connection, row: RowId, at: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE host_states SET until = ?2 WHERE id = ?1",
        params![row, at],
    )?;
    Ok(())
}

pub(super) fn host_size(c: &Connection, host: RowId, cpus: u32, mem: u64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE hosts SET cpus = ?2, memory_bytes = ?3 WHERE id = ?1",
        params![host, cpus, mem],
    )?;
    Ok(())
}

/// The series column: a VM's id, or minus a host's (both are positive rowids).
fn series_id(s: Series) -> i64 {
    match s {
        Series::Vm(id) => id,
        Series::Host(id) => -id,
    }
}

pub(super) fn stats(c: &Connection, series: Series, at: i64, s: &Stat) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT OR REPLACE INTO stats (series, level, at, n, cpu, cpu_max, mem, mem_max, disk, disk_max, net, net_max,
                                       disk_read, disk_write, net_rx, net_tx)
         VALUES (?1, 0, ?2, 1, ?3, ?3, ?4, ?4, ?5, ?5, ?6, ?6, ?7, ?8, ?9, ?10)",
    )?;
    stmt.execute(params![
        series_id(series),
        at,
        s.cpu,
        s.mem,
        s.disk,
        s.net,
        s.disk_read,
        s.disk_write,
        s.net_rx,
        s.net_tx
    ])?;
    Ok(())
}

pub(super) fn start_recording(c: &Connection, now_ms: i64) -> rusqlite::Result<RowId> {
    c.execute(
        "INSERT INTO recordings (since, until) VALUES (?1, ?1)",
        [now_ms],
    )?;
    Ok(c.last_insert_rowid())
}

pub(super) fn extend_recording(c: &Connection, id: RowId, now_ms: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE recordings SET until = max(until, ?2) WHERE id = ?1",
        params![id, now_ms],
    )?;
    Ok(())
}

pub(super) fn insert_pending(c: &Connection, p: &NewPending) -> rusqlite::Result<RowId> {
    c.execute(
        "INSERT INTO pending (vm_id, host_id, at, kind, actor, detail, was) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![p.vm, p.host, p.at, p.kind, p.actor, p.detail, p.was.label()],
    )?;
    Ok(c.last_insert_rowid())
}

pub(super) fn confirm_pending(c: &Connection, id: RowId) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO events (at, kind, vm_id, host_id, actor, detail)
         SELECT at, kind, vm_id, host_id, actor, detail FROM pending WHERE id = ?1",
        [id],
    )?;
    delete_pending(c, id).map(|_| ())
}

pub(super) fn delete_pending(c: &Connection, id: RowId) -> rusqlite::Result<bool> {
    Ok(c.execute("DELETE FROM pending WHERE id = ?1", [id])? > 0)
}

pub(super) fn meta_get(c: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub(super) fn meta_set(c: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}
