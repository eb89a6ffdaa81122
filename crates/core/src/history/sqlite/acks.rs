//! The acknowledgements' table.

use super::audit;
use crate::actions::record::Record;
use crate::model::acks::Ack;
use crate::model::findings::Kind;
use rusqlite::{Connection, params};

pub fn all(c: &Connection) -> rusqlite::Result<Vec<Ack>> {
    let mut stmt =
        c.prepare("SELECT kind, subject, by_whom, at, reason, expires FROM acks ORDER BY at")?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(0)?;
        let ack = Ack {
            kind: Kind::Unbacked,
            subject: r.get(1)?,
            by: r.get(2)?,
            at_ms: r.get(3)?,
            reason: r.get(4)?,
            expires_ms: r.get(5)?,
        };
        Ok(Kind::parse(&kind).map(|kind| Ack { kind, ..ack }))
    })?;
    // A kind this build does not know (a newer one wrote it) is not ours to judge.
    Ok(rows
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect())
}

pub fn put(c: &mut Connection, a: &Ack, r: &Record) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO acks (kind, subject, by_whom, at, reason, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (kind, subject) DO UPDATE SET by_whom = excluded.by_whom, at = excluded.at,
             reason = excluded.reason, expires = excluded.expires",
        params![a.kind.name(), a.subject, a.by, a.at_ms, a.reason, a.expires_ms],
    )?;
    audit::append(&tx, r)?;
    tx.commit()
}

pub fn end(c: &mut Connection, kind: Kind, subject: &str, r: &Record) -> rusqlite::Result<bool> {
    let tx = c.transaction()?;
    let n = tx.execute(
        "DELETE FROM acks WHERE kind = ?1 AND subject = ?2",
        params![kind.name(), subject],
    )?;
    if n > 0 {
        audit::append(&tx, r)?;
    }
    tx.commit()?;
    Ok(n > 0)
}
