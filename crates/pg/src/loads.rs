//! What a starting recorder reads back (open host states and placements, the "arrived" check,
//! waiting judgments) and what it looks up while writing (a VM's name, its own actions).

use crate::writes::unsigned;
use fleetwatch_core::history::store::rows::{
    HostStateRow, OpenCopy, OpenPlacement, OwnAction, PendingRow, RowId, Whereabouts, link_state,
    vm_state,
};
use fleetwatch_core::model::sample::VmState;
use postgres::Client;

pub(crate) fn current_host_state(
    c: &mut Client,
    host: RowId,
) -> Result<Option<HostStateRow>, postgres::Error> {
    Ok(c.query_opt(
        "SELECT id, state FROM host_states WHERE host_id = $1 AND until IS NULL
             ORDER BY since DESC LIMIT 1",
        &[&host],
    )?
    .map(|r| HostStateRow {
        row: r.get(0),
        state: link_state(r.get(1)),
    }))
}

pub(crate) fn open_placements(
    c: &mut Client,
    host: RowId,
) -> Result<Vec<OpenPlacement>, postgres::Error> {
    Ok(c.query(
        "SELECT v.uuid, p.id, p.state, p.vcpus, p.memory_bytes, p.since, p.max_memory_bytes
             FROM placements p JOIN vms v ON v.id = p.vm_id
             WHERE p.host_id = $1 AND p.until IS NULL",
        &[&host],
    )?
    .iter()
    .map(|r| OpenPlacement {
        uuid: r.get(0),
        row: r.get(1),
        state: vm_state(r.get(2)),
        vcpus: unsigned::<i32, _>(r.get(3)),
        memory: unsigned::<i64, _>(r.get(4)),
        since: r.get(5),
        max_memory: unsigned::<i64, _>(r.get(6)),
    })
    .collect())
}

pub(crate) fn moved_onto(
    c: &mut Client,
    uuid: &str,
    host: RowId,
    since: i64,
) -> Result<Option<VmState>, postgres::Error> {
    let row = c.query_opt(
        "SELECT (SELECT p.state FROM placements p WHERE p.vm_id = e.vm_id AND p.host_id = e.from_host_id
                  AND p.state IN ('running', 'paused') AND p.since <= e.at ORDER BY p.since DESC LIMIT 1)
         FROM events e JOIN vms v ON v.id = e.vm_id
         WHERE v.uuid = $1 AND e.kind = 'migrated' AND e.to_host_id = $2 AND e.at >= $3
           AND NOT EXISTS (SELECT 1 FROM events l WHERE l.vm_id = e.vm_id AND (l.at > e.at OR (l.at = e.at AND l.id > e.id)))",
        &[&uuid, &host, &since],
    )?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .as_deref()
        .map(vm_state))
}

const PENDING: &str = "SELECT p.id, v.uuid, h.name, p.at, p.actor, p.was FROM pending p
    JOIN vms v ON v.id = p.vm_id JOIN hosts h ON h.id = p.host_id";

pub(crate) fn pending(c: &mut Client) -> Result<Vec<PendingRow>, postgres::Error> {
    pending_where(c, &format!("{PENDING} ORDER BY p.id"), &[])
}

pub(crate) fn whereabouts(c: &mut Client, uuid: &str) -> Result<Whereabouts, postgres::Error> {
    let copies = c
        .query(
            "SELECT h.name, p.state, p.since FROM placements p
             JOIN vms v ON v.id = p.vm_id JOIN hosts h ON h.id = p.host_id
             WHERE v.uuid = $1 AND p.until IS NULL",
            &[&uuid],
        )?
        .iter()
        .map(|r| OpenCopy {
            host: r.get(0),
            state: vm_state(r.get(1)),
            since: r.get(2),
        })
        .collect();
    let sql = format!("{PENDING} WHERE v.uuid = $1 ORDER BY p.id");
    let pending = pending_where(c, &sql, &[&uuid])?;
    Ok(Whereabouts { copies, pending })
}

fn pending_where(
    c: &mut Client,
    sql: &str,
    args: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<PendingRow>, postgres::Error> {
    Ok(c.query(sql, args)?
        .iter()
        .map(|r| PendingRow {
            id: r.get(0),
            uuid: r.get(1),
            host: r.get(2),
            at: r.get(3),
            actor: r.get(4),
            was: vm_state(r.get(5)),
        })
        .collect())
}

pub(crate) fn vm_name(c: &mut Client, uuid: &str) -> Result<Option<String>, postgres::Error> {
    Ok(
        c.query_opt("SELECT name FROM vms WHERE uuid = $1", &[&uuid])?
            .map(|r| r.get(0)),
    )
}

pub(crate) fn actions_near(
    c: &mut Client,
    uuid: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<OwnAction>, postgres::Error> {
    Ok(c
        .query(
            "SELECT s.operator, s.action, s.params FROM actions s
             WHERE s.uuid = $1 AND s.phase = 'start' AND s.at BETWEEN $2 AND $3
               AND NOT EXISTS (SELECT 1 FROM actions e WHERE e.action_id = s.action_id AND e.phase = 'end'
                               AND e.outcome IN ('refused', 'failed', 'aborted'))
             ORDER BY s.at DESC LIMIT 5",
            &[&uuid, &from_ms, &to_ms],
        )?
        .iter()
        .map(|r| OwnAction {
            operator: r.get(0),
            action: r.get(1),
            params: r.get(2),
        })
        .collect())
}
