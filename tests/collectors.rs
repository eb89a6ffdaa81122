#![allow(clippy::unwrap_used)]
//! The supervisor against hosts that hang, fail and recover, with a mock connector: no
//! hypervisor needed, and the shipped libvirt path is not involved.

use fleetwatch_testkit as support;

use fleetwatch_core::link::{LinkState, Message, Retry, Update};
use fleetwatch_core::model::sample::{HostSample, VmState};
use fleetwatch_libvirt::supervisor::{Collectors, Timing};
use fleetwatch_libvirt::{Connector, Heartbeat, Source, SourceError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Behaviour {
    Healthy,
    /// Polls block until the gate opens.
    HangsOnPoll,
    RefusesConnect,
    /// Refuses the first N connects, then works.
    RefusesFirst(usize),
    /// Every poll makes `calls` calls of `each` ms, reporting progress after each: a far host.
    SlowButSteady {
        calls: u32,
        each: u64,
    },
    /// The first poll makes `calls` calls of `each` ms, then hangs until the gate opens.
    ProgressThenHang {
        calls: u32,
        each: u64,
    },
    /// Every connection panics inside its Nth poll (1-based).
    PanicsOnPoll(u64),
    /// The first N connects panic, then it works.
    PanicsOnConnect(usize),
    /// Connects block until the gate opens.
    HangsOnConnect,
    /// Every connect makes `calls` calls of `each` ms, reporting progress after each.
    SlowConnect {
        calls: u32,
        each: u64,
    },
}

struct Mock {
    behaviour: Vec<Behaviour>,
    connects: Vec<AtomicUsize>,
    gate: Arc<Mutex<()>>,
    /// Connects in progress right now, and the most ever at once: the worker threads stuck in
    /// a call.
    in_calls: Arc<AtomicUsize>,
    most_in_calls: Arc<AtomicUsize>,
}

/// Counts a connect while it lasts (a panic unwinding through it included).
struct InCall(Arc<AtomicUsize>);

impl InCall {
    fn new(m: &Mock) -> InCall {
        let now = m.in_calls.fetch_add(1, Ordering::SeqCst) + 1;
        m.most_in_calls.fetch_max(now, Ordering::SeqCst);
        InCall(m.in_calls.clone())
    }
}

impl Drop for InCall {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct MockSource {
    host: usize,
    behaviour: Behaviour,
    gate: Arc<Mutex<()>>,
    polls: u64,
}

impl Source for MockSource {
    fn poll(&mut self, progress: &Heartbeat) -> Result<HostSample, SourceError> {
        let calls = |n: u32, each: u64| {
            for _ in 0..n {
                std::thread::sleep(Duration::from_millis(each));
                progress.beat();
            }
        };
        match self.behaviour {
            Behaviour::HangsOnPoll => drop(self.gate.lock()),
            Behaviour::SlowButSteady { calls: n, each } => calls(n, each),
            Behaviour::ProgressThenHang { calls: n, each } => {
                calls(n, each);
                drop(self.gate.lock());
            }
            Behaviour::PanicsOnPoll(n) if self.polls + 1 == n => {
                panic!("mock poll {n} blew up")
            }
            _ => {}
        }
        self.polls += 1;
        let d = support::domain(
            &format!("u{}", self.host),
            "vm",
            VmState::Running,
            self.polls,
        );
        Ok(support::sample(
            support::info(4, 8),
            Instant::now(),
            vec![d],
        ))
    }
}

impl Connector for Mock {
    fn connect(&self, uri: &str, progress: &Heartbeat) -> Result<Box<dyn Source>, SourceError> {
        let host: usize = uri.parse().unwrap();
        let _in_call = InCall::new(self);
        let n = self.connects[host].fetch_add(1, Ordering::SeqCst);
        match self.behaviour[host] {
            Behaviour::RefusesConnect => Err(format!("host {host}: Connection refused").into()),
            Behaviour::RefusesFirst(k) if n < k => Err("not yet".into()),
            Behaviour::PanicsOnConnect(k) if n < k => panic!("mock connect {n} blew up"),
            Behaviour::SlowConnect { calls, each } => {
                for _ in 0..calls {
                    std::thread::sleep(Duration::from_millis(each));
                    progress.beat();
                }
                Ok(Box::new(MockSource {
                    host,
                    behaviour: Behaviour::Healthy,
                    gate: self.gate.clone(),
                    polls: 0,
                }))
            }
            Behaviour::HangsOnConnect => {
                drop(self.gate.lock());
                Ok(Box::new(MockSource {
                    host,
                    behaviour: Behaviour::Healthy,
                    gate: self.gate.clone(),
                    polls: 0,
                }))
            }
            behaviour => Ok(Box::new(MockSource {
                host,
                behaviour,
                gate: self.gate.clone(),
                polls: 0,
            })),
        }
    }
}

fn timing() -> Timing {
    Timing {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(400),
        backoff_start: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(80),
    }
}

fn mock(b: Vec<Behaviour>) -> Arc<Mock> {
    Arc::new(Mock {
        connects: b.iter().map(|_| AtomicUsize::new(0)).collect(),
        behaviour: b,
        gate: Arc::new(Mutex::new(())),
        in_calls: Arc::default(),
        most_in_calls: Arc::default(),
    })
}

fn start_with(b: Vec<Behaviour>, t: Timing) -> (Arc<Mock>, Collectors, UnboundedReceiver<Message>) {
    let mock = mock(b);
    let (c, rx) = launch(&mock, t);
    (mock, c, rx)
}

/// Starts collectors on a mock made beforehand, so a test can shut its gate first (a gate shut
/// after the start races the first call).
fn launch(mock: &Arc<Mock>, t: Timing) -> (Collectors, UnboundedReceiver<Message>) {
    let (tx, rx) = unbounded_channel();
    let uris: Vec<String> = (0..mock.behaviour.len()).map(|i| i.to_string()).collect();
    let c = Collectors::start(&uris, t, mock.clone(), tx).unwrap();
    (c, rx)
}

fn start(b: Vec<Behaviour>) -> (Arc<Mock>, Collectors, UnboundedReceiver<Message>) {
    start_with(b, timing())
}

/// Far more than any condition below needs, even on a loaded machine: a wait ends as soon as
/// its condition holds, so only a failing test waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

/// One message, as the tests look at it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    host: usize,
    /// "sample", "<state>:<error>" or "action:...".
    what: String,
    retry: Option<Retry>,
}

impl Seen {
    fn is(&self, host: usize, prefix: &str) -> bool {
        self.host == host && self.what.starts_with(prefix)
    }
}

/// Receives messages into `log` until `done(log)` holds; fails the test after `PATIENCE`.
fn wait_for(
    rx: &mut UnboundedReceiver<Message>,
    log: &mut Vec<Seen>,
    what: &str,
    mut done: impl FnMut(&[Seen]) -> bool,
) {
    let end = Instant::now() + PATIENCE;
    while !done(log) {
        assert!(
            Instant::now() < end,
            "waited {PATIENCE:?} for {what}; saw {log:#?}"
        );
        match rx.try_recv() {
            Ok(m) => {
                let (what, retry) = match m.update {
                    Update::Sample(_) => ("sample".to_owned(), None),
                    Update::Link {
                        state,
                        error,
                        retry,
                    } => (
                        format!("{}:{}", state.label(), error.unwrap_or_default()),
                        retry,
                    ),
                    Update::Action(a) => (format!("action:{a:?}"), None),
                };
                log.push(Seen {
                    at: m.at,
                    host: m.host,
                    what,
                    retry,
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn count(log: &[Seen], host: usize, prefix: &str) -> usize {
    log.iter().filter(|m| m.is(host, prefix)).count()
}

#[test]
fn a_hung_host_goes_stale_then_down_while_others_keep_updating() {
    let mock = mock(vec![Behaviour::Healthy, Behaviour::HangsOnPoll]);
    let gate = mock.gate.lock().unwrap();
    let (c, mut rx) = launch(&mock, timing());
    let t0 = Instant::now();
    let mut log = Vec::new();
    // The gate stays shut throughout, so host 1 is hung (reconnected and hung again) the whole
    // time host 0 makes its eight samples after host 1 went down.
    wait_for(
        &mut rx,
        &mut log,
        "host 1 down and 8 host-0 samples after",
        |l| {
            l.iter()
                .position(|m| m.is(1, "down"))
                .is_some_and(|d| count(&l[d..], 0, "sample") >= 8)
        },
    );
    assert_eq!(
        count(&log, 1, "sample"),
        0,
        "the hung host produced a sample"
    );
    let stale = log
        .iter()
        .position(|m| m.is(1, "stale"))
        .expect("hung host never went stale");
    let down = log.iter().position(|m| m.is(1, "down")).unwrap();
    assert!(stale < down, "stale comes before down: {log:#?}");
    assert!(log[down].what.contains("no answer within"), "{log:#?}");
    // Down after the timeout (400 ms), never before it; how much later depends on the load,
    // but on the supervisor's clock, not some libvirt default of minutes.
    assert!(log[down].at - t0 >= Duration::from_millis(400));
    drop(gate);
    // Released, the host is reconnected and answers again.
    wait_for(&mut rx, &mut log, "a sample from host 1", |l| {
        count(l, 1, "sample") >= 1
    });
    drop(c);
}

#[test]
fn refused_connections_report_the_error_and_back_off() {
    let (mock, c, mut rx) = start(vec![Behaviour::RefusesConnect]);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "six refusals", |l| {
        count(l, 0, "down") >= 6
    });
    let downs: Vec<&Seen> = log.iter().filter(|m| m.is(0, "down")).collect();
    assert!(downs[0].what.contains("Connection refused"), "{downs:#?}");
    // Back-off 20, 40, 80, 80 ... ms. Waits are never shorter than asked, so each gap between
    // attempts is at least its back-off (it doubles); and no retry is scheduled further out
    // than the 80 ms cap.
    let backoff = [20u64, 40, 80, 80, 80];
    for (k, pair) in downs.windows(2).take(backoff.len()).enumerate() {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap + Duration::from_millis(1) >= Duration::from_millis(backoff[k]),
            "attempt {} came {gap:?} after the one before, before its back-off",
            k + 2
        );
    }
    for (k, d) in downs.iter().enumerate() {
        let retry = d.retry.expect("a down host has a retry schedule");
        assert_eq!(retry.attempts as usize, k + 1, "{downs:#?}");
        assert!(
            retry.at.saturating_duration_since(d.at) <= Duration::from_millis(80),
            "retry {} scheduled past the cap",
            k + 1
        );
    }
    assert!(mock.connects[0].load(Ordering::SeqCst) >= 6);
    drop(c);
}

#[test]
fn a_host_that_comes_back_is_up_again_without_a_restart() {
    let (_mock, c, mut rx) = start(vec![Behaviour::RefusesFirst(2)]);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "a sample", |l| {
        count(l, 0, "sample") >= 1
    });
    let first_down = log.iter().position(|m| m.is(0, "down")).unwrap();
    let first_sample = log.iter().position(|m| m.is(0, "sample")).unwrap();
    assert!(first_down < first_sample);
    assert_eq!(log[0].what, format!("{}:", LinkState::Connecting.label()));
    drop(c);
}

#[test]
fn poll_now_skips_the_wait() {
    let mut t = timing();
    // Nothing in this test waits anywhere near an hour: a second sample can only come from F5.
    t.interval = Duration::from_secs(3600);
    let (_mock, c, mut rx) = start_with(vec![Behaviour::Healthy], t);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "the first sample", |l| {
        count(l, 0, "sample") == 1
    });
    c.poll_now();
    wait_for(&mut rx, &mut log, "the second sample", |l| {
        count(l, 0, "sample") == 2
    });
    drop(c);
}

#[test]
fn poll_now_retries_a_down_host_at_once() {
    let mut t = timing();
    // A back-off of an hour: a second attempt within the test can only come from F5.
    t.backoff_start = Duration::from_secs(3600);
    t.backoff_cap = Duration::from_secs(3600);
    let (mock, c, mut rx) = start_with(vec![Behaviour::RefusesConnect], t);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "the first refusal", |l| {
        count(l, 0, "down") == 1
    });
    let first = log.iter().find(|m| m.is(0, "down")).unwrap().retry.unwrap();
    assert_eq!(first.attempts, 1);
    c.poll_now_host(0);
    wait_for(&mut rx, &mut log, "a second attempt after F5", |l| {
        count(l, 0, "down") == 2
    });
    let second = log
        .iter()
        .rfind(|m| m.is(0, "down"))
        .unwrap()
        .retry
        .unwrap();
    assert_eq!(second.attempts, 2);
    assert!(second.at > first.at, "{log:#?}");
    assert_eq!(mock.connects[0].load(Ordering::SeqCst), 2);
    drop(c);
}

#[test]
fn a_host_hung_in_every_call_never_has_more_than_three_workers_stuck() {
    let mock = mock(vec![Behaviour::HangsOnConnect]);
    let gate = mock.gate.lock().unwrap();
    let (c, mut rx) = launch(&mock, timing());
    let mut log = Vec::new();
    // Three connects are given up on (400 ms each); then the supervisor keeps refusing to
    // open more. Several refusals in a row show it holds, not just once.
    wait_for(&mut rx, &mut log, "five refusals to reconnect", |l| {
        count(l, 0, "down") >= 3
            && l.iter()
                .filter(|m| m.is(0, "down") && m.what.contains("still hung"))
                .count()
                >= 5
    });
    assert!(
        log.iter()
            .any(|m| m.is(0, "down") && m.what.contains("no answer to connect")),
        "{log:#?}"
    );
    assert_eq!(mock.connects[0].load(Ordering::SeqCst), 3);
    assert_eq!(mock.in_calls.load(Ordering::SeqCst), 3);
    assert_eq!(mock.most_in_calls.load(Ordering::SeqCst), 3);
    drop(gate);
    // The stuck calls return, their threads end, and the host is watched again.
    wait_for(&mut rx, &mut log, "a sample once the calls return", |l| {
        count(l, 0, "sample") >= 1
    });
    assert!(mock.most_in_calls.load(Ordering::SeqCst) <= 3);
    drop(c);
}

#[test]
fn a_host_that_answers_every_call_slowly_stays_up_with_its_connection() {
    // Each poll: 10 calls of 100 ms, one second in all, 2.5 times the 400 ms timeout.
    let (mock, c, mut rx) = start(vec![Behaviour::SlowButSteady {
        calls: 10,
        each: 100,
    }]);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "two samples", |l| {
        count(l, 0, "sample") >= 2
    });
    assert_eq!(
        count(&log, 0, "down"),
        0,
        "a host making progress went down"
    );
    // Late polls are shown as such (stale), and the connection is never thrown away.
    assert!(count(&log, 0, "stale") >= 1, "{log:#?}");
    assert_eq!(mock.connects[0].load(Ordering::SeqCst), 1);
    drop(c);
}

#[test]
fn a_connect_that_takes_many_slow_answered_calls_is_not_given_up() {
    // 10 calls of 100 ms: one second, 2.5 times the 400 ms timeout, but never 400 ms without
    // an answer (a far host's first connect while it is busy).
    let (mock, c, mut rx) = start(vec![Behaviour::SlowConnect {
        calls: 10,
        each: 100,
    }]);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "a sample", |l| {
        count(l, 0, "sample") >= 1
    });
    assert_eq!(count(&log, 0, "down"), 0, "{log:#?}");
    assert_eq!(mock.connects[0].load(Ordering::SeqCst), 1);
    drop(c);
}

#[test]
fn a_host_that_stops_making_progress_goes_down_one_timeout_after_its_last_call() {
    let mock = mock(vec![Behaviour::ProgressThenHang {
        calls: 3,
        each: 150,
    }]);
    let gate = mock.gate.lock().unwrap();
    let (c, mut rx) = launch(&mock, timing());
    let t0 = Instant::now();
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "down", |l| count(l, 0, "down") >= 1);
    let down = log.iter().find(|m| m.is(0, "down")).unwrap();
    assert!(down.what.contains("no answer within"), "{}", down.what);
    // The last progress is at least 450 ms in, and the timeout is 400 ms: never down before
    // 850 ms (down at 400 ms would be the whole-poll rule). Later is only load.
    let at = down.at - t0;
    assert!(at >= Duration::from_millis(850), "down after {at:?}");
    assert_eq!(count(&log, 0, "sample"), 0, "{log:#?}");
    drop(gate);
    drop(c);
}

#[test]
fn a_panic_in_a_poll_is_that_hosts_error_and_it_is_reconnected() {
    // Host 1's every connection panics in its third poll. A generous timeout: printing a
    // panic with its backtrace can take longer than 400 ms on a loaded machine.
    let t = Timing {
        timeout: Duration::from_secs(10),
        ..timing()
    };
    let (mock, c, mut rx) = start_with(vec![Behaviour::Healthy, Behaviour::PanicsOnPoll(3)], t);
    let mut log = Vec::new();
    wait_for(
        &mut rx,
        &mut log,
        "host 1 panicking twice, host 0 going on",
        |l| {
            l.iter()
                .enumerate()
                .filter(|(_, m)| m.is(1, "down"))
                .nth(1)
                .is_some_and(|(i, _)| count(&l[i..], 0, "sample") >= 3)
        },
    );
    let down = log.iter().position(|m| m.is(1, "down")).unwrap();
    assert!(
        log[down]
            .what
            .contains("internal error in the collector: mock poll 3 blew up (see the log)"),
        "{log:#?}"
    );
    assert!(log[down].retry.is_some(), "a panicked host is retried");
    // Its two good polls came before, and the new connection polled again after.
    assert_eq!(count(&log[..down], 1, "sample"), 2, "{log:#?}");
    assert!(count(&log[down..], 1, "sample") >= 1, "{log:#?}");
    assert!(mock.connects[1].load(Ordering::SeqCst) >= 2);
    assert_eq!(mock.connects[0].load(Ordering::SeqCst), 1);
    drop(c);
}

#[test]
fn a_panic_in_connect_is_that_hosts_error_and_it_is_retried() {
    let t = Timing {
        timeout: Duration::from_secs(10),
        ..timing()
    };
    let (mock, c, mut rx) = start_with(vec![Behaviour::Healthy, Behaviour::PanicsOnConnect(2)], t);
    let mut log = Vec::new();
    wait_for(&mut rx, &mut log, "a sample from host 1", |l| {
        count(l, 1, "sample") >= 1
    });
    let downs: Vec<&Seen> = log.iter().filter(|m| m.is(1, "down")).collect();
    assert_eq!(downs.len(), 2, "{log:#?}");
    assert!(
        downs[0]
            .what
            .contains("internal error in the collector: mock connect 0 blew up (see the log)"),
        "{downs:#?}"
    );
    assert_eq!(mock.connects[1].load(Ordering::SeqCst), 3);
    assert!(count(&log, 0, "sample") >= 1);
    drop(c);
}
