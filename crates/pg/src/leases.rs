//! Leases per host: a recorder takes a row for each host it writes, all or none, inside one
//! transaction with the rows locked, so two recorders with disjoint hosts write side by side and
//! a second one for the same hosts is refused (or takes over once the first is stale). The
//! rule of who may take a row is the core's [`may_take`], as for SQLite's single lease.

use fleetwatch_core::history::lease::{Holder, Lease, LeaseRow, STALE_AFTER_MS, may_take};
use postgres::{Client, GenericClient, Row};

/// Rows as `SELECT holder, pid, hostname, heartbeat, role, renew_ms`, their heartbeats moved
/// by `shift` (from the server's clock to this machine's).
fn lease_row(r: &Row, shift: i64) -> LeaseRow {
    LeaseRow {
        holder: r.get(0),
        pid: r.get(1),
        hostname: r.get(2),
        heartbeat: r.get::<_, i64>(3) + shift,
        role: r.get(4),
        renew_ms: r.get(5),
    }
}

/// Heartbeats are the server's time, not the recorders': recorders on machines whose clocks
/// differ by seconds must still agree on whose lease is stale when that takes three seconds.
pub(crate) const SERVER_NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// How far this machine's clock is ahead of the server's, in ms.
fn shift(c: &mut impl GenericClient) -> Result<i64, postgres::Error> {
    let server: i64 = c.query_one(&format!("SELECT {SERVER_NOW_MS}"), &[])?.get(0);
    Ok(chrono::Utc::now().timestamp_millis() - server)
}

const COLUMNS: &str = "holder, pid, hostname, heartbeat, role, renew_ms";

/// "fleetwatch leases" for the advisory lock that serializes takes.
const LEASE_LOCK: i64 = 0x6677_6c65_6173_6573;

/// Lease rows whose host starts so are recorders' presence, not hosts.
pub const PRESENCE: &str = "@recorder ";

pub(crate) fn presence(me: &Holder) -> String {
    format!("{PRESENCE}{}", me.id)
}

/// Takes every host's lease, or none of them. The rows are created first (without a holder
/// they would not exist to lock), then locked in name order, so two recorders taking
/// overlapping sets cannot deadlock. With them held: which of them were ours already.
pub(crate) fn acquire(
    c: &mut Client,
    me: &Holder,
    hosts: &[&str],
) -> Result<(Lease, Vec<String>), postgres::Error> {
    let mut names: Vec<&str> = hosts.to_vec();
    names.sort_unstable();
    names.dedup();
    let mut tx = c.transaction()?;
    // One take at a time: rows not yet there cannot be locked, and two recorders inserting
    // the same new rows at once would both think them theirs (seen: two recorders of one
    // config both took all its hosts).
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LEASE_LOCK])?;
    let now_ms: i64 = tx
        .query_one(&format!("SELECT {SERVER_NOW_MS}"), &[])?
        .get(0);
    // Presence rows of recorders long gone (killed: nothing released them) would pile up.
    tx.execute(
        "DELETE FROM leases WHERE starts_with(host, $1) AND heartbeat < $2",
        &[&PRESENCE, &(now_ms - 10 * STALE_AFTER_MS)],
    )?;
    let rows = tx.query(
        &format!("SELECT {COLUMNS} FROM leases WHERE host = ANY($1) ORDER BY host FOR UPDATE"),
        &[&names],
    )?;
    for r in &rows {
        if let Err(other) = may_take(Some(&lease_row(r, 0)), me, now_ms) {
            return Ok((other, Vec::new()));
        }
    }
    let kept: Vec<String> = tx
        .query(
            "SELECT host FROM leases WHERE host = ANY($1) AND holder = $2",
            &[&names, &me.id],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.execute(
        "INSERT INTO leases (host, holder, pid, hostname, role, heartbeat, renew_ms)
         SELECT h, $2, $3, $4, $5, $6, $7 FROM unnest($1::text[]) AS h
         ON CONFLICT (host) DO UPDATE SET holder = EXCLUDED.holder, pid = EXCLUDED.pid,
             hostname = EXCLUDED.hostname, role = EXCLUDED.role, heartbeat = EXCLUDED.heartbeat,
             renew_ms = EXCLUDED.renew_ms",
        &[
            &names,
            &me.id,
            &me.pid,
            &me.hostname,
            &me.role.label(),
            &now_ms,
            &me.renew_ms,
        ],
    )?;
    tx.commit()?;
    Ok((Lease::Held, kept))
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
) -> Result<bool, postgres::Error> {
    let n = c.execute(
        &format!(
            "UPDATE leases SET heartbeat = {SERVER_NOW_MS} WHERE host = ANY($1) AND holder = $2"
        ),
        &[&hosts, &me.id],
    )?;
    Ok(n as usize == hosts.len())
}

/// A clean stop frees our rows at once: the others need not wait for them to go stale.
pub(crate) fn release(c: &mut Client, me: &Holder) -> Result<(), postgres::Error> {
    c.execute("DELETE FROM leases WHERE holder = $1", &[&me.id])?;
    Ok(())
}

/// Gives up some hosts, keeping the rest and our presence.
pub(crate) fn release_hosts(
    c: &mut Client,
    me: &Holder,
    hosts: &[&str],
) -> Result<(), postgres::Error> {
    c.execute(
        "DELETE FROM leases WHERE holder = $1 AND host = ANY($2)",
        &[&me.id, &hosts],
    )?;
    Ok(())
}

/// The most recently renewed lease, for "who records": with several recorders, one of them.
pub(crate) fn newest(c: &mut Client) -> Result<Option<LeaseRow>, postgres::Error> {
    let shift = shift(c)?;
    Ok(c.query_opt(
        &format!("SELECT {COLUMNS} FROM leases ORDER BY heartbeat DESC LIMIT 1"),
        &[],
    )?
    .map(|r| lease_row(&r, shift)))
}

/// Every host's lease, by host.
pub(crate) fn all(c: &mut Client) -> Result<Vec<(Option<String>, LeaseRow)>, postgres::Error> {
    let shift = shift(c)?;
    Ok(c.query(
        &format!("SELECT {COLUMNS}, host FROM leases ORDER BY host"),
        &[],
    )?
    .iter()
    .map(|r| (Some(r.get(6)), lease_row(r, shift)))
    .collect())
}
