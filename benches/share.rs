//! `make bench`: three recorders sharing one config of 1,000 test-driver hosts (20 varied VMs
//! each) through a real PostgreSQL the bench starts. Reports how the hosts divide, each
//! recorder's and the server's CPU while they record, and, after one of them (a recorder "on
//! another machine": a UTS namespace of its own, so only its leases' age tells the others) is
//! killed with -9, how long until its hosts' leases are taken and until every one of them is
//! recorded again, in poll intervals (issue 14: each about a third; within 3 intervals).
//!
//! FLEETWATCH_BENCH_SHARE_HOSTS=1000, FLEETWATCH_BENCH_SECS=20 (recording window).

// Shared with the process bench, which uses more of them.
#[allow(dead_code)]
#[path = "process/fleet_files.rs"]
mod fleet_files;
#[allow(dead_code)]
#[path = "process/measure.rs"]
mod measure;

use fleetwatch_testkit::postgres::Postgres;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fleetwatch");
const INTERVAL_S: f64 = 2.0;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn recorder(cfg: &Path, data: &Path, elsewhere: bool) -> Child {
    let mut c = if elsewhere {
        fleetwatch_testkit::elsewhere::on_another_machine(BIN.as_ref(), "mgmt-far")
    } else {
        Command::new(BIN)
    };
    c.env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data)
        .arg("--config")
        .arg(cfg)
        .arg("record")
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(data.join(format!("recorder-{}.err", u8::from(elsewhere))))
                .map_or(Stdio::null(), Stdio::from),
        )
        .spawn()
        .expect("start a recorder")
}

/// Holder id -> hosts held with a fresh lease, and how many configured hosts none holds.
fn shares(db: &mut postgres::Client, hosts: usize) -> (Vec<(String, i64)>, i64) {
    let rows = db
        .query(
            "SELECT holder, COUNT(*) FROM leases
             WHERE NOT starts_with(host, '@recorder ')
               AND heartbeat > (extract(epoch FROM clock_timestamp()) * 1000)::bigint - 3 * renew_ms
             GROUP BY holder ORDER BY holder",
            &[],
        )
        .unwrap_or_default();
    let held: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let total: i64 = held.iter().map(|(_, n)| n).sum();
    (held, hosts as i64 - total)
}

fn server_ticks() -> u64 {
    let out = Command::new("pgrep").args(["-u", "postgres"]).output();
    let pids = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    pids.unwrap_or_default()
        .lines()
        .filter_map(|p| p.trim().parse().ok())
        .filter_map(measure::cpu_ticks)
        .sum()
}

fn main() {
    let hosts = env_num("FLEETWATCH_BENCH_SHARE_HOSTS", 1000) as usize;
    let window = Duration::from_secs(env_num("FLEETWATCH_BENCH_SECS", 20));
    let pg = match Postgres::start() {
        Ok(pg) => pg,
        Err(e) => {
            println!("share bench: no PostgreSQL: {e}");
            return;
        }
    };
    let url = pg.create_db("share").expect("db");
    let dir = tempfile::tempdir().expect("temp dir");
    let history = dir.path().join("unused.db");
    let written = fleet_files::write(dir.path(), hosts, &history).expect("host files");
    let text = std::fs::read_to_string(&written.config).expect("config");
    let old = format!(
        "enabled = true\npath = {:?}\n",
        history.display().to_string()
    );
    assert!(text.contains(&old), "the bench config's [history] changed");
    let cfg = dir.path().join("share.toml");
    std::fs::write(&cfg, text.replace(&old, &format!("url = {url:?}\n"))).expect("config");
    let (mut db, _) = fleetwatch_pg::connect(&url, None).expect("connect");

    let started = Instant::now();
    let mut recs: Vec<Child> = [true, false, false]
        .iter()
        .map(|&far| recorder(&cfg, dir.path(), far))
        .collect();
    let limit = Duration::from_secs(env_num("FLEETWATCH_BENCH_SHARE_LIMIT", 300));
    let settled = loop {
        let (held, none) = shares(&mut db, hosts);
        let fair = hosts.div_ceil(3) as i64;
        // Shares are rounded up: two of 334 leave the third 332.
        if held.len() == 3 && none == 0 && held.iter().all(|(_, n)| *n <= fair && *n >= fair - 3) {
            break held;
        }
        if started.elapsed() > limit {
            println!("share bench: not divided within {limit:?}: {held:?}, {none} unheld");
            for f in ["recorder-0.err", "recorder-1.err"] {
                let said = std::fs::read_to_string(dir.path().join(f)).unwrap_or_default();
                // fleetwatch's own lines; libvirt's log lines are the rest.
                let ours: Vec<&str> = said
                    .lines()
                    .filter(|l| l.starts_with("fleetwatch"))
                    .collect();
                println!(
                    "{f}:\n{}",
                    ours.join("\n").chars().take(3000).collect::<String>()
                );
            }
            for r in &mut recs {
                let _ = r.kill();
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let counts: Vec<String> = settled.iter().map(|(_, n)| n.to_string()).collect();
    println!(
        "3 recorders, {hosts} hosts x {} VMs on PostgreSQL: divided {} after {:.1} s",
        fleet_files::VMS_PER_HOST,
        counts.join(" / "),
        started.elapsed().as_secs_f64()
    );
    // Recording: a few intervals to settle, then the window.
    std::thread::sleep(Duration::from_secs(6));
    let tick = measure::ticks_per_second();
    let before: Vec<u64> = recs
        .iter()
        .map(|r| measure::cpu_ticks(r.id()).unwrap_or(0))
        .collect();
    let server0 = server_ticks();
    // How the division holds while they record: each distinct one seen, once a second.
    let mut seen: Vec<String> = Vec::new();
    let until = Instant::now() + window;
    while Instant::now() < until {
        let (held, none) = shares(&mut db, hosts);
        let mut d: Vec<i64> = held.iter().map(|(_, n)| *n).collect();
        d.sort_unstable();
        let d = format!("{d:?}+{none} unheld");
        if seen.last() != Some(&d) {
            seen.push(d);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let secs = window.as_secs_f64();
    for (i, r) in recs.iter().enumerate() {
        let used = measure::cpu_ticks(r.id()).unwrap_or(0) - before[i];
        let rss = measure::status(r.id()).map_or(0, |s| s.rss_kib / 1024);
        println!(
            "  recorder {} ({}): {:.1}% of a core, RSS {rss} MiB",
            i + 1,
            if i == 0 {
                "the far one"
            } else {
                "this machine"
            },
            used as f64 / tick / secs * 100.0
        );
    }
    println!("  divisions seen while recording: {}", seen.join(" → "));
    println!(
        "  the PostgreSQL server: {:.1}% of a core",
        (server_ticks() - server0) as f64 / tick / secs * 100.0
    );

    // The far recorder dies without a word.
    let far_id = recs[0].id();
    let far_holder: String = db
        .query_one(
            "SELECT holder FROM leases WHERE pid = $1 AND NOT starts_with(host, '@recorder ') LIMIT 1",
            &[&i64::from(far_id)],
        )
        .map(|r| r.get(0))
        .unwrap_or_default();
    let far_hosts: Vec<String> = db
        .query(
            "SELECT host FROM leases WHERE holder = $1 AND NOT starts_with(host, '@recorder ')",
            &[&far_holder],
        )
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    let killed_ms: i64 = db
        .query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            &[],
        )
        .map(|r| r.get(0))
        .unwrap_or(0);
    let mut far = recs.remove(0);
    let _ = far.kill();
    let _ = far.wait();
    let killed = Instant::now();
    let (mut taken, mut recorded) = (None, None);
    while recorded.is_none() && killed.elapsed() < Duration::from_secs(120) {
        let (held, none) = shares(&mut db, hosts);
        if taken.is_none() && none == 0 && held.iter().all(|(h, _)| *h != far_holder) {
            taken = Some(killed.elapsed());
        }
        let fresh: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM live_hosts WHERE host = ANY($1) AND recorder <> $2 AND written > $3",
                &[&far_hosts, &far_holder, &killed_ms],
            )
            .map(|r| r.get(0))
            .unwrap_or(0);
        if fresh as usize == far_hosts.len() {
            recorded = Some(killed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let show = |d: Option<Duration>| match d {
        Some(d) => format!(
            "{:.1} s ({:.1} intervals)",
            d.as_secs_f64(),
            d.as_secs_f64() / INTERVAL_S
        ),
        None => "not within 120 s".into(),
    };
    println!(
        "  kill -9 of the far recorder ({} hosts): leases taken after {}, every host recorded again after {} (target: within 3 intervals)",
        far_hosts.len(),
        show(taken),
        show(recorded)
    );
    let (held, _) = shares(&mut db, hosts);
    let counts: Vec<String> = held.iter().map(|(_, n)| n.to_string()).collect();
    println!("  the two left hold {}", counts.join(" / "));
    for mut r in recs {
        let _ = Command::new("kill")
            .args(["-TERM", &r.id().to_string()])
            .status();
        let _ = r.wait();
    }
}
