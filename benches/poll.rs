//! `make bench-poll URI=qemu+tcp://127.0.0.11/system`: the cost of one poll of a real host by
//! fleetwatch's collector, next to the alternatives: a loop of virDomainGetInfo calls (the
//! cheapest way to get state, CPU time and memory), bulk stats with every group, and
//! `virsh domstats` as a process. Needs a running libvirtd; prints why when it has none.

use fleetwatch::collection::libvirt::LibvirtConnector;
use fleetwatch::collection::{ffi, libvirt_init, Connector, Heartbeat};
use std::process::Command;
use std::time::{Duration, Instant};
use virt::connect::Connect;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn time<F: FnMut() -> usize>(n: usize, mut f: F) -> (f64, usize) {
    let mut t = Vec::with_capacity(n);
    let mut fields = 0;
    for _ in 0..n {
        let s = Instant::now();
        fields = f();
        t.push(s.elapsed());
    }
    (median(t), fields)
}

fn main() {
    let Ok(uri) = std::env::var("FLEETWATCH_BENCH_URI") else {
        println!(
            "poll bench skipped: set FLEETWATCH_BENCH_URI (e.g. qemu+tcp://127.0.0.11/system)"
        );
        return;
    };
    libvirt_init();
    let n = 30;
    let slow_every = fleetwatch::config::DEFAULT_SLOW_EVERY;
    let connector = LibvirtConnector {
        writable: Default::default(),
        slow_every,
    };
    let mut source = match connector.connect(&uri) {
        Ok(s) => s,
        Err(e) => {
            println!("poll bench: cannot connect to {uri}: {e}");
            return;
        }
    };
    let conn = Connect::open_read_only(Some(&uri)).expect("second connection");
    let doms = conn.list_all_domains(0).expect("list");
    let running = doms
        .iter()
        .filter(|d| d.is_active().unwrap_or(false))
        .count();
    println!(
        "{uri}: {} domains, {running} running; median of {n} polls, same host, over TCP",
        doms.len()
    );
    println!("{:<58} {:>9} {:>12}", "method", "ms/poll", "fields/VM");

    // Warm the XML cache first: the collector reads XML only for new or changed domains.
    let _ = source.poll(&Heartbeat::new());
    let (ms, vms) = time(n, || {
        source
            .poll(&Heartbeat::new())
            .map(|s| s.domains.len())
            .unwrap_or(0)
    });
    let _ = vms;
    // Polls cycle slow, fast, fast, ...: of 30 polls 6 are slow, so the median is a fast one.
    // Fast: state, reason, CPU time, memory, max memory, vCPUs, net rx/tx (+ host CPU, free
    // memory); slow adds RSS and disk read/write.
    let row = |name: &str, ms: f64, fields: &str| println!("{name:<58} {ms:>9.2} {fields:>12}");
    row(
        "fleetwatch collector, fast poll (state+net bulk, GetInfo)",
        ms,
        "8",
    );
    // Every poll a slow one, in steady state (XML already read).
    let mut every = LibvirtConnector {
        writable: Default::default(),
        slow_every: 1,
    }
    .connect(&uri)
    .expect("connect");
    let _ = every.poll(&Heartbeat::new());
    let (slow, _) = time(n, || {
        every
            .poll(&Heartbeat::new())
            .map(|s| s.domains.len())
            .unwrap_or(0)
    });
    row(
        "fleetwatch collector, slow poll (+balloon+block groups)",
        slow,
        "11",
    );
    let avg = (ms * f64::from(slow_every - 1) + slow) / f64::from(slow_every);
    row(
        &format!("fleetwatch collector, average (1 slow in {slow_every})"),
        avg,
        "11",
    );

    let (ms, _) = time(n, || {
        let doms = conn.list_all_domains(0).unwrap_or_default();
        doms.iter().filter_map(|d| d.info().ok()).count()
    });
    println!(
        "{:<58} {:>9.2} {:>12}",
        "listAllDomains + virDomainGetInfo each", ms, 5
    );

    for (name, groups) in [
        ("bulk stats: state only", 1u32),
        ("bulk stats: state+cpu+balloon+vcpu+net+block (all six)", 63),
        ("bulk stats: state+cpu", 3),
        ("bulk stats: state+balloon", 5),
        ("bulk stats: state+vcpu", 9),
        ("bulk stats: state+interface", 17),
        ("bulk stats: state+block", 33),
    ] {
        let (ms, fields) = time(n, || {
            ffi::all_domain_stats(&conn, groups, 1 << 29)
                .map(|r| r.iter().map(|x| x.params.len()).sum::<usize>() / r.len().max(1))
                .unwrap_or(0)
        });
        println!("{name:<58} {ms:>9.2} {fields:>12}");
    }

    let (ms, _) = time(5, || {
        Command::new("virsh")
            .args(["-r", "-c", &uri, "domstats"])
            .output()
            .map(|o| o.stdout.len())
            .unwrap_or(0)
    });
    println!(
        "{:<58} {:>9.2} {:>12}",
        "virsh domstats (a process, all groups)", ms, "all"
    );
}
