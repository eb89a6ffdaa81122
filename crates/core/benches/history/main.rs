//! `make bench`: the history store at scale. A generator fills a store as 30 days of recording
//! 1,000 VMs would leave it (raw samples every 10 s for the last hour, then the configured
//! rollups, and a realistic rate of events and placements), then times the queries people run
//! during an incident and the file's size; then the recorder's own cost per poll cycle at
//! 1,000, 10,000 and 50,000 VMs (`recorder`, on the varied fleet of `sim`).
//! Targets: `at` < 100 ms, 30 days of migrations < 100 ms, file < 500 MB, recorder < 2% of a core
//! at 1,000 VMs.

mod recorder;
mod sim;

use fleetwatch_core::history::sqlite::{self, SqliteStore};
use rusqlite::params;
use std::time::Instant;

pub(crate) use fleetwatch_testkit::month::Rng;
use fleetwatch_testkit::month::{self, HOSTS, Row, VMS};

fn fill(c: &mut rusqlite::Connection, now: i64) -> rusqlite::Result<(usize, usize, usize)> {
    let tx = c.transaction()?;
    let (mut stats, mut events, mut placements) = (0, 0, 0);
    {
        let mut host = tx.prepare("INSERT INTO hosts (id, name, uri) VALUES (?1, ?2, ?3)")?;
        let mut vm = tx.prepare("INSERT INTO vms (id, uuid, name) VALUES (?1, ?2, ?3)")?;
        let mut stat = tx.prepare(
            "INSERT INTO stats (series, level, at, n, cpu, cpu_max, mem, mem_max, disk, disk_max, net, net_max)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 2e9, 2e9, 5e5, 5e5, 1e5, 1e5)",
        )?;
        let mut ev = tx.prepare(
            "INSERT INTO events (at, kind, vm_id, host_id, from_host_id, to_host_id, started_at, actor, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'external', '')",
        )?;
        let mut pl = tx.prepare(
            "INSERT INTO placements (vm_id, host_id, state, vcpus, memory_bytes, since, until) VALUES (?1, ?2, ?3, 2, 2147483648, ?4, ?5)",
        )?;
        let mut failed = None;
        month::generate(now, |r| {
            let done = match r {
                Row::Host { id, name, uri } => host.execute(params![id, name, uri]),
                Row::Vm { id, uuid, name } => vm.execute(params![id, uuid, name]),
                Row::Stat {
                    vm,
                    level,
                    at,
                    n,
                    cpu,
                } => {
                    stats += 1;
                    stat.execute(params![vm, level, at, n, cpu, cpu * 1.3])
                }
                Row::Event {
                    at,
                    kind,
                    vm,
                    host,
                    moved,
                } => {
                    events += 1;
                    let (from, to, started) =
                        (moved.map(|m| m.0), moved.map(|m| m.1), moved.map(|m| m.2));
                    ev.execute(params![at, kind, vm, host, from, to, started])
                }
                Row::Placement {
                    vm,
                    host,
                    state,
                    since,
                    until,
                } => {
                    placements += 1;
                    pl.execute(params![vm, host, state, since, until])
                }
            };
            if let Err(e) = done {
                failed.get_or_insert(e);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    tx.commit()?;
    Ok((stats, events, placements))
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    // `FLEETWATCH_BENCH_PART=recorder` measures the recorder only (the store takes minutes).
    let part = std::env::var("FLEETWATCH_BENCH_PART").unwrap_or_default();
    if part != "recorder" {
        store_queries(dir.path());
    }
    let scales = std::env::var("FLEETWATCH_BENCH_SCALES").unwrap_or_else(|_| DEFAULT_SCALES.into());
    for scale in parse_scales(&scales) {
        // `FLEETWATCH_BENCH_MODES=batched` (or `per-message`) measures one way only.
        let modes = std::env::var("FLEETWATCH_BENCH_MODES").unwrap_or_default();
        for mode in [recorder::Mode::PerMessage, recorder::Mode::Batched] {
            if modes.is_empty() || modes.split(',').any(|m| m == mode.key()) {
                recorder::measure(dir.path(), &scale, mode);
            }
        }
        recorder::full_series(&scale);
    }
}

/// The store as 30 days of 1,000 VMs leave it, and the queries of an incident on it.
fn store_queries(dir: &std::path::Path) {
    let path = dir.join("history.db");
    let mut c = sqlite::open_rw(&path).expect("store");
    let now = chrono::Utc::now().timestamp_millis();
    let t = Instant::now();
    let (stats, events, placements) = fill(&mut c, now).expect("fill");
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .expect("checkpoint");
    println!(
        "history: {VMS} VMs on {HOSTS} hosts over 30 days: {stats} statistics rows, {events} events, {placements} placements (filled in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(path.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "{:<52} {:>10.1} MB   (target < 500 MB)",
        "file size",
        size as f64 / 1e6
    );

    let r = SqliteStore::open_ro(&path).expect("read");
    month::incident_queries(&r, now);
}

/// Hosts x VMs per host: 1,000, 10,000 and 50,000 VMs.
const DEFAULT_SCALES: &str = "50x20,500x20,2500x20";

/// `FLEETWATCH_BENCH_SCALES=500x20,2500x20`: the fleets the recorder is measured at. Fewer
/// cycles at the largest, so a run stays within minutes; never fewer than 40.
fn parse_scales(s: &str) -> Vec<recorder::Scale> {
    s.split(',')
        .filter_map(|one| {
            let (h, v) = one.trim().split_once('x')?;
            let (hosts, per_host) = (h.parse::<usize>().ok()?, v.parse::<usize>().ok()?);
            let vms = hosts * per_host;
            Some(recorder::Scale {
                hosts,
                per_host,
                warmup: 5,
                cycles: if vms > 20_000 { 40 } else { 100 },
            })
        })
        .collect()
}
