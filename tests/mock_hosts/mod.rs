//! Mock hosts for the collectors' tests: a connector whose hosts hang, fail, panic, answer
//! slowly or act, counting the calls in flight, and helpers that read the mailbox into a log.
//! No hypervisor needed, and the shipped libvirt path is not involved.
#![allow(dead_code, clippy::unwrap_used)]

use fleetwatch_testkit as support;

use fleetwatch_core::actions::{ActionRequest, Progress};
use fleetwatch_core::link::{Mailbox, MailboxReceiver, Retry, Update};
use fleetwatch_core::model::sample::{HostSample, VmState};
use fleetwatch_libvirt::executor::Actor;
use fleetwatch_libvirt::supervisor::{Collectors, Limits, Timing};
use fleetwatch_libvirt::{ActionError, Connector, Heartbeat, Source, SourceError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
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

/// Calls in progress right now, and the most ever at once.
#[derive(Default)]
pub struct InFlight {
    pub now: AtomicUsize,
    pub most: AtomicUsize,
}

/// Counts a call while it lasts (a panic unwinding through it included).
pub struct InCall(Arc<InFlight>);

impl InCall {
    pub fn new(f: &Arc<InFlight>) -> InCall {
        let now = f.now.fetch_add(1, Ordering::SeqCst) + 1;
        f.most.fetch_max(now, Ordering::SeqCst);
        InCall(f.clone())
    }
}

impl Drop for InCall {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct Mock {
    pub behaviour: Vec<Behaviour>,
    pub connects: Vec<AtomicUsize>,
    /// Connections closed (sources dropped), per host.
    pub closed: Arc<Vec<AtomicUsize>>,
    pub gate: Arc<Mutex<()>>,
    /// Connects in flight: the call threads stuck in (or busy with) a connect.
    pub in_connects: Arc<InFlight>,
    pub in_polls: Arc<InFlight>,
    /// Given to every connection, when set: the hosts can act.
    pub actor: Option<Arc<dyn Actor>>,
}

impl Mock {
    pub fn in_calls(&self) -> usize {
        self.in_connects.now.load(Ordering::SeqCst)
    }
    pub fn most_in_calls(&self) -> usize {
        self.in_connects.most.load(Ordering::SeqCst)
    }
    pub fn connects(&self, host: usize) -> usize {
        self.connects[host].load(Ordering::SeqCst)
    }
    pub fn closed(&self, host: usize) -> usize {
        self.closed[host].load(Ordering::SeqCst)
    }
}

struct MockSource {
    host: usize,
    behaviour: Behaviour,
    gate: Arc<Mutex<()>>,
    polls: u64,
    in_polls: Arc<InFlight>,
    actor: Option<Arc<dyn Actor>>,
    closed: Arc<Vec<AtomicUsize>>,
}

impl Drop for MockSource {
    fn drop(&mut self) {
        self.closed[self.host].fetch_add(1, Ordering::SeqCst);
    }
}

impl Source for MockSource {
    fn poll(&mut self, progress: &Heartbeat) -> Result<HostSample, SourceError> {
        let _in_call = InCall::new(&self.in_polls);
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

    fn actor(&self) -> Option<Arc<dyn Actor>> {
        self.actor.clone()
    }
}

impl Mock {
    fn source(&self, host: usize, behaviour: Behaviour) -> Box<dyn Source> {
        Box::new(MockSource {
            host,
            behaviour,
            gate: self.gate.clone(),
            polls: 0,
            in_polls: self.in_polls.clone(),
            actor: self.actor.clone(),
            closed: self.closed.clone(),
        })
    }
}

impl Connector for Mock {
    fn connect(&self, uri: &str, progress: &Heartbeat) -> Result<Box<dyn Source>, SourceError> {
        let host: usize = uri.parse().unwrap();
        let _in_call = InCall::new(&self.in_connects);
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
                Ok(self.source(host, Behaviour::Healthy))
            }
            Behaviour::HangsOnConnect => {
                drop(self.gate.lock());
                Ok(self.source(host, Behaviour::Healthy))
            }
            behaviour => Ok(self.source(host, behaviour)),
        }
    }
}

/// An actor that takes `each` per action, counting the actions running at once.
pub struct SlowActor {
    pub each: Duration,
    pub running: Arc<InFlight>,
}

impl Actor for SlowActor {
    fn execute(
        &self,
        req: &ActionRequest,
        _abort: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<String, ActionError> {
        let _in_call = InCall::new(&self.running);
        progress(Progress::default());
        std::thread::sleep(self.each);
        Ok(format!("did {}", req.id))
    }
}

pub fn timing() -> Timing {
    Timing {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(400),
        backoff_start: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(80),
        spread: true,
    }
}

pub fn mock(b: Vec<Behaviour>) -> Arc<Mock> {
    Arc::new(Mock {
        connects: b.iter().map(|_| AtomicUsize::new(0)).collect(),
        closed: Arc::new(b.iter().map(|_| AtomicUsize::new(0)).collect()),
        behaviour: b,
        gate: Arc::new(Mutex::new(())),
        in_connects: Arc::default(),
        in_polls: Arc::default(),
        actor: None,
    })
}

/// A mock whose every connection can act through `actor`.
pub fn mock_acting(b: Vec<Behaviour>, actor: Arc<dyn Actor>) -> Arc<Mock> {
    let mut m = Arc::try_unwrap(mock(b)).ok().unwrap();
    m.actor = Some(actor);
    Arc::new(m)
}

pub fn start_with(b: Vec<Behaviour>, t: Timing) -> (Arc<Mock>, Collectors, MailboxReceiver) {
    let mock = mock(b);
    let (c, rx) = launch(&mock, t);
    (mock, c, rx)
}

/// Starts collectors on a mock made beforehand, so a test can shut its gate first (a gate shut
/// after the start races the first call).
pub fn launch(mock: &Arc<Mock>, t: Timing) -> (Collectors, MailboxReceiver) {
    launch_limited(mock, t, Limits::default())
}

pub fn launch_limited(mock: &Arc<Mock>, t: Timing, l: Limits) -> (Collectors, MailboxReceiver) {
    let n = mock.behaviour.len();
    let (tx, rx) = Mailbox::new(n);
    let uris: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let c = Collectors::start_with(&uris, t, l, mock.clone(), tx).unwrap();
    (c, rx)
}

pub fn start(b: Vec<Behaviour>) -> (Arc<Mock>, Collectors, MailboxReceiver) {
    start_with(b, timing())
}

/// Far more than any condition below needs, even on a loaded machine: a wait ends as soon as
/// its condition holds, so only a failing test waits this long.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// One message, as the tests look at it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub host: usize,
    /// "sample", "<state>:<error>" or "action:...".
    pub what: String,
    pub retry: Option<Retry>,
    /// For a sample: which poll of its connection it was (the mock counts them in the CPU
    /// time), so a test can tell polls apart even when the mailbox folded some together.
    pub poll: Option<u64>,
}

impl Seen {
    pub fn is(&self, host: usize, prefix: &str) -> bool {
        self.host == host && self.what.starts_with(prefix)
    }
}

/// Receives messages into `log` until `done(log)` holds; fails the test after `PATIENCE`.
pub fn wait_for(
    rx: &mut MailboxReceiver,
    log: &mut Vec<Seen>,
    what: &str,
    done: impl FnMut(&[Seen]) -> bool,
) {
    wait_longer(rx, log, what, PATIENCE, done);
}

pub fn wait_longer(
    rx: &mut MailboxReceiver,
    log: &mut Vec<Seen>,
    what: &str,
    patience: Duration,
    mut done: impl FnMut(&[Seen]) -> bool,
) {
    let end = Instant::now() + patience;
    while !done(log) {
        assert!(
            Instant::now() < end,
            "waited {patience:?} for {what}; saw {} messages, the last {:#?}",
            log.len(),
            &log[log.len().saturating_sub(40)..]
        );
        let batch = rx.try_batch();
        if batch.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        for m in batch {
            let poll = match &m.update {
                Update::Sample(s) => s
                    .domains
                    .first()
                    .and_then(|d| d.cpu_time_ns)
                    .map(|ns| ns / 500_000_000),
                _ => None,
            };
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
                poll,
            });
        }
    }
}

pub fn count(log: &[Seen], host: usize, prefix: &str) -> usize {
    log.iter().filter(|m| m.is(host, prefix)).count()
}

/// Threads of this process, as the kernel counts them.
pub fn process_threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
