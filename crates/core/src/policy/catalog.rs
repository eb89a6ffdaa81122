//! The backup catalog: JSON lines that a backup job's post-hook appends, one per finished run.
//! Failed runs do not count as evidence; lines that cannot be read are counted and reported.

use super::InputError;
use crate::time::{DayEdge, TimeError, parse_stamp};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Deserialize)]
struct RawLine {
    vm: Option<String>,
    uuid: Option<String>,
    completed_at: String,
    status: String,
    #[serde(default)]
    location: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub completed_at: DateTime<Utc>,
    pub location: String,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    newest_by_uuid: HashMap<String, Backup>,
    newest_by_name: HashMap<String, Backup>,
    pub ok_lines: usize,
    pub failed_runs: usize,
    /// Lines that could not be read: (line, reason). All are counted; the first few are kept.
    pub bad_lines: Vec<(usize, String)>,
    pub bad_count: usize,
}

const KEEP_BAD: usize = 5;

impl Catalog {
    pub fn load(path: &Path) -> Result<Catalog, InputError> {
        // Bytes, not a string: one line a broken hook wrote in another encoding is one bad
        // line, not the loss of the whole catalog.
        let bytes = std::fs::read(path).map_err(|e| InputError {
            file: path.to_path_buf(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        Ok(Catalog::parse_bytes(&bytes))
    }

    pub fn parse(text: &str) -> Catalog {
        Catalog::parse_bytes(text.as_bytes())
    }

    pub fn parse_bytes(bytes: &[u8]) -> Catalog {
        let mut c = Catalog::default();
        for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let n = i + 1;
            let line =
                std::str::from_utf8(raw).map_err(|e| LineError::NotUtf8(e.valid_up_to() + 1));
            if line.as_ref().is_ok_and(|l| l.trim().is_empty()) {
                continue;
            }
            match line.and_then(read_line) {
                Ok((key_uuid, key_name, backup, ok)) => {
                    if !ok {
                        c.failed_runs += 1;
                        continue;
                    }
                    c.ok_lines += 1;
                    let backup = Backup { line: n, ..backup };
                    for (map, key) in [
                        (&mut c.newest_by_uuid, key_uuid),
                        (&mut c.newest_by_name, key_name),
                    ] {
                        if let Some(k) = key {
                            let newer = map
                                .get(&k)
                                .is_none_or(|b| b.completed_at < backup.completed_at);
                            if newer {
                                map.insert(k, backup.clone());
                            }
                        }
                    }
                }
                Err(reason) => {
                    c.bad_count += 1;
                    if c.bad_lines.len() < KEEP_BAD {
                        c.bad_lines.push((n, reason.to_string()));
                    }
                }
            }
        }
        c
    }

    /// The newest good backup of this VM, by UUID or by name.
    pub fn newest(&self, uuid: &str, name: &str) -> Option<&Backup> {
        let a = self.newest_by_uuid.get(&uuid.to_ascii_lowercase());
        let b = self.newest_by_name.get(name);
        match (a, b) {
            (Some(x), Some(y)) => Some(if x.completed_at >= y.completed_at {
                x
            } else {
                y
            }),
            (x, y) => x.or(y),
        }
    }
}

type Parsed = (Option<String>, Option<String>, Backup, bool);

/// Why one line of the catalog is not evidence.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("not UTF-8 (byte {0})")]
    NotUtf8(usize),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("neither \"vm\" nor \"uuid\"")]
    NoVm,
    #[error("status {0:?} is neither \"ok\" nor \"failed\"")]
    Status(String),
    #[error("completed_at: {0}")]
    CompletedAt(#[from] TimeError),
}

fn read_line(line: &str) -> Result<Parsed, LineError> {
    let r: RawLine = serde_json::from_str(line)?;
    if r.vm.is_none() && r.uuid.is_none() {
        return Err(LineError::NoVm);
    }
    let ok = match r.status.as_str() {
        "ok" => true,
        "failed" => false,
        other => return Err(LineError::Status(other.to_owned())),
    };
    // A backup dated by its day counts from the day's start: evidence never looks newer.
    let completed_at = parse_stamp(&r.completed_at, DayEdge::Start)?;
    Ok((
        r.uuid.map(|u| u.to_ascii_lowercase()),
        r.vm.map(|v| crate::sanitize::clean(&v)),
        Backup {
            completed_at,
            location: crate::sanitize::clean(&r.location),
            line: 0,
        },
        ok,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_ok_backup_counts_failed_and_bad_do_not() {
        let c = Catalog::parse(concat!(
            "{\"vm\": \"web-01\", \"completed_at\": \"2026-11-20T02:00:00Z\", \"status\": \"ok\", \"location\": \"s3://b/1\"}\n",
            "{\"vm\": \"web-01\", \"completed_at\": \"2026-11-21T02:00:00Z\", \"status\": \"failed\"}\n",
            "{\"uuid\": \"ABC\", \"completed_at\": \"2026-11-21T03:00:00Z\", \"status\": \"ok\"}\n",
            "not json\n",
            "\n",
            "{\"vm\": \"x\", \"completed_at\": \"yesterday\", \"status\": \"ok\"}\n",
            "{\"vm\": \"x\", \"completed_at\": \"2026-11-21T03:00:00Z\", \"status\": \"maybe\"}\n",
        ));
        let w = c.newest("nope", "web-01").unwrap();
        assert_eq!(w.completed_at.to_rfc3339(), "2026-11-20T02:00:00+00:00");
        assert_eq!((w.line, w.location.as_str()), (1, "s3://b/1"));
        assert_eq!(c.newest("abc", "other").unwrap().line, 3);
        assert_eq!((c.ok_lines, c.failed_runs, c.bad_count), (2, 1, 3));
        assert_eq!(
            c.bad_lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![4, 6, 7]
        );
        assert!(c.bad_lines[1].1.contains("yesterday"));
        assert!(c.newest("x", "x").is_none());
    }

    #[test]
    fn a_line_in_another_encoding_is_one_bad_line() {
        let mut bytes =
            b"{\"vm\": \"a\", \"completed_at\": \"2026-11-20T02:00:00Z\", \"status\": \"ok\"}\n"
                .to_vec();
        bytes.extend_from_slice(b"{\"vm\": \"caf\xe9\", \"completed_at\": \"2026-11-20T02:00:00Z\", \"status\": \"ok\"}\n");
        bytes.extend_from_slice(b"{\"vm\": \"b\", \"completed_at\": \"2026-11-21T02:00:00Z\", \"status\": \"ok\", \"location\": \"\\u001b]52;c;AAAA\\u0007s3://x\"}\n");
        let c = Catalog::parse_bytes(&bytes);
        assert_eq!((c.ok_lines, c.bad_count), (2, 1));
        assert_eq!(c.bad_lines[0].0, 2);
        assert!(c.bad_lines[0].1.contains("UTF-8"), "{:?}", c.bad_lines);
        assert!(c.newest("", "a").is_some() && c.newest("", "b").is_some());
        assert!(!c.newest("", "b").unwrap().location.contains('\u{1b}'));
    }
}
