//! `make bench`: the whole process. The real binary runs in a 200x50 pty against N libvirt
//! test-driver hosts of 20 varied VMs each (history recording, 2 s polls); after every host has
//! reported, the benchmark measures it idling: CPU (whole and by thread), frames and bytes it
//! writes, memory, threads. Also `snapshot` at 500 hosts, and the demo, whose bytes/s is the
//! issue's baseline. Targets are issue 13's.
//!
//! FLEETWATCH_BENCH_HOSTS="50,500,2500" (sizes), FLEETWATCH_BENCH_SECS=30 (window),
//! FLEETWATCH_BENCH_SNAPSHOT=500 (hosts for snapshot, 0 for none), FLEETWATCH_BENCH_DEMO=0,
//! FLEETWATCH_BENCH_KEEP=1 (keep the temporary folder: host files, config, logs, history).
//! FLEETWATCH_BENCH_CLIENT=500 (hosts): also a TUI watching through PostgreSQL, which one
//! recorder writes (issue 14: idle CPU no worse than the direct TUI's at the same size).

#[path = "process/client.rs"]
mod client;
#[path = "process/fleet_files.rs"]
mod fleet_files;
#[path = "process/floor.rs"]
mod floor;
#[path = "process/measure.rs"]
mod measure;
#[path = "process/pty.rs"]
mod pty;
#[path = "process/report.rs"]
mod report;
#[path = "process/snapshot.rs"]
mod snapshot;

use report::{Outcome, Table, Tui};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fleetwatch");
/// After every host is up: two poll intervals, so rates exist and the first findings are in.
const SETTLE: Duration = Duration::from_secs(4);
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

struct Settings {
    sizes: Vec<usize>,
    window: Duration,
    snapshot: usize,
    client: usize,
    demo: bool,
    keep: bool,
}

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("{name}={v:?} is not a whole number; using {default}");
            default
        }),
        Err(_) => default,
    }
}

fn settings() -> Settings {
    let sizes = std::env::var("FLEETWATCH_BENCH_HOSTS").unwrap_or_else(|_| "50,500,2500".into());
    let sizes = sizes
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .filter_map(|s| match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                eprintln!("FLEETWATCH_BENCH_HOSTS: {s:?} is not a host count; skipped");
                None
            }
        })
        .collect();
    Settings {
        sizes,
        window: Duration::from_secs(env_num("FLEETWATCH_BENCH_SECS", 30).max(1)),
        snapshot: env_num("FLEETWATCH_BENCH_SNAPSHOT", 500) as usize,
        client: env_num("FLEETWATCH_BENCH_CLIENT", 0) as usize,
        demo: env_num("FLEETWATCH_BENCH_DEMO", 1) != 0,
        keep: env_num("FLEETWATCH_BENCH_KEEP", 0) != 0,
    }
}

/// Where the children keep their files: all inside the benchmark's temporary folder, never the
/// user's own config, history, audit or log.
struct Home {
    dirs: Vec<(&'static str, PathBuf)>,
}

impl Home {
    fn new(root: &Path) -> std::io::Result<Home> {
        let mut dirs = Vec::new();
        for (k, d) in [
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CACHE_HOME", "cache"),
        ] {
            let p = root.join(d);
            std::fs::create_dir_all(&p)?;
            dirs.push((k, p));
        }
        Ok(Home { dirs })
    }
    fn env(&self) -> Vec<(&str, &Path)> {
        self.dirs.iter().map(|(k, p)| (*k, p.as_path())).collect()
    }
}

/// `hosts 42/50 up` from the header, as (up, of).
fn hosts_up(header: &str) -> Option<(usize, usize)> {
    let rest = &header[header.find("hosts ")? + 6..];
    let word = rest.split_whitespace().next()?;
    let (up, of) = word.split_once('/')?;
    Some((up.parse().ok()?, of.parse().ok()?))
}

/// The last few non-blank lines on the screen: what the program said before it went.
fn last_words(s: &pty::Session) -> String {
    let text = s.output().text();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        "(nothing on screen)".into()
    } else {
        tail.chars().take(600).collect()
    }
}

fn median(mut v: Vec<usize>) -> usize {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// One look at the child between waits: the most threads it had, and whether it is still there.
fn watch(s: &mut pty::Session, threads_max: &mut u64) -> Result<(), String> {
    if let Some(st) = measure::status(s.pid) {
        *threads_max = (*threads_max).max(st.threads);
    }
    match s.exited() {
        Some(e) => Err(format!("{}: {}", pty::describe(e), last_words(s))),
        None => Ok(()),
    }
}

/// Runs the TUI with `args`, waits for `hosts` to be up, and measures it idling for `window`.
fn tui(label: &str, args: &[&OsStr], home: &Home, hosts: usize, window: Duration) -> Outcome {
    let failed = |why: String, threads_max: u64| Outcome::Failed {
        label: label.into(),
        why: match threads_max {
            0 | 1 => why,
            n => format!("{why} (threads seen: up to {n})"),
        },
    };
    let mut s = match pty::Session::start(Path::new(BIN), args, &home.env()) {
        Ok(s) => s,
        Err(e) => return failed(format!("cannot start: {e}"), 0),
    };
    let pid = s.pid;
    let mut threads_max = 0;
    // `setsid` execs fleetwatch in place; wait for that, so /proc/<pid> is the program's.
    let exec_by = Instant::now() + Duration::from_secs(5);
    while measure::comm(pid).as_deref() != Some("fleetwatch") {
        if let Err(why) = watch(&mut s, &mut threads_max) {
            return failed(why, threads_max);
        }
        if Instant::now() > exec_by {
            let seen = measure::comm(pid).unwrap_or_default();
            return failed(
                format!("pid {pid} is {seen:?}, not fleetwatch, after 5 s"),
                threads_max,
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    let started = Instant::now();
    let limit = Duration::from_secs(20) + Duration::from_millis(30) * hosts as u32;
    let settled = loop {
        if let Err(why) = watch(&mut s, &mut threads_max) {
            return failed(why, threads_max);
        }
        let header = s.output().row(0);
        match hosts_up(&header) {
            Some((up, of)) if up == of && of == hosts => break Ok(started.elapsed().as_secs_f64()),
            seen if started.elapsed() > limit => {
                let said = seen.map_or("no header".into(), |(u, o)| format!("hosts {u}/{o} up"));
                break Err(format!("{said} after {:.0} s", limit.as_secs_f64()));
            }
            _ => std::thread::sleep(SAMPLE_EVERY),
        }
    };
    let settle_end = Instant::now() + SETTLE;
    while Instant::now() < settle_end {
        if let Err(why) = watch(&mut s, &mut threads_max) {
            return failed(why, threads_max);
        }
        std::thread::sleep(SAMPLE_EVERY);
    }

    let me = std::process::id();
    let (t0, cpu0, tasks0, self0) = (
        Instant::now(),
        measure::cpu_ticks(pid),
        measure::threads(pid),
        measure::cpu_ticks(me),
    );
    while t0.elapsed() < window {
        if let Err(why) = watch(&mut s, &mut threads_max) {
            return failed(format!("died while measured: {why}"), threads_max);
        }
        std::thread::sleep(
            SAMPLE_EVERY
                .min(window.saturating_sub(t0.elapsed()))
                .max(Duration::from_millis(1)),
        );
    }
    let (cpu1, tasks1, self1, end) = (
        measure::cpu_ticks(pid),
        measure::threads(pid),
        measure::cpu_ticks(me),
        measure::status(pid),
    );
    let t1 = Instant::now();
    let secs = t1.duration_since(t0).as_secs_f64();
    let (draws, bursts) = {
        let mut out = s.output();
        (out.draws(t0, t1), out.bursts(t0, t1))
    };

    let _ = s.send(b"q");
    let exit = s.finish(Duration::from_secs(10));
    let (Some(cpu0), Some(cpu1), Some(end)) = (cpu0, cpu1, end) else {
        return failed(
            format!("could not read /proc/{pid} at the window's ends ({exit})"),
            threads_max,
        );
    };
    let pct =
        |a: u64, b: u64| b.saturating_sub(a) as f64 / measure::ticks_per_second() / secs * 100.0;
    Outcome::Tui(Tui {
        label: label.into(),
        hosts,
        settled,
        secs,
        cpu_pct: pct(cpu0, cpu1),
        groups: measure::thread_groups(pid, &tasks0, &tasks1, secs),
        draws: draws.len(),
        unchanged: draws.iter().filter(|d| !d.changed).count(),
        median_draw: median(draws.iter().map(|d| d.bytes).collect()),
        bursts: bursts.len(),
        median_burst: median(bursts.iter().map(|b| b.bytes).collect()),
        bytes: bursts.iter().map(|b| b.bytes as u64).sum(),
        end,
        threads_max: threads_max.max(end.threads),
        exit,
        floor: None,
        bench_cpu_pct: match (self0, self1) {
            (Some(a), Some(b)) => pct(a, b),
            _ => f64::NAN,
        },
    })
}

/// One fleet size: its files, the TUI, and snapshot when this is the size for it.
fn fleet(root: &Path, home: &Home, hosts: usize, st: &Settings, table: &mut Table) {
    let label = format!("{hosts}x20");
    let dir = root.join(format!("fleet-{hosts}"));
    let made = Instant::now();
    let written = std::fs::create_dir_all(&dir)
        .and_then(|_| fleet_files::write(&dir, hosts, &dir.join("history.db")));
    let w = match written {
        Ok(w) => w,
        Err(e) => {
            table.push(&Outcome::Failed {
                label,
                why: format!("cannot write the fleet: {e}"),
            });
            return;
        }
    };
    eprintln!(
        "fleetwatch bench: {hosts} hosts, {} VMs ({:.1} MB of host files in {:.1} s); load {}",
        w.vms,
        w.bytes as f64 / 1e6,
        made.elapsed().as_secs_f64(),
        measure::loadavg()
    );
    let floor = floor::measure(&w.files);
    match &floor {
        Ok(f) => eprintln!(
            "fleetwatch bench: the test driver alone: {:.2} s CPU to open {hosts} hosts, {:.3} s a poll of them all",
            f.connect_s, f.round_s
        ),
        Err(e) => eprintln!("fleetwatch bench: the test driver alone could not be measured: {e}"),
    }
    let floor = floor.ok();
    let log = dir.join("fleetwatch.log");
    let args = [
        OsStr::new("--config"),
        w.config.as_os_str(),
        OsStr::new("--log"),
        log.as_os_str(),
    ];
    let t = Instant::now();
    let mut outcome = tui(&label, &args, home, hosts, st.window);
    if let Outcome::Tui(t) = &mut outcome {
        t.floor = floor;
    }
    eprintln!(
        "fleetwatch bench: {label} done in {:.0} s; load {}",
        t.elapsed().as_secs_f64(),
        measure::loadavg()
    );
    table.push(&outcome);
    if hosts == st.snapshot {
        table.push(&snapshot::run(&w.config, &log, &dir, home, hosts, floor));
    }
    // Thousands of host files: gone before the next size is written.
    if !st.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn main() {
    let began = Instant::now();
    let st = settings();
    let root = match tempfile::Builder::new()
        .prefix("fleetwatch-bench-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => {
            println!("fleetwatch process bench: cannot make a temporary folder: {e}");
            return;
        }
    };
    let home = match Home::new(root.path()) {
        Ok(h) => h,
        Err(e) => {
            println!("fleetwatch process bench: cannot make its folders: {e}");
            return;
        }
    };
    let mut table = Table::new();
    if st.demo {
        let log = root.path().join("demo.log");
        let args = [OsStr::new("--demo"), OsStr::new("--log"), log.as_os_str()];
        table.push(&tui("demo", &args, &home, 5, st.window));
    }
    for &hosts in &st.sizes {
        fleet(root.path(), &home, hosts, &st, &mut table);
    }
    if st.client > 0 {
        for o in client::run(Path::new(BIN), root.path(), &home, st.client, st.window) {
            table.push(&o);
        }
    }
    if st.snapshot > 0 && !st.sizes.contains(&st.snapshot) {
        let hosts = st.snapshot;
        let dir = root.path().join("snapshot");
        let done = std::fs::create_dir_all(&dir)
            .and_then(|_| fleet_files::write(&dir, hosts, &dir.join("history.db")));
        match done {
            Ok(w) => {
                let floor = floor::measure(&w.files).ok();
                table.push(&snapshot::run(
                    &w.config,
                    &dir.join("fleetwatch.log"),
                    &dir,
                    &home,
                    hosts,
                    floor,
                ))
            }
            Err(e) => table.push(&Outcome::SnapshotFailed {
                hosts,
                why: format!("cannot write the fleet: {e}"),
            }),
        }
    }
    println!(
        "\nfleetwatch whole process: real binary in a {}x{} pty, libvirt test driver, {} VMs per host, history on, 2 s polls; \
         window {} s; draws = frames ratatui wrote (each ends hiding the cursor), bursts = output apart by >= {} ms; {} cores, load {}",
        pty::COLS,
        pty::ROWS,
        fleet_files::VMS_PER_HOST,
        st.window.as_secs(),
        pty::FRAME_GAP.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        measure::loadavg()
    );
    table.print();
    println!("\nwhole benchmark: {:.0} s", began.elapsed().as_secs_f64());
    if st.keep {
        println!("kept {}", root.keep().display());
    } else if let Err(e) = root.close() {
        println!("could not remove the temporary folder: {e}");
    }
}
