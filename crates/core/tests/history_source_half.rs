//! The source half of a move seen in two steps (the copy shut off, then undefined) before the
//! destination's poll, taken earlier, arrives: one migration, not a stop, an undefinition and
//! a VM appearing. Seen in the lab: a poll of the destination slower than the source's two.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::{DomainSample, HostSample, VmState};
use std::time::Instant;
use support::{domain, host_config, info};

const T0: i64 = 1_795_233_600_000;

struct Lab {
    rec: Recorder,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let store = SqliteStore::open_rw(&path).unwrap();
    let hosts = [host_config("a"), host_config("b")];
    let rec = Recorder::start(store, HistoryConfig::default(), &hosts, T0).unwrap();
    Lab {
        rec,
        path,
        _dir: dir,
    }
}

impl Lab {
    /// A poll of `host` taken at `ms` after T0.
    fn poll(&mut self, host: usize, ms: i64, domains: Vec<DomainSample>) {
        let mut s: HostSample = support::sample(info(8, 32), Instant::now(), domains);
        s.wall = DateTime::<Utc>::from_timestamp_millis(T0 + ms).unwrap();
        let m = Message {
            host,
            at: Instant::now(),
            update: Update::Sample(std::sync::Arc::new(s)),
        };
        self.rec.record(&m, T0 + ms).unwrap();
    }
    fn events(&self) -> Vec<(String, String, String)> {
        let store = SqliteStore::open_ro(&self.path).unwrap();
        let mut v = store.events(&EventQuery::default()).unwrap();
        v.reverse();
        v.into_iter()
            .map(|e| (e.kind, e.host.unwrap_or_default(), e.detail))
            .collect()
    }
}

fn web(state: VmState) -> DomainSample {
    domain("u-web", "web", state, 10)
}

#[test]
fn a_source_copy_shut_off_then_undefined_before_the_destinations_poll_is_one_migration() {
    let mut l = lab();
    l.poll(0, 0, vec![web(VmState::Running)]);
    l.poll(1, 0, vec![]);
    // The source: shut off after the move, then undefined (a re-poll on libvirt's event).
    l.poll(0, 4_000, vec![web(VmState::Shutoff)]);
    l.poll(0, 4_600, vec![]);
    // The destination's poll, taken before both, arrives last.
    l.poll(1, 3_500, vec![web(VmState::Running)]);
    let ev = l.events();
    let kinds: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(kinds, vec!["migrated"], "{ev:?}");
    assert_eq!(ev[0].1, "b", "{ev:?}");
}

#[test]
fn a_stop_then_an_undefinition_with_the_vm_nowhere_else_is_one_undefinition_that_says_so() {
    let mut l = lab();
    l.poll(0, 0, vec![web(VmState::Running)]);
    l.poll(1, 0, vec![]);
    l.poll(0, 2_000, vec![web(VmState::Shutoff)]);
    l.poll(0, 2_500, vec![]);
    // Nothing yet: b has not polled since.
    assert!(l.events().is_empty(), "{:?}", l.events());
    l.poll(1, 2_100, vec![]);
    let ev = l.events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].0, "undefined", "{ev:?}");
    assert!(ev[0].2.contains("was running; shut off first"), "{ev:?}");
}

#[test]
fn a_shut_off_copy_elsewhere_changing_does_not_end_the_wait() {
    // Three hosts: the VM stops on a; a shut-off copy on c is removed; then b shows it running.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let store = SqliteStore::open_rw(&path).unwrap();
    let hosts = [host_config("a"), host_config("b"), host_config("c")];
    let rec = Recorder::start(store, HistoryConfig::default(), &hosts, T0).unwrap();
    let mut l = Lab {
        rec,
        path,
        _dir: dir,
    };
    l.poll(0, 0, vec![web(VmState::Running)]);
    l.poll(1, 0, vec![]);
    l.poll(2, 0, vec![web(VmState::Shutoff)]);
    l.poll(0, 2_000, vec![]);
    l.poll(2, 2_200, vec![]);
    l.poll(1, 1_900, vec![web(VmState::Running)]);
    let kinds: Vec<String> = l.events().into_iter().map(|e| e.0).collect();
    assert!(kinds.contains(&"migrated".to_owned()), "{kinds:?}");
    assert_eq!(kinds, vec!["migrated", "copy-removed"], "{kinds:?}");
}
