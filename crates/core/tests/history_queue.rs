//! The TUI's recorder thread behind a stalled store (another connection holds the write lock):
//! sending never blocks, the queue never holds more than its capacity, what does not fit is
//! dropped, counted and said ("REC dropping"), and once the store is free again recording goes
//! on, the hosts that lost messages with their next changes by "unknown".
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::recorder::{BATCH_MAX, BATCH_WINDOW};
use fleetwatch_core::history::sqlite::{self, SqliteStore};
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::history::writer::{self, Status};
use fleetwatch_core::history::{query::EventRow, queue};
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::VmState;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{domain, host_config, info};
use tokio::sync::mpsc::UnboundedReceiver;

fn poll(host: usize, name: &str, state: VmState) -> Message {
    let mut s = support::sample(
        info(8, 32),
        Instant::now(),
        vec![domain(&format!("u-{name}"), name, state, 10)],
    );
    s.wall = chrono::Utc::now();
    Message {
        host,
        at: Instant::now(),
        update: Update::Sample(std::sync::Arc::new(s)),
    }
}

fn wait_for(rx: &mut UnboundedReceiver<Status>, want: impl Fn(&Status) -> bool) -> Status {
    let end = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < end {
        match rx.try_recv() {
            Ok(s) if want(&s) => return s,
            Ok(s) => seen.push(s),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    panic!("never came; saw {seen:?}");
}

fn vm_events(path: &Path) -> Vec<EventRow> {
    let Ok(c) = SqliteStore::open_ro(path) else {
        return Vec::new();
    };
    let mut v: Vec<EventRow> = c.events(&EventQuery::default()).unwrap_or_default();
    v.retain(|e| e.vm.is_some());
    v.sort_by(|a, b| a.vm.cmp(&b.vm));
    v
}

fn until(what: &str, done: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < end, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_stalled_store_drops_what_does_not_fit_says_so_and_then_records_on_by_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let hosts = vec![host_config("a"), host_config("b")];
    let cfg = HistoryConfig {
        path: Some(path.clone()),
        ..HistoryConfig::default()
    };
    let (tx, mut status) = tokio::sync::mpsc::unbounded_channel();
    let w = writer::spawn(cfg, hosts.clone(), tx).unwrap();
    wait_for(&mut status, |s| *s == Status::Recording);
    w.send(&poll(0, "web", VmState::Running));
    w.send(&poll(1, "db", VmState::Running));
    let placements = || -> i64 {
        let Ok(c) = sqlite::open_ro(&path) else {
            return 0;
        };
        c.query_row("SELECT COUNT(*) FROM placements", [], |r| r.get(0))
            .unwrap_or(0)
    };
    until("both VMs placed", || placements() == 2);

    // Another process takes the write lock: the recorder's next write waits for it. Released
    // within SQLite's busy timeout, so the stall ends without a failed write.
    let lock = rusqlite::Connection::open(&path).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let stalled = Instant::now();
    let cap = queue::capacity(hosts.len());
    let mut most = 0;
    let same = poll(0, "web", VmState::Running);
    for _ in 0..10 * cap {
        w.send(&same);
        most = most.max(w.queued());
    }
    let took = stalled.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "sending blocked: {took:?}"
    );
    // The gauge counts a message from just before it is queued until the recorder has taken
    // it, so for a moment it may count the one being queued and the one being taken: one over.
    assert!(most <= cap + 1, "the queue held {most} > {cap}");
    // All but what the queue holds and the one batch the recorder took before it stalled.
    let dropped = w.dropped();
    assert!(
        dropped >= (9 * cap - BATCH_MAX) as u64 && dropped <= (10 * cap) as u64,
        "{dropped}"
    );
    // The recorder may have taken a batch from the queue while the loop ran, and with it room
    // for a later message of host a, which then went in flagged and cleared the flag. Once it
    // is surely stuck in its write, more of a's polls fill the room and are dropped: a's last
    // message is a lost one, whatever the timing was.
    std::thread::sleep(BATCH_WINDOW + Duration::from_millis(200));
    for _ in 0..cap {
        w.send(&same);
    }
    let said = wait_for(&mut status, |s| matches!(s, Status::Behind { .. }));
    assert_eq!(said.short(), "REC dropping");
    std::thread::sleep(Duration::from_millis(1_000).saturating_sub(stalled.elapsed()));
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);

    // Host a lost messages, host b none: a's next change is by "unknown", b's seen live.
    until("the backlog written", || w.queued() == 0);
    w.send(&poll(0, "web", VmState::Paused));
    w.send(&poll(1, "db", VmState::Paused));
    until("both pauses recorded", || vm_events(&path).len() == 2);
    let ev: Vec<(String, String, String)> = vm_events(&path)
        .into_iter()
        .map(|e| (e.vm.unwrap_or_default(), e.kind, e.actor))
        .collect();
    assert_eq!(
        ev,
        [
            ("db".into(), "paused".into(), "external".into()),
            ("web".into(), "paused".into(), "unknown".into()),
        ]
    );
    // The count reached the status the header shows.
    let n = w.dropped();
    wait_for(&mut status, |s| *s == Status::Behind { dropped: n });
}
