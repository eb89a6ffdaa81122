//! The lease in SQL: one row (`id = 1`) for the whole file, taken inside an immediate
//! transaction so that of two recorders starting together one wins.

use super::queries;
use crate::history::lease::{Holder, Lease, may_take};
use rusqlite::{Connection, TransactionBehavior, params};

pub(super) fn acquire(c: &mut Connection, me: &Holder, now_ms: i64) -> rusqlite::Result<Lease> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Err(other) = may_take(queries::lease(&tx)?.as_ref(), me, now_ms) {
        return Ok(other);
    }
    tx.execute(
        "INSERT INTO lease (id, holder, pid, hostname, heartbeat, role) VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET holder = ?1, pid = ?2, hostname = ?3, heartbeat = ?4, role = ?5",
        params![me.id, me.pid, me.hostname, now_ms, me.role.label()],
    )?;
    tx.commit()?;
    Ok(Lease::Held)
}

pub(super) fn renew(c: &Connection, me: &Holder, now_ms: i64) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE lease SET heartbeat = ?2 WHERE id = 1 AND holder = ?1",
        params![me.id, now_ms],
    )?;
    Ok(n == 1)
}

pub(super) fn holds(c: &Connection, me: &Holder) -> rusqlite::Result<bool> {
    Ok(queries::lease(c)?.is_some_and(|l| l.holder == me.id))
}

pub(super) fn release(c: &Connection, me: &Holder) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM lease WHERE id = 1 AND holder = ?1",
        params![me.id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::lease::{Role, STALE_AFTER_MS};

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
            renew_ms: crate::history::lease::RENEW_EVERY_MS,
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
