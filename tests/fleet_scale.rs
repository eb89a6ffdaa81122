#![allow(clippy::unwrap_used)]
//! Threads do not grow with the fleet: 10,000 mock hosts start and sample on the fixed pool,
//! and hung calls add threads only up to their cap. Threads are the kernel's count for this
//! whole test process, so the tests here take turns.

mod mock_hosts;

use fleetwatch_core::link::Update;
use fleetwatch_libvirt::supervisor::{Limits, Timing};
use mock_hosts::*;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The bound the program keeps at any fleet size, hung calls apart.
const MOST_THREADS: usize = 64;

/// This process's threads named like the call pool's.
fn call_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with("fw-call"))
        })
        .count()
}

/// Waits for the threads of collectors dropped before to end.
fn settle() {
    let end = Instant::now() + PATIENCE;
    while call_threads() > 0 {
        assert!(Instant::now() < end, "{} call threads left", call_threads());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `n` healthy hosts and waits for a sample of each, watching the threads meanwhile;
/// returns the most threads seen.
fn fleet_samples(n: usize) -> usize {
    let t = Timing::new(Duration::from_secs(2), Duration::from_secs(10));
    let m = mock(vec![Behaviour::Healthy; n]);
    let (c, mut rx) = launch(&m, t);
    let mut sampled = vec![false; n];
    let mut left = n;
    let mut most = process_threads();
    let end = Instant::now() + Duration::from_secs(300);
    while left > 0 {
        assert!(Instant::now() < end, "{left} of {n} hosts never sampled");
        for msg in rx.try_batch() {
            if let Update::Sample(_) = msg.update
                && !std::mem::replace(&mut sampled[msg.host], true)
            {
                left -= 1;
            }
        }
        most = most.max(process_threads());
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(c);
    most
}

#[test]
fn ten_thousand_hosts_start_and_sample_on_a_fixed_pool_of_threads() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    settle();
    let before = process_threads();
    let at_500 = fleet_samples(500);
    settle();
    let at_10k = fleet_samples(10_000);
    eprintln!("threads: {before} before, {at_500} at 500 hosts, {at_10k} at 10,000 hosts");
    // A thread per host (or three) would be 1,500 at 500 hosts; 10,000 hosts used to abort.
    assert!(at_500 <= MOST_THREADS, "{at_500} threads at 500 hosts");
    assert!(at_10k <= MOST_THREADS, "{at_10k} threads at 10,000 hosts");
    assert!(
        at_10k <= at_500 + 2,
        "threads grew with hosts: {at_500} → {at_10k}"
    );
    settle();
}

#[test]
fn hung_calls_add_threads_only_up_to_their_cap() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    settle();
    // Twenty hosts hang in every connect; four threads, two connects at a time and at most
    // six hung calls. Unspread, the two healthy hosts (first) connect before the limit.
    let mut b = vec![Behaviour::Healthy; 2];
    b.extend([Behaviour::HangsOnConnect; 20]);
    let m = mock(b);
    let gate = m.gate.lock().unwrap();
    let l = Limits {
        threads: 4,
        connects: 2,
        hung_total: 6,
        ..Limits::default()
    };
    let t = Timing {
        spread: false,
        ..timing()
    };
    let (c, mut rx) = launch_limited(&m, t, l);
    let mut log = Vec::new();
    let mut most = 0;
    wait_for(
        &mut rx,
        &mut log,
        "every hanging host refused for the limit",
        |l| {
            most = most.max(call_threads());
            (2..22).all(|h| {
                l.iter()
                    .any(|m| m.is(h, "down") && m.what.contains("hung-call limit"))
            })
        },
    );
    // Polls go on meanwhile: the healthy hosts still sample after all that.
    let now = log.len();
    wait_for(&mut rx, &mut log, "healthy hosts polled on", |l| {
        most = most.max(call_threads());
        (0..2).all(|h| count(&l[now..], h, "sample") >= 3)
    });
    assert!(
        most <= 4 + 6,
        "{most} call threads: the pool of 4 and 6 hung at most"
    );
    assert!(m.in_calls() <= 6 + 1, "{} connects hung", m.in_calls());
    assert!(most > 4, "hung calls were replaced: {most}");
    drop(gate);
    drop(c);
    // The stuck calls return and their threads end with the collectors.
    settle();
}
