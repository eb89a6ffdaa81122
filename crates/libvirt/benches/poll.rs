//! `make bench-poll URI=qemu+tcp://127.0.0.11/system`: the cost of one poll of a real host by
//! fleetwatch's collector in both ways of getting CPU time (a GetInfo per running VM, or the
//! CPU_TOTAL group in the bulk call), in time and round trips, and the way the collector picks
//! there; next to the alternatives: a loop of virDomainGetInfo calls, bulk stats by group, and
//! `virsh domstats` as a process. Needs a running libvirtd; prints why when it has none.

use fleetwatch_core::model::sample::HostSample;
use fleetwatch_libvirt::cost::CpuSource;
use fleetwatch_libvirt::known::Pace;
use fleetwatch_libvirt::libvirt::LibvirtConnector;
use fleetwatch_libvirt::{Connector, Heartbeat, Source, ffi, libvirt_init};
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

fn connector(slow_every: u32, pace: Pace, cpu: Option<CpuSource>) -> LibvirtConnector {
    LibvirtConnector {
        writable: Default::default(),
        slow_every,
        interval: Duration::from_secs(2),
        pace,
        cpu,
    }
}

fn poll(s: &mut Box<dyn Source>) -> Option<HostSample> {
    s.poll(&Heartbeat::new()).ok()
}

/// Median time and round trips of `n` polls of a connection whose XML has been read.
fn steady(uri: &str, n: usize, slow_every: u32, cpu: Option<CpuSource>) -> (f64, u32, String) {
    // Eager: the first poll reads every XML, so the timed ones measure statistics only.
    let mut s = connector(slow_every, Pace::Eager, cpu)
        .connect(uri, &Heartbeat::new())
        .expect("connect");
    // Two slow polls come first on every connection; with slow_every 1 all are slow.
    for _ in 0..2 {
        let _ = poll(&mut s);
    }
    let mut calls = Vec::with_capacity(n);
    let mut last = None;
    let (ms, _) = time(n, || {
        let p = poll(&mut s);
        calls.push(p.as_ref().map_or(0, |p| p.calls));
        let vms = p.as_ref().map_or(0, |p| p.domains.len());
        last = p;
        vms
    });
    calls.sort_unstable();
    let rtt = last
        .and_then(|p| p.rtt_micros)
        .map_or("-".into(), |u| format!("{:.2}", u as f64 / 1000.0));
    (ms, calls[calls.len() / 2], rtt)
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
    let slow_every = fleetwatch_core::config::DEFAULT_SLOW_EVERY;
    if let Err(e) = connector(slow_every, Pace::Trickle, None).connect(&uri, &Heartbeat::new()) {
        println!("poll bench: cannot connect to {uri}: {e}");
        return;
    }
    let conn = Connect::open_read_only(Some(&uri)).expect("second connection");
    let doms = conn.list_all_domains(0).expect("list");
    let running = doms
        .iter()
        .filter(|d| d.is_active().unwrap_or(false))
        .count();
    println!(
        "{uri}: {} domains, {running} running; median of {n} polls",
        doms.len()
    );
    println!(
        "{:<58} {:>9} {:>6} {:>8}",
        "method", "ms/poll", "calls", "rtt ms"
    );
    let row = |name: &str, ms: f64, calls: &str, rtt: &str| {
        println!("{name:<58} {ms:>9.2} {calls:>6} {rtt:>8}")
    };
    let mut fast_calls_of = Vec::new();
    for (way, label) in [
        (CpuSource::PerVm, "GetInfo per VM"),
        (CpuSource::Bulk, "bulk CPU_TOTAL"),
    ] {
        // Fast: state+interface (+cpu) bulk and node CPU; slow adds balloon, block (and vcpu).
        let (fast, fast_calls, rtt) = steady(&uri, n, u32::MAX, Some(way));
        fast_calls_of.push((way, fast_calls));
        row(
            &format!("collector, fast poll, {label}"),
            fast,
            &fast_calls.to_string(),
            &rtt,
        );
        let (slow, slow_calls, rtt) = steady(&uri, n, 1, Some(way));
        row(
            &format!("collector, slow poll, {label}"),
            slow,
            &slow_calls.to_string(),
            &rtt,
        );
        let avg = (fast * f64::from(slow_every - 1) + slow) / f64::from(slow_every);
        row(
            &format!("collector, average (1 slow in {slow_every}), {label}"),
            avg,
            "",
            "",
        );
    }
    // The way the collector picks on this host, once it has measured both.
    let mut chosen = connector(u32::MAX, Pace::Eager, None)
        .connect(&uri, &Heartbeat::new())
        .expect("connect");
    for _ in 0..8 {
        let _ = poll(&mut chosen);
    }
    let mut calls = 0;
    let (ms, _) = time(n, || {
        let p = poll(&mut chosen);
        calls = p.as_ref().map_or(0, |p| p.calls);
        p.map_or(0, |p| p.domains.len())
    });
    // Told apart by their round trips; a driver without bulk CPU (the test driver) has one way.
    let ways: Vec<CpuSource> = fast_calls_of
        .iter()
        .filter(|(_, c)| *c == calls)
        .map(|(w, _)| *w)
        .collect();
    let way = match ways.as_slice() {
        [CpuSource::PerVm] => "GetInfo per VM",
        [CpuSource::Bulk] => "bulk CPU_TOTAL",
        _ => "either (same calls)",
    };
    row(
        &format!("collector, fast poll, chosen by cost: {way}"),
        ms,
        &calls.to_string(),
        "",
    );
    // What a reconnect costs: the first poll of a trickle reads a bounded share of the XML.
    let mut fresh = connector(slow_every, Pace::Trickle, None)
        .connect(&uri, &Heartbeat::new())
        .expect("connect");
    let t = Instant::now();
    let first = poll(&mut fresh);
    row(
        "collector, first poll after connect (XML trickle)",
        t.elapsed().as_secs_f64() * 1000.0,
        &first.as_ref().map_or(0, |p| p.calls).to_string(),
        &first
            .and_then(|p| p.rtt_micros)
            .map_or("-".into(), |u| format!("{:.2}", u as f64 / 1000.0)),
    );

    let (ms, _) = time(n, || {
        let doms = conn.list_all_domains(0).unwrap_or_default();
        doms.iter().filter_map(|d| d.info().ok()).count()
    });
    row(
        "listAllDomains + virDomainGetInfo each",
        ms,
        &(1 + running).to_string(),
        "",
    );
    for (name, groups) in [
        ("bulk stats: state only", 1u32),
        ("bulk stats: state+cpu+balloon+vcpu+net+block (all six)", 63),
        ("bulk stats: state+cpu", 3),
        ("bulk stats: state+balloon", 5),
        ("bulk stats: state+vcpu", 9),
        ("bulk stats: state+interface", 17),
        ("bulk stats: state+interface+cpu", 19),
        ("bulk stats: state+block", 33),
    ] {
        let (ms, _) = time(n, || {
            ffi::all_domain_stats(&conn, groups, 1 << 29)
                .map(|r| r.len())
                .unwrap_or(0)
        });
        row(name, ms, "1", "");
    }

    let (ms, _) = time(5, || {
        Command::new("virsh")
            .args(["-r", "-c", &uri, "domstats"])
            .output()
            .map(|o| o.stdout.len())
            .unwrap_or(0)
    });
    row("virsh domstats (a process, all groups)", ms, "", "");
}
