//! Opening the store: WAL so readers never block the recorder, a busy timeout so two
//! processes wait for each other instead of failing, and the schema brought up to date.

use super::schema::{self, SchemaError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct StoreError {
    pub path: PathBuf,
    pub reason: String,
    /// The store is there but this user may not write it (it can still be read).
    pub read_only: bool,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "history {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for StoreError {}

fn err(path: &Path, reason: impl fmt::Display) -> StoreError {
    StoreError {
        path: path.to_path_buf(),
        reason: reason.to_string(),
        read_only: false,
    }
}

fn tune(c: &Connection) -> rusqlite::Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    // NORMAL in WAL mode: a crash of the process loses nothing committed; a power cut at most
    // the last transaction, which is one poll.
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// A directory where the file should be is named as such: SQLite only says it cannot open it.
fn not_a_directory(path: &Path) -> Result<(), StoreError> {
    if path.is_dir() {
        return Err(err(
            path,
            "is a directory, not a history file; set [history] path to a file in it, such as history.db",
        ));
    }
    Ok(())
}

fn cannot_write(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{CannotOpen, PermissionDenied, ReadOnly};
    matches!(
        e.sqlite_error_code(),
        Some(ReadOnly | PermissionDenied | CannotOpen)
    )
}

/// Opens (creating if need be) the store for writing, and migrates it.
pub fn open_rw(path: &Path) -> Result<Connection, StoreError> {
    not_a_directory(path)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(path, format!("cannot create {}: {e}", dir.display())))?;
    }
    let exists = path.exists();
    let ro = |e: rusqlite::Error| {
        if exists && cannot_write(&e) {
            StoreError {
                read_only: true,
                ..err(
                    path,
                    format!(
                        "this user cannot write it ({e}); history, at and the TUI still read it"
                    ),
                )
            }
        } else {
            err(path, e)
        }
    };
    let mut c = Connection::open(path).map_err(ro)?;
    // The busy timeout first: a second process starting at the same moment waits for the
    // first one's switch to WAL and migration instead of failing with "database is locked".
    tune(&c).map_err(ro)?;
    let mode: String = c
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(ro)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(err(path, format!("cannot use WAL journaling (got {mode})")));
    }
    schema::migrate(&mut c).map_err(|e: SchemaError| err(path, e))?;
    Ok(c)
}

/// Opens an existing store for reading only; refuses a schema it does not know. A store this
/// user cannot write is read as it is on disk (see [`open_ro_frozen`]).
pub fn open_ro(path: &Path) -> Result<Connection, StoreError> {
    open_ro_frozen(path).map(|(c, _)| c)
}

/// As [`open_ro`], and whether the connection is a frozen view: reading a WAL store needs its
/// `-shm` file, which a user who cannot write the directory cannot create when no recorder
/// runs. Such a store is opened immutable (it has no pending WAL to read then); a frozen view
/// does not follow later writes, so a long-lived reader opens it anew for each question.
pub fn open_ro_frozen(path: &Path) -> Result<(Connection, bool), StoreError> {
    not_a_directory(path)?;
    if !path.exists() {
        return Err(err(
            path,
            "no history recorded yet (run `fleetwatch record`, or the TUI)",
        ));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open = |p: &Path, flags: OpenFlags| -> rusqlite::Result<(Connection, i64)> {
        let c = Connection::open_with_flags(p, flags)?;
        c.busy_timeout(std::time::Duration::from_secs(5))?;
        let v = schema::version(&c)?;
        Ok((c, v))
    };
    let (c, v, frozen) = match open(path, flags) {
        Ok((c, v)) => (c, v, false),
        Err(e) if cannot_write(&e) => {
            let uri = PathBuf::from(format!("file:{}?immutable=1", uri_path(path)));
            let (c, v) =
                open(&uri, flags | OpenFlags::SQLITE_OPEN_URI).map_err(|e| err(path, e))?;
            (c, v, true)
        }
        Err(e) => return Err(err(path, e)),
    };
    if v > schema::VERSION {
        return Err(err(path, SchemaError::Newer { found: v }));
    }
    if v < schema::VERSION {
        return Err(err(
            path,
            format!(
                "schema {v} is older than {}; start the recorder once to migrate it",
                schema::VERSION
            ),
        ));
    }
    Ok((c, frozen))
}

/// A path as the path part of an SQLite URI: the characters URIs give a meaning escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'%' | b'?' | b'#' | 0..=0x20 | 0x7f..=0xff => out.push_str(&format!("%{b:02X}")),
            _ => out.push(*b as char),
        }
    }
    out
}

/// Ids of hosts and VMs, cached: every write names them.
#[derive(Debug, Default)]
pub struct Ids {
    hosts: HashMap<String, i64>,
    vms: HashMap<String, (i64, String)>,
}

impl Ids {
    pub fn host(&mut self, c: &Connection, name: &str, uri: &str) -> rusqlite::Result<i64> {
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
    pub fn vm(&mut self, c: &Connection, uuid: &str, name: &str) -> rusqlite::Result<i64> {
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

pub fn meta_get(c: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn meta_set(c: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_migrates_and_reopens_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/history.db");
        assert!(
            open_ro(&p)
                .unwrap_err()
                .to_string()
                .contains("no history recorded yet")
        );
        let c = open_rw(&p).unwrap();
        let mut ids = Ids::default();
        let h = ids.host(&c, "hv1", "qemu:///system").unwrap();
        assert_eq!(ids.host(&c, "hv1", "qemu:///system").unwrap(), h);
        let v = ids.vm(&c, "u1", "web").unwrap();
        assert_eq!(ids.vm(&c, "u1", "web-renamed").unwrap(), v);
        drop(c);
        let r = open_ro(&p).unwrap();
        let name: String = r
            .query_row("SELECT name FROM vms WHERE id = ?1", [v], |x| x.get(0))
            .unwrap();
        assert_eq!(name, "web-renamed");
        assert!(
            r.execute("DELETE FROM vms", []).is_err(),
            "read-only means read-only"
        );
    }

    #[test]
    fn paths_become_sqlite_uris_and_a_directory_is_named() {
        assert_eq!(
            uri_path(Path::new("/d/my history?#%.db")),
            "/d/my%20history%3F%23%25.db"
        );
        let dir = tempfile::tempdir().unwrap();
        for e in [
            open_rw(dir.path()).unwrap_err(),
            open_ro(dir.path()).unwrap_err(),
        ] {
            assert!(e.to_string().contains("is a directory"), "{e}");
            assert!(!e.read_only);
        }
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.db");
        let c = open_rw(&p).unwrap();
        c.pragma_update(None, "user_version", schema::VERSION + 3)
            .unwrap();
        drop(c);
        let before = std::fs::read(&p).unwrap();
        let e = open_rw(&p).unwrap_err().to_string();
        assert!(e.contains("newer fleetwatch") && e.contains("h.db"), "{e}");
        assert!(
            open_ro(&p)
                .unwrap_err()
                .to_string()
                .contains("newer fleetwatch")
        );
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }
}
