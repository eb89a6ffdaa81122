#![allow(clippy::unwrap_used)]
//! Hosts watched and let go while the collectors run (a recorder whose share changed): the
//! kept hosts keep their connections, a host let go is closed and silent, even when it was let
//! go in the middle of a call, and one watched again connects anew.

mod mock_hosts;

use fleetwatch_core::link::Mailbox;
use fleetwatch_libvirt::supervisor::{Collectors, Limits};
use mock_hosts::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn launch_watching(
    mock: &Arc<Mock>,
    watched: &[bool],
) -> (Collectors, fleetwatch_core::link::MailboxReceiver) {
    let n = mock.behaviour.len();
    let (tx, rx) = Mailbox::new(n);
    let uris: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let c = Collectors::start_watching(
        &uris,
        watched,
        timing(),
        Limits::default(),
        mock.clone(),
        tx,
    )
    .unwrap();
    (c, rx)
}

/// Waits until `cond` holds of the mock, reading the mailbox meanwhile.
fn until(
    rx: &mut fleetwatch_core::link::MailboxReceiver,
    log: &mut Vec<Seen>,
    what: &str,
    mut cond: impl FnMut() -> bool,
) {
    wait_for(rx, log, what, |_| cond());
}

#[test]
fn a_share_change_closes_the_hosts_let_go_and_reconnects_none_of_the_kept_ones() {
    let m = mock(vec![Behaviour::Healthy; 4]);
    let (c, mut rx) = launch_watching(&m, &[true, true, false, false]);
    let mut log = Vec::new();
    wait_for(
        &mut rx,
        &mut log,
        "two samples each from hosts 0 and 1",
        |l| count(l, 0, "sample") >= 2 && count(l, 1, "sample") >= 2,
    );
    assert!(
        log.iter().all(|s| s.host < 2),
        "an unwatched host spoke: {log:#?}"
    );
    assert_eq!((m.connects(2), m.connects(3)), (0, 0));

    c.watch_only(vec![false, true, true, false]);
    until(&mut rx, &mut log, "host 0's connection closed", || {
        m.closed(0) == 1
    });
    let mark = log.len();
    wait_for(&mut rx, &mut log, "host 2 sampled and host 1 on", |l| {
        count(&l[mark..], 2, "sample") >= 2 && count(&l[mark..], 1, "sample") >= 2
    });
    // What host 0 had sent before its close may still be read; nothing after it.
    let quiet = log.len();
    wait_for(&mut rx, &mut log, "five more host-1 samples", |l| {
        count(&l[quiet..], 1, "sample") >= 5
    });
    assert_eq!(
        count(&log[quiet..], 0, ""),
        0,
        "host 0 spoke after its close"
    );
    assert_eq!(m.connects(1), 1, "a kept host was reconnected");
    assert_eq!(m.closed(1), 0, "a kept host's connection was closed");
    assert_eq!((m.connects(0), m.connects(2), m.connects(3)), (1, 1, 0));

    // Watched again, it connects anew.
    c.watch_only(vec![true, true, true, false]);
    let again = log.len();
    wait_for(&mut rx, &mut log, "host 0 sampled again", |l| {
        count(&l[again..], 0, "sample") >= 1
    });
    assert_eq!(m.connects(0), 2);
    assert_eq!(m.connects(1), 1);
    drop(c);
}

#[test]
fn a_host_let_go_in_the_middle_of_a_poll_sends_nothing_from_it() {
    let m = mock(vec![Behaviour::HangsOnPoll, Behaviour::Healthy]);
    let gate = m.gate.lock().unwrap();
    let (c, mut rx) = launch_watching(&m, &[true, true]);
    let mut log = Vec::new();
    until(&mut rx, &mut log, "host 0 inside its poll", || {
        m.in_polls.now.load(std::sync::atomic::Ordering::SeqCst) >= 1
    });
    c.watch_only(vec![false, true]);
    // Let go before the poll returns; its sample is not sent, its connection is closed.
    std::thread::sleep(Duration::from_millis(20));
    drop(gate);
    until(&mut rx, &mut log, "host 0 closed", || m.closed(0) >= 1);
    let quiet = log.len();
    wait_for(&mut rx, &mut log, "host 1 going on", |l| {
        count(&l[quiet..], 1, "sample") >= 10
    });
    assert_eq!(
        count(&log, 0, "sample"),
        0,
        "the let-go poll's sample was sent"
    );
    assert!(
        log[quiet..].iter().all(|s| s.host == 1),
        "host 0 spoke after it was let go: {log:#?}"
    );
    drop(c);
}

#[test]
fn a_host_let_go_while_connecting_is_closed_and_watched_again_connects_anew() {
    let m = mock(vec![Behaviour::HangsOnConnect]);
    let gate = m.gate.lock().unwrap();
    let (c, mut rx) = launch_watching(&m, &[true]);
    let mut log = Vec::new();
    until(&mut rx, &mut log, "host 0 connecting", || m.in_calls() >= 1);
    c.watch_only(vec![false]);
    std::thread::sleep(Duration::from_millis(20));
    drop(gate);
    until(&mut rx, &mut log, "the late connection closed", || {
        m.closed(0) >= 1
    });
    // Six intervals parked: no connect, no sample.
    let t = Instant::now();
    wait_for(&mut rx, &mut log, "300 ms parked", |_| {
        t.elapsed() >= Duration::from_millis(300)
    });
    assert_eq!(m.connects(0), 1, "a parked host was connected again");
    assert_eq!(count(&log, 0, "sample"), 0);
    c.watch_only(vec![true]);
    wait_for(&mut rx, &mut log, "a sample once watched again", |l| {
        count(l, 0, "sample") >= 1
    });
    assert_eq!(m.connects(0), 2);
    drop(c);
}
