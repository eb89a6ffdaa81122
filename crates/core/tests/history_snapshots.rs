//! Snapshots in the history: taken, reverted to, deleted, each an event with its actor (the
//! operator of a fleetwatch action, else "external"); a restart learns the list without
//! inventing events.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use fleetwatch_core::actions::{ActionKind, Operator, record::Record};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::{HistoryRead, RecordStore};
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::{SnapshotInfo, VmState};
use fleetwatch_testkit::{domain, host_config, info};
use std::sync::Arc;
use std::time::Instant;

const T0: i64 = 1_795_233_600_000; // 2026-11-21T04:00:00Z

fn s(n: i64) -> i64 {
    T0 + n * 1000
}

/// web, running, with these snapshots (name, current).
fn poll(at: i64, snaps: &[(&str, bool)]) -> (Message, i64) {
    let mut d = domain("u-web", "web", VmState::Running, 10);
    let mut c = (*d.config.clone().unwrap()).clone();
    c.snapshots = snaps
        .iter()
        .map(|(n, cur)| SnapshotInfo {
            name: (*n).into(),
            state: "running".into(),
            current: *cur,
            ..SnapshotInfo::default()
        })
        .collect();
    d.config = Some(Arc::new(c));
    let mut sample = fleetwatch_testkit::sample(info(8, 32), Instant::now(), vec![d]);
    sample.wall = DateTime::<Utc>::from_timestamp_millis(at).unwrap();
    let m = Message {
        host: 0,
        at: Instant::now(),
        update: Update::Sample(Arc::new(sample)),
    };
    (m, at)
}

#[test]
fn snapshots_taken_reverted_and_deleted_are_events_with_their_actor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let hosts = [host_config("a")];
    let mut rec = Recorder::start(
        SqliteStore::open_rw(&path).unwrap(),
        HistoryConfig::default(),
        &hosts,
        T0,
    )
    .unwrap();
    let feed = |rec: &mut Recorder, (m, at): (Message, i64)| rec.record(&m, at).unwrap();
    feed(&mut rec, poll(s(0), &[]));
    // ann takes "a" through fleetwatch: her action's start is in the audit.
    let ann = Operator {
        user: "ann".into(),
        ssh_from: None,
    };
    let mut r = Record::new("1", "start", &ann, "snapshot");
    r.uuid = Some("u-web".into());
    r.at_ms = s(1);
    r.params = serde_json::to_value(ActionKind::Snapshot {
        name: "a".into(),
        description: String::new(),
    })
    .unwrap();
    SqliteStore::open_rw(&path)
        .unwrap()
        .append_audit(&r)
        .unwrap();
    feed(&mut rec, poll(s(2), &[("a", true)]));
    // Behind fleetwatch's back, within ann's ten minutes: b taken (not hers: her action named
    // a), a reverted to, b deleted.
    feed(&mut rec, poll(s(4), &[("a", false), ("b", true)]));
    feed(&mut rec, poll(s(6), &[("a", true), ("b", false)]));
    feed(&mut rec, poll(s(8), &[("a", true)]));
    rec.stop();
    // A restart learns the list: nothing new.
    let mut rec = Recorder::start(
        SqliteStore::open_rw(&path).unwrap(),
        HistoryConfig::default(),
        &hosts,
        s(9),
    )
    .unwrap();
    feed(&mut rec, poll(s(10), &[("a", true)]));

    let mut ev = SqliteStore::open_ro(&path)
        .unwrap()
        .events(&EventQuery::default())
        .unwrap();
    ev.reverse();
    let got: Vec<(String, String, String)> = ev
        .into_iter()
        .filter(|e| e.kind.starts_with("snapshot"))
        .map(|e| (e.kind, e.detail, e.actor))
        .collect();
    let want = [
        ("snapshot-taken", "snapshot \"a\"", "ann"),
        ("snapshot-taken", "snapshot \"b\"", "external"),
        ("snapshot-reverted", "snapshot \"a\"", "external"),
        ("snapshot-deleted", "snapshot \"b\"", "external"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(k, d, a)| ((*k).into(), (*d).into(), (*a).into()))
        .collect();
    assert_eq!(got, want);
}
