//! `make bench`: the PostgreSQL store at scale, on a real server this starts (Debian's
//! postgresql, a cluster in a temporary folder on 127.0.0.1, stopped at the end). Filled from
//! the same month of 1,000 VMs as the SQLite store's benchmark (`testkit::month`), it times the
//! queries of an incident and reports the database's size; then the recorder's cost per 2 s
//! poll cycle at 10,000 VMs, in this process and in the server's backend, beside SQLite's on
//! the same samples. Targets (issue 14): `at` < 100 ms, 30 days of migrations < 100 ms,
//! recorder < 5% of a core at 10,000 VMs.

use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::RecordStore;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_pg::PgStore;
use fleetwatch_testkit::month::{self, Row, VMS};
use fleetwatch_testkit::postgres::Postgres;
use std::io::Write;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// NULL in COPY's text format, or the value.
fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "\\N".into(), |v| v.to_string())
}

/// Fills with COPY, one stream per table: the month's rows in seconds, not minutes.
fn fill(url: &str, now: i64) -> (usize, usize, usize) {
    let (mut c, _) = fleetwatch_pg::connect(url, None).expect("connect");
    fleetwatch_pg::migrate(&mut c).expect("schema");
    let (mut hosts, mut vms, mut stats, mut events, mut placements) = (
        String::new(),
        String::new(),
        Vec::new(),
        String::new(),
        String::new(),
    );
    let (mut n_stats, mut n_events, mut n_placements) = (0, 0, 0);
    month::generate(now, |r| match r {
        Row::Host { id, name, uri } => hosts.push_str(&format!("{id}\t{name}\t{uri}\n")),
        Row::Vm { id, uuid, name } => vms.push_str(&format!("{id}\t{uuid}\t{name}\n")),
        Row::Stat {
            vm,
            level,
            at,
            n,
            cpu,
        } => {
            n_stats += 1;
            let _ = writeln!(
                stats,
                "v\t{vm}\t{level}\t{at}\t{n}\t{cpu}\t{}\t2e9\t2e9\t5e5\t5e5\t1e5\t1e5",
                cpu * 1.3
            );
        }
        Row::Event {
            at,
            kind,
            vm,
            host,
            moved,
        } => {
            n_events += 1;
            events.push_str(&format!(
                "{at}\t{kind}\t{vm}\t{host}\t{}\t{}\t{}\texternal\t\n",
                opt(moved.map(|m| m.0)),
                opt(moved.map(|m| m.1)),
                opt(moved.map(|m| m.2))
            ));
        }
        Row::Placement {
            vm,
            host,
            state,
            since,
            until,
        } => {
            n_placements += 1;
            placements.push_str(&format!(
                "{vm}\t{host}\t{state}\t2\t2147483648\t{since}\t{}\n",
                opt(until)
            ));
        }
    });
    let copy = |c: &mut postgres::Client, sql: &str, data: &[u8]| {
        let mut w = c.copy_in(sql).expect(sql);
        w.write_all(data).expect("copy");
        w.finish().expect("copy");
    };
    // Ids are the generator's: identity columns take them when told to.
    copy(
        &mut c,
        "COPY hosts (id, name, uri) FROM STDIN",
        hosts.as_bytes(),
    );
    copy(
        &mut c,
        "COPY vms (id, uuid, name) FROM STDIN",
        vms.as_bytes(),
    );
    copy(
        &mut c,
        "COPY stats (kind, id, level, at, n, cpu, cpu_max, mem, mem_max, disk, disk_max, net, net_max) FROM STDIN",
        &stats,
    );
    copy(
        &mut c,
        "COPY events (at, kind, vm_id, host_id, from_host_id, to_host_id, started_at, actor, detail) FROM STDIN",
        events.as_bytes(),
    );
    copy(
        &mut c,
        "COPY placements (vm_id, host_id, state, vcpus, memory_bytes, since, until) FROM STDIN",
        placements.as_bytes(),
    );
    c.batch_execute("VACUUM ANALYZE").expect("analyze");
    (n_stats, n_events, n_placements)
}

fn store_queries(pg: &Postgres) {
    let url = pg.create_db("month").expect("db");
    let now = chrono::Utc::now().timestamp_millis();
    let t = Instant::now();
    let (stats, events, placements) = fill(&url, now);
    println!(
        "history on PostgreSQL: {VMS} VMs over 30 days: {stats} statistics rows, {events} events, \
         {placements} placements (filled in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let (mut c, _) = fleetwatch_pg::connect(&url, None).expect("connect");
    let size: i64 = c
        .query_one("SELECT pg_database_size(current_database())", &[])
        .expect("size")
        .get(0);
    println!(
        "{:<52} {:>10.1} MB   (SQLite's file for the same month: see the history bench)",
        "database size",
        size as f64 / 1e6
    );
    let r = PgStore::open_ro(&url, None).expect("read");
    month::incident_queries(&r, now);
}

/// CPU seconds of one process (user + system), from /proc: ours, or the server's backend.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // After the command: state is not a number, so utime and stime are the 11th and 12th.
    let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
    ticks as f64 / 100.0
}

const HOSTS: usize = 500;
const PER_HOST: usize = 20;
const WARMUP: u64 = 3;
const CYCLES: u64 = 40;

/// Cycles of every host's poll, 2 s apart, fed to a recorder in batches of 256 messages.
fn feed(rec: &mut Recorder, t0: Instant, wall0: i64) -> Duration {
    let mut spent = Duration::ZERO;
    // The collectors keep a VM's config (one Arc) until its XML changes: so does the feed, or
    // every poll would look like every VM's XML read anew.
    let mut kept: std::collections::HashMap<String, _> = std::collections::HashMap::new();
    for cycle in 0..WARMUP + CYCLES {
        let secs = 10 + cycle * 2;
        let (_, mut samples) = fleetwatch_testkit::synthetic(HOSTS, PER_HOST, t0, secs);
        for d in samples.iter_mut().flat_map(|s| s.domains.iter_mut()) {
            let c = kept
                .entry(d.uuid.clone())
                .or_insert_with(|| d.config.clone());
            d.config.clone_from(c);
        }
        let at = wall0 + secs as i64 * 1000;
        let msgs: Vec<Message> = samples
            .into_iter()
            .enumerate()
            .map(|(host, mut s)| {
                s.wall = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default();
                Message {
                    host,
                    at: t0,
                    update: Update::Sample(std::sync::Arc::new(s)),
                }
            })
            .collect();
        let t = Instant::now();
        for batch in msgs.chunks(256) {
            rec.record_batch(batch, at).expect("record");
        }
        if cycle >= WARMUP {
            spent += t.elapsed();
        }
    }
    spent
}

fn recorder_cost<S: RecordStore + Send + 'static>(label: &str, store: S, server_pid: Option<u32>) {
    let t0 = Instant::now();
    let (configs, _) = fleetwatch_testkit::synthetic(HOSTS, PER_HOST, t0, 0);
    let wall0 = chrono::Utc::now().timestamp_millis();
    let mut rec = Recorder::start(store, HistoryConfig::default(), &configs, wall0).expect("start");
    let me = std::process::id();
    let (ours0, server0) = (cpu_s(me), server_pid.map(cpu_s));
    let wall = feed(&mut rec, t0, wall0);
    let ours = cpu_s(me) - ours0;
    let recorded_s = CYCLES as f64 * 2.0;
    // Before the stop: it closes the connection, and the backend with it.
    let server = server_pid.map(|p| cpu_s(p) - server0.unwrap_or(0.0));
    rec.stop();
    println!(
        "{:<52} {:>6.2}% of a core here{}   ({} cycles, {:.0} ms of wall a cycle)",
        format!("recorder at {} VMs, {label}", HOSTS * PER_HOST),
        ours / recorded_s * 100.0,
        server.map_or(String::new(), |s| format!(
            " + {:.2}% in the server",
            s / recorded_s * 100.0
        )),
        CYCLES,
        ms(wall) / CYCLES as f64
    );
}

fn main() {
    let pg = match Postgres::start() {
        Ok(pg) => pg,
        Err(e) => {
            println!("PostgreSQL store bench: no server: {e}");
            return;
        }
    };
    store_queries(&pg);
    let dir = tempfile::tempdir().expect("temp dir");
    recorder_cost(
        "SQLite",
        SqliteStore::open_rw(&dir.path().join("h.db")).expect("sqlite"),
        None,
    );
    let url = pg.create_db("recorder").expect("db");
    let store = PgStore::open_rw(&url, None).expect("pg");
    let pid: i32 = {
        let (mut c, _) = fleetwatch_pg::connect(&url, None).expect("connect");
        // The store's own backend is the newest connection to this database but ours.
        c.query_one(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
             AND pid <> pg_backend_pid() ORDER BY backend_start DESC LIMIT 1",
            &[],
        )
        .expect("backend")
        .get(0)
    };
    recorder_cost("PostgreSQL", store, Some(pid as u32));
}
