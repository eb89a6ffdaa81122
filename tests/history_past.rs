//! Time travel says what it knows: the future is refused, a moment no recorder saw is "not
//! recorded", and past rates are the statistics recorded then or unknown, never 0.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::lease::STALE_AFTER_MS;
use fleetwatch_core::history::moment;
use fleetwatch_core::history::past::{Refusal, fleet_at, lookup};
use fleetwatch_core::history::reader;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::{DomainSample, VmState};
use std::time::{Duration, Instant};
use support::{domain, host_config, info};

const T0: i64 = 1_795_233_600_000;

fn sample(at_ms: i64, taken: Instant, domains: Vec<DomainSample>) -> Message {
    let mut s = support::sample(info(8, 32), taken, domains);
    s.wall = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap();
    Message {
        host: 0,
        at: taken,
        update: Update::Sample(std::sync::Arc::new(s)),
    }
}

fn windows() -> Vec<i64> {
    moment::windows(&HistoryConfig::default(), Duration::from_secs(5))
}

/// A store recorded from T0 to T0+60 s, then a gap (the recorder killed), then again from
/// T0+300 s to T0+360 s; and the live fleet as the recorder saw it at T0+50 s.
fn recorded() -> (tempfile::TempDir, std::path::PathBuf, Fleet) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let hosts = [host_config("a")];
    let start = |now: i64| {
        let c = SqliteStore::open_rw(&path).unwrap();
        Recorder::start(c, HistoryConfig::default(), &hosts, now).unwrap()
    };
    let t0 = Instant::now();
    let doms = |secs: u64| {
        vec![
            domain("u-web", "web", VmState::Running, secs),
            domain("u-db", "db", VmState::Shutoff, secs),
        ]
    };
    let mut rec = start(T0);
    let mut live = Fleet::new(&hosts);
    let mut at_50s = None;
    for i in 0..=6u64 {
        let at = T0 + i as i64 * 10_000;
        let m = sample(at, t0 + Duration::from_secs(i * 10), doms(i * 10));
        rec.record(&m, at).unwrap();
        if let Update::Sample(s) = &m.update {
            live.apply(0, s);
        }
        if i == 5 {
            at_50s = Some(live.clone());
        }
    }
    drop(rec);
    let later = T0 + 300_000;
    assert!(later > T0 + 60_000 + STALE_AFTER_MS);
    let mut rec = start(later);
    for i in 0..=6u64 {
        let at = later + i as i64 * 10_000;
        let m = sample(
            at,
            t0 + Duration::from_secs(300 + i * 10),
            doms(300 + i * 10),
        );
        rec.record(&m, at).unwrap();
    }
    (dir, path, at_50s.unwrap())
}

#[test]
fn the_future_is_refused_and_unrecorded_moments_say_so() {
    let (_d, path, _) = recorded();
    let c = SqliteStore::open_ro(&path).unwrap();
    let now = T0 + 7_200_000;
    let w = windows();
    let r = |t: i64| lookup(&c, t, now, &w);
    assert!(matches!(r(now + 3_600_000), Err(Refusal::Future(m)) if m.contains("in the future")));
    assert!(r(now).is_err(), "no recorder runs at `now` here");
    match r(T0 - 1) {
        Err(Refusal::NotRecorded(m)) => assert!(m.contains("the history begins"), "{m}"),
        other => panic!("{other:?}"),
    }
    match r(T0 + 150_000) {
        Err(Refusal::NotRecorded(m)) => assert!(m.contains("no recorder ran from"), "{m}"),
        other => panic!("{other:?}"),
    }
    match r(T0 + 3_600_000) {
        Err(Refusal::NotRecorded(m)) => assert!(m.contains("no recorder has run since"), "{m}"),
        other => panic!("{other:?}"),
    }
    for t in [T0, T0 + 30_000, T0 + 330_000] {
        let past = r(t).unwrap();
        let fleet = fleet_at(&[host_config("a")], &past);
        assert_eq!(fleet.hosts_up(), 1, "at {t}");
    }
}

#[test]
fn past_rates_and_memory_are_the_recorded_ones_or_unknown() {
    let (_d, path, live) = recorded();
    let c = SqliteStore::open_ro(&path).unwrap();
    let w = windows();
    let past = lookup(&c, T0 + 55_000, T0 + 400_000, &w).unwrap();
    let then = fleet_at(&[host_config("a")], &past);
    let (was, is) = (live.vm("u-web").unwrap(), then.vm("u-web").unwrap());
    assert!(was.cpu_percent.is_some());
    assert_eq!(is.cpu_percent, was.cpu_percent);
    assert_eq!(is.disk_read_bps, was.disk_read_bps);
    assert_eq!(is.disk_write_bps, was.disk_write_bps);
    assert_eq!(is.net_rx_bps, was.net_rx_bps);
    assert_eq!(is.net_tx_bps, was.net_tx_bps);
    // Memory means the same thing live and in the past: the current allocation.
    assert_eq!(is.memory_bytes, was.memory_bytes);
    assert_eq!(is.max_memory_bytes, was.max_memory_bytes);
    let (h_was, h_is) = (&live.hosts[0], &then.hosts[0]);
    assert_eq!(h_is.totals.cpu_percent, h_was.totals.cpu_percent);
    assert_eq!(h_is.totals.memory_used, h_was.totals.memory_used);
    assert_eq!(h_is.cpus(), 8);
    assert_eq!(h_is.memory_bytes(), 32 << 30);
    // The shut-off VM as it was recorded (live, a stopped VM uses no CPU).
    let db = then.vm("u-db").unwrap();
    let db_was = live.vm("u-db").unwrap();
    assert_eq!(db.cpu_percent, db_was.cpu_percent);
    // The first moment: placements but no statistics yet (rates need two samples).
    let first = fleet_at(
        &[host_config("a")],
        &lookup(&c, T0, T0 + 400_000, &w).unwrap(),
    );
    assert_eq!(first.vm("u-web").unwrap().cpu_percent, None);
    // Without statistics (rolled away, or never written) a host's load is unknown, not the
    // sum of what its VMs were given.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM stats", [])
        .unwrap();
    let bare = fleet_at(
        &[host_config("a")],
        &lookup(&c, T0 + 55_000, T0 + 400_000, &w).unwrap(),
    );
    let t = &bare.hosts[0].totals;
    assert_eq!(
        (t.cpu_percent, t.memory_used, t.disk_bps),
        (None, None, None)
    );
    assert_eq!(bare.vm("u-web").unwrap().cpu_percent, None);
    assert_eq!(t.running, 1, "the placements are still there");
}

#[test]
fn the_tuis_reader_refuses_the_future_and_unrecorded_moments() {
    let (_d, path, _) = recorded();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ask = reader::spawn(path, windows(), tx).unwrap();
    let future = Utc::now().timestamp_millis() + 86_400_000;
    for t in [future, T0 - 60_000] {
        ask.send(reader::Request::At(t)).unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        let answer = loop {
            match rx.try_recv() {
                Ok(a) => break a,
                Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("{e}"),
            }
        };
        match answer {
            reader::Response::At(_, Err(m)) => {
                // Typed now: a moment past the record is refused as such, not as a store error.
                assert!(
                    matches!(m, Refusal::Future(_) | Refusal::NotRecorded(_)),
                    "{m:?}"
                );
                let text = m.to_string();
                assert!(
                    text.contains("future") || text.contains("not recorded"),
                    "{text}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}

fn fleetwatch(data: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
    c.env("XDG_DATA_HOME", data).env("XDG_STATE_HOME", data);
    c
}

#[test]
fn at_refuses_the_future_and_says_not_recorded_before_the_first_record() {
    let data = tempfile::tempdir().unwrap();
    let out = fleetwatch(data.path())
        .args(["--demo", "at", "2999-01-01 00:00"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("in the future"), "{err}");
    let before = Utc::now() - chrono::Duration::hours(1);
    let mut rec = fleetwatch_testkit::reaped::Reaped::new(
        fleetwatch(data.path())
            .args(["--demo", "record"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The recorder's hosts make their first connects spread over the first interval (2 s),
    // so give them that and a few polls before stopping it.
    std::thread::sleep(Duration::from_secs(6));
    std::process::Command::new("kill")
        .args(["-TERM", &rec.id().to_string()])
        .status()
        .unwrap();
    assert!(rec.wait().unwrap().success());
    for json in [false, true] {
        let mut args = vec!["--demo".to_string(), "at".into(), before.to_rfc3339()];
        if json {
            args.push("--json".into());
        }
        let out = fleetwatch(data.path()).args(&args).output().unwrap();
        let (err, text) = (
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
        );
        assert_eq!(out.status.code(), Some(1), "{err}{text}");
        assert!(
            err.contains("was not recorded: the history begins"),
            "{err}"
        );
        assert!(text.is_empty(), "no fleet of down hosts: {text}");
    }
    // Inside the recording: the fleet, all hosts as they were.
    let out = fleetwatch(data.path())
        .args(["--demo", "at", "-3s", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["state"] == "up")
    );
}
