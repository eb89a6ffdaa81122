//! The embedded SQLite store: one file per fleet, one recorder writing it under the lease, any
//! number of readers beside it (WAL). Every SQL statement of the history lives under here.

mod acks;
mod audit;
mod leases;
mod loads;
mod maintenance;
mod moments;
mod open;
mod queries;
mod record;
mod rollups;
pub mod schema;
mod writes;

pub use open::{open_ro, open_ro_frozen, open_rw};

use crate::actions::maintenance::Maintenance;
use crate::actions::record::Record;
use crate::history::health::RollupMarks;
use crate::history::lease::LeaseRow;
use crate::history::moment::{Recordings, Stat};
use crate::history::query::{EventQuery, EventRow, Past, Point};
use crate::history::store::{AckStore, HistoryRead, MaintenanceStore, StoreError};
use crate::model::acks::Ack;
use crate::model::findings::Kind;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct SqliteStore {
    conn: Connection,
    /// For errors: which file failed.
    path: PathBuf,
    ids: writes::Ids,
}

impl SqliteStore {
    /// Opens (creating if need be) the store for writing, and migrates it.
    pub fn open_rw(path: &Path) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore::with_connection(path, open_rw(path)?))
    }

    /// Opens an existing store for reading only; refuses a schema it does not know.
    pub fn open_ro(path: &Path) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore::with_connection(path, open_ro(path)?))
    }

    /// As [`SqliteStore::open_ro`], and whether it is a frozen view (see [`open_ro_frozen`]):
    /// a long-lived reader opens a frozen one anew for each question.
    pub fn open_ro_frozen(path: &Path) -> Result<(SqliteStore, bool), StoreError> {
        let (c, frozen) = open_ro_frozen(path)?;
        Ok((SqliteStore::with_connection(path, c), frozen))
    }

    /// A connection from [`open_rw`] or [`open_ro`], set up further by the caller (tests cap
    /// its size to stand in for a full disk).
    pub fn with_connection(path: &Path, conn: Connection) -> SqliteStore {
        SqliteStore {
            conn,
            path: path.to_path_buf(),
            ids: writes::Ids::default(),
        }
    }

    fn fail(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::Failed {
            path: self.path.clone(),
            what,
            source: Box::new(e),
        }
    }
}

impl AckStore for SqliteStore {
    fn put_ack(&mut self, a: &Ack, audit: &Record) -> Result<(), StoreError> {
        let r = acks::put(&mut self.conn, a, audit);
        r.map_err(self.fail("write an acknowledgement"))
    }

    fn end_ack(&mut self, kind: Kind, subject: &str, audit: &Record) -> Result<bool, StoreError> {
        let r = acks::end(&mut self.conn, kind, subject, audit);
        r.map_err(self.fail("end an acknowledgement"))
    }
}

impl MaintenanceStore for SqliteStore {
    fn put_maintenance(&mut self, m: &Maintenance) -> Result<(), StoreError> {
        maintenance::put(&self.conn, m).map_err(self.fail("write a host's maintenance"))
    }

    fn end_maintenance(&mut self, host: &str) -> Result<bool, StoreError> {
        maintenance::end(&self.conn, host).map_err(self.fail("end a host's maintenance"))
    }
}

impl HistoryRead for SqliteStore {
    fn events(&self, q: &EventQuery) -> Result<Vec<EventRow>, StoreError> {
        queries::events(&self.conn, q).map_err(self.fail("read events"))
    }

    fn at(&self, t: i64) -> Result<Past, StoreError> {
        queries::at(&self.conn, t).map_err(self.fail("read the fleet at a moment"))
    }

    fn recordings(&self, t: i64, slack_ms: i64) -> Result<Recordings, StoreError> {
        moments::recordings(&self.conn, t, slack_ms).map_err(self.fail("read recordings"))
    }

    fn stats_at(
        &self,
        t: i64,
        windows: &[i64],
    ) -> Result<(HashMap<String, Stat>, HashMap<String, Stat>), StoreError> {
        moments::stats_at(&self.conn, t, windows).map_err(self.fail("read statistics"))
    }

    fn series(&self, uuid: &str, level: i64, since_ms: i64) -> Result<Vec<Point>, StoreError> {
        queries::series(&self.conn, uuid, level, since_ms).map_err(self.fail("read a series"))
    }

    fn lease(&self) -> Result<Option<LeaseRow>, StoreError> {
        queries::lease(&self.conn).map_err(self.fail("read the lease"))
    }

    fn audit(&self) -> Result<Vec<Record>, StoreError> {
        audit::all(&self.conn).map_err(self.fail("read the audit"))
    }

    fn acks(&self) -> Result<Vec<Ack>, StoreError> {
        acks::all(&self.conn).map_err(self.fail("read the acknowledgements"))
    }

    fn maintenance(&self) -> Result<Vec<Maintenance>, StoreError> {
        maintenance::all(&self.conn).map_err(self.fail("read the hosts in maintenance"))
    }

    fn rollup_marks(&self, levels: usize) -> Result<RollupMarks, StoreError> {
        rollups::marks(&self.conn, levels).map_err(self.fail("read the rollups' marks"))
    }
}
