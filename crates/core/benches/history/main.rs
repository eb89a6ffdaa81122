//! `make bench`: the history store at scale. A generator fills a store as 30 days of recording
//! 1,000 VMs would leave it (raw samples every 10 s for the last hour, then the configured
//! rollups, and a realistic rate of events and placements), then times the queries people run
//! during an incident and the file's size; then the recorder's own cost per poll cycle at
//! 1,000, 10,000 and 50,000 VMs (`recorder`, on the varied fleet of `sim`).
//! Targets: `at` < 100 ms, 30 days of migrations < 100 ms, file < 500 MB, recorder < 2% of a core
//! at 1,000 VMs.

mod recorder;
mod sim;

use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::sqlite::{self, SqliteStore};
use fleetwatch_core::history::store::HistoryRead;
use rusqlite::params;
use std::time::{Duration, Instant};

const VMS: i64 = 1_000;
const HOSTS: i64 = 20;
const DAY: i64 = 86_400_000;

/// A small deterministic generator (xorshift), so every run builds the same store.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: i64) -> i64 {
        (self.next() % n as u64) as i64
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn fill(c: &mut rusqlite::Connection, now: i64) -> rusqlite::Result<(usize, usize, usize)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = now - 30 * DAY;
    let tx = c.transaction()?;
    for h in 1..=HOSTS {
        tx.execute(
            "INSERT INTO hosts (id, name, uri) VALUES (?1, ?2, ?3)",
            params![
                h,
                format!("hv-{h:02}"),
                format!("qemu+tcp://hv-{h:02}/system")
            ],
        )?;
    }
    let mut stats = 0;
    {
        let mut ins = tx.prepare(
            "INSERT INTO stats (series, level, at, n, cpu, cpu_max, mem, mem_max, disk, disk_max, net, net_max)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?8, ?9, ?9)",
        )?;
        // (level, step, span): raw 10 s for 1 h, 5 min for 1 day, 30 min for 1 week, 2 h and 1 day for 30 days.
        let levels = [
            (0, 10_000, 3_600_000),
            (1, 300_000, DAY),
            (2, 1_800_000, 7 * DAY),
            (3, 7_200_000, 30 * DAY),
            (4, DAY, 30 * DAY),
        ];
        for vm in 1..=VMS {
            for (level, step, span) in levels {
                let mut t = now - span;
                t -= t % step;
                while t < now {
                    let cpu = (rng.below(1000) as f64) / 10.0;
                    ins.execute(params![
                        vm,
                        level,
                        t,
                        step / 10_000,
                        cpu,
                        cpu * 1.3,
                        2e9,
                        5e5,
                        1e5
                    ])?;
                    stats += 1;
                    t += step;
                }
            }
        }
    }
    let (mut events, mut placements) = (0, 0);
    {
        let mut vm_ins = tx.prepare("INSERT INTO vms (id, uuid, name) VALUES (?1, ?2, ?3)")?;
        let mut ev = tx.prepare(
            "INSERT INTO events (at, kind, vm_id, host_id, from_host_id, to_host_id, started_at, actor, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '')",
        )?;
        let mut pl = tx.prepare(
            "INSERT INTO placements (vm_id, host_id, state, vcpus, memory_bytes, since, until) VALUES (?1, ?2, ?3, 2, 2147483648, ?4, ?5)",
        )?;
        for vm in 1..=VMS {
            vm_ins.execute(params![
                vm,
                format!("{vm:08}-0000-4000-8000-000000000000"),
                format!("vm-{vm:04}")
            ])?;
            // About three changes a day: mostly stops and starts, a migration every few days.
            let mut host = 1 + vm % HOSTS;
            let mut state = "running";
            let mut since = start;
            let mut t = start + rng.below(DAY / 3);
            while t < now {
                let kind;
                let mut from = None;
                if rng.below(10) == 0 {
                    let to = 1 + rng.below(HOSTS);
                    from = Some(host);
                    host = to;
                    kind = "migrated";
                } else {
                    state = if state == "running" {
                        "shutoff"
                    } else {
                        "running"
                    };
                    kind = if state == "running" {
                        "started"
                    } else {
                        "stopped"
                    };
                }
                pl.execute(params![
                    vm,
                    from.unwrap_or(host),
                    if kind == "started" {
                        "shutoff"
                    } else {
                        "running"
                    },
                    since,
                    t
                ])?;
                placements += 1;
                ev.execute(params![
                    t,
                    kind,
                    vm,
                    host,
                    from,
                    from.map(|_| host),
                    from.map(|_| t - 3_000),
                    "external"
                ])?;
                events += 1;
                since = t;
                t += 1 + rng.below(DAY * 2 / 3);
            }
            pl.execute(params![vm, host, state, since, Option::<i64>::None])?;
            placements += 1;
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
    let mut rng = Rng(7);
    let mut at_times = Vec::new();
    for _ in 0..30 {
        let moment = now - rng.below(30 * DAY);
        let t = Instant::now();
        let past = r.at(moment).expect("at");
        at_times.push(t.elapsed());
        assert!(past.vms.len() > VMS as usize / 2, "{}", past.vms.len());
    }
    at_times.sort();
    println!(
        "{:<52} median {:>7.1} ms  max {:>7.1} ms (target < 100 ms)",
        "at: the fleet at a random moment of 30 days",
        ms(at_times[15]),
        ms(at_times[29])
    );
    let mut mig = Vec::new();
    let mut n = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let ev = r
            .events(&EventQuery {
                kinds: vec!["migrated".into()],
                since_ms: Some(now - 30 * DAY),
                limit: 100_000,
                ..EventQuery::default()
            })
            .expect("events");
        mig.push(t.elapsed());
        n = ev.len();
    }
    mig.sort();
    println!(
        "{:<52} median {:>7.1} ms  max {:>7.1} ms (target < 100 ms; {n} migrations)",
        "migration history of the last 30 days",
        ms(mig[5]),
        ms(mig[9])
    );
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
