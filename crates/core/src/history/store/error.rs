//! What can go wrong with a history store, said with the store it happened to: a user with
//! several configs (or a team with several recorders) must know which file or database it was.

use std::path::PathBuf;

/// What a backend reported, kept whole so its own words (SQLite's "database or disk is full",
/// a server's "connection refused") reach the message.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `path` is the store's file; a server backend puts its database's connection name there
/// (never its password).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "history {}: is a directory, not a history file; set [history] path to a file in it, such as history.db",
        path.display()
    )]
    Directory { path: PathBuf },
    #[error(
        "history {}: no history recorded yet (run `fleetwatch record`, or the TUI)",
        path.display()
    )]
    NotRecorded { path: PathBuf },
    #[error("history {}: cannot create {}: {source}", path.display(), dir.display())]
    CreateDir {
        path: PathBuf,
        dir: PathBuf,
        source: std::io::Error,
    },
    /// The store is there but this user may not write it (it can still be read).
    #[error(
        "history {}: this user cannot write it ({source}); history, at and the TUI still read it",
        path.display()
    )]
    ReadOnly { path: PathBuf, source: Cause },
    #[error("history {}: cannot use WAL journaling (got {mode})", path.display())]
    NoWal { path: PathBuf, mode: String },
    #[error(
        "history {}: written by a newer fleetwatch (schema {found}; this one knows up to {known}); left untouched",
        path.display()
    )]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "history {}: schema {found} is older than {known}; start the recorder once to migrate it",
        path.display()
    )]
    Older {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// One operation failed; `what` names it in the store's terms ("insert an event").
    #[error("history database {db}: cannot {what}: {source}")]
    Database {
        db: String,
        what: &'static str,
        source: Cause,
    },
    #[error(
        "history database {db}: written by a newer fleetwatch (schema {found}; this one knows up to {known}); left untouched"
    )]
    DatabaseNewer { db: String, found: i64, known: i64 },
    #[error("history {}: cannot {what}: {source}", path.display())]
    Failed {
        path: PathBuf,
        what: &'static str,
        source: Cause,
    },
}

impl StoreError {
    /// A database server's failure (the PostgreSQL store), named with its connection name
    /// (`user@host:port/db`, never a password).
    pub fn db(db: &str, what: &'static str, source: Cause) -> StoreError {
        StoreError::Database {
            db: db.to_owned(),
            what,
            source,
        }
    }

    /// The store can still be read by this user: a TUI reads it instead of recording.
    pub fn is_read_only(&self) -> bool {
        matches!(self, StoreError::ReadOnly { .. })
    }
}
