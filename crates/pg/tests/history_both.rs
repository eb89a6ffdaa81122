#![allow(clippy::unwrap_used)]
//! The recorder's history on both stores, the same scenarios and the same answers: SQLite in a
//! temporary file and PostgreSQL on a real server the test starts. Then what only the shared
//! store does: recorders side by side under per-host leases, and a takeover.

use chrono::{DateTime, Utc};
use fleetwatch_core::config::HostConfig;
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::lease::STALE_AFTER_MS;
use fleetwatch_core::history::query::{EventQuery, EventRow, Past};
use fleetwatch_core::history::recorder::{RecordError, Recorder};
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::{HistoryRead, RecordStore};
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::{DomainSample, HostSample, VmState};
use fleetwatch_pg::PgStore;
use fleetwatch_testkit::postgres::Postgres;
use fleetwatch_testkit::{domain, host_config, info};
use std::time::Instant;

const T0: i64 = 1_795_233_600_000; // 2026-11-21T04:00:00Z

fn s(n: i64) -> i64 {
    T0 + n * 1000
}

fn sample(host: usize, at_ms: i64, domains: Vec<DomainSample>) -> Message {
    let mut s: HostSample = fleetwatch_testkit::sample(info(8, 32), Instant::now(), domains);
    s.wall = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap();
    Message {
        host,
        at: Instant::now(),
        update: Update::Sample(std::sync::Arc::new(s)),
    }
}

fn web(state: VmState) -> DomainSample {
    domain("u-web", "web", state, 10)
}

/// Where a scenario writes and reads: the same questions of either store.
trait Backend {
    type W: RecordStore + Send + 'static;
    type R: HistoryRead;
    fn writer(&self) -> Self::W;
    fn reader(&self) -> Self::R;
}

struct Sqlite(tempfile::TempDir);

impl Backend for Sqlite {
    type W = SqliteStore;
    type R = SqliteStore;
    fn writer(&self) -> SqliteStore {
        SqliteStore::open_rw(&self.0.path().join("history.db")).unwrap()
    }
    fn reader(&self) -> SqliteStore {
        SqliteStore::open_ro(&self.0.path().join("history.db")).unwrap()
    }
}

struct Pg(String);

impl Backend for Pg {
    type W = PgStore;
    type R = PgStore;
    fn writer(&self) -> PgStore {
        PgStore::open_rw(&self.0, None).unwrap()
    }
    fn reader(&self) -> PgStore {
        PgStore::open_ro(&self.0, None).unwrap()
    }
}

fn hosts() -> Vec<HostConfig> {
    vec![host_config("a"), host_config("b")]
}

fn events(b: &impl Backend, kinds: &[&str]) -> Vec<EventRow> {
    let mut v = b
        .reader()
        .events(&EventQuery {
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            ..EventQuery::default()
        })
        .unwrap();
    v.reverse();
    v
}

fn placed(p: &Past) -> Vec<(String, String)> {
    p.vms
        .iter()
        .map(|v| (v.host.clone(), v.state.clone()))
        .collect()
}

/// A migration seen as placements, the fleet before and after it, a restart that invents
/// nothing, a second recorder for the same hosts refused. What it returns is compared
/// between the backends.
fn scenario(b: &impl Backend) -> Vec<String> {
    let mut rec = Recorder::start(b.writer(), HistoryConfig::default(), &hosts(), s(0)).unwrap();
    rec.record(&sample(0, s(0), vec![web(VmState::Running)]), s(0))
        .unwrap();
    rec.record(&sample(1, s(0), vec![]), s(0)).unwrap();
    rec.record(&sample(1, s(2), vec![web(VmState::Paused)]), s(2))
        .unwrap();
    rec.record(&sample(1, s(4), vec![web(VmState::Running)]), s(4))
        .unwrap();
    rec.record(&sample(0, s(4), vec![]), s(4)).unwrap();

    let moved = events(b, &["migrated"]);
    assert_eq!(moved.len(), 1, "{moved:?}");
    let m = &moved[0];
    assert_eq!(
        (m.from_host.as_deref(), m.to_host.as_deref(), m.at_ms),
        (Some("a"), Some("b"), s(4))
    );
    let before = b.reader().at(s(4) - 1).unwrap();
    assert_eq!(
        placed(&before),
        vec![
            ("a".into(), "running".into()),
            ("b".into(), "paused".into())
        ]
    );
    assert_eq!(
        placed(&b.reader().at(s(4)).unwrap()),
        vec![("b".to_owned(), "running".to_owned())]
    );
    assert!(b.reader().at(s(-1)).unwrap().vms.is_empty());

    // Another recorder for the same hosts is refused while this one lives.
    match Recorder::start(b.writer(), HistoryConfig::default(), &hosts(), s(5)) {
        Err(RecordError::Busy { pid, .. }) => assert_eq!(pid, i64::from(std::process::id())),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("two recorders for the same hosts"),
    }

    // A restart continues the record without inventing events.
    let n = events(b, &[]).len();
    rec.stop();
    let mut rec = Recorder::start(b.writer(), HistoryConfig::default(), &hosts(), s(60)).unwrap();
    rec.record(&sample(1, s(60), vec![web(VmState::Running)]), s(60))
        .unwrap();
    rec.record(&sample(0, s(60), vec![]), s(60)).unwrap();
    let all = events(b, &[]);
    assert_eq!(all.len(), n, "{all:?}");
    assert_eq!(b.reader().at(s(30)).unwrap().vms.len(), 1);
    rec.stop();
    let points = b.reader().series("u-web", 0, 0).unwrap();
    assert!(!points.is_empty(), "no statistics written");
    let mut said: Vec<String> = all
        .iter()
        .map(|e| format!("{} {} {:?} {:?}", e.at_ms, e.kind, e.vm, e.actor))
        .collect();
    said.extend(
        points
            .iter()
            .map(|p| format!("{} {:?} {:?}", p.at_ms, p.cpu, p.mem)),
    );
    said
}

#[test]
fn both_stores_record_the_same_history() {
    let sqlite = Sqlite(tempfile::tempdir().unwrap());
    let pg = Postgres::start().unwrap();
    let pg_db = Pg(pg.create_db("same").unwrap());
    let a = scenario(&sqlite);
    let b = scenario(&pg_db);
    assert_eq!(a, b, "the two stores' events differ");
    let audit = pg_db.reader().audit().unwrap();
    assert!(audit.is_empty(), "{audit:?}");
}

#[test]
fn recorders_with_disjoint_hosts_share_a_database_and_a_dead_ones_hosts_are_taken_over() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("shared").unwrap();
    // Leases keep the server's clock, so staleness takes real time: renewals every 100 ms,
    // stale after 300.
    let store = || PgStore::open_rw(&url, None).unwrap().renewing_every(100);
    let a_hosts = [host_config("a")];
    let b_hosts = [host_config("b")];
    let mut ra = Recorder::start(store(), HistoryConfig::default(), &a_hosts, s(0)).unwrap();
    let mut rb = Recorder::start(store(), HistoryConfig::default(), &b_hosts, s(0)).unwrap();
    ra.record(&sample(0, s(0), vec![web(VmState::Running)]), s(0))
        .unwrap();
    rb.record(&sample(0, s(0), vec![]), s(0)).unwrap();
    // A third for a's host is refused while a renews.
    assert!(matches!(
        Recorder::start(store(), HistoryConfig::default(), &a_hosts, s(1)),
        Err(RecordError::Busy { .. })
    ));
    // a dies without a word (no release): once its lease is stale, a's host is taken over.
    drop(ra);
    std::thread::sleep(std::time::Duration::from_millis(400));
    rb.tick(s(0) + 1_000).unwrap();
    let late = s(0) + STALE_AFTER_MS + 1;
    let mut rc = Recorder::start(store(), HistoryConfig::default(), &a_hosts, late)
        .unwrap_or_else(|e| panic!("no takeover: {e}"));
    rc.record(&sample(0, late, vec![web(VmState::Running)]), late)
        .unwrap();
    rb.record(&sample(0, late, vec![]), late).unwrap();
    let reader = PgStore::open_ro(&url, None).unwrap();
    let now = reader.at(late).unwrap();
    assert_eq!(
        placed(&now),
        vec![("a".to_owned(), "running".to_owned())],
        "the VM stays placed once across the takeover"
    );
    let invented: Vec<_> = reader
        .events(&EventQuery::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.vm.is_some())
        .collect();
    assert!(invented.is_empty(), "the takeover invented: {invented:?}");
    rb.stop();
    rc.stop();
}

#[test]
fn a_server_restart_mid_recording_costs_a_write_not_the_recorder() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("restart").unwrap();
    let mut rec = Recorder::start(
        PgStore::open_rw(&url, None).unwrap(),
        HistoryConfig::default(),
        &hosts(),
        s(0),
    )
    .unwrap();
    rec.record(&sample(0, s(0), vec![web(VmState::Running)]), s(0))
        .unwrap();
    pg.restart().unwrap();
    // The first write after the restart may find the connection gone; a later one writes.
    let stopped = DomainSample {
        state: Some(VmState::Shutoff),
        ..web(VmState::Shutoff)
    };
    let mut wrote = false;
    for n in 1..=3 {
        if rec
            .record(&sample(0, s(2 * n), vec![stopped.clone()]), s(2 * n))
            .is_ok()
        {
            wrote = true;
            break;
        }
    }
    assert!(wrote, "no write succeeded after the server came back");
    let reader = PgStore::open_ro(&url, None).unwrap();
    let kinds: Vec<String> = reader
        .events(&EventQuery::default())
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec!["stopped".to_owned()],
        "recorded once, after the restart"
    );
    rec.stop();
}

/// Thirty minutes of polls every 10 s; the recorder's own verdict on its rollups.
fn half_an_hour(store: impl RecordStore + Send + 'static) -> Vec<String> {
    let mut rec = Recorder::start(store, HistoryConfig::default(), &hosts(), T0).unwrap();
    for n in (10..=1800).step_by(10) {
        rec.record(&sample(0, s(n), vec![web(VmState::Running)]), s(n))
            .unwrap();
    }
    let why = rec.history_health().1.to_vec();
    rec.stop();
    why
}

#[test]
fn both_stores_leave_the_same_rollup_marks_and_a_refused_rollup_stalls_either() {
    let levels = HistoryConfig::default().rollup.len();
    let sqlite = Sqlite(tempfile::tempdir().unwrap());
    let pg = Postgres::start().unwrap();
    let pg_db = Pg(pg.create_db("marks").unwrap());
    assert_eq!(half_an_hour(sqlite.writer()), Vec::<String>::new());
    assert_eq!(half_an_hour(pg_db.writer()), Vec::<String>::new());
    let (a, b) = (
        sqlite.reader().rollup_marks(levels).unwrap(),
        pg_db.reader().rollup_marks(levels).unwrap(),
    );
    assert_eq!(a, b);
    assert!(
        a.maintained_at.is_some() && a.rolled.iter().all(Option::is_some),
        "{a:?}"
    );

    // The server refuses every rollup row: the maintenance transaction fails each minute.
    let refused = Pg(pg.create_db("refused").unwrap());
    drop(refused.writer());
    let mut c = postgres::Client::connect(&refused.0, postgres::NoTls).unwrap();
    c.batch_execute(
        "CREATE FUNCTION no_rollups() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN IF NEW.level > 0 THEN RAISE EXCEPTION 'rollups refused by the test'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER no_rollups BEFORE INSERT ON stats FOR EACH ROW EXECUTE FUNCTION no_rollups();",
    )
    .unwrap();
    let why = half_an_hour(refused.writer());
    assert!(why[0].contains("rollups refused by the test"), "{why:?}");
    let read = fleetwatch_core::history::health::stalls(
        &HistoryConfig::default(),
        &refused.reader().rollup_marks(levels).unwrap(),
    );
    assert!(
        read.iter().any(|w| w.starts_with("5m rollups stopped")),
        "{read:?}"
    );
}
