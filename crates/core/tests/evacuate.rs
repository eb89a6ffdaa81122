#![allow(clippy::unwrap_used)]
//! Evacuation plans: every active VM of the host to a target that can take it (memory, the
//! vCPU overcommit limit, anti-affinity), biggest first, spread by memory left; local disks
//! block unless copied; hosts that cannot take VMs are named with why.

use fleetwatch_core::actions::evacuate::{Evacuation, evacuation};
use fleetwatch_core::actions::plan::PlanContext;
use fleetwatch_core::config::HostConfig;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::{DomainSample, VmState};
use fleetwatch_testkit::{config, domain, host_config, info, sample};
use std::collections::HashMap;
use std::time::Instant;

/// A VM of `gib` GiB and `vcpus` vCPUs on shared storage.
fn vm(name: &str, gib: u64, vcpus: u32) -> DomainSample {
    let mut d = domain(&format!("u-{name}"), name, VmState::Running, 10);
    d.memory_bytes = Some(gib << 30);
    d.vcpus = Some(vcpus);
    d
}

fn on_local_disk(mut d: DomainSample) -> DomainSample {
    d.config = Some(config("/var/lib/libvirt/images/db.qcow2"));
    d
}

/// Hosts of `(name, cpus, GiB, VMs)`, every one up and allowing actions.
fn fleet(hosts: Vec<(&str, u32, u64, Vec<DomainSample>)>) -> Fleet {
    let configs: Vec<HostConfig> = hosts.iter().map(|(n, ..)| host_config(n)).collect();
    let mut f = Fleet::new(&configs);
    for (i, (_, cpus, gib, vms)) in hosts.into_iter().enumerate() {
        f.set_link(i, LinkState::Up, None);
        f.apply(i, &sample(info(cpus, gib), Instant::now(), vms));
    }
    f
}

struct Cx {
    allowed: Vec<bool>,
    shared: Vec<String>,
    groups: HashMap<String, String>,
    limit: f64,
}

impl Cx {
    fn new(hosts: usize) -> Cx {
        Cx {
            allowed: vec![true; hosts],
            shared: vec!["/srv/shared/".into()],
            groups: HashMap::new(),
            limit: 4.0,
        }
    }
    fn group(mut self, g: &str, vms: &[&str]) -> Cx {
        for v in vms {
            self.groups.insert(format!("u-{v}"), g.into());
        }
        self
    }
    fn plan(&self, f: &Fleet, copy: bool) -> Evacuation {
        let cx = PlanContext {
            maintenance: &[],
            group_actions: &[],
            read_only: false,
            actions_allowed: &self.allowed,
            shared_storage: &self.shared,
            groups: &self.groups,
            now: chrono::Utc::now(),
            max_vcpu_overcommit: self.limit,
            production: &[],
        };
        evacuation(f, 0, &cx, copy)
    }
}

fn moves(e: &Evacuation) -> Vec<(String, String)> {
    e.moves
        .iter()
        .map(|m| (m.vm.clone(), m.to.clone()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
}

#[test]
fn the_biggest_go_first_each_to_the_host_with_the_most_memory_left() {
    let f = fleet(vec![
        (
            "src",
            16,
            64,
            vec![vm("a", 8, 2), vm("b", 2, 2), vm("c", 4, 2)],
        ),
        ("x", 16, 32, vec![]),
        ("y", 16, 24, vec![]),
    ]);
    let e = Cx::new(3).plan(&f, false);
    // a to x (32 GiB free against 24); then 24 each, and y has the lower vCPU ratio; then x
    // has more memory left.
    assert_eq!(moves(&e), pairs(&[("a", "x"), ("c", "y"), ("b", "x")]));
    assert!(e.blocked.is_empty(), "{:?}", e.blocked);
    let x = e.after.iter().find(|a| a.host == "x").unwrap();
    assert_eq!((x.moves_in, x.memory_used_pct), (2, 31.25));
    assert_eq!(e.moves[0].memory_bytes, 8 << 30);
}

#[test]
fn a_vm_no_target_has_memory_for_is_blocked_with_each_targets_reason() {
    let f = fleet(vec![
        ("src", 16, 64, vec![vm("big", 16, 2), vm("small", 2, 2)]),
        ("x", 16, 8, vec![vm("x1", 4, 2)]),
    ]);
    let e = Cx::new(2).plan(&f, false);
    assert_eq!(moves(&e), pairs(&[("small", "x")]));
    assert_eq!(e.blocked.len(), 1);
    assert_eq!(e.blocked[0].vm, "big");
    assert!(
        e.blocked[0]
            .reason
            .contains("x has 4096 MiB free, big needs 16384"),
        "{}",
        e.blocked[0].reason
    );
}

#[test]
fn the_vcpu_overcommit_limit_holds_on_every_target() {
    let f = fleet(vec![
        ("src", 16, 64, vec![vm("wide", 2, 8)]),
        ("x", 4, 64, vec![vm("x1", 2, 4)]),
        ("y", 8, 64, vec![vm("y1", 2, 8)]),
    ]);
    let mut cx = Cx::new(3);
    cx.limit = 2.0;
    let e = cx.plan(&f, false);
    // x would be at 3.0x, y at 2.0x: y, though x has as much memory left.
    assert_eq!(moves(&e), pairs(&[("wide", "y")]));
    cx.limit = 1.5;
    let e = cx.plan(&f, false);
    assert!(e.moves.is_empty());
    let why = &e.blocked[0].reason;
    assert!(
        why.contains("x would be at 3.0x vCPU (limit 1.5x)"),
        "{why}"
    );
    assert!(why.contains("y would be at 2.0x vCPU"), "{why}");
}

#[test]
fn two_of_an_anti_affinity_group_never_land_on_one_host() {
    let f = fleet(vec![
        ("src", 16, 64, vec![vm("web-1", 2, 2), vm("web-2", 2, 2)]),
        ("x", 16, 64, vec![vm("web-3", 2, 2)]),
        ("y", 16, 32, vec![]),
    ]);
    let e = Cx::new(3)
        .group("web", &["web-1", "web-2", "web-3"])
        .plan(&f, false);
    // x already runs web-3; y takes web-1, and then web-2 has nowhere to go.
    assert_eq!(moves(&e), pairs(&[("web-1", "y")]));
    assert_eq!(e.blocked[0].vm, "web-2");
    let why = &e.blocked[0].reason;
    assert!(why.contains("x already runs one of group \"web\""), "{why}");
    assert!(why.contains("y already runs one of group \"web\""), "{why}");
}

#[test]
fn local_storage_blocks_unless_copied() {
    let f = fleet(vec![
        ("src", 16, 64, vec![on_local_disk(vm("db", 4, 2))]),
        ("x", 16, 64, vec![]),
    ]);
    let e = Cx::new(2).plan(&f, false);
    assert!(e.moves.is_empty());
    assert!(
        e.blocked[0]
            .reason
            .contains("/var/lib/libvirt/images/db.qcow2"),
        "{:?}",
        e.blocked
    );
    let e = Cx::new(2).plan(&f, true);
    assert_eq!(moves(&e), pairs(&[("db", "x")]));
}

#[test]
fn hosts_down_or_not_acting_take_nothing_and_say_why_and_shut_off_vms_stay() {
    let mut off = vm("off", 2, 2);
    off.state = Some(VmState::Shutoff);
    let mut f = fleet(vec![
        ("src", 16, 64, vec![vm("a", 2, 2), off]),
        ("down", 16, 64, vec![]),
        ("locked", 16, 64, vec![]),
        ("ok", 16, 8, vec![]),
    ]);
    f.set_link(1, LinkState::Down, Some("no route".into()));
    let mut cx = Cx::new(4);
    cx.allowed[2] = false;
    let e = cx.plan(&f, false);
    assert_eq!(moves(&e), pairs(&[("a", "ok")]));
    let left: Vec<(&str, &str)> = e
        .not_targets
        .iter()
        .map(|l| (l.host.as_str(), l.reason.as_str()))
        .collect();
    assert_eq!(
        left,
        [
            ("down", "it is down"),
            ("locked", "it does not allow actions")
        ]
    );
    assert!(e.refusals.is_empty(), "{:?}", e.refusals);
}

#[test]
fn the_failover_left_afterwards_is_named() {
    let f = fleet(vec![
        ("src", 16, 64, vec![vm("a", 6, 2), vm("b", 6, 2)]),
        ("x", 16, 16, vec![]),
        ("y", 16, 16, vec![]),
    ]);
    let e = Cx::new(3).plan(&f, false);
    assert_eq!(e.moves.len(), 2);
    // Each ends with 6 GiB on 16: either failing, the other has 10 GiB for its 6.
    assert_eq!(
        e.failover,
        "the hosts left could still take any one of them failing"
    );
    let f = fleet(vec![
        ("src", 16, 64, vec![vm("a", 12, 2)]),
        ("x", 16, 16, vec![]),
        ("y", 16, 16, vec![vm("y1", 8, 2)]),
    ]);
    let e = Cx::new(3).plan(&f, false);
    assert_eq!(moves(&e), pairs(&[("a", "x")]));
    assert_eq!(
        e.failover,
        "losing x afterwards would leave 4096 MiB of its VMs without room"
    );
}
