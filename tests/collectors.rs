#![allow(clippy::unwrap_used)]
//! The supervisor against hosts that hang, fail and recover, with a mock connector: no
//! hypervisor needed, and the shipped libvirt path is not involved.

mod support;

use fleetwatch::collection::supervisor::{Collectors, Timing};
use fleetwatch::collection::{Connector, Heartbeat, LinkState, Message, Source, Update};
use fleetwatch::model::sample::{HostSample, VmState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

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
}

struct Mock {
    behaviour: Vec<Behaviour>,
    connects: Vec<AtomicUsize>,
    gate: Arc<Mutex<()>>,
}

struct MockSource {
    host: usize,
    behaviour: Behaviour,
    gate: Arc<Mutex<()>>,
    polls: u64,
}

impl Source for MockSource {
    fn poll(&mut self, progress: &Heartbeat) -> Result<HostSample, String> {
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
    fn connect(&self, uri: &str) -> Result<Box<dyn Source>, String> {
        let host: usize = uri.parse().unwrap();
        let n = self.connects[host].fetch_add(1, Ordering::SeqCst);
        match self.behaviour[host] {
            Behaviour::RefusesConnect => Err(format!("host {host}: Connection refused")),
            Behaviour::RefusesFirst(k) if n < k => Err("not yet".into()),
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

fn start(b: Vec<Behaviour>) -> (Arc<Mock>, Collectors, UnboundedReceiver<Message>) {
    let mock = Arc::new(Mock {
        connects: b.iter().map(|_| AtomicUsize::new(0)).collect(),
        behaviour: b,
        gate: Arc::new(Mutex::new(())),
    });
    let (tx, rx) = unbounded_channel();
    let uris: Vec<String> = (0..mock.behaviour.len()).map(|i| i.to_string()).collect();
    let c = Collectors::start(&uris, timing(), mock.clone(), tx).unwrap();
    (mock, c, rx)
}

/// Collects messages for `d`.
fn gather(rx: &mut UnboundedReceiver<Message>, d: Duration) -> Vec<(Instant, usize, String)> {
    let end = Instant::now() + d;
    let mut out = Vec::new();
    while Instant::now() < end {
        match rx.try_recv() {
            Ok(m) => {
                let what = match m.update {
                    Update::Sample(_) => "sample".to_owned(),
                    Update::Link { state, error, .. } => {
                        format!("{}:{}", state.label(), error.unwrap_or_default())
                    }
                    Update::Action(a) => format!("action:{a:?}"),
                };
                out.push((m.at, m.host, what));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    out
}

#[test]
fn a_hung_host_goes_stale_then_down_while_others_keep_updating() {
    let (mock, c, mut rx) = start(vec![Behaviour::Healthy, Behaviour::HangsOnPoll]);
    let gate = mock.gate.lock().unwrap();
    let t0 = Instant::now();
    let msgs = gather(&mut rx, Duration::from_millis(900));
    let of = |h: usize, prefix: &'static str| {
        msgs.iter()
            .filter(move |(_, host, w)| *host == h && w.starts_with(prefix))
    };
    assert!(
        of(1, "sample").next().is_none(),
        "the hung host produced a sample"
    );
    let stale = of(1, "stale").next().expect("hung host never went stale").0;
    let down = of(1, "down").next().expect("hung host never went down");
    assert!(stale < down.0, "stale comes before down");
    assert!(down.2.contains("no answer within"), "{}", down.2);
    // Down within the timeout (400 ms) plus scheduling slack, not after some libvirt default.
    assert!(
        down.0 - t0 < Duration::from_millis(700),
        "{:?}",
        down.0 - t0
    );
    // Meanwhile the healthy host kept its cadence.
    assert!(of(0, "sample").count() >= 8, "{msgs:?}");
    drop(gate);
    // Released, the host is reconnected and answers again.
    let later = gather(&mut rx, Duration::from_millis(600));
    assert!(
        later.iter().any(|(_, h, w)| *h == 1 && w == "sample"),
        "{later:?}"
    );
    drop(c);
}

#[test]
fn refused_connections_report_the_error_and_back_off() {
    let (mock, c, mut rx) = start(vec![Behaviour::RefusesConnect]);
    let msgs = gather(&mut rx, Duration::from_millis(700));
    let downs: Vec<_> = msgs
        .iter()
        .filter(|(_, _, w)| w.starts_with("down"))
        .collect();
    assert!(downs[0].2.contains("Connection refused"), "{downs:?}");
    let n = mock.connects[0].load(Ordering::SeqCst);
    // Back-off 20, 40, 80, 80 ... ms: about 9 tries in 700 ms. Without back-off it would be
    // hundreds; with a broken cap, 5 or fewer.
    assert!((6..=14).contains(&n), "{n} connection attempts");
    drop(c);
}

#[test]
fn a_host_that_comes_back_is_up_again_without_a_restart() {
    let (_mock, c, mut rx) = start(vec![Behaviour::RefusesFirst(2)]);
    let msgs = gather(&mut rx, Duration::from_millis(500));
    let first_down = msgs
        .iter()
        .position(|(_, _, w)| w.starts_with("down"))
        .unwrap();
    let first_sample = msgs.iter().position(|(_, _, w)| w == "sample").unwrap();
    assert!(first_down < first_sample);
    assert_eq!(msgs[0].2, format!("{}:", LinkState::Connecting.label()));
    drop(c);
}

#[test]
fn poll_now_skips_the_wait() {
    let mock = Arc::new(Mock {
        connects: vec![AtomicUsize::new(0)],
        behaviour: vec![Behaviour::Healthy],
        gate: Arc::new(Mutex::new(())),
    });
    let (tx, mut rx) = unbounded_channel();
    let mut t = timing();
    t.interval = Duration::from_secs(30);
    let c = Collectors::start(&["0".to_owned()], t, mock, tx).unwrap();
    let first = gather(&mut rx, Duration::from_millis(200));
    assert_eq!(first.iter().filter(|m| m.2 == "sample").count(), 1);
    c.poll_now();
    let second = gather(&mut rx, Duration::from_millis(200));
    assert_eq!(
        second.iter().filter(|m| m.2 == "sample").count(),
        1,
        "{second:?}"
    );
}

#[test]
fn a_host_that_answers_every_call_slowly_stays_up_with_its_connection() {
    // Each poll: 10 calls of 100 ms, one second in all, 2.5 times the 400 ms timeout.
    let (mock, c, mut rx) = start(vec![Behaviour::SlowButSteady {
        calls: 10,
        each: 100,
    }]);
    let msgs = gather(&mut rx, Duration::from_millis(2600));
    let samples = msgs.iter().filter(|m| m.2 == "sample").count();
    assert!(samples >= 2, "{msgs:?}");
    assert!(
        !msgs.iter().any(|m| m.2.starts_with("down")),
        "a host making progress went down: {msgs:?}"
    );
    // Late polls are shown as such (stale), and the connection is never thrown away.
    assert!(msgs.iter().any(|m| m.2.starts_with("stale")), "{msgs:?}");
    assert_eq!(mock.connects[0].load(Ordering::SeqCst), 1);
    drop(c);
}

#[test]
fn a_host_that_stops_making_progress_goes_down_one_timeout_after_its_last_call() {
    let (mock, c, mut rx) = start(vec![Behaviour::ProgressThenHang {
        calls: 3,
        each: 150,
    }]);
    let gate = mock.gate.lock().unwrap();
    let t0 = Instant::now();
    let msgs = gather(&mut rx, Duration::from_millis(1500));
    let down = msgs
        .iter()
        .find(|m| m.2.starts_with("down"))
        .unwrap_or_else(|| panic!("never went down: {msgs:?}"));
    assert!(down.2.contains("no answer within"), "{}", down.2);
    // Last progress at 450 ms, timeout 400 ms: down at about 850 ms, not at 400 ms (the
    // whole-poll rule) and not much later.
    let at = down.0 - t0;
    assert!(
        at >= Duration::from_millis(800) && at < Duration::from_millis(1300),
        "down after {at:?}"
    );
    assert!(!msgs.iter().any(|m| m.2 == "sample"), "{msgs:?}");
    drop(gate);
    drop(c);
}
