#![allow(clippy::unwrap_used)]
//! The collectors' bounds against mock hosts: connects at once, hung calls capped and their
//! threads replaced, polls and reconnects spread over time, actions on a small pool.

mod mock_hosts;

use fleetwatch_core::actions::{ActionKind, ActionRequest, Expect};
use fleetwatch_core::model::sample::VmState;
use fleetwatch_libvirt::supervisor::{Limits, Timing};
use mock_hosts::*;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

#[test]
fn connects_at_once_never_exceed_the_limit() {
    // Sixty hosts whose connects take 60 ms each, answered call by call.
    let m = mock(vec![Behaviour::SlowConnect { calls: 3, each: 20 }; 60]);
    let (c, mut rx) = launch_limited(&m, timing(), limits(|l| l.connects = 4));
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "every host sampled", |l| {
        (0..60).all(|h| count(l, h, "sample") >= 1)
    });
    let most = m.most_in_calls();
    assert!(most <= 4, "{most} connects at once, past the limit of 4");
    assert!(
        most >= 2,
        "connects should still overlap up to the limit: {most}"
    );
    assert_eq!(
        count(&log, 0, "down"),
        0,
        "a host waiting for a slot is not down"
    );
    drop(c);
}

#[test]
fn a_retry_waiting_for_a_connect_slot_says_so() {
    // One slot. Unspread, host 0 connects first and is refused; the slow hosts take the slot
    // while its retry comes due.
    let t = Timing {
        spread: false,
        ..timing()
    };
    let slow = Behaviour::SlowConnect {
        calls: 10,
        each: 50,
    };
    let m = mock(vec![Behaviour::RefusesFirst(1), slow, slow]);
    let (c, mut rx) = launch_limited(&m, t, limits(|l| l.connects = 1));
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "host 0 sampled", |l| {
        count(l, 0, "sample") >= 1
    });
    let waiting = log
        .iter()
        .position(|m| m.is(0, "connecting:waiting for a free connect slot (at most 1"))
        .unwrap_or_else(|| panic!("no wait shown: {log:#?}"));
    let down = log.iter().position(|m| m.is(0, "down")).unwrap();
    assert!(down < waiting, "{log:#?}");
    assert_eq!(m.most_in_calls(), 1);
    drop(c);
}

#[test]
fn hung_calls_are_replaced_so_the_pool_keeps_serving() {
    // Two threads and two hosts that hang in every poll: without replacements both threads
    // would be stuck and the healthy hosts would never be polled again.
    let m = mock(vec![
        Behaviour::HangsOnPoll,
        Behaviour::HangsOnPoll,
        Behaviour::Healthy,
        Behaviour::Healthy,
    ]);
    let gate = m.gate.lock().unwrap();
    let (c, mut rx) = launch_limited(&m, timing(), limits(|l| l.threads = 2));
    let mut log = Vec::new();
    wait_for(
        &mut rx,
        &mut log,
        "both hung, then 5 polls each of the others",
        |l| {
            let last_down = (0..2)
                .filter_map(|h| l.iter().position(|m| m.is(h, "down")))
                .max();
            (0..2).all(|h| count(l, h, "down") >= 1)
                && last_down.is_some_and(|d| (2..4).all(|h| count(&l[d..], h, "sample") >= 5))
        },
    );
    assert!(
        log.iter().any(|m| m.is(0, "down:no answer within")),
        "{log:#?}"
    );
    assert!(
        m.in_polls.now.load(Ordering::SeqCst) >= 2,
        "the hung calls are still hung"
    );
    drop(gate);
    wait_for(&mut rx, &mut log, "the hung hosts back", |l| {
        (0..2).all(|h| count(l, h, "sample") >= 1)
    });
    drop(c);
}

#[test]
fn past_the_hung_call_limit_hosts_wait_and_say_why() {
    // Five hosts hang in every poll; at most three hung calls are kept in all, one per host
    // (so no host hangs twice before the limit holds: past the cap the pool shrinks with each
    // call that hangs, and more hung calls than threads would leave it serving nobody).
    let mut b = vec![Behaviour::HangsOnPoll; 5];
    b.extend([Behaviour::Healthy; 3]);
    let m = mock(b);
    let gate = m.gate.lock().unwrap();
    let l = limits(|l| {
        l.threads = 4;
        l.hung_total = 3;
        l.hung_per_host = 1;
    });
    let (c, mut rx) = launch_limited(&m, timing(), l);
    let mut log = Vec::new();
    wait_for(
        &mut rx,
        &mut log,
        "the limit shown, healthy hosts polled on",
        |l| {
            let limited = l
                .iter()
                .position(|m| m.what.contains("the hung-call limit is reached"));
            limited.is_some_and(|i| (5..8).all(|h| count(&l[i..], h, "sample") >= 5))
        },
    );
    // The pool's threads plus the cap: never more calls in flight than that.
    let polls = m.in_polls.most.load(Ordering::SeqCst);
    assert!(polls <= 4 + 3, "{polls} polls in flight at once");
    // The limit is a wait, retried with back-off, not a final verdict.
    let limited = log
        .iter()
        .find(|m| m.what.contains("hung-call limit"))
        .unwrap();
    assert!(limited.what.starts_with("down:") && limited.retry.is_some());
    drop(gate);
    wait_for(&mut rx, &mut log, "every host back", |l| {
        (0..5).all(|h| {
            l.iter().rposition(|m| m.is(h, "sample")) > l.iter().rposition(|m| m.is(h, "down"))
        })
    });
    drop(c);
}

#[test]
fn first_polls_are_spread_over_the_interval_and_stay_spread() {
    let n = 200;
    let t = Timing::new(Duration::from_secs(2), Duration::from_secs(10));
    let m = mock(vec![Behaviour::Healthy; n]);
    let t0 = Instant::now();
    let (c, mut rx) = launch(&m, t);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "two samples of every host", |l| {
        (0..n).all(|h| count(l, h, "sample") >= 2)
    });
    let nth = |h: usize, k: usize| log.iter().filter(|m| m.is(h, "sample")).nth(k).unwrap().at;
    let firsts: Vec<Duration> = (0..n).map(|h| nth(h, 0) - t0).collect();
    let early = firsts
        .iter()
        .filter(|d| **d < Duration::from_millis(100))
        .count();
    // Uniform over 2 s puts about 10 of 200 in the first 100 ms; lockstep puts all 200.
    assert!(
        early <= n / 5,
        "{early} of {n} hosts polled in the first 100 ms"
    );
    let span = |v: &[Duration]| *v.iter().max().unwrap() - *v.iter().min().unwrap();
    assert!(
        span(&firsts) >= Duration::from_secs(1),
        "{:?}",
        span(&firsts)
    );
    // Each host keeps its own offset: its second poll one interval after its first, so the
    // second round is as spread as the first.
    let seconds: Vec<Duration> = (0..n).map(|h| nth(h, 1) - t0).collect();
    assert!(
        span(&seconds) >= Duration::from_secs(1),
        "{:?}",
        span(&seconds)
    );
    for h in 0..n {
        let gap = nth(h, 1) - nth(h, 0);
        assert!(
            gap >= Duration::from_millis(1_500),
            "host {h}: {gap:?} between polls"
        );
    }
    drop(c);
}

#[test]
fn reconnect_waits_are_drawn_between_half_the_back_off_and_all_of_it() {
    let t = Timing {
        backoff_start: Duration::from_millis(100),
        backoff_cap: Duration::from_millis(100),
        ..timing()
    };
    let n = 20;
    let (_m, c, mut rx) = start_with(vec![Behaviour::RefusesConnect; n], t);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "three refusals of every host", |l| {
        (0..n).all(|h| count(l, h, "down") >= 3)
    });
    let waits: Vec<Duration> = log
        .iter()
        .filter_map(|m| m.retry.map(|r| r.at.saturating_duration_since(m.at)))
        .collect();
    for w in &waits {
        // The shown time is the one waited for: within [50 ms, 100 ms] of the failure.
        assert!(
            *w + Duration::from_millis(1) >= Duration::from_millis(50)
                && *w <= Duration::from_millis(100),
            "{w:?}"
        );
    }
    // Not one wait for all: without jitter every one would be 100 ms.
    let (lo, hi) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
    assert!(
        *hi - *lo >= Duration::from_millis(25),
        "waits {lo:?} to {hi:?}"
    );
    drop(c);
}

#[test]
fn actions_run_on_a_small_pool_one_at_a_time_per_host_in_order() {
    let running = Arc::new(InFlight::default());
    let actor = Arc::new(SlowActor {
        each: Duration::from_millis(100),
        running: running.clone(),
    });
    let n = 6;
    let m = mock_acting(vec![Behaviour::Healthy; n], actor);
    let (c, mut rx) = launch_limited(&m, timing(), limits(|l| l.actions = 2));
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "every host sampled", |l| {
        (0..n).all(|h| count(l, h, "sample") >= 1)
    });
    let req = |id: u64| ActionRequest {
        id,
        kind: ActionKind::Start,
        expect: Expect {
            uuid: "u".into(),
            name: "vm".into(),
            host: "h".into(),
            state: VmState::Shutoff,
        },
    };
    for h in 0..n {
        for k in 1..=2 {
            c.act(h, req(h as u64 * 10 + k)).unwrap();
        }
    }
    wait_for(&mut rx, &mut log, "every action done", |l| {
        (0..n).all(|h| count(l, h, "action:Done") == 2)
    });
    for h in 0..n {
        let seq: Vec<String> = log
            .iter()
            .filter(|m| m.is(h, "action:"))
            .map(|m| m.what.split([' ', '{']).next().unwrap_or("").to_owned())
            .collect();
        assert_eq!(
            seq,
            ["action:Running", "action:Progress", "action:Done"].repeat(2),
            "host {h}"
        );
        let ids: Vec<String> = log
            .iter()
            .filter(|m| m.is(h, "action:Done"))
            .map(|m| m.what.clone())
            .collect();
        let (a, b) = (h * 10 + 1, h * 10 + 2);
        assert!(ids[0].contains(&format!("id: {a}")) && ids[1].contains(&format!("id: {b}")));
        assert!(ids.iter().all(|d| d.contains("Ok(")), "{ids:?}");
    }
    let most = running.most.load(Ordering::SeqCst);
    assert_eq!(most, 2, "actions at once on a pool of 2");
    assert_eq!(
        c.act(n, req(1)),
        Err(fleetwatch_libvirt::ActError::NoSuchHost)
    );
    drop(c);
}

#[test]
fn an_evacuations_migrations_run_side_by_side_up_to_the_limit_and_nothing_else_beside_them() {
    let running = Arc::new(InFlight::default());
    let actor = Arc::new(SlowActor {
        each: Duration::from_millis(150),
        running: running.clone(),
    });
    let m = mock_acting(vec![Behaviour::Healthy], actor);
    let (c, mut rx) = launch_limited(
        &m,
        timing(),
        limits(|l| {
            l.actions = 4;
            l.migrations_per_host = 2;
        }),
    );
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "the host sampled", |l| {
        count(l, 0, "sample") >= 1
    });
    let req = |id: u64, kind: ActionKind| ActionRequest {
        id,
        kind,
        expect: Expect {
            uuid: format!("u-{id}"),
            name: "vm".into(),
            host: "h".into(),
            state: VmState::Running,
        },
    };
    let migrate = || ActionKind::Migrate {
        to: 1,
        to_name: "other".into(),
        to_uri: "test:///default".into(),
        copy_storage: false,
    };
    for id in 1..=3 {
        c.act(0, req(id, migrate())).unwrap();
    }
    c.act(0, req(4, ActionKind::Shutdown)).unwrap();
    wait_for(&mut rx, &mut log, "every action done", |l| {
        count(l, 0, "action:Done") == 4
    });
    assert_eq!(
        running.most.load(Ordering::SeqCst),
        2,
        "two migrations at once, not three"
    );
    // The shutdown, asked after them, waits for all three to end and runs alone.
    let events: Vec<&str> = log
        .iter()
        .filter(|m| m.is(0, "action:Running") || m.is(0, "action:Done"))
        .map(|m| m.what.as_str())
        .collect();
    let started_4 = events
        .iter()
        .position(|e| e.starts_with("action:Running") && e.contains("id: 4"))
        .unwrap();
    let done: Vec<usize> = (1..=3)
        .map(|id| {
            events
                .iter()
                .position(|e| e.starts_with("action:Done") && e.contains(&format!("id: {id},")))
                .unwrap_or_else(|| panic!("{id} not done: {events:?}"))
        })
        .collect();
    assert!(done.iter().all(|d| *d < started_4), "{events:?}");
    drop(c);
}
