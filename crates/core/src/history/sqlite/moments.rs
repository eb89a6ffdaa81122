//! What the store knows of one moment in SQL: the recordings around it, and the statistics
//! rows that describe it.

use crate::history::moment::{Recordings, Stat};
use rusqlite::{Connection, params};
use std::collections::HashMap;

pub(super) fn recordings(c: &Connection, t: i64, slack_ms: i64) -> rusqlite::Result<Recordings> {
    let inside: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM recordings WHERE since <= ?1 AND ?1 <= until + ?2)",
        params![t, slack_ms],
        |r| r.get(0),
    )?;
    if inside {
        return Ok(Recordings {
            inside,
            ..Recordings::default()
        });
    }
    let first_ms: Option<i64> =
        c.query_row("SELECT MIN(since) FROM recordings", [], |r| r.get(0))?;
    let ended_before_ms: Option<i64> = c.query_row(
        "SELECT MAX(until) FROM recordings WHERE until < ?1",
        [t],
        |r| r.get(0),
    )?;
    let began_after_ms: Option<i64> = c.query_row(
        "SELECT MIN(since) FROM recordings WHERE since > ?1",
        [t],
        |r| r.get(0),
    )?;
    Ok(Recordings {
        inside,
        first_ms,
        ended_before_ms,
        began_after_ms,
    })
}

#[allow(clippy::type_complexity)]
pub(super) fn stats_at(
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
