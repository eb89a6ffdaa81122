//! Which history store the config names: the SQLite file (the default, on this machine) or a
//! shared PostgreSQL database (`[history] url`), and opening it for the headless commands.

use fleetwatch_core::config::Config;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::{AckStore, HistoryRead, MaintenanceStore, StoreError};
use fleetwatch_pg::PgStore;
use std::path::PathBuf;

/// What the operator changes in the store from the TUI and the command line.
pub trait Changes: AckStore + MaintenanceStore {}
impl<T: AckStore + MaintenanceStore> Changes for T {}

#[derive(Clone)]
pub enum Where {
    File(PathBuf),
    Database {
        url: String,
        password_file: Option<PathBuf>,
    },
}

/// No `[history] path` and no XDG data directory to put the store in.
#[derive(Debug, thiserror::Error)]
#[error("no place for the history: set [history] path or url")]
pub struct NoPlace;

impl Where {
    pub fn of(config: &Config) -> Result<Where, NoPlace> {
        let h = &config.history;
        if let Some(url) = &h.url {
            return Ok(Where::Database {
                url: url.clone(),
                password_file: h.password_file.clone(),
            });
        }
        h.db_path().map(Where::File).ok_or(NoPlace)
    }

    /// For messages: the file, or the database's URL (it holds no password: config refuses one).
    pub fn describe(&self) -> String {
        match self {
            Where::File(p) => p.display().to_string(),
            Where::Database { url, .. } => url.clone(),
        }
    }

    /// Acknowledgements or maintenance to change: the store opened for writing (and migrated).
    pub fn writer(&self) -> Result<Box<dyn Changes + Send>, StoreError> {
        Ok(match self {
            Where::File(p) => Box::new(SqliteStore::open_rw(p)?),
            Where::Database { url, password_file } => {
                Box::new(PgStore::open_rw(url, password_file.as_deref())?)
            }
        })
    }

    /// A reader for `history`, `at` and the like.
    pub fn reader(&self) -> Result<Box<dyn HistoryRead + Send>, StoreError> {
        Ok(match self {
            Where::File(p) => Box::new(SqliteStore::open_ro(p)?),
            Where::Database { url, password_file } => {
                Box::new(PgStore::open_ro(url, password_file.as_deref())?)
            }
        })
    }
}
