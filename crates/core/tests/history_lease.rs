//! Who records: a TUI's recorder thread gives the lease to `fleetwatch record` (the service) as
//! soon as it starts, writes nothing after that, and takes it back when the service stops.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::lease::Role;
use fleetwatch_core::history::recorder::{RecordError, Recorder};
use fleetwatch_core::history::sqlite::{self, SqliteStore};
use fleetwatch_core::history::writer::{self, Status};
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::VmState;
use std::time::{Duration, Instant};
use support::{domain, host_config, info};

fn poll(state: VmState) -> Message {
    let mut s = support::sample(
        info(8, 32),
        Instant::now(),
        vec![domain("u-web", "web", state, 10)],
    );
    s.wall = chrono::Utc::now();
    Message {
        host: 0,
        at: Instant::now(),
        update: Update::Sample(std::sync::Arc::new(s)),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn count(path: &std::path::Path, table: &str) -> i64 {
    let c = sqlite::open_ro(path).unwrap();
    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_service_starts_while_a_tui_records_and_the_tui_writes_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let hosts = [host_config("a")];
    let cfg = HistoryConfig::default();
    let c = SqliteStore::open_rw(&path).unwrap();
    let mut tui = Recorder::start_as(Role::Tui, c, cfg.clone(), &hosts, now()).unwrap();
    tui.record(&poll(VmState::Running), now()).unwrap();
    // A second TUI waits for it.
    let c = SqliteStore::open_rw(&path).unwrap();
    assert!(matches!(
        Recorder::start_as(Role::Tui, c, cfg.clone(), &hosts, now()),
        Err(RecordError::Busy { .. })
    ));
    let c = SqliteStore::open_rw(&path).unwrap();
    let mut svc = Recorder::start(c, cfg.clone(), &hosts, now()).expect("never locked out");
    let placements = count(&path, "placements");
    match tui.record(&poll(VmState::Paused), now()) {
        Err(RecordError::LostLease) => {}
        other => panic!("the TUI wrote on: {other:?}"),
    }
    assert_eq!(
        count(&path, "placements"),
        placements,
        "nothing of the TUI's landed"
    );
    // The service records, and goes on from what the TUI wrote.
    svc.record(&poll(VmState::Running), now()).unwrap();
    assert_eq!(count(&path, "events"), 0);
    svc.record(&poll(VmState::Paused), now()).unwrap();
    assert_eq!(count(&path, "events"), 1);
    // A second service is refused.
    let c = SqliteStore::open_rw(&path).unwrap();
    assert!(matches!(
        Recorder::start(c, cfg, &hosts, now()),
        Err(RecordError::Busy { .. })
    ));
}

fn wait_for(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Status>, want: impl Fn(&Status) -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < end {
        match rx.try_recv() {
            Ok(s) if want(&s) => return,
            Ok(s) => seen.push(s),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    panic!("never came; saw {seen:?}");
}

#[test]
fn the_tui_thread_stands_by_for_the_service_and_records_again_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let hosts = vec![host_config("a")];
    let cfg = HistoryConfig {
        path: Some(path.clone()),
        ..HistoryConfig::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let w = writer::spawn(cfg.clone(), hosts.clone(), tx).unwrap();
    wait_for(&mut rx, |s| *s == Status::Recording);
    w.send(&poll(VmState::Running));
    let c = SqliteStore::open_rw(&path).unwrap();
    let svc = Recorder::start(c, cfg, &hosts, now()).expect("never locked out");
    w.send(&poll(VmState::Running));
    let me = i64::from(std::process::id());
    wait_for(
        &mut rx,
        |s| matches!(s, Status::Standby { pid, .. } if *pid == me),
    );
    svc.stop();
    wait_for(&mut rx, |s| *s == Status::Recording);
}
