//! Messages written in batches, one transaction each: the same history as one by one, one
//! commit per batch, none of a batch that fails in its middle (and what it held found later as
//! after a gap), and a recorder killed in the middle of a batch loses that batch only.
#![allow(clippy::unwrap_used)]

mod stores;

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::lease::STALE_AFTER_MS;
use fleetwatch_core::history::past::fleet_at;
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::{self, SqliteStore};
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::{DomainSample, VmState};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use stores::{Knobs, Probe};
use support::{domain, host_config, info};

const T0: i64 = 1_795_233_600_000;

fn hosts() -> Vec<fleetwatch_core::config::HostConfig> {
    vec![host_config("a"), host_config("b")]
}

fn vm(name: &str, state: VmState) -> DomainSample {
    domain(&format!("u-{name}"), name, state, 10)
}

/// Host `host`'s poll at `s` seconds after T0.
fn poll(host: usize, s: i64, domains: Vec<DomainSample>) -> Message {
    let mut sample = support::sample(info(8, 32), Instant::now(), domains);
    sample.wall = DateTime::<Utc>::from_timestamp_millis(T0 + s * 1000).unwrap();
    Message {
        host,
        at: Instant::now(),
        update: Update::Sample(Arc::new(sample)),
    }
}

fn start(path: &Path, knobs: &Arc<Knobs>, now: i64) -> Recorder {
    Recorder::start(
        Probe::new(path, knobs.clone()),
        HistoryConfig::default(),
        &hosts(),
        now,
    )
    .unwrap()
}

/// Every event as (at, kind, vm, host, from, to, actor), oldest first.
type Ev = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);
fn events(path: &Path) -> Vec<Ev> {
    let mut v: Vec<Ev> = SqliteStore::open_ro(path)
        .unwrap()
        .events(&EventQuery::default())
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.at_ms,
                e.kind,
                e.vm,
                e.host,
                e.from_host,
                e.to_host,
                e.actor,
            )
        })
        .collect();
    v.reverse();
    v
}

fn count(path: &Path, table: &str) -> i64 {
    let c = sqlite::open_ro(path).unwrap();
    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// Where each VM is at `t` in the rebuilt past fleet: (name, host, state), sorted.
fn placed_at(path: &Path, t: i64) -> Vec<(String, String, VmState)> {
    let past = SqliteStore::open_ro(path).unwrap().at(t).unwrap();
    let fleet = fleet_at(&hosts(), &past);
    let mut v: Vec<_> = fleet
        .vms()
        .map(|v| (v.name.clone(), fleet.hosts[v.host].name.clone(), v.state))
        .collect();
    v.sort();
    v
}

/// Stops, a pause, a start and a migration from a to b, in the order the polls see them.
fn scenario() -> Vec<Message> {
    use VmState::{Paused, Running, Shutoff};
    vec![
        poll(0, 2, vec![vm("web", Running), vm("db", Running)]),
        poll(1, 3, vec![vm("cache", Running)]),
        poll(0, 4, vec![vm("web", Running), vm("db", Shutoff)]),
        poll(1, 5, vec![vm("cache", Paused), vm("web", Paused)]),
        poll(0, 6, vec![vm("web", Running), vm("db", Shutoff)]),
        poll(1, 7, vec![vm("cache", Running), vm("web", Running)]),
        poll(0, 8, vec![vm("db", Shutoff)]),
        poll(1, 9, vec![vm("cache", Running), vm("web", Running)]),
        poll(0, 10, vec![vm("db", Running)]),
        poll(1, 11, vec![vm("cache", Shutoff), vm("web", Running)]),
        poll(0, 12, vec![vm("db", Running)]),
    ]
}

#[test]
fn a_batch_is_one_commit_and_writes_what_one_by_one_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (one, batched) = (dir.path().join("one.db"), dir.path().join("batched.db"));
    let (k1, k2) = (Knobs::new(), Knobs::new());
    let mut r1 = start(&one, &k1, T0);
    let mut r2 = start(&batched, &k2, T0);
    let msgs = scenario();
    for m in &msgs {
        r1.record(m, T0 + 13_000).unwrap();
    }
    assert_eq!(k1.commits(), msgs.len());
    // As the writer thread gathers them: a first batch, then the rest.
    r2.record_batch(&msgs[..4], T0 + 6_000).unwrap();
    r2.record_batch(&msgs[4..], T0 + 13_000).unwrap();
    assert_eq!(k2.commits(), 2, "one commit per batch");
    let ev = events(&one);
    let kinds: Vec<&str> = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "stopped", "paused", "resumed", "migrated", "started", "stopped"
        ],
        "{ev:?}"
    );
    assert_eq!(events(&batched), ev);
    for s in 2..=12 {
        let t = T0 + s * 1000;
        assert_eq!(placed_at(&batched, t), placed_at(&one, t), "at {s} s");
    }
    assert_eq!(count(&batched, "stats"), count(&one, "stats"));
}

#[test]
fn a_batch_failing_in_its_middle_leaves_none_of_it_and_its_changes_come_as_after_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let knobs = Knobs::new();
    let mut rec = start(&path, &knobs, T0);
    use VmState::{Paused, Running, Shutoff};
    rec.record_batch(
        &[
            poll(0, 2, vec![vm("web", Running)]),
            poll(1, 2, vec![vm("db", Running)]),
        ],
        T0 + 2_000,
    )
    .unwrap();
    let before = (count(&path, "placements"), count(&path, "events"));
    let closed = "SELECT COUNT(*) FROM placements WHERE until IS NOT NULL";
    let closed_count = || -> i64 {
        let c = sqlite::open_ro(&path).unwrap();
        c.query_row(closed, [], |r| r.get(0)).unwrap()
    };
    // Host a's change writes (its placement closed, the next one opened); host b's fails.
    knobs.fail_after(2);
    let failed = [
        poll(0, 4, vec![vm("web", Shutoff)]),
        poll(1, 4, vec![vm("db", Paused)]),
    ];
    let e = rec.record_batch(&failed, T0 + 4_000).unwrap_err();
    assert!(e.to_string().contains("broken on purpose"), "{e}");
    assert_eq!(
        (count(&path, "placements"), count(&path, "events")),
        before,
        "nothing of the batch landed, not even host a's part"
    );
    assert_eq!(closed_count(), 0);
    knobs.fail_after(-1);
    rec.record_batch(
        &[
            poll(0, 6, vec![vm("web", Shutoff)]),
            poll(1, 6, vec![vm("db", Paused)]),
        ],
        T0 + 6_000,
    )
    .unwrap();
    // The recorder went on from what the store holds: each change once, dated when it was
    // written, and by "unknown", since it happened while nothing of it was recorded.
    let ev: Vec<(i64, String, String)> = events(&path)
        .into_iter()
        .filter(|e| e.2.is_some())
        .map(|e| (e.0 - T0, e.1, e.6))
        .collect();
    assert_eq!(
        ev,
        [
            (6_000, "paused".into(), "unknown".into()),
            (6_000, "stopped".into(), "unknown".into()),
        ]
    );
}

#[test]
fn a_recorder_killed_in_the_middle_of_a_batch_loses_that_batch_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let knobs = Knobs::new();
    let mut rec = start(&path, &knobs, T0);
    use VmState::Running;
    rec.record_batch(
        &[
            poll(0, 2, vec![vm("web", Running), vm("db", Running)]),
            poll(1, 2, vec![]),
        ],
        T0 + 2_000,
    )
    .unwrap();
    let kept = (count(&path, "placements"), count(&path, "events"));
    // The migration of web from a to b is in the batch the kill interrupts, at its last poll.
    knobs.die_from(T0 + 6_000);
    let cut = [
        poll(0, 4, vec![vm("db", Running)]),
        poll(1, 4, vec![vm("web", Running)]),
        poll(0, 6, vec![vm("db", VmState::Paused)]),
    ];
    assert!(rec.record_batch(&cut, T0 + 6_000).is_err());
    drop(rec); // kill -9: the open transaction goes with the connection
    assert_eq!((count(&path, "placements"), count(&path, "events")), kept);
    assert_eq!(
        placed_at(&path, T0 + 5_000),
        [
            ("db".into(), "a".into(), Running),
            ("web".into(), "a".into(), Running)
        ],
        "what was committed before the batch stands"
    );
    let now = T0 + 6_000 + STALE_AFTER_MS + 1_000;
    let mut rec = start(&path, &Knobs::new(), now);
    let s = (now - T0) / 1000;
    rec.record_batch(
        &[
            poll(0, s, vec![vm("db", Running)]),
            poll(1, s, vec![vm("web", Running)]),
        ],
        now,
    )
    .unwrap();
    let ev: Vec<(String, Option<String>, Option<String>, String)> = events(&path)
        .into_iter()
        .filter(|e| e.2.is_some())
        .map(|e| (e.1, e.4, e.5, e.6))
        .collect();
    assert_eq!(
        ev,
        [(
            "migrated".into(),
            Some("a".into()),
            Some("b".into()),
            "unknown".into()
        )],
        "one migration, found after the gap the kill left"
    );
    assert_eq!(
        placed_at(&path, now),
        [
            ("db".into(), "a".into(), Running),
            ("web".into(), "b".into(), Running)
        ]
    );
}
