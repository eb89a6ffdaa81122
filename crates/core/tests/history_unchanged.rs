//! The recorder passes over copies a poll did not change without writing or formatting
//! anything; with the domain XML the same object from poll to poll (as the collector keeps it),
//! a change of state, memory or disks is still seen.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::{self, SqliteStore};
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::{DomainConfig, VmState};
use std::sync::Arc;
use std::time::Instant;
use support::{domain, host_config, info};

const T0: i64 = 1_795_233_600_000;

fn poll(s: i64, state: VmState, memory: u64, xml: &Arc<DomainConfig>) -> Message {
    let mut d = domain("u-web", "web", state, 10);
    d.memory_bytes = Some(memory);
    d.max_memory_bytes = None;
    d.config = Some(xml.clone());
    let mut sample = support::sample(info(8, 32), Instant::now(), vec![d]);
    sample.wall = DateTime::<Utc>::from_timestamp_millis(T0 + s * 1000).unwrap();
    Message {
        host: 0,
        at: Instant::now(),
        update: Update::Sample(Arc::new(sample)),
    }
}

#[test]
fn the_same_xml_object_hides_no_change_and_an_unchanged_poll_writes_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let store = SqliteStore::open_rw(&path).unwrap();
    let mut rec =
        Recorder::start(store, HistoryConfig::default(), &[host_config("a")], T0).unwrap();
    let xml = support::config("/srv/a.qcow2");
    let gib = 1u64 << 30;
    let rows = || -> i64 {
        let c = sqlite::open_ro(&path).unwrap();
        c.query_row("SELECT COUNT(*) FROM placements", [], |r| r.get(0))
            .unwrap()
    };
    rec.record(&poll(2, VmState::Running, 2 * gib, &xml), T0)
        .unwrap();
    rec.record(&poll(4, VmState::Running, 2 * gib, &xml), T0)
        .unwrap();
    assert_eq!(rows(), 1, "nothing changed: no placement row");
    rec.record(&poll(6, VmState::Paused, 2 * gib, &xml), T0)
        .unwrap();
    rec.record(&poll(8, VmState::Paused, 4 * gib, &xml), T0)
        .unwrap();
    let moved = Arc::new(DomainConfig {
        disks: support::config("/srv/b.qcow2").disks.clone(),
        ..(*xml).clone()
    });
    rec.record(&poll(10, VmState::Paused, 4 * gib, &moved), T0)
        .unwrap();
    rec.record(&poll(12, VmState::Paused, 4 * gib, &moved), T0)
        .unwrap();
    let mut ev: Vec<(i64, String, String)> = SqliteStore::open_ro(&path)
        .unwrap()
        .events(&EventQuery::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.vm.is_some())
        .map(|e| ((e.at_ms - T0) / 1000, e.kind, e.detail))
        .collect();
    ev.reverse();
    assert_eq!(
        ev,
        [
            (6, "paused".into(), String::new()),
            (8, "config-changed".into(), "memory 2048 -> 4096 MiB".into()),
            (
                10,
                "config-changed".into(),
                "disks vda=/srv/a.qcow2 -> vda=/srv/b.qcow2".into()
            ),
        ]
    );
    assert_eq!(rows(), 4);
}

/// Raw statistics rows of a series (a VM by name, or `-` and a host's name), seconds after T0.
fn raw_at(path: &std::path::Path, vm: Option<&str>, host: &str) -> Vec<i64> {
    let c = sqlite::open_ro(path).unwrap();
    let sql = match vm {
        Some(_) => {
            "SELECT s.at FROM stats s JOIN vms v ON v.id = s.series WHERE s.level = 0 AND v.name = ?1 ORDER BY s.at"
        }
        None => {
            "SELECT s.at FROM stats s JOIN hosts h ON -h.id = s.series WHERE s.level = 0 AND h.name = ?1 ORDER BY s.at"
        }
    };
    let mut q = c.prepare(sql).unwrap();
    q.query_map([vm.unwrap_or(host)], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|t| (t.unwrap() - T0) / 1000)
        .collect()
}

#[test]
fn raw_statistics_are_written_once_per_sample_every_whichever_host_a_vm_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let store = SqliteStore::open_rw(&path).unwrap();
    let hosts = [host_config("a"), host_config("b")];
    let mut rec = Recorder::start(store, HistoryConfig::default(), &hosts, T0).unwrap();
    let xml = support::config("/srv/a.qcow2");
    for s in (2..=40).step_by(2) {
        let mut on_a = poll(s, VmState::Running, 1 << 31, &xml);
        let mut on_b = poll(s, VmState::Running, 1 << 31, &xml);
        on_b.host = 1;
        // web moves from a to b at 24 s.
        let (Update::Sample(a), Update::Sample(b)) = (&mut on_a.update, &mut on_b.update) else {
            unreachable!()
        };
        if s >= 24 {
            Arc::make_mut(a).domains.clear();
        } else {
            Arc::make_mut(b).domains.clear();
        }
        rec.record_batch(&[on_a, on_b], T0 + s * 1000).unwrap();
    }
    assert_eq!(raw_at(&path, Some("web"), ""), [2, 12, 22, 32]);
    assert_eq!(raw_at(&path, None, "a"), [2, 12, 22, 32]);
    assert_eq!(raw_at(&path, None, "b"), [2, 12, 22, 32]);
}
