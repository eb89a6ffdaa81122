//! Reading history: events by VM, host, time and kind; the fleet as it was at a moment; a
//! statistics series at the resolution its time range keeps.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    #[serde(skip)]
    pub at_ms: i64,
    pub at: String,
    pub kind: String,
    pub vm: Option<String>,
    pub uuid: Option<String>,
    pub host: Option<String>,
    pub from_host: Option<String>,
    pub to_host: Option<String>,
    pub started_at: Option<String>,
    pub duration_s: Option<f64>,
    pub actor: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// VM name or UUID.
    pub vm: Option<String>,
    /// Any of host, from or to host.
    pub host: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub kinds: Vec<String>,
    pub limit: usize,
}

/// Events, newest first.
pub fn events(c: &Connection, q: &EventQuery) -> rusqlite::Result<Vec<EventRow>> {
    // Kinds are spelled out so the (kind, at) index serves a one-kind question such as
    // "migrations of the last 30 days"; they come from a fixed list, never from free text.
    let kinds: Vec<&str> = q
        .kinds
        .iter()
        .map(String::as_str)
        .filter(|k| super::events::KINDS.contains(k))
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastVm {
    pub uuid: String,
    pub name: String,
    pub host: String,
    pub state: String,
    pub vcpus: Option<u32>,
    /// The current allocation then (unknown in rows written before schema 3).
    pub memory_bytes: Option<u64>,
    pub max_memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastHost {
    pub name: String,
    pub uri: String,
    pub state: String,
    pub error: Option<String>,
    /// The host's size as last recorded.
    pub cpus: Option<u32>,
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Past {
    pub at_ms: i64,
    pub hosts: Vec<PastHost>,
    pub vms: Vec<PastVm>,
    /// Statistics recorded around that moment, by VM UUID and by host name.
    pub vm_stats: std::collections::HashMap<String, super::moment::Stat>,
    pub host_stats: std::collections::HashMap<String, super::moment::Stat>,
}

/// The fleet as recorded at `t`: every placement that covered that moment, without statistics
/// (see `past::lookup` for the whole answer). A moment no recorder saw gives an empty fleet,
/// never a guess.
pub fn at(c: &Connection, t: i64) -> rusqlite::Result<Past> {
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

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub at_ms: i64,
    pub cpu: Option<f64>,
    pub cpu_max: Option<f64>,
    pub mem: Option<f64>,
    pub disk: Option<f64>,
    pub net: Option<f64>,
}

/// A VM's statistics (by UUID) at one level, oldest first.
pub fn series(
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

/// Who records into this store now, if anyone: (pid, hostname, heartbeat age ms).
pub fn recorder(c: &Connection, now_ms: i64) -> rusqlite::Result<Option<(i64, String, i64)>> {
    let r = c.query_row(
        "SELECT pid, hostname, heartbeat FROM lease WHERE id = 1",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    );
    match r {
        Ok((pid, host, beat)) if now_ms - beat < super::lease::STALE_AFTER_MS => {
            Ok(Some((pid, host, now_ms - beat)))
        }
        Ok(_) | Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e),
    }
}
