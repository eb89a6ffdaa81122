//! `fleetwatch record --status`: who records which hosts, and how fresh their leases are.
//! Exit 0 when every configured host is recorded by a live recorder, 1 when one is not (a
//! NOC check), 2 when the store cannot be read.

use super::cli::fail;
use super::stores::Where;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::lease::{self, LeaseRow};
use fleetwatch_core::text_table::Table;
use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;

/// One recorder as its leases show it.
struct Holder<'a> {
    lease: &'a LeaseRow,
    hosts: Vec<&'a str>,
    /// A lease over the whole store (SQLite's), not per host.
    all: bool,
}

pub fn status(config: &Config, json: bool) -> ExitCode {
    let place = match Where::of(config) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let leases = match place.reader().and_then(|r| r.leases()) {
        Ok(l) => l,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut by: BTreeMap<&str, Holder> = BTreeMap::new();
    for (host, l) in &leases {
        let h = by.entry(l.holder.as_str()).or_insert(Holder {
            lease: l,
            hosts: Vec::new(),
            all: host.is_none(),
        });
        // A presence row says the recorder is there, holding no host by it.
        if let Some(host) = host
            .as_deref()
            .filter(|h| !h.starts_with(fleetwatch_pg::PRESENCE))
        {
            h.hosts.push(host);
        }
        // The freshest row speaks for the recorder.
        if l.heartbeat > h.lease.heartbeat {
            h.lease = l;
        }
    }
    let here = lease::this_hostname();
    let live = |l: &LeaseRow| lease::live(l, now, &here);
    // What live recorders cover, once: not a search of every recorder's hosts per host.
    let whole_store = by.values().any(|h| h.all && live(h.lease));
    let covered: HashSet<&str> = by
        .values()
        .filter(|h| live(h.lease))
        .flat_map(|h| h.hosts.iter().copied())
        .collect();
    let unrecorded: Vec<&str> = config
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .filter(|name| !whole_store && !covered.contains(name))
        .collect();
    if json {
        let recorders: Vec<_> = by
            .values()
            .map(|h| {
                serde_json::json!({
                    "pid": h.lease.pid,
                    "hostname": h.lease.hostname,
                    "role": h.lease.role,
                    "live": live(h.lease),
                    "lease_age_s": (now - h.lease.heartbeat) as f64 / 1000.0,
                    "hosts": if h.all { None } else { Some(&h.hosts) },
                })
            })
            .collect();
        crate::outln!(
            "{}",
            serde_json::json!({
                "store": place.describe(),
                "recorders": recorders,
                "unrecorded": unrecorded,
            })
        );
    } else {
        crate::outln!("history {}\n", place.describe());
        let mut t = Table::new(&["RECORDER", "ROLE", "STATE", "LEASE AGE", "HOSTS"]);
        for h in by.values() {
            let hosts = if h.all {
                "all (one lease for the store)".to_owned()
            } else {
                format!("{}: {}", h.hosts.len(), h.hosts.join(", "))
            };
            t.row(vec![
                format!("pid {} on {}", h.lease.pid, h.lease.hostname),
                h.lease.role.clone(),
                if live(h.lease) { "live" } else { "stale" }.into(),
                format!("{:.1}s", (now - h.lease.heartbeat) as f64 / 1000.0),
                hosts,
            ]);
        }
        crate::out!("{}", t.render());
        if by.is_empty() {
            crate::outln!("no recorder holds a lease");
        }
        if !unrecorded.is_empty() {
            crate::outln!(
                "\nnot recorded now ({}): {}",
                unrecorded.len(),
                unrecorded.join(", ")
            );
        }
    }
    if unrecorded.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
