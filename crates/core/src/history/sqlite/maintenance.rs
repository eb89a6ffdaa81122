//! The hosts in maintenance: one row per host, the VMs away as JSON (read and written whole,
//! never queried inside).

use crate::actions::maintenance::Maintenance;
use rusqlite::{Connection, params};

#[derive(Debug, thiserror::Error)]
#[error("the VMs away from {host:?} cannot be read: {source}")]
struct Unreadable {
    host: String,
    source: serde_json::Error,
}

pub fn all(c: &Connection) -> rusqlite::Result<Vec<Maintenance>> {
    let mut stmt =
        c.prepare("SELECT host, by_whom, since, away FROM maintenance ORDER BY since, host")?;
    let rows = stmt.query_map([], |r| {
        let host: String = r.get(0)?;
        let away: String = r.get(3)?;
        // Unreadable, it is an error: silently empty, a return would bring nothing back.
        let away = serde_json::from_str(&away).map_err(|source| {
            let e = Unreadable {
                host: host.clone(),
                source,
            };
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?;
        Ok(Maintenance {
            host,
            by: r.get(1)?,
            since_ms: r.get(2)?,
            away,
        })
    })?;
    rows.collect()
}

pub fn put(c: &Connection, m: &Maintenance) -> rusqlite::Result<()> {
    let away = serde_json::to_string(&m.away).unwrap_or_else(|_| "[]".into());
    c.execute(
        "INSERT INTO maintenance (host, by_whom, since, away) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (host) DO UPDATE SET by_whom = excluded.by_whom, since = excluded.since,
             away = excluded.away",
        params![m.host, m.by, m.since_ms, away],
    )?;
    Ok(())
}

pub fn end(c: &Connection, host: &str) -> rusqlite::Result<bool> {
    Ok(c.execute("DELETE FROM maintenance WHERE host = ?1", params![host])? > 0)
}
