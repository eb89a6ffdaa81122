#![allow(clippy::unwrap_used)]
//! An evacuation as it runs and as its pane shows it: one move at a time, each VM checked
//! again before it moves, the first failure or an abort stopping it with where every VM is;
//! maintenance hosts are no targets; a return brings back what the evacuation moved, as far
//! as the host's memory goes.

use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::actions::evacuate::{Move, evacuation};
use fleetwatch_core::actions::evacuate_run::{Run, pane_plan, return_plan};
use fleetwatch_core::actions::plan::PlanContext;
use fleetwatch_core::config::HostConfig;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::{DomainSample, VmState};
use fleetwatch_testkit::{domain, host_config, info, sample};
use std::collections::HashMap;
use std::time::Instant;

fn vm(name: &str, gib: u64, state: VmState) -> DomainSample {
    let mut d = domain(&format!("u-{name}"), name, state, 10);
    d.memory_bytes = Some(gib << 30);
    d.vcpus = Some(1);
    d
}

fn fleet(hosts: Vec<(&str, u64, Vec<DomainSample>)>) -> Fleet {
    let configs: Vec<HostConfig> = hosts.iter().map(|(n, ..)| host_config(n)).collect();
    let mut f = Fleet::new(&configs);
    for (i, (_, gib, vms)) in hosts.into_iter().enumerate() {
        f.set_link(i, LinkState::Up, None);
        f.apply(i, &sample(info(8, gib), Instant::now(), vms));
    }
    f
}

fn with_cx<T>(hosts: usize, maintenance: &[bool], f: impl FnOnce(&PlanContext) -> T) -> T {
    let allowed = vec![true; hosts];
    let groups = HashMap::new();
    let shared = vec!["/srv/shared/".to_owned()];
    let cx = PlanContext {
        read_only: false,
        actions_allowed: &allowed,
        shared_storage: &shared,
        groups: &groups,
        now: chrono::Utc::now(),
        max_vcpu_overcommit: 4.0,
        production: &[],
        maintenance,
        group_actions: &[],
    };
    f(&cx)
}

fn mv(vm: &str, from: &str, to: &str) -> Move {
    Move {
        vm: vm.into(),
        uuid: format!("u-{vm}"),
        from: from.into(),
        to: to.into(),
        memory_bytes: 1 << 30,
    }
}

#[test]
fn a_host_in_maintenance_is_no_target_and_the_pane_asks_for_the_hosts_name() {
    let f = fleet(vec![
        ("a", 64, vec![vm("web", 2, VmState::Running)]),
        ("b", 64, vec![]),
        ("c", 64, vec![]),
    ]);
    let ev = with_cx(3, &[false, true, false], |cx| evacuation(&f, 0, cx, false));
    assert_eq!(ev.moves.len(), 1, "{ev:?}");
    assert_eq!(ev.moves[0].to, "c", "{ev:?}");
    assert!(
        ev.not_targets
            .iter()
            .any(|n| n.host == "b" && n.reason.contains("maintenance")),
        "{ev:?}"
    );
    let p = with_cx(3, &[], |cx| pane_plan(&ev, &f, false, cx));
    assert_eq!(p.typed.as_deref(), Some("a"));
    assert!(matches!(p.kind, ActionKind::Evacuate { back: false, .. }));
    assert!(p.changes.iter().any(|c| c.contains("web: a → c")), "{p:?}");
    assert!(
        p.risks.iter().any(|r| r.starts_with("c: memory 0%")),
        "{p:?}"
    );
}

#[test]
fn the_run_skips_a_vm_no_longer_there_and_stops_at_the_first_failure() {
    let f = fleet(vec![
        (
            "a",
            64,
            vec![
                vm("one", 1, VmState::Running),
                vm("three", 1, VmState::Running),
            ],
        ),
        ("b", 64, vec![vm("two", 1, VmState::Running)]),
    ]);
    let mut run = Run::new(
        "a",
        false,
        vec![
            mv("one", "a", "b"),
            mv("two", "a", "b"),
            mv("three", "a", "b"),
            mv("four", "a", "b"),
        ],
    );
    let m = run.next(&f).unwrap();
    assert_eq!((m.vm.as_str(), m.from.as_str()), ("one", "a"));
    // One at a time: nothing more while it runs.
    assert!(run.next(&f).is_none());
    run.ended(&m.uuid, Ok(()));
    // "two" is on b already (moved by someone else): skipped, named; "three" goes next.
    let m = run.next(&f).unwrap();
    assert_eq!(m.vm, "three");
    run.ended(&m.uuid, Err("connection lost".into()));
    assert!(run.next(&f).is_none(), "stopped at the first failure");
    assert!(run.finished());
    let s = run.summary();
    assert!(s.contains("1 of 4 moved"), "{s}");
    assert!(
        s.contains("STOPPED: three failed (connection lost) and stays on a"),
        "{s}"
    );
    assert!(s.contains("not moved: four (on a)"), "{s}");
    assert!(s.contains("skipped two: now running on b"), "{s}");
    assert!(s.contains("moved: one → b"), "{s}");
}

#[test]
fn an_abort_lets_the_move_under_way_end_and_starts_no_other() {
    let f = fleet(vec![
        (
            "a",
            64,
            vec![
                vm("one", 1, VmState::Running),
                vm("two", 1, VmState::Running),
            ],
        ),
        ("b", 64, vec![]),
    ]);
    let mut run = Run::new("a", false, vec![mv("one", "a", "b"), mv("two", "a", "b")]);
    let m = run.next(&f).unwrap();
    run.abort();
    assert!(!run.finished(), "the move under way is not over");
    run.ended(&m.uuid, Ok(()));
    assert!(run.next(&f).is_none());
    assert!(run.finished());
    let s = run.summary();
    assert!(
        s.contains("aborted by the operator") && s.contains("not moved: two (on a)"),
        "{s}"
    );
}

#[test]
fn a_return_brings_back_what_fits_and_leaves_out_what_stopped_or_is_home() {
    // "a" has 4 GiB; three VMs of 2 GiB were moved away; one stopped since; one is back.
    let f = fleet(vec![
        ("a", 4, vec![vm("home", 1, VmState::Running)]),
        (
            "b",
            64,
            vec![
                vm("x", 2, VmState::Running),
                vm("y", 2, VmState::Running),
                vm("off", 2, VmState::Shutoff),
            ],
        ),
    ]);
    let origins = vec![
        mv("x", "a", "b"),
        mv("y", "a", "b"),
        mv("off", "a", "b"),
        mv("home", "a", "b"),
    ];
    let ev = with_cx(2, &[true, false], |cx| return_plan(&f, 0, &origins, cx));
    assert!(ev.refusals.is_empty(), "{ev:?}");
    let to: Vec<(&str, &str, &str)> = ev
        .moves
        .iter()
        .map(|m| (m.vm.as_str(), m.from.as_str(), m.to.as_str()))
        .collect();
    assert_eq!(to, vec![("x", "b", "a")], "{ev:?}");
    assert_eq!(ev.blocked.len(), 1, "{ev:?}");
    assert!(
        ev.blocked[0].vm == "y" && ev.blocked[0].reason.contains("MiB left"),
        "{ev:?}"
    );
    // Not in maintenance: refused, said why.
    let none = with_cx(2, &[], |cx| return_plan(&f, 0, &origins, cx));
    assert!(
        none.refusals[0].contains("a is not in maintenance"),
        "{none:?}"
    );
}

#[test]
fn an_empty_host_enters_maintenance_and_leaves_it_with_nothing_to_move() {
    let f = fleet(vec![
        ("a", 4, vec![vm("off", 1, VmState::Shutoff)]),
        ("b", 64, vec![]),
    ]);
    let p = with_cx(2, &[], |cx| {
        pane_plan(&evacuation(&f, 0, cx, false), &f, false, cx)
    });
    assert!(p.refusals.is_empty(), "{p:?}");
    assert!(p.changes[0].contains("only enters maintenance"), "{p:?}");
    // Back with nothing away (the VMs went home, or went away for good): it only ends.
    let p = with_cx(2, &[true, false], |cx| {
        pane_plan(&return_plan(&f, 0, &[], cx), &f, true, cx)
    });
    assert!(p.refusals.is_empty(), "{p:?}");
    assert!(p.changes[0].contains("a leaves maintenance"), "{p:?}");
}

#[test]
fn a_run_is_settled_only_once_the_fleet_shows_each_moved_vm_on_its_target() {
    let before = fleet(vec![
        ("a", 64, vec![vm("one", 1, VmState::Running)]),
        ("b", 64, vec![]),
    ]);
    let mut run = Run::new("a", false, vec![mv("one", "a", "b")]);
    let m = run.next(&before).unwrap();
    run.ended(&m.uuid, Ok(()));
    assert!(run.finished());
    // The destination not polled since: the fleet still has it on a.
    assert!(!run.settled(&before));
    let after = fleet(vec![
        ("a", 64, vec![]),
        ("b", 64, vec![vm("one", 1, VmState::Running)]),
    ]);
    assert!(run.settled(&after));
}

#[test]
fn two_at_once_run_side_by_side_and_a_failure_lets_the_other_end_but_starts_no_third() {
    let f = fleet(vec![
        (
            "a",
            64,
            vec![
                vm("one", 1, VmState::Running),
                vm("two", 1, VmState::Running),
                vm("three", 1, VmState::Running),
                vm("four", 1, VmState::Running),
            ],
        ),
        ("b", 64, vec![]),
    ]);
    let moves = ["one", "two", "three", "four"]
        .map(|v| mv(v, "a", "b"))
        .to_vec();
    let mut run = Run::new("a", false, moves).parallel(2);
    let first = run.next(&f).unwrap();
    let second = run.next(&f).unwrap();
    assert_eq!((first.vm.as_str(), second.vm.as_str()), ("one", "two"));
    assert!(run.next(&f).is_none(), "two at once, no third");
    assert!(
        run.progress().contains("one → b, two → b"),
        "{}",
        run.progress()
    );
    // The second ends first: a third starts beside the first.
    run.ended(&second.uuid, Ok(()));
    let third = run.next(&f).unwrap();
    assert_eq!(third.vm, "three");
    run.ended(&first.uuid, Err("migration job timed out".into()));
    assert!(run.next(&f).is_none(), "stopped at the first failure");
    assert!(!run.finished(), "three is still under way");
    run.ended(&third.uuid, Err("target refused".into()));
    assert!(run.finished());
    let s = run.summary();
    assert!(s.contains("1 of 4 moved"), "{s}");
    assert!(
        s.contains("STOPPED: one failed (migration job timed out) and stays on a"),
        "{s}"
    );
    assert!(
        s.contains("three failed too (target refused) and stays on a"),
        "{s}"
    );
    assert!(s.contains("not moved: four (on a)"), "{s}");
    assert!(s.contains("moved: two → b"), "{s}");
}

#[test]
fn a_move_that_waits_is_handed_out_again_first() {
    let f = fleet(vec![
        (
            "a",
            64,
            vec![
                vm("one", 1, VmState::Running),
                vm("two", 1, VmState::Running),
            ],
        ),
        ("b", 64, vec![]),
    ]);
    let mut run = Run::new("a", false, vec![mv("one", "a", "b"), mv("two", "a", "b")]);
    let m = run.next(&f).unwrap();
    run.wait(m);
    assert!(run.current.is_empty() && !run.finished());
    assert_eq!(run.next(&f).unwrap().vm, "one");
}
