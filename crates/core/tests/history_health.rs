//! Rollups that cannot stall silently: a recorder whose rollups are refused by the database
//! says so, one whose rollups run says nothing, a stopped one is not taken for stalled, and
//! rows older than their retention are named.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::health::{RollupMarks, stalls};
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::VmState;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{domain, host_config, info};

const T0: i64 = 1_795_233_600_000;

fn poll(t0: Instant, secs: u64) -> Message {
    let doms = vec![domain("u-web", "web", VmState::Running, secs)];
    let mut s = support::sample(info(8, 32), t0 + Duration::from_secs(secs), doms);
    s.wall = DateTime::<Utc>::from_timestamp_millis(T0 + secs as i64 * 1000).unwrap();
    Message {
        host: 0,
        at: Instant::now(),
        update: Update::Sample(Arc::new(s)),
    }
}

/// Records `minutes` of polls every 10 s into `path`; the recorder's own verdict at the end.
fn record(path: &Path, minutes: u64) -> Vec<String> {
    let store = SqliteStore::open_rw(path).unwrap();
    let mut rec =
        Recorder::start(store, HistoryConfig::default(), &[host_config("a")], T0).unwrap();
    let t0 = Instant::now();
    for s in (10..=minutes * 60).step_by(10) {
        rec.record(&poll(t0, s), T0 + s as i64 * 1000).unwrap();
    }
    let (_, why) = rec.history_health();
    why.to_vec()
}

fn marks(path: &Path) -> Vec<String> {
    let r = SqliteStore::open_ro(path).unwrap();
    let cfg = HistoryConfig::default();
    stalls(&cfg, &r.rollup_marks(cfg.rollup.len()).unwrap())
}

#[test]
fn rollups_that_run_are_not_stalled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    assert_eq!(record(&path, 30), Vec::<String>::new());
    assert_eq!(marks(&path), Vec::<String>::new());
}

#[test]
fn rollups_the_database_refuses_are_a_stall_the_recorder_and_readers_see() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    drop(SqliteStore::open_rw(&path).unwrap());
    // Every rollup row is refused: the rollup transaction fails each minute, the raw rows go on.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_rollups BEFORE INSERT ON stats WHEN NEW.level > 0
             BEGIN SELECT RAISE(ABORT, 'rollups refused by the test'); END;",
        )
        .unwrap();
    let why = record(&path, 30);
    assert!(
        why.iter()
            .any(|w| w.contains("rollups and retention failed")
                && w.contains("rollups refused by the test")),
        "{why:?}"
    );
    // Its first run had no complete bucket to insert, so it committed; none did since.
    assert!(why.iter().any(|w| w.contains("last ran")), "{why:?}");
    assert!(
        why.iter().any(|w| w.starts_with("5m rollups stopped")),
        "{why:?}"
    );
    // A reader of the file (`check`, the TUI) sees the same from the marks alone.
    let read = marks(&path);
    assert_eq!(read.len(), 2, "{read:?}");
    assert!(
        read[0].contains("last ran") && read[1].starts_with("5m rollups stopped"),
        "{read:?}"
    );
}

#[test]
fn a_stopped_recorder_is_old_not_stalled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    record(&path, 20);
    // Read long after its last write: the marks are judged against that write, not the clock.
    assert_eq!(marks(&path), Vec::<String>::new());
}

#[test]
fn marks_left_behind_and_rows_past_retention_are_named() {
    let cfg = HistoryConfig::default();
    let now = T0 + 10 * 3_600_000;
    let fresh = |w: i64| Some(now - w);
    let mut m = RollupMarks {
        last_write: Some(now),
        maintained_at: Some(now - 30_000),
        rolled: cfg
            .rollup
            .iter()
            .map(|r| fresh(r.every.as_millis() as i64))
            .collect(),
        oldest: vec![Some(now - 3_000_000); cfg.rollup.len() + 1],
    };
    assert_eq!(stalls(&cfg, &m), Vec::<String>::new());
    // Raw rows from 3 hours ago, kept for 1: retention stopped deleting them.
    m.oldest[0] = Some(now - 3 * 3_600_000);
    let why = stalls(&cfg, &m);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(
        why[0].starts_with("raw statistics from") && why[0].contains("retention of 1h"),
        "{why:?}"
    );
    // The first level's mark an hour behind the newest write.
    m.oldest[0] = Some(now - 3_000_000);
    m.rolled[0] = Some(now - 3_600_000);
    let why = stalls(&cfg, &m);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(why[0].contains("rollups stopped"), "{why:?}");
    // Maintenance that has not committed for 20 minutes.
    m.rolled[0] = fresh(60_000);
    m.maintained_at = Some(now - 20 * 60_000);
    let why = stalls(&cfg, &m);
    assert!(
        why[0].contains("last ran") && why[0].contains("20m"),
        "{why:?}"
    );
}
