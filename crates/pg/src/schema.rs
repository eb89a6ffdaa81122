//! The PostgreSQL store's schema: the same tables as the SQLite store at its version 3, with
//! ids from identity columns, a statistics series as (kind, id) rather than a signed id, and a
//! lease row per host (several recorders write one database, each for its own hosts). Its
//! version lives in `fleetwatch_schema`; an older database is brought forward in one
//! transaction under an advisory lock, a newer one is refused untouched.

use postgres::{Client, GenericClient};

/// The schema this build writes.
pub const VERSION: i32 = 1;

/// The advisory lock key migrations take, so two recorders starting together do not both
/// migrate (any constant the rest of the database does not use; "fleetwatch" in ASCII).
const MIGRATE_LOCK: i64 = 0x666c_6565_7477_6174;

/// Each step takes the database from version i to i+1.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE hosts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        uri TEXT NOT NULL DEFAULT '',
        cpus INTEGER,
        memory_bytes BIGINT
    );
    CREATE TABLE vms (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL
    );
    -- What happened. Times are Unix milliseconds (UTC), as in the SQLite store.
    CREATE TABLE events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        vm_id BIGINT REFERENCES vms(id),
        host_id BIGINT REFERENCES hosts(id),
        from_host_id BIGINT REFERENCES hosts(id),
        to_host_id BIGINT REFERENCES hosts(id),
        started_at BIGINT,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX events_at ON events(at);
    CREATE INDEX events_vm_at ON events(vm_id, at);
    CREATE INDEX events_kind_at ON events(kind, at);
    CREATE TABLE placements (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        vm_id BIGINT NOT NULL REFERENCES vms(id),
        host_id BIGINT NOT NULL REFERENCES hosts(id),
        state TEXT NOT NULL,
        vcpus INTEGER,
        memory_bytes BIGINT,
        max_memory_bytes BIGINT,
        since BIGINT NOT NULL,
        until BIGINT
    );
    CREATE INDEX placements_vm ON placements(vm_id, since);
    CREATE INDEX placements_until ON placements(until);
    CREATE INDEX placements_since ON placements(since);
    -- The open ones, for `at` now and for a recorder loading a host's VMs.
    CREATE INDEX placements_open ON placements(host_id) WHERE until IS NULL;
    CREATE TABLE host_states (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        host_id BIGINT NOT NULL REFERENCES hosts(id),
        state TEXT NOT NULL,
        error TEXT,
        since BIGINT NOT NULL,
        until BIGINT
    );
    CREATE INDEX host_states_since ON host_states(host_id, since);
    -- Statistics of a VM ('v') or a host ('h'); level 0 raw, then coarser rollups.
    CREATE TABLE stats (
        kind CHAR(1) NOT NULL CHECK (kind IN ('v', 'h')),
        id BIGINT NOT NULL,
        level INTEGER NOT NULL,
        at BIGINT NOT NULL,
        n INTEGER NOT NULL,
        cpu DOUBLE PRECISION, cpu_max DOUBLE PRECISION,
        mem DOUBLE PRECISION, mem_max DOUBLE PRECISION,
        disk DOUBLE PRECISION, disk_max DOUBLE PRECISION,
        net DOUBLE PRECISION, net_max DOUBLE PRECISION,
        disk_read DOUBLE PRECISION, disk_write DOUBLE PRECISION,
        net_rx DOUBLE PRECISION, net_tx DOUBLE PRECISION,
        PRIMARY KEY (kind, id, level, at)
    );
    CREATE INDEX stats_level_at ON stats(level, at);
    -- One row per host: who records it, renewed every poll.
    CREATE TABLE leases (
        host TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        pid BIGINT NOT NULL,
        hostname TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'service',
        heartbeat BIGINT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE actions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        action_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        phase TEXT NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        vm TEXT,
        uuid TEXT,
        host TEXT,
        params TEXT NOT NULL DEFAULT '{}',
        outcome TEXT,
        error TEXT
    );
    CREATE INDEX actions_uuid_at ON actions(uuid, at);
    CREATE INDEX actions_at ON actions(at);
    CREATE TABLE pending (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        vm_id BIGINT NOT NULL REFERENCES vms(id),
        host_id BIGINT NOT NULL REFERENCES hosts(id),
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        was TEXT NOT NULL DEFAULT ''
    );
    -- When recorders ran; with several, each its own spans.
    CREATE TABLE recordings (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        holder TEXT NOT NULL DEFAULT '',
        since BIGINT NOT NULL,
        until BIGINT NOT NULL
    );
    "];

#[derive(Debug)]
pub enum SchemaError {
    /// Written by a newer fleetwatch: refused, not touched.
    Newer {
        found: i32,
    },
    Sql(postgres::Error),
}

impl From<postgres::Error> for SchemaError {
    fn from(e: postgres::Error) -> Self {
        SchemaError::Sql(e)
    }
}

/// The database's schema version; 0 for one fleetwatch never wrote.
pub fn version(c: &mut impl GenericClient) -> Result<i32, postgres::Error> {
    let exists: bool = c
        .query_one("SELECT to_regclass('fleetwatch_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = c.query_opt("SELECT version FROM fleetwatch_schema", &[])?;
    Ok(row.map_or(0, |r| r.get(0)))
}

/// Brings the database to [`VERSION`], all steps in one transaction.
pub fn migrate(c: &mut Client) -> Result<(), SchemaError> {
    let found = version(c)?;
    if found > VERSION {
        return Err(SchemaError::Newer { found });
    }
    if found == VERSION {
        return Ok(());
    }
    let mut tx = c.transaction()?;
    // Of two processes starting together one migrates; the other waits here, then finds
    // nothing left to do.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS fleetwatch_schema (version INTEGER NOT NULL)")?;
    let found = version(&mut tx)?;
    if found > VERSION {
        return Err(SchemaError::Newer { found });
    }
    for step in &MIGRATIONS[found as usize..] {
        tx.batch_execute(step)?;
    }
    tx.execute("DELETE FROM fleetwatch_schema", &[])?;
    tx.execute(
        "INSERT INTO fleetwatch_schema (version) VALUES ($1)",
        &[&VERSION],
    )?;
    tx.commit()?;
    Ok(())
}
