//! What the store knows of one moment: whether any recorder ran then, and the statistics it
//! wrote around it, at the finest level still kept.

use super::config::HistoryConfig;
use super::lease::RENEW_EVERY_MS;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::time::Duration;

/// A recorder writes at least every `RENEW_EVERY_MS` while it runs; a moment this soon after
/// its last write is still its own.
const SLACK_MS: i64 = RENEW_EVERY_MS + 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    Recorded,
    /// Nothing was ever recorded.
    Never,
    /// Before the first record, which began at `first_ms`.
    Before {
        first_ms: i64,
    },
    /// No recorder ran from `from_ms` (the last write before) to `to_ms` (the next start; none
    /// when no recorder has run since).
    Gap {
        from_ms: i64,
        to_ms: Option<i64>,
    },
}

pub fn coverage(c: &Connection, t: i64) -> rusqlite::Result<Coverage> {
    let inside: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM recordings WHERE since <= ?1 AND ?1 <= until + ?2)",
        params![t, SLACK_MS],
        |r| r.get(0),
    )?;
    if inside {
        return Ok(Coverage::Recorded);
    }
    let first: Option<i64> = c.query_row("SELECT MIN(since) FROM recordings", [], |r| r.get(0))?;
    let Some(first_ms) = first else {
        return Ok(Coverage::Never);
    };
    if t < first_ms {
        return Ok(Coverage::Before { first_ms });
    }
    let from_ms: i64 = c
        .query_row(
            "SELECT MAX(until) FROM recordings WHERE until < ?1",
            [t],
            |r| r.get::<_, Option<i64>>(0),
        )?
        .unwrap_or(first_ms);
    let to_ms: Option<i64> = c
        .query_row(
            "SELECT MIN(since) FROM recordings WHERE since > ?1",
            [t],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(Coverage::Gap { from_ms, to_ms })
}

/// One series' statistics at a moment. `None` where nothing was measured: never a zero.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stat {
    pub cpu: Option<f64>,
    pub mem: Option<f64>,
    pub disk: Option<f64>,
    pub net: Option<f64>,
    pub disk_read: Option<f64>,
    pub disk_write: Option<f64>,
    pub net_rx: Option<f64>,
    pub net_tx: Option<f64>,
}

/// How far back from a moment each level's rows still describe it: a raw row until the next
/// sample is due (twice the longer of the poll interval and the sampling step, so one late poll
/// is not a hole), a rollup row for its bucket.
pub fn windows(cfg: &HistoryConfig, poll: Duration) -> Vec<i64> {
    let raw = 2 * cfg.sample_every.max(poll).as_millis() as i64;
    std::iter::once(raw)
        .chain(cfg.rollup.iter().map(|r| r.every.as_millis() as i64))
        .collect()
}

/// Each series' row that describes `t`, from the finest level that has one: VMs by UUID, hosts
/// by name.
pub fn stats_at(
    c: &Connection,
    t: i64,
    windows: &[i64],
) -> rusqlite::Result<(HashMap<String, Stat>, HashMap<String, Stat>)> {
    let mut vms: HashMap<String, Stat> = HashMap::new();
    let mut hosts: HashMap<String, Stat> = HashMap::new();
    // Of the rows in the window, the newest per series (SQLite takes the bare columns from
    // the row that gives MAX).
    let mut stmt = c.prepare_cached(
        "SELECT v.uuid, h.name, s.cpu, s.mem, s.disk, s.net, s.disk_read, s.disk_write, s.net_rx, s.net_tx, MAX(s.at)
         FROM stats s LEFT JOIN vms v ON v.id = s.series LEFT JOIN hosts h ON h.id = -s.series
         WHERE s.level = ?1 AND s.at <= ?2 AND s.at > ?2 - ?3
         GROUP BY s.series",
    )?;
    for (level, &window) in windows.iter().enumerate() {
        let rows = stmt.query_map(params![level as i64, t, window], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                Stat {
                    cpu: r.get(2)?,
                    mem: r.get(3)?,
                    disk: r.get(4)?,
                    net: r.get(5)?,
                    disk_read: r.get(6)?,
                    disk_write: r.get(7)?,
                    net_rx: r.get(8)?,
                    net_tx: r.get(9)?,
                },
            ))
        })?;
        for row in rows {
            let (uuid, host, stat) = row?;
            match (uuid, host) {
                (Some(u), _) => {
                    vms.entry(u).or_insert(stat);
                }
                (None, Some(h)) => {
                    hosts.entry(h).or_insert(stat);
                }
                (None, None) => {}
            }
        }
    }
    Ok((vms, hosts))
}
