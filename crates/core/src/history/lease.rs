//! One recorder per database: a lease row that its holder renews. A holder that stops renewing
//! (killed, host gone) loses it after `STALE_AFTER`, and the next recorder takes over. A TUI
//! records only until the dedicated recorder (`fleetwatch record`, the service) starts: the
//! service takes the lease from a TUI at once, so an open TUI never locks it out.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

pub const RENEW_EVERY_MS: i64 = 5_000;
pub const STALE_AFTER_MS: i64 = 4 * RENEW_EVERY_MS;

/// Who records: the service, or a TUI standing in while none runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Service,
    Tui,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Tui => "tui",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Unique per process run.
    pub id: String,
    pub pid: i64,
    pub hostname: String,
    pub role: Role,
}

impl Holder {
    pub fn me(role: Role) -> Holder {
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
            role,
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

/// Takes the lease if it is free, stale, ours, or a TUI's and we are the service; atomically, so
/// two starting recorders cannot both win.
pub fn acquire(c: &mut Connection, me: &Holder, now_ms: i64) -> rusqlite::Result<Lease> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let cur: Option<(String, i64, String, i64, String)> = tx
        .query_row(
            "SELECT holder, pid, hostname, heartbeat, role FROM lease WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    if let Some((holder, pid, hostname, beat, role)) = cur {
        let age_ms = now_ms - beat;
        // A holder on this machine whose process is gone (kill -9, crash) is not waited for.
        let dead_here = hostname == me.hostname
            && pid != me.pid
            && !std::path::Path::new(&format!("/proc/{pid}")).exists();
        let hand_over = me.role == Role::Service && role == Role::Tui.label();
        if holder != me.id && age_ms < STALE_AFTER_MS && !dead_here && !hand_over {
            return Ok(Lease::Other {
                pid,
                hostname,
                age_ms,
            });
        }
    }
    tx.execute(
        "INSERT INTO lease (id, holder, pid, hostname, heartbeat, role) VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET holder = ?1, pid = ?2, hostname = ?3, heartbeat = ?4, role = ?5",
        params![me.id, me.pid, me.hostname, now_ms, me.role.label()],
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

/// Whether we still hold the lease. Asked inside each write transaction, so a recorder that
/// lost it (handed over, or presumed dead) writes nothing more.
pub fn holds(c: &Connection, me: &Holder) -> rusqlite::Result<bool> {
    let holder: Option<String> = c
        .query_row("SELECT holder FROM lease WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    Ok(holder.as_deref() == Some(me.id.as_str()))
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
            role: Role::Service,
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

    #[test]
    fn the_service_takes_the_lease_from_a_tui_but_not_from_another_service() {
        let mut c = db();
        let tui = Holder {
            role: Role::Tui,
            ..holder("tui")
        };
        let (svc, svc2) = (holder("svc"), holder("svc2"));
        assert_eq!(acquire(&mut c, &tui, 1_000).unwrap(), Lease::Held);
        assert!(holds(&c, &tui).unwrap());
        // A second TUI waits; the service does not.
        let tui2 = Holder {
            role: Role::Tui,
            ..holder("tui2")
        };
        assert!(matches!(
            acquire(&mut c, &tui2, 1_500).unwrap(),
            Lease::Other { .. }
        ));
        assert_eq!(acquire(&mut c, &svc, 2_000).unwrap(), Lease::Held);
        assert!(!holds(&c, &tui).unwrap(), "the TUI knows it lost it");
        assert!(!renew(&c, &tui, 2_500).unwrap());
        assert!(matches!(
            acquire(&mut c, &tui, 3_000).unwrap(),
            Lease::Other { .. }
        ));
        assert!(matches!(
            acquire(&mut c, &svc2, 3_000).unwrap(),
            Lease::Other { .. }
        ));
        // The service stops cleanly: the TUI records again.
        release(&c, &svc).unwrap();
        assert_eq!(acquire(&mut c, &tui, 4_000).unwrap(), Lease::Held);
    }
}
