//! Opening the store: WAL so readers never block the recorder, a busy timeout so two
//! processes wait for each other instead of failing, and the schema brought up to date.

use super::schema::{self, SchemaError};
use crate::history::store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// An SQLite failure while opening, named with the file and what was being done.
fn failed<'a>(path: &'a Path, what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + 'a {
    move |e| StoreError::Failed {
        path: path.to_path_buf(),
        what,
        source: Box::new(e),
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
        return Err(StoreError::Directory {
            path: path.to_path_buf(),
        });
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

/// `PRAGMA journal_mode = WAL`, tried again while another process holds the file. SQLite does
/// not call the busy handler where waiting could deadlock, and the switch is such a place: of
/// four recorders started at once on a new file, one failed with "database is locked".
fn to_wal(c: &Connection) -> rusqlite::Result<String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && std::time::Instant::now() < until =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

/// Opens (creating if need be) the store for writing, and migrates it.
pub fn open_rw(path: &Path) -> Result<Connection, StoreError> {
    not_a_directory(path)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            source,
        })?;
    }
    let exists = path.exists();
    let ro = |what| {
        move |e: rusqlite::Error| {
            if exists && cannot_write(&e) {
                StoreError::ReadOnly {
                    path: path.to_path_buf(),
                    source: Box::new(e),
                }
            } else {
                failed(path, what)(e)
            }
        }
    };
    let mut c = Connection::open(path).map_err(ro("open"))?;
    // The busy timeout first: a second process starting at the same moment waits for the
    // first one's switch to WAL and migration instead of failing with "database is locked".
    tune(&c).map_err(ro("set it up"))?;
    let mode = to_wal(&c).map_err(ro("switch to WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NoWal {
            path: path.to_path_buf(),
            mode,
        });
    }
    schema::migrate(&mut c).map_err(|e| match e {
        SchemaError::Newer { found } => StoreError::Newer {
            path: path.to_path_buf(),
            found,
            known: schema::VERSION,
        },
        SchemaError::Sql(e) => failed(path, "migrate its schema")(e),
    })?;
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
        return Err(StoreError::NotRecorded {
            path: path.to_path_buf(),
        });
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
                open(&uri, flags | OpenFlags::SQLITE_OPEN_URI).map_err(failed(path, "open"))?;
            (c, v, true)
        }
        Err(e) => return Err(failed(path, "open")(e)),
    };
    // Version 0 is a file a recorder has just created and is still migrating (one
    // transaction, a few milliseconds): wait for it rather than call it old.
    let mut v = v;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while v == 0 && !frozen && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
        v = schema::version(&c).map_err(failed(path, "open"))?;
    }
    if v == 0 {
        return Err(StoreError::NotRecorded {
            path: path.to_path_buf(),
        });
    }
    let (found, known) = (v, schema::VERSION);
    if found > known {
        let path = path.to_path_buf();
        return Err(StoreError::Newer { path, found, known });
    }
    if found < known {
        let path = path.to_path_buf();
        return Err(StoreError::Older { path, found, known });
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
        let mut ids = super::super::writes::Ids::default();
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
            assert!(!e.is_read_only());
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
