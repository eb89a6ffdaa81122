//! The recorder's cost per poll cycle at fleet scale: every host polled once per 2 s cycle, the
//! messages fed to a recorder on a fresh store as the TUI's recorder thread would feed them.
//! Reported as CPU time of the recording thread per second of recording (the share of one
//! core), with percentiles of one cycle's cost, after warm-up cycles that are not counted (the
//! first poll writes every placement).

use crate::sim::SimFleet;
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::recorder::{BATCH_MAX, BATCH_WINDOW, Recorder};
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::Fleet;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CYCLE_MS: i64 = 2_000;

#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    /// One transaction per message.
    PerMessage,
    /// As the recorder thread batches: what arrives within the window, at most a batch's
    /// worth, in one transaction.
    Batched,
}

impl Mode {
    pub fn key(self) -> &'static str {
        match self {
            Mode::PerMessage => "per-message",
            Mode::Batched => "batched",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::PerMessage => "one transaction per message",
            Mode::Batched => "batched transactions",
        }
    }
}

pub struct Scale {
    pub hosts: usize,
    pub per_host: usize,
    pub warmup: usize,
    pub cycles: usize,
}

/// This thread's CPU time so far, from the scheduler's own account (nanoseconds, not ticks).
/// `None` where the kernel does not say; wall time stands in then.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Heap held by sparkline rings in a fleet model: the points they have room for.
pub fn series_bytes(fleet: &Fleet) -> usize {
    let ring = |s: &fleetwatch_core::model::series::Series| {
        4 * (s.cpu_percent.capacity()
            + s.memory_bytes.capacity()
            + s.disk_bps.capacity()
            + s.net_bps.capacity())
    };
    let vms: usize = fleet
        .vms()
        .filter_map(|vm| fleet.series(&vm.uuid))
        .map(ring)
        .sum();
    vms + fleet.hosts.iter().map(|h| ring(&h.series)).sum::<usize>()
}

fn pct(sorted: &[Duration], p: usize) -> f64 {
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1000.0
}

/// Records `scale.warmup + scale.cycles` cycles into a fresh store under `dir`; prints one line.
pub fn measure(dir: &Path, scale: &Scale, mode: Mode) {
    let mut sim = SimFleet::new(scale.hosts, scale.per_host);
    let path = dir.join(format!(
        "rec-{}x{}-{}.db",
        scale.hosts, scale.per_host, mode as u8
    ));
    let start_ms = chrono::Utc::now().timestamp_millis();
    let mut rec = match Recorder::start(
        SqliteStore::open_rw(&path).expect("store"),
        HistoryConfig::default(),
        &sim.hosts,
        start_ms,
    ) {
        Ok(r) => r,
        Err(e) => panic!("recorder: {e}"),
    };
    let t0 = Instant::now();
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    for cycle in 0..scale.warmup + scale.cycles {
        let cycle_ms = start_ms + cycle as i64 * CYCLE_MS;
        // Built before the clock starts: the collectors' work, not the recorder's.
        let messages: Vec<Message> = sim
            .samples(t0, 10 + 2 * cycle as u64, cycle_ms)
            .into_iter()
            .enumerate()
            .map(|(host, s)| Message {
                host,
                at: Instant::now(),
                update: Update::Sample(Arc::new(s)),
            })
            .collect();
        let (c0, w0) = (thread_cpu(), Instant::now());
        match mode {
            Mode::PerMessage => {
                for m in &messages {
                    let at = wall_ms(m);
                    black_box(rec.record(black_box(m), at)).expect("record");
                }
            }
            Mode::Batched => {
                for batch in batches(&messages) {
                    let at = batch.last().map_or(cycle_ms, wall_ms) + BATCH_WINDOW_MS;
                    black_box(rec.record_batch(black_box(batch), at)).expect("record");
                }
            }
        }
        let w = w0.elapsed();
        let c = match (c0, thread_cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => w,
        };
        if cycle >= scale.warmup {
            cpu.push(c);
            wall.push(w);
        }
        sim.step();
    }
    let span = Duration::from_millis(scale.cycles as u64 * CYCLE_MS as u64);
    let share = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64() / span.as_secs_f64();
    let (cpu_share, wall_share) = (share(&cpu), share(&wall));
    cpu.sort();
    wall.sort();
    let vms = scale.hosts * scale.per_host;
    println!(
        "recorder, {vms:>6} VMs ({} x {}), {:<28} {:>6.1} % of a core (busy {:>5.1} %); per 2 s cycle CPU p50 {:>7.1} ms p90 {:>7.1} p99 {:>7.1} max {:>7.1} (n={}, {} changes)",
        scale.hosts,
        scale.per_host,
        mode.label(),
        cpu_share * 100.0,
        wall_share * 100.0,
        pct(&cpu, 50),
        pct(&cpu, 90),
        pct(&cpu, 99),
        pct(&cpu, 100),
        cpu.len(),
        sim.changes,
    );
    println!(
        "recorder, {vms:>6} VMs: sparkline rings held by the recorder's own fleet model: {:.1} MiB",
        series_bytes(rec.fleet()) as f64 / (1 << 20) as f64
    );
    rec.stop();
}

const BATCH_WINDOW_MS: i64 = BATCH_WINDOW.as_millis() as i64;

/// The messages of one cycle cut as the recorder thread cuts them: a batch starts with a
/// message and takes what comes within the window after it (by the polls' times), at most
/// `BATCH_MAX`.
fn batches(messages: &[Message]) -> Vec<&[Message]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < messages.len() {
        let until = wall_ms(&messages[start]) + BATCH_WINDOW_MS;
        let mut end = start + 1;
        while end < messages.len() && end - start < BATCH_MAX && wall_ms(&messages[end]) <= until {
            end += 1;
        }
        out.push(&messages[start..end]);
        start = end;
    }
    out
}

fn wall_ms(m: &Message) -> i64 {
    match &m.update {
        Update::Sample(s) => s.wall.timestamp_millis(),
        _ => chrono::Utc::now().timestamp_millis(),
    }
}

/// What the UI's model holds in sparkline rings once they are full (150 points, 5 minutes at
/// 2 s): the copy a recorder that keeps series holds a second time.
pub fn full_series(scale: &Scale) {
    let sim = SimFleet::new(scale.hosts, scale.per_host);
    let mut fleet = Fleet::new(&sim.hosts);
    let t0 = Instant::now();
    for p in 0..fleetwatch_core::model::series::POINTS as u64 {
        for (h, s) in sim.samples(t0, 10 + 2 * p, 0).iter().enumerate() {
            fleet.apply(h, black_box(s));
        }
    }
    println!(
        "fleet model, {:>6} VMs: sparkline rings when full: {:.1} MiB",
        scale.hosts * scale.per_host,
        series_bytes(&fleet) as f64 / (1 << 20) as f64
    );
}
