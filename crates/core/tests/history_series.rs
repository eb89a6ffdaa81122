//! One copy of the fleet's sparklines: the recorder's model keeps none (host or VM), the UI's
//! model fed the same messages keeps them, and both agree on everything the recorder reads.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::VmState;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{busy_domain, host_config, info};

const T0: i64 = 1_795_233_600_000;

fn poll(host: usize, t0: Instant, secs: u64) -> Message {
    let doms = vec![
        busy_domain("u-web", "web", VmState::Running, secs, 700),
        busy_domain("u-db", "db", VmState::Running, secs, 1500),
        busy_domain("u-old", "old", VmState::Shutoff, secs, 0),
    ];
    let mut s = support::sample(info(8, 32), t0 + Duration::from_secs(secs), doms);
    s.wall = DateTime::<Utc>::from_timestamp_millis(T0 + secs as i64 * 1000).unwrap();
    Message {
        host,
        at: Instant::now(),
        update: Update::Sample(Arc::new(s)),
    }
}

#[test]
fn the_recorders_model_holds_no_series_while_the_uis_does() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = [host_config("a")];
    let store = SqliteStore::open_rw(&dir.path().join("h.db")).unwrap();
    let mut rec = Recorder::start(store, HistoryConfig::default(), &hosts, T0).unwrap();
    let mut ui = Fleet::new(&hosts);
    let t0 = Instant::now();
    for i in 0..5 {
        let m = poll(0, t0, 10 + 2 * i);
        rec.record(&m, T0 + 1000 * (10 + 2 * i as i64)).unwrap();
        let Update::Sample(s) = &m.update else {
            unreachable!()
        };
        ui.apply(m.host, s);
    }
    let mine = rec.fleet();
    for uuid in ["u-web", "u-db", "u-old"] {
        assert_eq!(ui.series(uuid).map(|s| s.len()), Some(5), "{uuid}");
        assert!(mine.series(uuid).is_none(), "{uuid}");
        // What the recorder writes from its model is what the UI shows.
        let (a, b) = (ui.vm(uuid).unwrap(), mine.vm(uuid).unwrap());
        assert_eq!(
            (a.state, a.cpu_percent, a.disk_read_bps, a.net_tx_bps),
            (b.state, b.cpu_percent, b.disk_read_bps, b.net_tx_bps)
        );
    }
    assert_eq!(ui.hosts[0].series.len(), 5);
    assert!(mine.hosts[0].series.is_empty());
    assert_eq!(ui.hosts[0].totals, mine.hosts[0].totals);
}

#[test]
fn a_model_without_series_has_the_same_rates_and_allocates_no_ring() {
    let hosts = [host_config("a"), host_config("b")];
    let (mut with, mut without) = (Fleet::new(&hosts), Fleet::without_series(&hosts));
    let t0 = Instant::now();
    for i in 0..3 {
        for h in 0..2 {
            let Update::Sample(s) = poll(h, t0, 10 + 2 * i).update else {
                unreachable!()
            };
            with.apply(h, &s);
            without.apply(h, &s);
        }
    }
    for h in 0..2 {
        assert_eq!(with.hosts[h].totals, without.hosts[h].totals);
        assert_eq!(without.hosts[h].series.cpu_percent.capacity(), 0);
    }
    assert_eq!(with.vm_count(), without.vm_count());
    assert!(with.vms().all(|v| with.series(&v.uuid).is_some()));
    assert!(without.vms().all(|v| without.series(&v.uuid).is_none()));
}
