//! The history database's schema and its migrations. `PRAGMA user_version` holds the version;
//! an older database is brought forward in one transaction, a newer one is refused untouched.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// The schema this build writes.
pub const VERSION: i64 = 5;

/// Each step takes the database from version i to i+1.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "
    CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uri TEXT NOT NULL DEFAULT '');
    CREATE TABLE vms (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
    -- What happened. Times are Unix milliseconds (UTC).
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        vm_id INTEGER REFERENCES vms(id),
        host_id INTEGER REFERENCES hosts(id),
        from_host_id INTEGER REFERENCES hosts(id),
        to_host_id INTEGER REFERENCES hosts(id),
        started_at INTEGER,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX events_at ON events(at);
    CREATE INDEX events_vm_at ON events(vm_id, at);
    CREATE INDEX events_kind_at ON events(kind, at);
    -- Where each VM was, in which state, from `since` until `until` (NULL: still open).
    CREATE TABLE placements (
        id INTEGER PRIMARY KEY,
        vm_id INTEGER NOT NULL REFERENCES vms(id),
        host_id INTEGER NOT NULL REFERENCES hosts(id),
        state TEXT NOT NULL,
        vcpus INTEGER,
        memory_bytes INTEGER,
        since INTEGER NOT NULL,
        until INTEGER
    );
    CREATE INDEX placements_vm ON placements(vm_id, since);
    CREATE INDEX placements_until ON placements(until);
    CREATE INDEX placements_since ON placements(since);
    CREATE TABLE host_states (
        id INTEGER PRIMARY KEY,
        host_id INTEGER NOT NULL REFERENCES hosts(id),
        state TEXT NOT NULL,
        error TEXT,
        since INTEGER NOT NULL,
        until INTEGER
    );
    CREATE INDEX host_states_since ON host_states(host_id, since);
    -- Statistics: series = VM id, or minus the host id; level 0 raw, then coarser rollups.
    CREATE TABLE stats (
        series INTEGER NOT NULL,
        level INTEGER NOT NULL,
        at INTEGER NOT NULL,
        n INTEGER NOT NULL,
        cpu REAL, cpu_max REAL,
        mem REAL, mem_max REAL,
        disk REAL, disk_max REAL,
        net REAL, net_max REAL,
        PRIMARY KEY (series, level, at)
    ) WITHOUT ROWID;
    CREATE INDEX stats_level_at ON stats(level, at);
    -- One recorder at a time; the holder renews `heartbeat`.
    CREATE TABLE lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        pid INTEGER NOT NULL,
        hostname TEXT NOT NULL,
        heartbeat INTEGER NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ",
    // 1 -> 2: the audit of fleetwatch's own actions, written before each starts and when it ends.
    "
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        action_id TEXT NOT NULL,
        at INTEGER NOT NULL,
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
    ",
    // 2 -> 3: what the recorder has seen but not yet judged (the last running copy of a VM
    // gone from one host, which is a migration if another host shows it running), kept in the
    // store so a killed recorder judges it the same way after its restart.
    "
    CREATE TABLE pending (
        id INTEGER PRIMARY KEY,
        vm_id INTEGER NOT NULL REFERENCES vms(id),
        host_id INTEGER NOT NULL REFERENCES hosts(id),
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        -- The copy's last active state: a migration of a running VM onto a copy still paused
        -- ends when that copy runs, which is no resume of its own.
        was TEXT NOT NULL DEFAULT ''
    );
    -- Who holds the lease: 'service' (fleetwatch record) or 'tui', which gives way to it.
    ALTER TABLE lease ADD COLUMN role TEXT NOT NULL DEFAULT 'service';
    -- When a recorder ran (`until`: its last write), so a moment no recorder saw is said to be
    -- one. What an older store recorded counts as one span.
    CREATE TABLE recordings (id INTEGER PRIMARY KEY, since INTEGER NOT NULL, until INTEGER NOT NULL);
    INSERT INTO recordings (since, until)
        SELECT MIN(since), max(COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_write'), 0),
                               MAX(COALESCE(until, since)))
        FROM host_states HAVING COUNT(*) > 0;
    -- Memory as the live view shows it (the current allocation) apart from the maximum, which
    -- is all older rows held.
    ALTER TABLE placements ADD COLUMN max_memory_bytes INTEGER;
    UPDATE placements SET max_memory_bytes = memory_bytes, memory_bytes = NULL;
    -- The host's size as last seen, so a past fleet has percentages.
    ALTER TABLE hosts ADD COLUMN cpus INTEGER;
    ALTER TABLE hosts ADD COLUMN memory_bytes INTEGER;
    -- Each direction of a VM's I/O, as the live view shows them (disk and net stay the sums).
    ALTER TABLE stats ADD COLUMN disk_read REAL;
    ALTER TABLE stats ADD COLUMN disk_write REAL;
    ALTER TABLE stats ADD COLUMN net_rx REAL;
    ALTER TABLE stats ADD COLUMN net_tx REAL;
    ",
    // 3 -> 4
    "
    -- Acknowledged findings: one per kind and subject (a VM's UUID or name, a host), with who,
    -- when, why and until when; ended when it expires, when the finding clears, or by unack.
    CREATE TABLE acks (
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        by_whom TEXT NOT NULL,
        at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        expires INTEGER NOT NULL,
        PRIMARY KEY (kind, subject)
    );
    ",
    // 4 -> 5
    "
    -- Hosts in maintenance: who put it there and since when, and the VMs its evacuation moved
    -- away (JSON: vm, uuid, from, to, memory_bytes), for the return.
    CREATE TABLE maintenance (
        host TEXT PRIMARY KEY,
        by_whom TEXT NOT NULL,
        since INTEGER NOT NULL,
        away TEXT NOT NULL
    );
    ",
];

#[derive(Debug, PartialEq)]
pub enum SchemaError {
    Newer { found: i64 },
    Sql(rusqlite::Error),
}

pub fn version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the database to [`VERSION`], all steps in one transaction.
pub fn migrate(c: &mut Connection) -> Result<(), SchemaError> {
    let sql = SchemaError::Sql;
    let found = version(c).map_err(sql)?;
    if found > VERSION {
        return Err(SchemaError::Newer { found });
    }
    if found == VERSION {
        return Ok(());
    }
    // Immediate, and the version read again inside: of two processes starting together one
    // migrates, the other waits for it and then finds nothing to do.
    let tx: Transaction = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let found = version(&tx).map_err(sql)?;
    if found > VERSION {
        return Err(SchemaError::Newer { found });
    }
    for step in &MIGRATIONS[found as usize..] {
        tx.execute_batch(step).map_err(sql)?;
    }
    tx.pragma_update(None, "user_version", VERSION)
        .map_err(sql)?;
    tx.commit().map_err(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_store_is_migrated_and_keeps_its_data() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute("INSERT INTO hosts (name) VALUES ('hv1')", [])
            .unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), VERSION);
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM hosts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        c.execute("INSERT INTO actions (action_id, at, phase, operator, action) VALUES ('a', 1, 'start', 'me', 'start')", [])
            .unwrap();
    }

    #[test]
    fn a_version_2_store_keeps_its_past_as_one_recording_and_its_memory_as_maximum() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.execute_batch(MIGRATIONS[1]).unwrap();
        c.pragma_update(None, "user_version", 2).unwrap();
        c.execute_batch(
            "INSERT INTO hosts (id, name) VALUES (1, 'hv1');
             INSERT INTO vms (id, uuid, name) VALUES (1, 'u', 'web');
             INSERT INTO host_states (host_id, state, since, until) VALUES (1, 'up', 1000, 5000);
             INSERT INTO host_states (host_id, state, since) VALUES (1, 'down', 5000);
             INSERT INTO placements (vm_id, host_id, state, memory_bytes, since) VALUES (1, 1, 'running', 4096, 1000);
             INSERT INTO meta (key, value) VALUES ('last_write', '9000');",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let span: (i64, i64) = c
            .query_row("SELECT since, until FROM recordings", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(span, (1000, 9000));
        let mem: (Option<i64>, Option<i64>) = c
            .query_row(
                "SELECT memory_bytes, max_memory_bytes FROM placements",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(mem, (None, Some(4096)));
        let role: String = c
            .query_row(
                "SELECT dflt_value FROM pragma_table_info('lease') WHERE name = 'role'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(role, "'service'");
        // An empty store gets no made-up span.
        let mut e = Connection::open_in_memory().unwrap();
        migrate(&mut e).unwrap();
        let n: i64 = e
            .query_row("SELECT COUNT(*) FROM recordings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn fresh_database_gets_the_current_schema_and_a_newer_one_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c).unwrap(), VERSION);
        // Idempotent.
        migrate(&mut c).unwrap();
        c.pragma_update(None, "user_version", VERSION + 1).unwrap();
        let e = migrate(&mut c).unwrap_err();
        assert_eq!(e, SchemaError::Newer { found: VERSION + 1 });
        // Refused means untouched.
        assert_eq!(version(&c).unwrap(), VERSION + 1);
    }
}
