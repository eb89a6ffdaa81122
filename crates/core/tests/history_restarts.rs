//! The recorder killed and restarted on the same store (a dropped Recorder is a kill -9: no
//! lease released, nothing in memory kept), migrations seen live or only after a gap, in both
//! poll orders, with and without the source's shut-off copy left behind. Each real change must
//! be exactly one event, and the fleet rebuilt at a moment must be right before and after it.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::lease::STALE_AFTER_MS;
use fleetwatch_core::history::past::fleet_at;
use fleetwatch_core::history::query::{EventQuery, EventRow};
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::{DomainSample, HostSample, VmState};
use std::time::Instant;
use support::{domain, host_config, info};

const T0: i64 = 1_795_233_600_000;

struct Lab {
    rec: Option<Recorder>,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    /// The simulated clock: every feed and restart moves it on.
    now: i64,
}

fn hosts() -> Vec<fleetwatch_core::config::HostConfig> {
    vec![host_config("a"), host_config("b")]
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let c = SqliteStore::open_rw(&path).unwrap();
    let rec = Recorder::start(c, HistoryConfig::default(), &hosts(), T0).unwrap();
    Lab {
        rec: Some(rec),
        path,
        _dir: dir,
        now: T0,
    }
}

fn web(state: VmState) -> DomainSample {
    domain("u-web", "web", state, 10)
}

impl Lab {
    /// One poll of `host` showing `domains`, 2 s after the last thing that happened.
    fn poll(&mut self, host: usize, domains: Vec<DomainSample>) -> i64 {
        self.now += 2_000;
        let mut s: HostSample = support::sample(info(8, 32), Instant::now(), domains);
        s.wall = DateTime::<Utc>::from_timestamp_millis(self.now).unwrap();
        let m = Message {
            host,
            at: Instant::now(),
            update: Update::Sample(std::sync::Arc::new(s)),
        };
        self.rec.as_mut().unwrap().record(&m, self.now).unwrap();
        self.now
    }

    /// kill -9, then a new recorder on the same store once the lease has gone stale.
    fn kill_and_restart(&mut self) {
        drop(self.rec.take());
        self.now += STALE_AFTER_MS + 1_000;
        let c = SqliteStore::open_rw(&self.path).unwrap();
        self.rec = Some(Recorder::start(c, HistoryConfig::default(), &hosts(), self.now).unwrap());
    }

    fn events(&self) -> Vec<EventRow> {
        let c = SqliteStore::open_ro(&self.path).unwrap();
        let mut v = c.events(&EventQuery::default()).unwrap();
        v.reverse();
        v
    }

    fn vm_events(&self) -> Vec<EventRow> {
        self.events()
            .into_iter()
            .filter(|e| e.vm.is_some())
            .collect()
    }

    /// Where the VM runs at `t`, as the rebuilt past fleet shows it.
    fn runs_at(&self, t: i64) -> Option<(String, VmState)> {
        let past = SqliteStore::open_ro(&self.path).unwrap().at(t).unwrap();
        let fleet = fleet_at(&hosts(), &past);
        fleet
            .vm("u-web")
            .map(|v| (fleet.hosts[v.host].name.clone(), v.state))
    }
}

fn summary(ev: &[EventRow]) -> Vec<String> {
    ev.iter()
        .map(|e| {
            format!(
                "{} {} {}->{} {} [{}]",
                e.kind,
                e.host.as_deref().unwrap_or("-"),
                e.from_host.as_deref().unwrap_or("-"),
                e.to_host.as_deref().unwrap_or("-"),
                e.actor,
                e.detail
            )
        })
        .collect()
}

/// A live migration from host `from` to `to` as the polls see it: the incoming copy paused,
/// then running, then the source lets go (keeping a shut-off copy or not).
fn live_migration(l: &mut Lab, from: usize, to: usize, keep_copy: bool) {
    let left = if keep_copy {
        vec![web(VmState::Shutoff)]
    } else {
        vec![]
    };
    l.poll(to, vec![web(VmState::Paused)]);
    l.poll(to, vec![web(VmState::Running)]);
    l.poll(from, left);
}

#[test]
fn a_restart_after_a_live_migration_that_left_a_copy_adds_nothing() {
    for source_first in [true, false] {
        let mut l = lab();
        l.poll(0, vec![web(VmState::Running)]);
        l.poll(1, vec![]);
        live_migration(&mut l, 0, 1, true);
        let before = summary(&l.vm_events());
        assert_eq!(before.len(), 1, "{before:?}");
        assert!(
            before[0].starts_with("migrated b a->b external"),
            "{before:?}"
        );
        l.kill_and_restart();
        let order = if source_first { [0, 1] } else { [1, 0] };
        for _ in 0..3 {
            for h in order {
                let d = if h == 0 {
                    web(VmState::Shutoff)
                } else {
                    web(VmState::Running)
                };
                l.poll(h, vec![d]);
            }
        }
        assert_eq!(
            summary(&l.vm_events()),
            before,
            "source first: {source_first}"
        );
        assert_eq!(l.runs_at(l.now), Some(("b".into(), VmState::Running)));
    }
}

#[test]
fn a_move_found_only_after_a_gap_is_one_migration_whichever_host_is_polled_first() {
    for source_first in [true, false] {
        for keep_copy in [true, false] {
            let mut l = lab();
            l.poll(0, vec![web(VmState::Running)]);
            let was = l.poll(1, vec![]);
            l.kill_and_restart();
            // While no recorder ran, the VM moved from a to b.
            let source = if keep_copy {
                vec![web(VmState::Shutoff)]
            } else {
                vec![]
            };
            if source_first {
                l.poll(0, source);
                l.poll(1, vec![web(VmState::Running)]);
            } else {
                l.poll(1, vec![web(VmState::Running)]);
                l.poll(0, source);
            }
            let done = l.now;
            let ev = summary(&l.vm_events());
            let case = format!("source first {source_first}, copy {keep_copy}: {ev:?}");
            assert_eq!(ev.len(), 1, "{case}");
            assert!(ev[0].starts_with("migrated b a->b unknown"), "{case}");
            assert_eq!(
                l.runs_at(was),
                Some(("a".into(), VmState::Running)),
                "{case}"
            );
            assert_eq!(
                l.runs_at(done),
                Some(("b".into(), VmState::Running)),
                "{case}"
            );
        }
    }
}

#[test]
fn copies_are_one_vm_their_coming_and_going_are_copy_events() {
    let mut l = lab();
    l.poll(0, vec![web(VmState::Running)]);
    l.poll(1, vec![]);
    live_migration(&mut l, 0, 1, true);
    // The left-behind copy is removed, defined again, then the VM migrates back onto it.
    l.poll(0, vec![]);
    l.poll(0, vec![web(VmState::Shutoff)]);
    l.poll(1, vec![web(VmState::Running)]);
    l.poll(0, vec![web(VmState::Paused)]);
    l.poll(0, vec![web(VmState::Running)]);
    l.poll(1, vec![]);
    let ev = summary(&l.vm_events());
    let kinds: Vec<&str> = ev.iter().map(|e| e.split(' ').next().unwrap()).collect();
    assert_eq!(
        kinds,
        vec!["migrated", "copy-removed", "copy-added", "migrated"],
        "{ev:?}"
    );
    assert!(ev[0].contains("shut-off copy stays on a"), "{ev:?}");
    assert!(ev[3].starts_with("migrated a b->a"), "{ev:?}");
    // The last copy going is the VM going.
    l.poll(0, vec![]);
    l.poll(1, vec![]);
    let last = summary(&l.vm_events()).pop().unwrap();
    assert!(last.starts_with("undefined a"), "{last}");
}

#[test]
fn a_message_about_a_host_the_recorder_does_not_know_is_ignored() {
    let mut l = lab();
    let mut s: HostSample =
        support::sample(info(8, 32), Instant::now(), vec![web(VmState::Running)]);
    s.wall = DateTime::<Utc>::from_timestamp_millis(T0).unwrap();
    let m = Message {
        host: 7,
        at: Instant::now(),
        update: Update::Sample(std::sync::Arc::new(s)),
    };
    l.rec.as_mut().unwrap().record(&m, T0).unwrap();
    assert!(l.events().is_empty());
}

#[test]
fn a_recorder_start_never_bursts() {
    let mut l = lab();
    let many = |st: VmState| -> Vec<DomainSample> {
        (0..20)
            .map(|i| domain(&format!("u{i}"), &format!("vm{i}"), st, 1))
            .collect()
    };
    l.poll(0, many(VmState::Shutoff));
    l.poll(1, many(VmState::Running));
    let n = l.events().len();
    for first in [0, 1, 0] {
        l.kill_and_restart();
        let order = [first, 1 - first];
        for h in order {
            let st = if h == 0 {
                VmState::Shutoff
            } else {
                VmState::Running
            };
            l.poll(h, many(st));
        }
    }
    assert_eq!(l.events().len(), n, "{:?}", summary(&l.events()));
}

/// Each cycle moves the VM to the other host: live before the kill, or while no recorder ran,
/// or with the kill in the middle (the incoming copy seen paused, then the recorder gone).
#[test]
fn a_hundred_kill_restart_cycles_leave_one_event_per_migration() {
    let mut l = lab();
    l.poll(0, vec![web(VmState::Running)]);
    l.poll(1, vec![]);
    let mut home = 0usize;
    let mut checks: Vec<(i64, i64, usize, usize)> = Vec::new();
    for cycle in 0..100usize {
        let (from, to) = (home, 1 - home);
        let keep_copy = cycle % 4 < 2;
        let source_first = cycle % 2 == 0;
        let source = if keep_copy {
            vec![web(VmState::Shutoff)]
        } else {
            vec![]
        };
        // What the target shows besides the VM: the copy a previous cycle may have left.
        let before = l.now;
        match cycle % 3 {
            0 => {
                live_migration(&mut l, from, to, keep_copy);
                l.kill_and_restart();
            }
            1 => {
                l.kill_and_restart();
            }
            _ => {
                l.poll(to, vec![web(VmState::Paused)]);
                l.kill_and_restart();
            }
        }
        let order = if source_first { [from, to] } else { [to, from] };
        for _ in 0..2 {
            for h in order {
                if h == from {
                    l.poll(h, source.clone());
                } else {
                    l.poll(h, vec![web(VmState::Running)]);
                }
            }
        }
        checks.push((before, l.now, from, to));
        home = to;
    }
    let ev = l.vm_events();
    let sum = summary(&ev);
    assert_eq!(ev.len(), 100, "{sum:#?}");
    for (i, (e, (before, after, from, to))) in ev.iter().zip(&checks).enumerate() {
        let name = |h: usize| if h == 0 { "a" } else { "b" };
        assert_eq!(e.kind, "migrated", "cycle {i}: {sum:#?}");
        assert_eq!(
            (e.from_host.as_deref(), e.to_host.as_deref()),
            (Some(name(*from)), Some(name(*to))),
            "cycle {i}"
        );
        assert!(e.at_ms > *before && e.at_ms <= *after, "cycle {i}");
        assert_eq!(
            l.runs_at(*before).map(|r| r.0),
            Some(name(*from).to_string()),
            "cycle {i}"
        );
        assert_eq!(
            l.runs_at(*after),
            Some((name(*to).to_string(), VmState::Running)),
            "cycle {i}"
        );
    }
}

/// Killed after the source let go but before the destination was polled (the judgment waits in
/// the store), or after the move was written but before the paused destination ran.
#[test]
fn a_kill_in_the_middle_of_a_migration_still_gives_one_event() {
    for kill_after in ["source gone", "moved onto the paused copy"] {
        let mut l = lab();
        l.poll(0, vec![web(VmState::Running)]);
        l.poll(1, vec![]);
        if kill_after == "source gone" {
            l.poll(0, vec![]);
            l.kill_and_restart();
            l.poll(0, vec![]);
            l.poll(1, vec![web(VmState::Running)]);
        } else {
            l.poll(1, vec![web(VmState::Paused)]);
            l.poll(0, vec![web(VmState::Shutoff)]);
            l.kill_and_restart();
            l.poll(0, vec![web(VmState::Shutoff)]);
            l.poll(1, vec![web(VmState::Running)]);
        }
        let ev = summary(&l.vm_events());
        assert_eq!(ev.len(), 1, "{kill_after}: {ev:?}");
        assert!(ev[0].starts_with("migrated b a->b"), "{kill_after}: {ev:?}");
    }
    // A VM paused before its migration stays paused there: resuming it later is an event.
    let mut l = lab();
    l.poll(0, vec![web(VmState::Paused)]);
    l.poll(1, vec![]);
    l.poll(1, vec![web(VmState::Paused)]);
    l.poll(0, vec![]);
    l.kill_and_restart();
    l.poll(0, vec![]);
    l.poll(1, vec![web(VmState::Running)]);
    let kinds: Vec<String> = l.vm_events().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec!["migrated", "resumed"]);
}

/// A VM that really stopped is a stop once the other hosts have been polled, and one that
/// really went is undefined; neither waits for a host that is down.
#[test]
fn a_real_stop_is_a_stop_after_the_other_hosts_polls() {
    let mut l = lab();
    l.poll(0, vec![web(VmState::Running)]);
    l.poll(1, vec![]);
    l.poll(0, vec![web(VmState::Shutoff)]);
    assert!(l.vm_events().is_empty(), "judged only after b's poll");
    l.poll(1, vec![]);
    let ev = summary(&l.vm_events());
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(ev[0].starts_with("stopped a -->- external"), "{ev:?}");
    let stopped_at = l.vm_events()[0].at_ms;
    assert_eq!(stopped_at, l.now - 2_000, "dated when a's poll showed it");
    assert_eq!(l.runs_at(stopped_at).map(|r| r.1), Some(VmState::Shutoff));
}
