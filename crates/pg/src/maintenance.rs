//! The hosts in maintenance, shared by every operator of the database: one row per host, the
//! VMs away as JSON (read and written whole).

use crate::store::PgStore;
use fleetwatch_core::actions::maintenance::Maintenance;
use fleetwatch_core::history::store::{MaintenanceStore, StoreError};
use postgres::Client;

/// A row whose VMs away cannot be read: an error, since silently empty a return would bring
/// nothing back.
#[derive(Debug, thiserror::Error)]
#[error("the VMs away from {host:?} cannot be read: {source}")]
struct Unreadable {
    host: String,
    source: serde_json::Error,
}

fn all(c: &mut Client) -> Result<Result<Vec<Maintenance>, Unreadable>, postgres::Error> {
    let rows = c.query(
        "SELECT host, by_whom, since, away FROM maintenance ORDER BY since, host",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let host: String = r.get(0);
            match serde_json::from_str(r.get::<_, &str>(3)) {
                Ok(away) => Ok(Maintenance {
                    host,
                    by: r.get(1),
                    since_ms: r.get(2),
                    away,
                }),
                Err(source) => Err(Unreadable { host, source }),
            }
        })
        .collect())
}

fn put(c: &mut Client, m: &Maintenance) -> Result<(), postgres::Error> {
    let away = serde_json::to_string(&m.away).unwrap_or_else(|_| "[]".into());
    c.execute(
        "INSERT INTO maintenance (host, by_whom, since, away) VALUES ($1, $2, $3, $4)
         ON CONFLICT (host) DO UPDATE SET by_whom = excluded.by_whom, since = excluded.since,
             away = excluded.away",
        &[&m.host, &m.by, &m.since_ms, &away],
    )?;
    Ok(())
}

impl PgStore {
    pub(crate) fn read_maintenance(&self) -> Result<Vec<Maintenance>, StoreError> {
        let what = "read the hosts in maintenance";
        let rows = all(&mut self.client()).map_err(self.fail(what))?;
        rows.map_err(|e| StoreError::db(&self.name, what, Box::new(e)))
    }
}

impl MaintenanceStore for PgStore {
    fn put_maintenance(&mut self, m: &Maintenance) -> Result<(), StoreError> {
        let r = put(self.parts().0, m);
        r.map_err(self.fail("write a host's maintenance"))
    }

    fn end_maintenance(&mut self, host: &str) -> Result<bool, StoreError> {
        let r = self
            .parts()
            .0
            .execute("DELETE FROM maintenance WHERE host = $1", &[&host]);
        r.map(|n| n > 0)
            .map_err(self.fail("end a host's maintenance"))
    }
}
