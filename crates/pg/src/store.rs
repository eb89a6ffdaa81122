//! The PostgreSQL store: the same two traits as the SQLite one over the same tables, for a
//! team: several recorders write one database, each for its own hosts under per-host leases,
//! and any number of readers ask it the same questions as a file.

use crate::connect::{self, ConnectError};
use crate::schema::{self, SchemaError};
use fleetwatch_core::actions::record::Record;
use fleetwatch_core::history::health::RollupMarks;
use fleetwatch_core::history::lease::LeaseRow;
use fleetwatch_core::history::moment::{Recordings, Stat};
use fleetwatch_core::history::query::{EventQuery, EventRow, Past, Point};
use fleetwatch_core::history::store::{HistoryRead, StoreError};
use postgres::Client;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// A server's failure with its own words: the client's `Display` alone says "db error".
#[derive(Debug)]
pub struct PgFailure(pub String);

impl std::fmt::Display for PgFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PgFailure {}

pub struct PgStore {
    /// Behind a lock because readers ask through `&self` (the trait lets a reader be shared)
    /// and the client needs `&mut` for every statement.
    client: Mutex<Client>,
    /// `user@host:port/db`, for messages.
    pub(crate) name: String,
    /// Ids of hosts and VMs already written, and the hosts whose leases we hold.
    pub(crate) ids: crate::writes::Ids,
    pub(crate) leased: Vec<String>,
    /// Our lease holder's id, once taken: each recorder's spans of recording are its own.
    pub(crate) holder: String,
    /// Of `leased`, the hosts that were ours already when they were taken (a recorder starting
    /// over on a new share keeps the hosts both shares hold).
    pub(crate) kept: Vec<String>,
    /// This write's statistics, sent at its commit.
    pub(crate) stats: crate::stats_batch::StatsBatch,
    /// How often its recorder renews its leases: [`PgStore::renewing_every`].
    pub(crate) renew_ms: i64,
    /// How to connect again after the server restarts or the link drops.
    url: String,
    password_file: Option<std::path::PathBuf>,
}

impl PgStore {
    /// Connects and brings the schema up to date (for a recorder).
    pub fn open_rw(url: &str, password_file: Option<&Path>) -> Result<PgStore, StoreError> {
        let mut s = PgStore::connect(url, password_file)?;
        let name = s.name.clone();
        schema::migrate(s.parts().0).map_err(|e| match e {
            SchemaError::Newer { found } => StoreError::DatabaseNewer {
                db: name.clone(),
                found: found.into(),
                known: schema::VERSION.into(),
            },
            SchemaError::Sql(e) => StoreError::db(&name, "migrate its schema", boxed(&e)),
        })?;
        Ok(s)
    }

    /// Connects for reading; refuses a schema this build does not know, migrates nothing.
    pub fn open_ro(url: &str, password_file: Option<&Path>) -> Result<PgStore, StoreError> {
        let mut s = PgStore::connect(url, password_file)?;
        let found = schema::version(s.parts().0)
            .map_err(|e| StoreError::db(&s.name, "read its schema version", boxed(&e)))?;
        let known = schema::VERSION;
        if found > known {
            return Err(StoreError::DatabaseNewer {
                db: s.name,
                found: found.into(),
                known: known.into(),
            });
        }
        if found < known {
            return Err(StoreError::db(
                &s.name,
                "read it",
                Box::new(PgFailure(format!(
                    "schema {found} is older than {known}; start a recorder once to migrate it"
                ))),
            ));
        }
        Ok(s)
    }

    /// Its recorder renews every `renew_ms` (recorders sharing a config renew at the pace of
    /// their polls: `lease::renew_every_ms`), and others take its hosts after three missed.
    pub fn renewing_every(mut self, renew_ms: i64) -> PgStore {
        self.renew_ms = renew_ms;
        self
    }

    /// The live fleet's rows written since the reader's last look (`seq`s it has seen).
    pub fn live_changes(
        &mut self,
        hosts_after: i64,
        configs_after: i64,
    ) -> Result<fleetwatch_core::history::live::LiveChanges, StoreError> {
        self.reconnect_if_closed()?;
        let (c, _) = self.parts();
        crate::live::changes(c, hosts_after, configs_after)
            .map_err(self.fail("read the live fleet"))
    }

    fn connect(url: &str, password_file: Option<&Path>) -> Result<PgStore, StoreError> {
        let (client, name) = connect::connect(url, password_file).map_err(|e| {
            let db = match &e {
                ConnectError::Connect { db, .. } | ConnectError::PasswordInUrl { db } => db.clone(),
                _ => url.split('@').next_back().unwrap_or(url).to_owned(),
            };
            StoreError::db(&db, "connect", Box::new(PgFailure(e.to_string())))
        })?;
        Ok(PgStore {
            client: Mutex::new(client),
            name,
            ids: Default::default(),
            leased: Vec::new(),
            holder: String::new(),
            kept: Vec::new(),
            stats: Default::default(),
            renew_ms: fleetwatch_core::history::lease::RENEW_EVERY_MS,
            url: url.to_owned(),
            password_file: password_file.map(Path::to_path_buf),
        })
    }

    /// A connection the server closed (a restart, a dropped link) is made again before the
    /// next write; until it answers, the write fails as any other and is tried again. What
    /// was cached (ids) is forgotten: the transaction that held them is gone.
    pub(crate) fn reconnect_if_closed(&mut self) -> Result<(), StoreError> {
        let closed = self.client.get_mut().map_or(true, |c| c.is_closed());
        if !closed {
            return Ok(());
        }
        let (client, _) =
            connect::connect(&self.url, self.password_file.as_deref()).map_err(|e| {
                StoreError::db(
                    &self.name,
                    "connect again",
                    Box::new(PgFailure(e.to_string())),
                )
            })?;
        self.client = Mutex::new(client);
        self.ids.clear();
        Ok(())
    }

    /// The connection, for one statement or a few. A poisoned lock (a panic elsewhere while
    /// it was held) still holds a usable client: the server rolled back what was unfinished.
    pub(crate) fn client(&self) -> MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection and the id cache at once, for the recorder's writes.
    pub(crate) fn parts(&mut self) -> (&mut Client, &mut crate::writes::Ids) {
        (
            self.client.get_mut().unwrap_or_else(|p| p.into_inner()),
            &mut self.ids,
        )
    }

    pub(crate) fn fail(&self, what: &'static str) -> impl Fn(postgres::Error) -> StoreError + '_ {
        move |e| StoreError::db(&self.name, what, boxed(&e))
    }
}

pub(crate) fn boxed(e: &postgres::Error) -> fleetwatch_core::history::store::Cause {
    Box::new(PgFailure(connect::explain(e)))
}

impl HistoryRead for PgStore {
    fn events(&self, q: &EventQuery) -> Result<Vec<EventRow>, StoreError> {
        crate::queries::events(&mut self.client(), q).map_err(self.fail("read events"))
    }

    fn at(&self, t: i64) -> Result<Past, StoreError> {
        crate::queries::at(&mut self.client(), t).map_err(self.fail("read the fleet at a moment"))
    }

    fn recordings(&self, t: i64, slack_ms: i64) -> Result<Recordings, StoreError> {
        crate::queries::recordings(&mut self.client(), t, slack_ms)
            .map_err(self.fail("read recordings"))
    }

    fn stats_at(
        &self,
        t: i64,
        windows: &[i64],
    ) -> Result<(HashMap<String, Stat>, HashMap<String, Stat>), StoreError> {
        crate::queries::stats_at(&mut self.client(), t, windows)
            .map_err(self.fail("read statistics"))
    }

    fn series(&self, uuid: &str, level: i64, since_ms: i64) -> Result<Vec<Point>, StoreError> {
        crate::queries::series(&mut self.client(), uuid, level, since_ms)
            .map_err(self.fail("read a series"))
    }

    fn lease(&self) -> Result<Option<LeaseRow>, StoreError> {
        crate::leases::newest(&mut self.client()).map_err(self.fail("read the leases"))
    }

    fn leases(&self) -> Result<Vec<(Option<String>, LeaseRow)>, StoreError> {
        crate::leases::all(&mut self.client()).map_err(self.fail("read the leases"))
    }

    fn audit(&self) -> Result<Vec<Record>, StoreError> {
        crate::audit::all(&mut self.client()).map_err(self.fail("read the audit"))
    }

    fn acks(&self) -> Result<Vec<fleetwatch_core::model::acks::Ack>, StoreError> {
        self.read_acks()
    }

    fn maintenance(
        &self,
    ) -> Result<Vec<fleetwatch_core::actions::maintenance::Maintenance>, StoreError> {
        self.read_maintenance()
    }

    fn rollup_marks(&self, levels: usize) -> Result<RollupMarks, StoreError> {
        crate::rollups::marks(&mut self.client(), levels)
            .map_err(self.fail("read the rollups' marks"))
    }
}
