//! The recorder on recorded-style samples: placements, events and their actors, migrations
//! from placement differences and from libvirt's events, time travel, rollups, the lease.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::query::{self, EventQuery};
use fleetwatch_core::history::recorder::{RecordError, Recorder};
use fleetwatch_core::history::rollup;
use fleetwatch_core::history::sqlite::{self, SqliteStore};
use fleetwatch_core::history::store::{HistoryRead, RecordStore};
use fleetwatch_core::link::{LinkState, Message, Update};
use fleetwatch_core::model::event::{DomainEvent, EventKind, Lifecycle};
use fleetwatch_core::model::sample::{DomainSample, HostSample, VmState};
use std::time::Instant;
use support::{domain, host_config, info};

const T0: i64 = 1_795_233_600_000; // 2026-11-21T04:00:00Z

fn sample(at_ms: i64, domains: Vec<DomainSample>, events: Vec<DomainEvent>) -> Message {
    let mut s: HostSample = support::sample(info(8, 32), Instant::now(), domains);
    s.wall = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap();
    s.events = events;
    Message {
        host: 0,
        at: Instant::now(),
        update: Update::Sample(std::sync::Arc::new(s)),
    }
}

fn on(host: usize, mut m: Message) -> Message {
    m.host = host;
    m
}

struct Lab {
    rec: Recorder,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let c = SqliteStore::open_rw(&path).unwrap();
    let hosts = [host_config("a"), host_config("b")];
    let rec = Recorder::start(c, HistoryConfig::default(), &hosts, T0).unwrap();
    Lab {
        rec,
        path,
        _dir: dir,
    }
}

impl Lab {
    fn feed(&mut self, m: Message) {
        let at = match &m.update {
            Update::Sample(s) => s.wall.timestamp_millis(),
            Update::Link { .. } | Update::Action(_) => T0,
        };
        self.rec.record(&m, at).unwrap();
    }
    fn events(&self, q: EventQuery) -> Vec<query::EventRow> {
        let c = SqliteStore::open_ro(&self.path).unwrap();
        let mut v = c.events(&q).unwrap();
        v.reverse();
        v
    }
    fn kinds(&self) -> Vec<(String, Option<String>, String)> {
        self.events(EventQuery::default())
            .into_iter()
            .map(|e| (e.kind, e.vm, e.actor))
            .collect()
    }
    fn at(&self, t: i64) -> query::Past {
        SqliteStore::open_ro(&self.path).unwrap().at(t).unwrap()
    }
}

fn web(state: VmState) -> DomainSample {
    domain("u-web", "web", state, 10)
}

fn s(n: i64) -> i64 {
    T0 + n * 1000
}

#[test]
fn a_vm_leaving_one_host_and_showing_on_another_is_a_migration() {
    let mut l = lab();
    l.feed(sample(s(0), vec![web(VmState::Running)], vec![]));
    l.feed(on(1, sample(s(0), vec![], vec![])));
    // The destination defines it (incoming, paused); then runs it; then the source lets go.
    l.feed(on(1, sample(s(2), vec![web(VmState::Paused)], vec![])));
    l.feed(on(1, sample(s(4), vec![web(VmState::Running)], vec![])));
    l.feed(sample(s(4), vec![], vec![]));
    let ev = l.events(EventQuery {
        kinds: vec!["migrated".into()],
        ..EventQuery::default()
    });
    assert_eq!(ev.len(), 1, "{:?}", l.kinds());
    let m = &ev[0];
    assert_eq!(
        (m.from_host.as_deref(), m.to_host.as_deref()),
        (Some("a"), Some("b"))
    );
    assert_eq!(
        (m.vm.as_deref(), m.actor.as_str()),
        (Some("web"), "external")
    );
    assert_eq!(m.at_ms, s(4));
    // The first sample of a host is where its history starts (no "defined" flood); a move is
    // one event, not a stop and a start.
    assert_eq!(l.kinds().len(), 1, "{:?}", l.kinds());
    assert!(
        !l.kinds()
            .iter()
            .any(|k| k.0 == "stopped" || k.0 == "undefined"),
        "{:?}",
        l.kinds()
    );
    // Time travel: just before (running on a, its incoming copy on b paused) and just after.
    let before = l.at(s(4) - 1);
    assert_eq!(
        before
            .vms
            .iter()
            .map(|v| (v.host.as_str(), v.state.as_str()))
            .collect::<Vec<_>>(),
        vec![("a", "running"), ("b", "paused")]
    );
    let after = l.at(s(4));
    assert_eq!(
        after
            .vms
            .iter()
            .map(|v| (v.host.as_str(), v.state.as_str()))
            .collect::<Vec<_>>(),
        vec![("b", "running")]
    );
    // Before anything was recorded there is nothing, not a guess.
    assert!(l.at(s(-1)).vms.is_empty());
}

#[test]
fn libvirt_events_time_a_migration_and_are_not_counted_twice() {
    let mut l = lab();
    l.feed(sample(s(0), vec![web(VmState::Running)], vec![]));
    l.feed(on(1, sample(s(0), vec![], vec![])));
    let ev = |at: i64, life: Lifecycle| DomainEvent {
        uuid: "u-web".into(),
        name: "web".into(),
        kind: EventKind::Lifecycle(life),
        at_ms: at,
    };
    // The incoming side starts on b at 1.5 s, the outgoing side ends on a at 3.2 s.
    l.feed(on(
        1,
        sample(
            s(2),
            vec![web(VmState::Paused)],
            vec![ev(s(1) + 500, Lifecycle::MigrationStarted)],
        ),
    ));
    l.feed(on(1, sample(s(4), vec![web(VmState::Running)], vec![])));
    l.feed(sample(
        s(4),
        vec![],
        vec![ev(s(3) + 200, Lifecycle::MigrationEnded)],
    ));
    let m = &l
        .events(EventQuery::default())
        .into_iter()
        .find(|e| e.kind == "migrated")
        .unwrap();
    assert_eq!(m.at_ms, s(3) + 200);
    assert_eq!(m.duration_s, Some(1.7));
    // Later: paused by someone, seen both as an event and in the next poll: one event.
    l.feed(on(
        1,
        sample(
            s(6),
            vec![web(VmState::Paused)],
            vec![ev(s(5), Lifecycle::Kind("paused"))],
        ),
    ));
    l.feed(on(1, sample(s(8), vec![web(VmState::Paused)], vec![])));
    let paused: Vec<_> = l.kinds().into_iter().filter(|k| k.0 == "paused").collect();
    assert_eq!(
        paused,
        vec![("paused".into(), Some("web".into()), "external".into())]
    );
}

#[test]
fn state_and_config_changes_and_disappearance() {
    let mut l = lab();
    l.feed(sample(s(0), vec![web(VmState::Running)], vec![]));
    l.feed(sample(s(2), vec![web(VmState::Shutoff)], vec![]));
    let mut bigger = web(VmState::Running);
    bigger.vcpus = Some(4);
    l.feed(sample(s(4), vec![bigger], vec![]));
    l.feed(sample(s(6), vec![], vec![]));
    let k: Vec<String> = l.kinds().into_iter().map(|k| k.0).collect();
    assert_eq!(k, vec!["stopped", "started", "config-changed", "undefined"]);
    // Defined after the first sample: an event, seen live, so "external".
    l.feed(sample(
        s(8),
        vec![domain("u-db", "db", VmState::Shutoff, 0)],
        vec![],
    ));
    assert_eq!(
        l.kinds().last().unwrap(),
        &("defined".into(), Some("db".into()), "external".into())
    );
    let cfg = l.events(EventQuery {
        kinds: vec!["config-changed".into()],
        ..Default::default()
    });
    assert_eq!(cfg[0].detail, "vCPUs 2 -> 4");
    assert!(l.at(s(6)).vms.is_empty());
    assert_eq!(l.at(s(5)).vms[0].vcpus, Some(4));
    // Filters: by VM, by host, by time.
    assert_eq!(
        l.events(EventQuery {
            vm: Some("web".into()),
            ..Default::default()
        })
        .len(),
        4
    );
    assert_eq!(
        l.events(EventQuery {
            host: Some("b".into()),
            ..Default::default()
        })
        .len(),
        0
    );
    assert_eq!(
        l.events(EventQuery {
            since_ms: Some(s(3)),
            ..Default::default()
        })
        .len(),
        4
    );
}

#[test]
fn host_down_and_up_are_events_and_changes_after_a_gap_are_unknown() {
    let mut l = lab();
    l.feed(sample(s(0), vec![web(VmState::Running)], vec![]));
    l.feed(sample(s(2), vec![web(VmState::Running)], vec![]));
    l.rec
        .record(
            &Message {
                host: 0,
                at: Instant::now(),
                update: Update::Link {
                    state: LinkState::Down,
                    error: Some("Connection refused".into()),
                    retry: None,
                },
            },
            s(3),
        )
        .unwrap();
    l.feed(sample(s(30), vec![web(VmState::Shutoff)], vec![]));
    let k = l.kinds();
    let down = k.iter().position(|e| e.0 == "host-down").unwrap();
    let up = k.iter().position(|e| e.0 == "host-up").unwrap();
    assert!(down < up);
    assert_eq!(
        k.last().unwrap(),
        &("stopped".into(), Some("web".into()), "unknown".into())
    );
    let hosts = l.at(s(10)).hosts;
    assert_eq!(
        (hosts[0].state.as_str(), hosts[0].error.as_deref()),
        ("down", Some("Connection refused"))
    );
}

#[test]
fn a_restarted_recorder_continues_without_inventing_events() {
    let mut l = lab();
    l.feed(sample(s(0), vec![web(VmState::Running)], vec![]));
    let n = l.kinds().len();
    let Lab { rec, path, _dir } = l;
    rec.stop();
    let c = SqliteStore::open_rw(&path).unwrap();
    let mut rec = Recorder::start(
        c,
        HistoryConfig::default(),
        &[host_config("a"), host_config("b")],
        s(60),
    )
    .unwrap();
    rec.record(&sample(s(60), vec![web(VmState::Running)], vec![]), s(60))
        .unwrap();
    let l = Lab { rec, path, _dir };
    assert_eq!(l.kinds().len(), n, "{:?}", l.kinds());
    assert_eq!(
        l.at(s(30)).vms.len(),
        1,
        "the placement stays open across the restart"
    );
}

#[test]
fn one_recorder_per_store() {
    let l = lab();
    let c = SqliteStore::open_rw(&l.path).unwrap();
    match Recorder::start(c, HistoryConfig::default(), &[host_config("a")], T0) {
        Err(RecordError::Busy { pid, .. }) => assert_eq!(pid, i64::from(std::process::id())),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("two recorders on one store"),
    }
}

#[test]
fn a_full_disk_is_an_error_not_a_crash_and_the_poll_is_rolled_back() {
    let mut l = lab();
    l.feed(sample(s(0), vec![web(VmState::Running)], vec![]));
    // SQLite's own cap stands in for a full disk: the same SQLITE_FULL error.
    let c = rusqlite::Connection::open(&l.path).unwrap();
    let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    drop(c);
    let Lab { rec, path, _dir } = l;
    rec.stop();
    let c = sqlite::open_rw(&path).unwrap();
    c.pragma_update(None, "max_page_count", pages).unwrap();
    let c = SqliteStore::with_connection(&path, c);
    let mut rec = Recorder::start(c, HistoryConfig::default(), &[host_config("a")], s(1)).unwrap();
    let many: Vec<DomainSample> = (0..2000)
        .map(|i| domain(&format!("u{i}"), &format!("vm-{i}"), VmState::Running, 1))
        .collect();
    let e = rec.record(&sample(s(2), many, vec![]), s(2)).unwrap_err();
    assert!(e.to_string().contains("full"), "{e}");
    // Nothing half-written: the failed poll is rolled back, the store still opens and checks.
    let r = sqlite::open_ro(&path).unwrap();
    let ok: String = r
        .query_row("PRAGMA integrity_check", [], |x| x.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let n: i64 = r
        .query_row("SELECT COUNT(*) FROM vms", [], |x| x.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn rollups_average_by_count_keep_maxima_and_retention_bounds_each_level() {
    let dir = tempfile::tempdir().unwrap();
    let c = sqlite::open_rw(&dir.path().join("h.db")).unwrap();
    let mut store = SqliteStore::open_rw(&dir.path().join("h.db")).unwrap();
    let ins = |at: i64, cpu: f64| {
        c.execute(
            "INSERT INTO stats (series, level, at, n, cpu, cpu_max, mem, mem_max) VALUES (7, 0, ?1, 1, ?2, ?2, 100, 100)",
            rusqlite::params![at, cpu],
        )
        .unwrap();
    };
    // Five minutes of raw samples every 10 s: cpu 0,1,2,...,29, and one from the next bucket.
    let b = rollup::bucket(T0, 300_000);
    for i in 0..30 {
        ins(b + i * 10_000, i as f64);
    }
    ins(b + 300_000, 99.0);
    let cfg = HistoryConfig::default();
    store.maintain(&cfg, b + 300_000 + 1).unwrap();
    let (n, avg, max): (i64, f64, f64) = c
        .query_row(
            "SELECT n, cpu, cpu_max FROM stats WHERE level = 1 AND series = 7 AND at = ?1",
            [b],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((n, avg, max), (30, 14.5, 29.0));
    // The unfinished bucket is not rolled up yet, and running again changes nothing.
    let count = |lvl: i64| -> i64 {
        c.query_row("SELECT COUNT(*) FROM stats WHERE level = ?1", [lvl], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert_eq!(count(1), 1);
    store.maintain(&cfg, b + 300_000 + 2).unwrap();
    assert_eq!(count(1), 1);
    // An hour later raw samples are gone; the rollup stays for a day, then it goes too.
    store.maintain(&cfg, b + 3_600_000 + 300_001).unwrap();
    assert_eq!(count(0), 0);
    assert_eq!(count(1), 2);
    // Level 2 (30 min) averages level-1 rows weighted by their counts: (14.5*30 + 99*1) / 31.
    store.maintain(&cfg, b + 86_400_000 * 2).unwrap();
    assert_eq!(count(1), 0);
    let l2: f64 = c
        .query_row("SELECT cpu FROM stats WHERE level = 2", [], |r| r.get(0))
        .unwrap();
    assert!((l2 - (14.5 * 30.0 + 99.0) / 31.0).abs() < 1e-9, "{l2}");
}
