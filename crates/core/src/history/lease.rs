//! One recorder per database: a lease row that its holder renews. A holder that stops renewing
//! (killed, host gone) loses it after `STALE_AFTER`, and the next recorder takes over. A TUI
//! records only until the dedicated recorder (`fleetwatch record`, the service) starts: the
//! service takes the lease from a TUI at once, so an open TUI never locks it out.

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

/// The lease row as a store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub holder: String,
    pub pid: i64,
    pub hostname: String,
    pub heartbeat: i64,
    /// `Role::label` of the holder.
    pub role: String,
}

/// Whether process `pid` of this machine runs. A zombie (killed, not yet reaped by its
/// parent) does not: a recorder killed with -9 was waited for until its parent reaped it.
fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !matches!(
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next()),
            Some('Z' | 'X')
        ),
    }
}

/// Whether `me` may take a lease that `cur` holds: it is free, stale, ours, or a TUI's and we
/// are the service. `Err` says who holds it. Every backend asks this inside its atomic take.
pub fn may_take(cur: Option<&LeaseRow>, me: &Holder, now_ms: i64) -> Result<(), Lease> {
    let Some(cur) = cur else { return Ok(()) };
    let age_ms = now_ms - cur.heartbeat;
    // A holder on this machine whose process is gone (kill -9, crash) is not waited for.
    let dead_here = cur.hostname == me.hostname && cur.pid != me.pid && !alive(cur.pid);
    let hand_over = me.role == Role::Service && cur.role == Role::Tui.label();
    if cur.holder != me.id && age_ms < STALE_AFTER_MS && !dead_here && !hand_over {
        return Err(Lease::Other {
            pid: cur.pid,
            hostname: cur.hostname.clone(),
            age_ms,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_holder_not_yet_reaped_is_not_waited_for() {
        let me = Holder::me(Role::Service);
        // A child that has exited and that we have not waited for: a zombie, /proc still has it.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let zombie = i64::from(child.id());
        let gone = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive(zombie) && std::time::Instant::now() < gone {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(std::path::Path::new(&format!("/proc/{zombie}")).exists());
        let held = LeaseRow {
            holder: "other".into(),
            pid: zombie,
            hostname: me.hostname.clone(),
            heartbeat: 1_000,
            role: Role::Service.label().into(),
        };
        assert_eq!(may_take(Some(&held), &me, 1_001), Ok(()));
        // A live one on this machine is waited for.
        let live = LeaseRow {
            pid: i64::from(std::process::id()),
            holder: "other".into(),
            ..held.clone()
        };
        let me_elsewhere = Holder {
            pid: -1,
            ..me.clone()
        };
        assert!(may_take(Some(&live), &me_elsewhere, 1_001).is_err());
        child.wait().unwrap();
    }
}
