//! The readers' questions in SQL, as the SQLite store asks them: events, one moment's
//! placements and host states, the recordings around a moment, statistics.

use crate::writes::unsigned;
use fleetwatch_core::history::events::KINDS;
use fleetwatch_core::history::moment::{Recordings, Stat};
use fleetwatch_core::history::query::{
    EventQuery, EventRow, Past, PastHost, PastVm, Point, rfc3339,
};
use postgres::Client;
use std::collections::HashMap;

/// Events, newest first.
pub(crate) fn events(c: &mut Client, q: &EventQuery) -> Result<Vec<EventRow>, postgres::Error> {
    // Only kinds from the fixed list, passed as an array: the (kind, at) index serves a
    // one-kind question such as "migrations of the last 30 days".
    let kinds: Vec<&str> = q
        .kinds
        .iter()
        .map(String::as_str)
        .filter(|k| KINDS.contains(k))
        .collect();
    let limit = if q.limit == 0 { 10_000 } else { q.limit } as i64;
    let rows = c.query(
        "SELECT e.at, e.kind, v.name, v.uuid, h.name, hf.name, ht.name, e.started_at, e.actor, e.detail
         FROM events e
         LEFT JOIN vms v ON v.id = e.vm_id
         LEFT JOIN hosts h ON h.id = e.host_id
         LEFT JOIN hosts hf ON hf.id = e.from_host_id
         LEFT JOIN hosts ht ON ht.id = e.to_host_id
         WHERE e.at >= $1 AND e.at <= $2
           AND ($3::text IS NULL OR v.name = $3 OR v.uuid = $3)
           AND ($4::text IS NULL OR h.name = $4 OR hf.name = $4 OR ht.name = $4)
           AND (cardinality($5::text[]) = 0 OR e.kind = ANY($5))
         ORDER BY e.at DESC, e.id DESC
         LIMIT $6",
        &[
            &q.since_ms.unwrap_or(i64::MIN),
            &q.until_ms.unwrap_or(i64::MAX),
            &q.vm,
            &q.host,
            &kinds,
            &limit,
        ],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let at: i64 = r.get(0);
            let started: Option<i64> = r.get(7);
            EventRow {
                at_ms: at,
                at: rfc3339(at),
                kind: r.get(1),
                vm: r.get(2),
                uuid: r.get(3),
                host: r.get(4),
                from_host: r.get(5),
                to_host: r.get(6),
                started_at: started.map(rfc3339),
                duration_s: started.map(|s| (at - s) as f64 / 1000.0),
                actor: r.get(8),
                detail: r.get(9),
            }
        })
        .collect())
}

/// A moment no recorder saw gives an empty fleet, never a guess.
pub(crate) fn at(c: &mut Client, t: i64) -> Result<Past, postgres::Error> {
    let vms = c
        .query(
            "SELECT v.uuid, v.name, h.name, p.state, p.vcpus, p.memory_bytes, p.max_memory_bytes
             FROM placements p JOIN vms v ON v.id = p.vm_id JOIN hosts h ON h.id = p.host_id
             WHERE p.since <= $1 AND (p.until IS NULL OR p.until > $1)
             ORDER BY h.name, v.name",
            &[&t],
        )?
        .iter()
        .map(|r| PastVm {
            uuid: r.get(0),
            name: r.get(1),
            host: r.get(2),
            state: r.get(3),
            vcpus: unsigned::<i32, _>(r.get(4)),
            memory_bytes: unsigned::<i64, _>(r.get(5)),
            max_memory_bytes: unsigned::<i64, _>(r.get(6)),
        })
        .collect();
    let hosts = c
        .query(
            "SELECT h.name, h.uri, s.state, s.error, h.cpus, h.memory_bytes FROM hosts h
             LEFT JOIN host_states s ON s.host_id = h.id AND s.since <= $1 AND (s.until IS NULL OR s.until > $1)
             ORDER BY h.id",
            &[&t],
        )?
        .iter()
        .map(|r| PastHost {
            name: r.get(0),
            uri: r.get(1),
            state: r
                .get::<_, Option<String>>(2)
                .unwrap_or_else(|| "unknown".into()),
            error: r.get(3),
            cpus: unsigned::<i32, _>(r.get(4)),
            memory_bytes: unsigned::<i64, _>(r.get(5)),
        })
        .collect();
    Ok(Past {
        at_ms: t,
        hosts,
        vms,
        ..Past::default()
    })
}

pub(crate) fn recordings(
    c: &mut Client,
    t: i64,
    slack_ms: i64,
) -> Result<Recordings, postgres::Error> {
    let r = c.query_one(
        "SELECT EXISTS (SELECT 1 FROM recordings WHERE since <= $1 AND $1 <= until + $2),
                (SELECT MIN(since) FROM recordings),
                (SELECT MAX(until) FROM recordings WHERE until < $1),
                (SELECT MIN(since) FROM recordings WHERE since > $1)",
        &[&t, &slack_ms],
    )?;
    let inside: bool = r.get(0);
    if inside {
        return Ok(Recordings {
            inside,
            ..Recordings::default()
        });
    }
    Ok(Recordings {
        inside,
        first_ms: r.get(1),
        ended_before_ms: r.get(2),
        began_after_ms: r.get(3),
    })
}

#[allow(clippy::type_complexity)]
pub(crate) fn stats_at(
    c: &mut Client,
    t: i64,
    windows: &[i64],
) -> Result<(HashMap<String, Stat>, HashMap<String, Stat>), postgres::Error> {
    let mut vms: HashMap<String, Stat> = HashMap::new();
    let mut hosts: HashMap<String, Stat> = HashMap::new();
    for (level, &window) in windows.iter().enumerate() {
        // Of the rows in the window, the newest per series.
        let rows = c.query(
            "SELECT DISTINCT ON (s.kind, s.id) v.uuid, h.name, s.cpu, s.mem, s.disk, s.net,
                    s.disk_read, s.disk_write, s.net_rx, s.net_tx
             FROM stats s
             LEFT JOIN vms v ON s.kind = 'v' AND v.id = s.id
             LEFT JOIN hosts h ON s.kind = 'h' AND h.id = s.id
             WHERE s.level = $1 AND s.at <= $2 AND s.at > $2 - $3
             ORDER BY s.kind, s.id, s.at DESC",
            &[&(level as i32), &t, &window],
        )?;
        for r in &rows {
            let stat = Stat {
                cpu: r.get(2),
                mem: r.get(3),
                disk: r.get(4),
                net: r.get(5),
                disk_read: r.get(6),
                disk_write: r.get(7),
                net_rx: r.get(8),
                net_tx: r.get(9),
            };
            match (r.get::<_, Option<String>>(0), r.get::<_, Option<String>>(1)) {
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

/// A VM's statistics (by UUID) at one level, oldest first.
pub(crate) fn series(
    c: &mut Client,
    uuid: &str,
    level: i64,
    since_ms: i64,
) -> Result<Vec<Point>, postgres::Error> {
    let level = i32::try_from(level).unwrap_or(i32::MAX);
    Ok(c.query(
        "SELECT s.at, s.cpu, s.cpu_max, s.mem, s.disk, s.net FROM stats s
             JOIN vms v ON s.kind = 'v' AND v.id = s.id
             WHERE v.uuid = $1 AND s.level = $2 AND s.at >= $3 ORDER BY s.at",
        &[&uuid, &level, &since_ms],
    )?
    .iter()
    .map(|r| Point {
        at_ms: r.get(0),
        cpu: r.get(1),
        cpu_max: r.get(2),
        mem: r.get(3),
        disk: r.get(4),
        net: r.get(5),
    })
    .collect())
}
