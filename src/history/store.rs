//! Opening the store: WAL so readers never block the recorder, a busy timeout so two
//! processes wait for each other instead of failing, and the schema brought up to date.

use super::schema::{self, SchemaError};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct StoreError {
    pub path: PathBuf,
    pub reason: String,
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

/// Opens (creating if need be) the store for writing, and migrates it.
pub fn open_rw(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(path, format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut c = Connection::open(path).map_err(|e| err(path, e))?;
    let mode: String = c
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| err(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(err(path, format!("cannot use WAL journaling (got {mode})")));
    }
    tune(&c).map_err(|e| err(path, e))?;
    schema::migrate(&mut c).map_err(|e: SchemaError| err(path, e))?;
    Ok(c)
}

/// Opens an existing store for reading only; refuses a schema it does not know.
pub fn open_ro(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(err(
            path,
            "no history recorded yet (run `fleetwatch record`, or the TUI)",
        ));
    }
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| err(path, e))?;
    c.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| err(path, e))?;
    let v = schema::version(&c).map_err(|e| err(path, e))?;
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
    Ok(c)
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
        if let Some((id, known)) = self.vms.get(uuid) {
            if known == name {
                return Ok(*id);
            }
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
        assert!(open_ro(&p)
            .unwrap_err()
            .to_string()
            .contains("no history recorded yet"));
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
        assert!(open_ro(&p)
            .unwrap_err()
            .to_string()
            .contains("newer fleetwatch"));
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }
}
