//! The acknowledgements' table, shared by every operator and recorder of the database.

use crate::store::PgStore;
use fleetwatch_core::actions::record::Record;
use fleetwatch_core::history::store::{AckStore, StoreError};
use fleetwatch_core::model::acks::Ack;
use fleetwatch_core::model::findings::Kind;
use postgres::Client;

fn all(c: &mut Client) -> Result<Vec<Ack>, postgres::Error> {
    let rows = c.query(
        "SELECT kind, subject, by_whom, at, reason, expires FROM acks ORDER BY at",
        &[],
    )?;
    // A kind this build does not know (a newer one wrote it) is not ours to judge.
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(Ack {
                kind: Kind::parse(r.get::<_, &str>(0))?,
                subject: r.get(1),
                by: r.get(2),
                at_ms: r.get(3),
                reason: r.get(4),
                expires_ms: r.get(5),
            })
        })
        .collect())
}

fn put(c: &mut Client, a: &Ack, r: &Record) -> Result<(), postgres::Error> {
    let mut tx = c.transaction()?;
    tx.execute(
        "INSERT INTO acks (kind, subject, by_whom, at, reason, expires) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (kind, subject) DO UPDATE SET by_whom = excluded.by_whom, at = excluded.at,
             reason = excluded.reason, expires = excluded.expires",
        &[&a.kind.name(), &a.subject, &a.by, &a.at_ms, &a.reason, &a.expires_ms],
    )?;
    crate::audit::append(&mut tx, r)?;
    tx.commit()
}

fn end(c: &mut Client, kind: Kind, subject: &str, r: &Record) -> Result<bool, postgres::Error> {
    let mut tx = c.transaction()?;
    let n = tx.execute(
        "DELETE FROM acks WHERE kind = $1 AND subject = $2",
        &[&kind.name(), &subject],
    )?;
    if n > 0 {
        crate::audit::append(&mut tx, r)?;
    }
    tx.commit()?;
    Ok(n > 0)
}

impl PgStore {
    pub(crate) fn read_acks(&self) -> Result<Vec<Ack>, StoreError> {
        all(&mut self.client()).map_err(self.fail("read the acknowledgements"))
    }
}

impl AckStore for PgStore {
    fn put_ack(&mut self, a: &Ack, audit: &Record) -> Result<(), StoreError> {
        let r = put(self.parts().0, a, audit);
        r.map_err(self.fail("write an acknowledgement"))
    }

    fn end_ack(&mut self, kind: Kind, subject: &str, audit: &Record) -> Result<bool, StoreError> {
        let r = end(self.parts().0, kind, subject, audit);
        r.map_err(self.fail("end an acknowledgement"))
    }
}
