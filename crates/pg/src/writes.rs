//! The recorder's writes in SQL: ids of hosts and VMs, events, placements, host states and
//! sizes, statistics, recordings, pending judgments and meta values. As the SQLite store's,
//! with `$n` placeholders and ids from `RETURNING`.

use fleetwatch_core::history::store::rows::{NewEvent, NewPending, NewPlacement, RowId, Series};
use fleetwatch_core::link::LinkState;
use postgres::Client;
use std::collections::HashMap;

/// PostgreSQL has no unsigned integers: sizes are stored as BIGINT, counts as INTEGER.
pub(crate) fn big(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

pub(crate) fn int(v: Option<u32>) -> Option<i32> {
    v.map(|v| i32::try_from(v).unwrap_or(i32::MAX))
}

/// What `big` or `int` stored, read back unsigned (a negative value, which they never write,
/// reads as unknown).
pub(crate) fn unsigned<S, T: TryFrom<S>>(v: Option<S>) -> Option<T> {
    v.and_then(|v| T::try_from(v).ok())
}

/// Ids already looked up, so a poll's hundreds of VMs do not each cost a round trip.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    hosts: HashMap<String, i64>,
    vms: HashMap<String, (i64, String)>,
}

impl Ids {
    /// Forgets every id: after a rollback some may name no row.
    pub(crate) fn clear(&mut self) {
        *self = Ids::default();
    }

    pub(crate) fn host(
        &mut self,
        c: &mut Client,
        name: &str,
        uri: &str,
    ) -> Result<i64, postgres::Error> {
        if let Some(&id) = self.hosts.get(name) {
            return Ok(id);
        }
        let id: i64 = c
            .query_one(
                "INSERT INTO hosts (name, uri) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET uri = EXCLUDED.uri RETURNING id",
                &[&name, &uri],
            )?
            .get(0);
        self.hosts.insert(name.to_owned(), id);
        Ok(id)
    }

    pub(crate) fn vm(
        &mut self,
        c: &mut Client,
        uuid: &str,
        name: &str,
    ) -> Result<i64, postgres::Error> {
        if let Some((id, known)) = self.vms.get(uuid)
            && known == name
        {
            return Ok(*id);
        }
        // One statement for new, renamed and known VMs alike; two recorders that meet the
        // same new VM (a migration between their hosts) both get its one row.
        let id: i64 = c
            .query_one(
                "INSERT INTO vms (uuid, name) VALUES ($1, $2)
                 ON CONFLICT (uuid) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                &[&uuid, &name],
            )?
            .get(0);
        self.vms.insert(uuid.to_owned(), (id, name.to_owned()));
        Ok(id)
    }
}

pub(crate) fn event(c: &mut Client, e: &NewEvent) -> Result<(), postgres::Error> {
    let (from, to, started) = match e.moved {
        Some(m) => (Some(m.from), Some(m.to), m.started_at),
        None => (None, None, None),
    };
    c.execute(
        "INSERT INTO events (at, kind, vm_id, host_id, from_host_id, to_host_id, started_at, actor, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[&e.at, &e.kind, &e.vm, &e.host, &from, &to, &started, &e.actor, &e.detail],
    )?;
    Ok(())
}

pub(crate) fn open_placement(c: &mut Client, p: &NewPlacement) -> Result<RowId, postgres::Error> {
    let row = c.query_one(
        "INSERT INTO placements (vm_id, host_id, state, vcpus, memory_bytes, max_memory_bytes, since)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            &p.vm,
            &p.host,
            &p.state.label(),
            &int(p.vcpus),
            &big(p.memory),
            &big(p.max_memory),
            &p.since,
        ],
    )?;
    Ok(row.get(0))
}

pub(crate) fn close_placement(c: &mut Client, row: RowId, at: i64) -> Result<(), postgres::Error> {
    c.execute(
        "UPDATE placements SET until = $2 WHERE id = $1 AND until IS NULL",
        &[&row, &at],
    )?;
    Ok(())
}

pub(crate) fn open_host_state(
    c: &mut Client,
    host: RowId,
    state: LinkState,
    error: Option<&str>,
    at: i64,
) -> Result<RowId, postgres::Error> {
    let row = c.query_one(
        "INSERT INTO host_states (host_id, state, error, since) VALUES ($1, $2, $3, $4) RETURNING id",
        &[&host, &state.label(), &error, &at],
    )?;
    Ok(row.get(0))
}

pub(crate) fn close_host_state(c: &mut Client, row: RowId, at: i64) -> Result<(), postgres::Error> {
    c.execute(
        "UPDATE host_states SET until = $2 WHERE id = $1",
        &[&row, &at],
    )?;
    Ok(())
}

pub(crate) fn host_size(
    c: &mut Client,
    host: RowId,
    cpus: u32,
    mem: u64,
) -> Result<(), postgres::Error> {
    c.execute(
        "UPDATE hosts SET cpus = $2, memory_bytes = $3 WHERE id = $1",
        &[&host, &int(Some(cpus)), &big(Some(mem))],
    )?;
    Ok(())
}

/// A series as the table keys it: ('v', VM id) or ('h', host id).
pub(crate) fn series_key(s: Series) -> (&'static str, i64) {
    match s {
        Series::Vm(id) => ("v", id),
        Series::Host(id) => ("h", id),
    }
}

pub(crate) fn start_recording(
    c: &mut Client,
    holder: &str,
    now_ms: i64,
) -> Result<RowId, postgres::Error> {
    let row = c.query_one(
        "INSERT INTO recordings (holder, since, until) VALUES ($1, $2, $2) RETURNING id",
        &[&holder, &now_ms],
    )?;
    Ok(row.get(0))
}

pub(crate) fn extend_recording(
    c: &mut Client,
    id: RowId,
    now_ms: i64,
) -> Result<(), postgres::Error> {
    c.execute(
        "UPDATE recordings SET until = GREATEST(until, $2) WHERE id = $1",
        &[&id, &now_ms],
    )?;
    Ok(())
}

pub(crate) fn insert_pending(c: &mut Client, p: &NewPending) -> Result<RowId, postgres::Error> {
    let row = c.query_one(
        "INSERT INTO pending (vm_id, host_id, at, kind, actor, detail, was)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            &p.vm,
            &p.host,
            &p.at,
            &p.kind,
            &p.actor,
            &p.detail,
            &p.was.label(),
        ],
    )?;
    Ok(row.get(0))
}

/// Taken and written in one statement: another recorder that took the row first (a migration
/// whose other half it saw) holds its lock until it commits, and this one then finds nothing
/// to write (an INSERT from a plain SELECT would have written the event beside its migration).
pub(crate) fn confirm_pending(c: &mut Client, id: RowId) -> Result<(), postgres::Error> {
    c.execute(
        "WITH p AS (DELETE FROM pending WHERE id = $1
                    RETURNING at, kind, vm_id, host_id, actor, detail)
         INSERT INTO events (at, kind, vm_id, host_id, actor, detail)
         SELECT at, kind, vm_id, host_id, actor, detail FROM p",
        &[&id],
    )?;
    Ok(())
}

pub(crate) fn delete_pending(c: &mut Client, id: RowId) -> Result<bool, postgres::Error> {
    Ok(c.execute("DELETE FROM pending WHERE id = $1", &[&id])? > 0)
}

pub(crate) fn meta_get(c: &mut Client, key: &str) -> Result<Option<String>, postgres::Error> {
    Ok(
        c.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.get(0)),
    )
}

pub(crate) fn meta_set(c: &mut Client, key: &str, value: &str) -> Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&key, &value],
    )?;
    Ok(())
}
