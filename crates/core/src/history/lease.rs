//! One recorder per database: a lease row that its holder renews. A holder that stops renewing
//! (killed, host gone) loses it after `STALE_AFTER`, and the next recorder takes over. A TUI
//! records only until the dedicated recorder (`fleetwatch record`, the service) starts: the
//! service takes the lease from a TUI at once, so an open TUI never locks it out.

/// A single recorder's renewal (SQLite's one lease); a shared database's recorders renew at
/// the pace of their polls ([`renew_every_ms`]), and each row says which pace its holder keeps.
pub const RENEW_EVERY_MS: i64 = 5_000;
/// A holder that missed this many renewals in a row is taken for dead.
pub const STALE_RENEWALS: i64 = 3;
pub const STALE_AFTER_MS: i64 = STALE_RENEWALS * RENEW_EVERY_MS;

/// How often recorders sharing a database renew their hosts' leases: twice a poll interval,
/// so a dead one's hosts are free again within about one and a half intervals and taken over
/// within three (between half a second, for a very fast poll, and the single recorder's pace).
pub fn renew_every_ms(interval: std::time::Duration) -> i64 {
    (interval.as_millis() as i64 / 2).clamp(500, RENEW_EVERY_MS)
}

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
    /// How often it renews its leases.
    pub renew_ms: i64,
}

impl Holder {
    /// This process, renewing at the single recorder's pace.
    pub fn me(role: Role) -> Holder {
        Holder::renewing(role, RENEW_EVERY_MS)
    }

    /// This process, renewing every `renew_ms`.
    pub fn renewing(role: Role, renew_ms: i64) -> Holder {
        let hostname = this_hostname();
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
            renew_ms,
        }
    }
}

/// This machine's name, as lease rows record it.
pub fn this_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
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
    /// How often its holder promised to renew it.
    pub renew_ms: i64,
}

impl LeaseRow {
    /// Unrenewed this long, its holder is taken for dead.
    pub fn stale_after_ms(&self) -> i64 {
        STALE_RENEWALS * self.renew_ms.max(1)
    }
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

/// Whether the holder of `row` is recording, as far as this machine can tell: renewed within
/// the stale time, and not a process of this machine that is gone.
/// `here`: [`this_hostname`].
pub fn live(row: &LeaseRow, now_ms: i64, here: &str) -> bool {
    now_ms - row.heartbeat < row.stale_after_ms() && !gone_here(row, here)
}

/// A holder on this machine (`here`) whose process is gone (kill -9, crash): not waited for.
fn gone_here(row: &LeaseRow, here: &str) -> bool {
    row.hostname == here && !alive(row.pid)
}

/// Whether `me` may take a lease that `cur` holds: it is free, stale, ours, or a TUI's and we
/// are the service. `Err` says who holds it. Every backend asks this inside its atomic take.
pub fn may_take(cur: Option<&LeaseRow>, me: &Holder, now_ms: i64) -> Result<(), Lease> {
    let Some(cur) = cur else { return Ok(()) };
    let age_ms = now_ms - cur.heartbeat;
    let dead_here = cur.pid != me.pid && gone_here(cur, &me.hostname);
    let hand_over = me.role == Role::Service && cur.role == Role::Tui.label();
    if cur.holder != me.id && age_ms < cur.stale_after_ms() && !dead_here && !hand_over {
        return Err(Lease::Other {
            pid: cur.pid,
            hostname: cur.hostname.clone(),
            age_ms,
        });
    }
    Ok(())
}

/// The hosts a recorder should hold when recorders share one config over a database of
/// per-host leases: an equal share (rounded up) of `hosts` among the live recorders and
/// itself, keeping those it holds, then taking free ones (never held, released, stale, or
/// held by a process of this machine that is gone) in name order. A recorder holding more than
/// its share (one joined) gives the surplus up; one that cannot reach its share (others hold
/// the rest) holds what it can, down to none: it waits, ready to take over.
pub fn fair_share(
    hosts: &[&str],
    leases: &[(Option<String>, LeaseRow)],
    me: &Holder,
    now_ms: i64,
) -> Vec<String> {
    // By host once: a look at thousands of hosts asks this twice a host.
    let by_host: std::collections::HashMap<&str, &LeaseRow> = leases
        .iter()
        .filter_map(|(host, l)| Some((host.as_deref()?, l)))
        .collect();
    let held_by = |h: &str| by_host.get(h).copied();
    let mut others: Vec<&str> = leases
        .iter()
        .filter(|(_, l)| l.holder != me.id && may_take(Some(l), me, now_ms).is_err())
        .map(|(_, l)| l.holder.as_str())
        .collect();
    others.sort_unstable();
    others.dedup();
    let share = hosts.len().div_ceil(others.len() + 1);
    let mut names: Vec<&str> = hosts.to_vec();
    names.sort_unstable();
    names.dedup();
    let mut mine: Vec<String> = names
        .iter()
        .filter(|h| held_by(h).is_some_and(|l| l.holder == me.id))
        .take(share)
        .map(|h| (*h).to_owned())
        .collect();
    for h in &names {
        if mine.len() >= share {
            break;
        }
        let free =
            held_by(h).is_none_or(|l| l.holder != me.id && may_take(Some(l), me, now_ms).is_ok());
        if free {
            mine.push((*h).to_owned());
        }
    }
    mine.sort_unstable();
    mine
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
            renew_ms: RENEW_EVERY_MS,
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

    fn row(holder: &str, pid: i64, heartbeat: i64) -> LeaseRow {
        LeaseRow {
            holder: holder.into(),
            pid,
            hostname: "elsewhere".into(),
            heartbeat,
            role: Role::Service.label().into(),
            renew_ms: RENEW_EVERY_MS,
        }
    }

    #[test]
    fn recorders_sharing_a_config_divide_it_and_take_a_dead_ones_hosts() {
        let me = Holder::me(Role::Service);
        let hosts = ["h1", "h2", "h3", "h4", "h5", "h6"];
        let lease = |h: &str, l: LeaseRow| (Some(h.to_owned()), l);
        // Alone: everything.
        assert_eq!(fair_share(&hosts, &[], &me, 0).len(), 6);
        // Two others live, holding two each: the two left are ours.
        let now = 100_000;
        let two = vec![
            lease("h1", row("a", 1, now)),
            lease("h2", row("a", 1, now)),
            lease("h3", row("b", 2, now)),
            lease("h4", row("b", 2, now)),
        ];
        assert_eq!(fair_share(&hosts, &two, &me, now), vec!["h5", "h6"]);
        // b stops renewing: after the stale time its hosts are free; our share is now 3.
        let later = now + STALE_AFTER_MS;
        let a_fresh = vec![
            lease("h1", row("a", 1, later)),
            lease("h2", row("a", 1, later)),
            lease("h3", row("b", 2, now)),
            lease("h4", row("b", 2, now)),
            lease(
                "h5",
                LeaseRow {
                    holder: me.id.clone(),
                    ..row("", me.pid, later)
                },
            ),
            lease(
                "h6",
                LeaseRow {
                    holder: me.id.clone(),
                    ..row("", me.pid, later)
                },
            ),
        ];
        assert_eq!(
            fair_share(&hosts, &a_fresh, &me, later),
            vec!["h3", "h5", "h6"]
        );
        // Holding all six when a second recorder joins (holding none yet): we keep three.
        let all_mine: Vec<_> = hosts
            .iter()
            .map(|h| {
                lease(
                    h,
                    LeaseRow {
                        holder: me.id.clone(),
                        ..row("", me.pid, now)
                    },
                )
            })
            .chain([lease("other-host", row("c", 3, now))])
            .collect();
        assert_eq!(
            fair_share(&hosts, &all_mine, &me, now),
            vec!["h1", "h2", "h3"]
        );
        // More recorders than hosts: the ones without a host wait with none.
        let one = [lease("h1", row("a", 1, now))];
        assert!(fair_share(&["h1"], &one, &me, now).is_empty());
    }
}
