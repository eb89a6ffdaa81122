//! The audit: every action written before it starts and again when it ends, with who, when,
//! what, on which VM and host, and how it ended. Into the history store when there is one, else
//! an append-only JSON-lines file. Written on a thread of its own, never on the UI task.

pub use super::record::Record;
use crate::history::sqlite::SqliteStore;
use crate::history::store::{HistoryRead, RecordStore};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};

/// Where the audit goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Store(PathBuf),
    File(PathBuf),
}

impl Target {
    /// The history store when history is on, else `$XDG_DATA_HOME/fleetwatch/audit.jsonl`.
    pub fn choose(history_db: Option<PathBuf>) -> Option<Target> {
        if let Some(p) = history_db {
            return Some(Target::Store(p));
        }
        Some(Target::File(crate::dirs::data_dir()?.join("audit.jsonl")))
    }
}

/// Why a record could not be written or read; each names the file it was about.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Open(#[from] crate::history::store::StoreError),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}, line {line}: {source}", .path.display())]
    Line {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn write(target: &Target, r: &Record) -> Result<(), AuditError> {
    match target {
        Target::Store(p) => Ok(SqliteStore::open_rw(p)?.append_audit(r)?),
        Target::File(p) => {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(io(d))?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(io(p))?;
            let line = serde_json::to_string(r)?;
            writeln!(f, "{line}")
                .and_then(|_| f.sync_data())
                .map_err(io(p))
        }
    }
}

/// Every record, oldest first.
pub fn read(target: &Target) -> Result<Vec<Record>, AuditError> {
    match target {
        Target::Store(p) => Ok(SqliteStore::open_ro(p)?.audit()?),
        Target::File(p) => {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io(p)(e)),
            };
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    serde_json::from_str(l).map_err(|source| AuditError::Line {
                        path: p.clone(),
                        line: i + 1,
                        source,
                    })
                })
                .collect()
        }
    }
}

/// The audit thread: records are written in order; a failure comes back to be shown.
pub fn spawn(
    target: Target,
    errors: tokio::sync::mpsc::UnboundedSender<String>,
) -> std::io::Result<Sender<Record>> {
    spawn_into(
        move |r| write(&target, r).map_err(|e| e.to_string()),
        errors,
    )
}

/// As [`spawn`], each record written by `write` (into a store this crate does not know: the
/// shared database).
pub fn spawn_into(
    mut write: impl FnMut(&Record) -> Result<(), String> + Send + 'static,
    errors: tokio::sync::mpsc::UnboundedSender<String>,
) -> std::io::Result<Sender<Record>> {
    let (tx, rx) = mpsc::channel::<Record>();
    std::thread::Builder::new()
        .name("audit".into())
        .spawn(move || {
            while let Ok(r) = rx.recv() {
                if let Err(e) = write(&r) {
                    tracing::error!("audit not written: {e}");
                    let _ = errors.send(format!("audit not written: {e}"));
                }
            }
        })?;
    Ok(tx)
}

pub fn describe(path: &Target) -> &Path {
    match path {
        Target::Store(p) | Target::File(p) => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Operator;

    #[test]
    fn records_round_trip_through_both_targets() {
        let dir = tempfile::tempdir().unwrap();
        let op = Operator {
            user: "alice".into(),
            ssh_from: Some("10.1.2.3".into()),
        };
        for target in [
            Target::Store(dir.path().join("h.db")),
            Target::File(dir.path().join("a/audit.jsonl")),
        ] {
            let mut r = Record::new("a1", "start", &op, "force-off");
            r.vm = Some("web-01".into());
            r.params = serde_json::json!({"typed": true});
            write(&target, &r).unwrap();
            let mut end = Record::new("a1", "end", &op, "force-off");
            end.outcome = Some("failed".into());
            end.error = Some("Requested operation is not valid".into());
            write(&target, &end).unwrap();
            let got = read(&target).unwrap();
            assert_eq!(got.len(), 2, "{target:?}");
            assert_eq!(got[0].operator, "alice@10.1.2.3");
            assert_eq!(got[0].params, serde_json::json!({"typed": true}));
            assert_eq!(got[1].outcome.as_deref(), Some("failed"));
        }
    }
}
