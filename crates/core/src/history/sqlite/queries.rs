//! The readers' questions in SQL: events, the placements and host states of one moment, a
//! VM's statistics series, and the lease.

use crate::history::lease::LeaseRow;
use crate::history::query::{EventQuery, EventRow, Past, PastHost, PastVm, Point, rfc3339};
use rusqlite::{Connection, OptionalExtension, params};

/// Events, newest first.
pub(super) fn events(c: &Connection, q: &EventQuery) -> rusqlite::Result<Vec<EventRow>> {
    // Kinds are spelled out so the (kind, at) index serves a one-kind question such as
    // "migrations of the last 30 days"; they come from a fixed list, never from free text.
    let kinds: Vec<&str> = q
        .kinds
        .iter()
        .map(String::as_str)
        .filter(|k| crate::history::events::KINDS.contains(k))
        .collect();
    let kind_clause = if kinds.is_empty() {
        String::new()
    } else {
        format!(
            "AND e.kind IN ({})",
            kinds
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let sql = format!(
        "SELECT e.at, e.kind, v.name, v.uuid, h.name, hf.name, ht.name, e.started_at, e.actor, e.detail
         FROM events e
         LEFT JOIN vms v ON v.id = e.vm_id
         LEFT JOIN hosts h ON h.id = e.host_id
         LEFT JOIN hosts hf ON hf.id = e.from_host_id
         LEFT JOIN hosts ht ON ht.id = e.to_host_id
         WHERE e.at >= ?1 AND e.at <= ?2
           AND (?3 IS NULL OR v.name = ?3 OR v.uuid = ?3)
           AND (?4 IS NULL OR h.name = ?4 OR hf.name = ?4 OR ht.name = ?4)
           {kind_clause}
         ORDER BY e.at DESC, e.id DESC
         LIMIT ?5"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            q.since_ms.unwrap_or(i64::MIN),
            q.until_ms.unwrap_or(i64::MAX),
            q.vm,
            q.host,
            if q.limit == 0 { 10_000 } else { q.limit } as i64
        ],
        |r| {
            let at: i64 = r.get(0)?;
            let started: Option<i64> = r.get(7)?;
            Ok(EventRow {
                at_ms: at,
                at: rfc3339(at),
                kind: r.get(1)?,
                vm: r.get(2)?,
                uuid: r.get(3)?,
                host: r.get(4)?,
                from_host: r.get(5)?,
                to_host: r.get(6)?,
                started_at: started.map(rfc3339),
                duration_s: started.map(|s| (at - s) as f64 / 1000.0),
                actor: r.get(8)?,
                detail: r.get(9)?,
            })
        },
    )?;
    rows.collect()
}

/// A moment no recorder saw gives an empty fleet, never a guess.
pub(super) fn at(c: &Connection, t: i64) -> rusqlite::Result<Past> {
    let mut stmt = c.prepare_cached(
        "SELECT v.uuid, v.name, h.name, p.state, p.vcpus, p.memory_bytes, p.max_memory_bytes
         FROM placements p JOIN vms v ON v.id = p.vm_id JOIN hosts h ON h.id = p.host_id
         WHERE p.since <= ?1 AND (p.until IS NULL OR p.until > ?1)
         ORDER BY h.name, v.name",
    )?;
    let vms = stmt
        .query_map([t], |r| {
            Ok(PastVm {
                uuid: r.get(0)?,
                name: r.get(1)?,
                host: r.get(2)?,
                state: r.get(3)?,
                vcpus: r.get(4)?,
                memory_bytes: r.get(5)?,
                max_memory_bytes: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT h.name, h.uri, s.state, s.error, h.cpus, h.memory_bytes FROM hosts h
         LEFT JOIN host_states s ON s.host_id = h.id AND s.since <= ?1 AND (s.until IS NULL OR s.until > ?1)
         ORDER BY h.id",
    )?;
    let hosts = stmt
        .query_map([t], |r| {
            Ok(PastHost {
                name: r.get(0)?,
                uri: r.get(1)?,
                state: r
                    .get::<_, Option<String>>(2)?
                    .unwrap_or_else(|| "unknown".into()),
                error: r.get(3)?,
                cpus: r.get(4)?,
                memory_bytes: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Past {
        at_ms: t,
        hosts,
        vms,
        ..Past::default()
    })
}

/// A VM's statistics (by UUID) at one level, oldest first.
pub(super) fn series(
    c: &Connection,
    uuid: &str,
    level: i64,
    since_ms: i64,
) -> rusqlite::Result<Vec<Point>> {
    let mut stmt = c.prepare_cached(
        "SELECT s.at, s.cpu, s.cpu_max, s.mem, s.disk, s.net FROM stats s JOIN vms v ON v.id = s.series
         WHERE v.uuid = ?1 AND s.level = ?2 AND s.at >= ?3 ORDER BY s.at",
    )?;
    let rows = stmt.query_map(params![uuid, level, since_ms], |r| {
        Ok(Point {
            at_ms: r.get(0)?,
            cpu: r.get(1)?,
            cpu_max: r.get(2)?,
            mem: r.get(3)?,
            disk: r.get(4)?,
            net: r.get(5)?,
        })
    })?;
    rows.collect()
}

pub(super) fn lease(c: &Connection) -> rusqlite::Result<Option<LeaseRow>> {
    c.query_row(
        "SELECT holder, pid, hostname, heartbeat, role FROM lease WHERE id = 1",
        [],
        |r| {
            Ok(LeaseRow {
                holder: r.get(0)?,
                pid: r.get(1)?,
                hostname: r.get(2)?,
                heartbeat: r.get(3)?,
                role: r.get(4)?,
                // One recorder per file: it renews at the single recorder's pace.
                renew_ms: crate::history::lease::RENEW_EVERY_MS,
            })
        },
    )
    .optional()
}
