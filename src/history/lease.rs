//! One recorder per database: a lease row that its holder renews. A holder that stops renewing
//! (killed, host gone) loses it after `STALE_AFTER`, and the next recorder takes over.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub const RENEW_EVERY_MS: i64 = 5_000;
pub const STALE_AFTER_MS: i64 = 4 * RENEW_EVERY_MS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Unique per process run.
    pub id: String,
    pub pid: i64,
    pub hostname: String,
}

impl Holder {
    pub fn me() -> Holder {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "?".into());
        let pid = i64::from(std::process::id());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Holder {
            id: format!("{hostname}:{pid}:{nanos}"),
            pid,
            hostname,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// We hold it.
    Held,
    /// Another live recorder holds it.
    Other {
        pid: i64,
        hostname: String,
        age_ms: i64,
    },
}

/// Takes the lease if it is free, stale or ours; atomically, so two starting recorders cannot
/// both win.
pub fn acquire(c: &mut Connection, me: &Holder, now_ms: i64) -> rusqlite::Result<Lease> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let cur: Option<(String, i64, String, i64)> = tx
        .query_row(
            "SELECT holder, pid, hostname, heartbeat FROM lease WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((holder, pid, hostname, beat)) = cur {
        let age_ms = now_ms - beat;
        // A holder on this machine whose process is gone (kill -9, crash) is not waited for.
        let dead_here = hostname == me.hostname
            && pid != me.pid
            && !std::path::Path::new(&format!("/proc/{pid}")).exists();
        if holder != me.id && age_ms < STALE_AFTER_MS && !dead_here {
            return Ok(Lease::Other {
                pid,
                hostname,
                age_ms,
            });
        }
    }
    tx.execute(
        "INSERT INTO lease (id, holder, pid, hostname, heartbeat) VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET holder = ?1, pid = ?2, hostname = ?3, heartbeat = ?4",
        params![me.id, me.pid, me.hostname, now_ms],
    )?;
    tx.commit()?;
    Ok(Lease::Held)
}

/// Renews our lease; `false` when someone else holds it now (we were presumed dead).
pub fn renew(c: &Connection, me: &Holder, now_ms: i64) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE lease SET heartbeat = ?2 WHERE id = 1 AND holder = ?1",
        params![me.id, now_ms],
    )?;
    Ok(n == 1)
}

pub fn release(c: &Connection, me: &Holder) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM lease WHERE id = 1 AND holder = ?1",
        params![me.id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        c
    }

    fn holder(n: &str) -> Holder {
        Holder {
            id: n.into(),
            pid: 42,
            hostname: "mgmt".into(),
        }
    }

    #[test]
    fn one_holder_at_a_time_and_takeover_when_stale() {
        let mut c = db();
        let (a, b) = (holder("a"), holder("b"));
        assert_eq!(acquire(&mut c, &a, 1_000).unwrap(), Lease::Held);
        assert_eq!(
            acquire(&mut c, &b, 2_000).unwrap(),
            Lease::Other {
                pid: 42,
                hostname: "mgmt".into(),
                age_ms: 1_000
            }
        );
        assert!(renew(&c, &a, 10_000).unwrap());
        assert!(matches!(
            acquire(&mut c, &b, 10_000 + STALE_AFTER_MS - 1).unwrap(),
            Lease::Other { .. }
        ));
        // a stopped renewing: b takes over, and a learns it lost the lease.
        assert_eq!(
            acquire(&mut c, &b, 10_000 + STALE_AFTER_MS).unwrap(),
            Lease::Held
        );
        assert!(!renew(&c, &a, 10_000 + STALE_AFTER_MS + 1).unwrap());
        release(&c, &b).unwrap();
        assert_eq!(acquire(&mut c, &a, 0).unwrap(), Lease::Held);
    }
}
