//! Leases per host: a recorder takes a row for each host it writes, all or none, inside one
//! transaction with the rows locked, so two recorders with disjoint hosts write side by side and
//! a second one for the same hosts is refused (or takes over once the first is stale). The
//! rule of who may take a row is the core's [`may_take`], as for SQLite's single lease.

use fleetwatch_core::history::lease::{Holder, Lease, LeaseRow, STALE_AFTER_MS, may_take};
use postgres::{Client, GenericClient, Row};

fn lease_row(r: &Row) -> LeaseRow {
    LeaseRow {
        holder: r.get(0),
        pid: r.get(1),
        hostname: r.get(2),
        heartbeat: r.get(3),
        role: r.get(4),
    }
}

/// "fleetwatch leases" for the advisory lock that serializes takes.
const LEASE_LOCK: i64 = 0x6677_6c65_6173_6573;

/// Lease rows whose host starts so are recorders' presence, not hosts.
pub const PRESENCE: &str = "@recorder ";

pub(crate) fn presence(me: &Holder) -> String {
    format!("{PRESENCE}{}", me.id)
}

/// Takes every host's lease, or none of them. The rows are created first (without a holder
/// they would not exist to lock), then locked in name order, so two recorders taking
/// overlapping sets cannot deadlock.
pub(crate) fn acquire(
    c: &mut Client,
    me: &Holder,
    hosts: &[&str],
    now_ms: i64,
) -> Result<Lease, postgres::Error> {
    let mut names: Vec<&str> = hosts.to_vec();
    names.sort_unstable();
    names.dedup();
    let mut tx = c.transaction()?;
    // One take at a time: rows not yet there cannot be locked, and two recorders inserting
    // the same new rows at once would both think them theirs (seen: two recorders of one
    // config both took all its hosts).
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LEASE_LOCK])?;
    // Presence rows of recorders long gone (killed: nothing released them) would pile up.
    tx.execute(
        "DELETE FROM leases WHERE starts_with(host, $1) AND heartbeat < $2",
        &[&PRESENCE, &(now_ms - 10 * STALE_AFTER_MS)],
    )?;
    let rows = tx.query(
        "SELECT holder, pid, hostname, heartbeat, role FROM leases
         WHERE host = ANY($1) ORDER BY host FOR UPDATE",
        &[&names],
    )?;
    for r in &rows {
        if let Err(other) = may_take(Some(&lease_row(r)), me, now_ms) {
            return Ok(other);
        }
    }
    tx.execute(
        "INSERT INTO leases (host, holder, pid, hostname, role, heartbeat)
         SELECT h, $2, $3, $4, $5, $6 FROM unnest($1::text[]) AS h
         ON CONFLICT (host) DO UPDATE SET holder = EXCLUDED.holder, pid = EXCLUDED.pid,
             hostname = EXCLUDED.hostname, role = EXCLUDED.role, heartbeat = EXCLUDED.heartbeat",
        &[
            &names,
            &me.id,
            &me.pid,
            &me.hostname,
            &me.role.label(),
            &now_ms,
        ],
    )?;
    tx.commit()?;
    Ok(Lease::Held)
}

/// Inside a write: every one of our rows is still ours, and stays so until the commit.
pub(crate) fn holds(
    c: &mut impl GenericClient,
    me: &Holder,
    hosts: &[String],
) -> Result<bool, postgres::Error> {
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM (SELECT 1 FROM leases WHERE host = ANY($1) AND holder = $2
                                   FOR UPDATE) AS mine",
            &[&hosts, &me.id],
        )?
        .get(0);
    Ok(n as usize == hosts.len())
}

pub(crate) fn renew(
    c: &mut Client,
    me: &Holder,
    hosts: &[String],
    now_ms: i64,
) -> Result<bool, postgres::Error> {
    let n = c.execute(
        "UPDATE leases SET heartbeat = $3 WHERE host = ANY($1) AND holder = $2",
        &[&hosts, &me.id, &now_ms],
    )?;
    Ok(n as usize == hosts.len())
}

/// A clean stop frees our rows at once: the others need not wait for them to go stale.
pub(crate) fn release(c: &mut Client, me: &Holder) -> Result<(), postgres::Error> {
    c.execute("DELETE FROM leases WHERE holder = $1", &[&me.id])?;
    Ok(())
}

/// The most recently renewed lease, for "who records": with several recorders, one of them.
pub(crate) fn newest(c: &mut Client) -> Result<Option<LeaseRow>, postgres::Error> {
    Ok(c.query_opt(
        "SELECT holder, pid, hostname, heartbeat, role FROM leases ORDER BY heartbeat DESC LIMIT 1",
        &[],
    )?
    .as_ref()
    .map(lease_row))
}

/// Every host's lease, by host.
pub(crate) fn all(c: &mut Client) -> Result<Vec<(Option<String>, LeaseRow)>, postgres::Error> {
    Ok(c.query(
        "SELECT holder, pid, hostname, heartbeat, role, host FROM leases ORDER BY host",
        &[],
    )?
    .iter()
    .map(|r| (Some(r.get(5)), lease_row(r)))
    .collect())
}
