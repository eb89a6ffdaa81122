//! What a starting recorder reads back in SQL (open host states and placements, the
//! "arrived" check, waiting judgments), and what it looks up while writing (a VM's name, its
//! own actions in the audit).

use crate::history::store::rows::{
    HostStateRow, OpenCopy, OpenPlacement, OwnAction, PendingRow, RowId, Whereabouts, link_state,
    vm_state,
};
use crate::model::sample::VmState;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn current_host_state(
    c: &Connection,
    host: RowId,
) -> rusqlite::Result<Option<HostStateRow>> {
    c.query_row(
        "SELECT id, state FROM host_states WHERE host_id = ?1 AND until IS NULL ORDER BY since DESC LIMIT 1",
        [host],
        |r| {
            Ok(HostStateRow {
                row: r.get(0)?,
                state: link_state(&r.get::<_, String>(1)?),
            })
        },
    )
    .optional()
}

pub(super) fn open_placements(c: &Connection, host: RowId) -> rusqlite::Result<Vec<OpenPlacement>> {
    let mut stmt = c.prepare(
        "SELECT v.uuid, p.id, p.state, p.vcpus, p.memory_bytes, p.since, p.max_memory_bytes
         FROM placements p JOIN vms v ON v.id = p.vm_id
         WHERE p.host_id = ?1 AND p.until IS NULL",
    )?;
    let rows = stmt.query_map([host], |r| {
        Ok(OpenPlacement {
            uuid: r.get(0)?,
            row: r.get(1)?,
            state: vm_state(&r.get::<_, String>(2)?),
            vcpus: r.get(3)?,
            memory: r.get(4)?,
            since: r.get(5)?,
            max_memory: r.get(6)?,
        })
    })?;
    rows.collect()
}

pub(super) fn moved_onto(
    c: &Connection,
    uuid: &str,
    host: RowId,
    since: i64,
) -> rusqlite::Result<Option<VmState>> {
    let state: Option<String> = c
        .query_row(
            "SELECT (SELECT p.state FROM placements p WHERE p.vm_id = e.vm_id AND p.host_id = e.from_host_id
                      AND p.state IN ('running', 'paused') AND p.since <= e.at ORDER BY p.since DESC LIMIT 1)
             FROM events e JOIN vms v ON v.id = e.vm_id
             WHERE v.uuid = ?1 AND e.kind = 'migrated' AND e.to_host_id = ?2 AND e.at >= ?3
               AND NOT EXISTS (SELECT 1 FROM events l WHERE l.vm_id = e.vm_id AND (l.at > e.at OR (l.at = e.at AND l.id > e.id)))",
            params![uuid, host, since],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(state.as_deref().map(vm_state))
}

const PENDING: &str = "SELECT p.id, v.uuid, h.name, p.at, p.actor, p.was FROM pending p
    JOIN vms v ON v.id = p.vm_id JOIN hosts h ON h.id = p.host_id";

pub(super) fn pending(c: &Connection) -> rusqlite::Result<Vec<PendingRow>> {
    pending_where(c, &format!("{PENDING} ORDER BY p.id"), [])
}

pub(super) fn whereabouts(c: &Connection, uuid: &str) -> rusqlite::Result<Whereabouts> {
    let mut stmt = c.prepare(
        "SELECT h.name, p.state, p.since FROM placements p
         JOIN vms v ON v.id = p.vm_id JOIN hosts h ON h.id = p.host_id
         WHERE v.uuid = ?1 AND p.until IS NULL",
    )?;
    let copies = stmt
        .query_map([uuid], |r| {
            Ok(OpenCopy {
                host: r.get(0)?,
                state: vm_state(&r.get::<_, String>(1)?),
                since: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let pending = pending_where(
        c,
        &format!("{PENDING} WHERE v.uuid = ?1 ORDER BY p.id"),
        [uuid],
    )?;
    Ok(Whereabouts { copies, pending })
}

fn pending_where(
    c: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<PendingRow>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(args, |r| {
        Ok(PendingRow {
            id: r.get(0)?,
            uuid: r.get(1)?,
            host: r.get(2)?,
            at: r.get(3)?,
            actor: r.get(4)?,
            was: vm_state(&r.get::<_, String>(5)?),
        })
    })?;
    rows.collect()
}

pub(super) fn vm_name(c: &Connection, uuid: &str) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT name FROM vms WHERE uuid = ?1", [uuid], |r| r.get(0))
        .optional()
}

pub(super) fn actions_near(
    c: &Connection,
    uuid: &str,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<OwnAction>> {
    let mut stmt = c.prepare_cached(
        "SELECT s.operator, s.action, s.params FROM actions s
         WHERE s.uuid = ?1 AND s.phase = 'start' AND s.at BETWEEN ?2 AND ?3
           AND NOT EXISTS (SELECT 1 FROM actions e WHERE e.action_id = s.action_id AND e.phase = 'end'
                           AND e.outcome IN ('refused', 'failed', 'aborted'))
         ORDER BY s.at DESC LIMIT 5",
    )?;
    let rows = stmt.query_map(params![uuid, from_ms, to_ms], |r| {
        Ok(OwnAction {
            operator: r.get(0)?,
            action: r.get(1)?,
            params: r.get(2)?,
        })
    })?;
    // A row that cannot be read is skipped: the actor is a best effort, never a failed poll.
    #[allow(clippy::let_and_return)] // the binding ends the borrow of `stmt` first
    let found = rows.flatten().collect();
    Ok(found)
}
