#![allow(clippy::unwrap_used)]
//! The fleet model on recorded samples: rates, resets, vanishing VMs, migrations, host loss.

use fleetwatch_testkit as support;

use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::VmState;
use std::time::{Duration, Instant};
use support::{domain, host_config, info, sample};

fn two_hosts() -> Fleet {
    Fleet::new(&[host_config("a"), host_config("b")])
}

#[test]
fn rates_come_from_successive_samples() {
    let t0 = Instant::now();
    let mut f = two_hosts();
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0,
            vec![domain("u1", "web", VmState::Running, 10)],
        ),
    );
    let vm = f.vm("u1").unwrap();
    assert_eq!(vm.cpu_percent, None, "one sample cannot give a rate");

    f.apply(
        0,
        &sample(
            info(8, 32),
            t0 + Duration::from_secs(2),
            vec![domain("u1", "web", VmState::Running, 12)],
        ),
    );
    let vm = f.vm("u1").unwrap();
    // Half a CPU on 2 vCPUs is 25% of the VM, 6.25% of an 8-CPU host.
    assert!((vm.cpu_percent.unwrap() - 25.0).abs() < 1e-9);
    assert!((vm.host_cpu_percent.unwrap() - 6.25).abs() < 1e-9);
    assert_eq!(vm.disk_read_bps, Some(1_000_000.0));
    assert_eq!(vm.disk_write_bps, Some(2_000_000.0));
    assert_eq!(vm.net_rx_bps, Some(3_000_000.0));
    assert_eq!(vm.net_tx_bps, Some(4_000_000.0));
    let h = &f.hosts[0];
    assert_eq!(h.link, LinkState::Up);
    assert_eq!(h.totals.running, 1);
    assert_eq!(h.totals.vcpus_allocated, 2);
    assert!((h.totals.cpu_percent.unwrap() - 6.25).abs() < 1e-9);
    assert_eq!(h.vcpu_overcommit(), Some(0.25));
}

#[test]
fn counters_reset_by_a_restart_give_unknown_not_negative() {
    let t0 = Instant::now();
    let mut f = two_hosts();
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0,
            vec![domain("u1", "web", VmState::Running, 1000)],
        ),
    );
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0 + Duration::from_secs(2),
            vec![domain("u1", "web", VmState::Running, 1)],
        ),
    );
    let vm = f.vm("u1").unwrap();
    assert_eq!(vm.cpu_percent, None);
    assert_eq!(vm.disk_read_bps, None);
    // And the next sample after the reset is a real rate again.
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0 + Duration::from_secs(4),
            vec![domain("u1", "web", VmState::Running, 3)],
        ),
    );
    assert!((f.vm("u1").unwrap().cpu_percent.unwrap() - 25.0).abs() < 1e-9);
}

#[test]
fn a_vm_that_vanished_between_polls_is_gone() {
    let t0 = Instant::now();
    let mut f = two_hosts();
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0,
            vec![
                domain("u1", "web", VmState::Running, 1),
                domain("u2", "db", VmState::Running, 1),
            ],
        ),
    );
    assert_eq!(f.vm_count(), 2);
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0 + Duration::from_secs(2),
            vec![domain("u1", "web", VmState::Running, 3)],
        ),
    );
    assert_eq!(f.vm_count(), 1);
    assert!(f.vm("u2").is_none());
    assert!(f.series("u2").is_none());
    assert_eq!(f.hosts[0].totals.vms, 1);
}

#[test]
fn a_migration_moves_the_vm_and_the_running_copy_wins() {
    let t0 = Instant::now();
    let s = |secs| t0 + Duration::from_secs(secs);
    let mut f = two_hosts();
    f.apply(
        0,
        &sample(
            info(8, 32),
            s(0),
            vec![domain("u1", "web", VmState::Running, 10)],
        ),
    );
    f.apply(1, &sample(info(8, 32), s(0), vec![]));
    // Mid-migration: the destination holds a paused incoming copy; the source still runs it.
    f.apply(
        1,
        &sample(
            info(8, 32),
            s(2),
            vec![domain("u1", "web", VmState::Paused, 0)],
        ),
    );
    assert_eq!(f.vm("u1").unwrap().host, 0);
    assert_eq!(f.also_defined_on("u1"), vec![1]);
    // Done: the destination runs it, the source keeps a shut-off definition.
    f.apply(
        1,
        &sample(
            info(8, 32),
            s(4),
            vec![domain("u1", "web", VmState::Running, 1)],
        ),
    );
    f.apply(
        0,
        &sample(
            info(8, 32),
            s(4),
            vec![domain("u1", "web", VmState::Shutoff, 0)],
        ),
    );
    let vm = f.vm("u1").unwrap();
    assert_eq!((vm.host, vm.state), (1, VmState::Running));
    assert_eq!(f.also_defined_on("u1"), vec![0]);
    assert_eq!(f.vm_count(), 1, "one VM, not two");
    // The source forgets it: one placement left.
    f.apply(0, &sample(info(8, 32), s(6), vec![]));
    assert!(f.also_defined_on("u1").is_empty());
    f.apply(
        1,
        &sample(
            info(8, 32),
            s(6),
            vec![domain("u1", "web", VmState::Running, 3)],
        ),
    );
    assert!(
        f.series("u1").unwrap().len() >= 2,
        "history follows the VM across hosts"
    );
}

#[test]
fn a_down_host_keeps_its_vms_in_view_without_rates() {
    let t0 = Instant::now();
    let mut f = two_hosts();
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0,
            vec![domain("u1", "web", VmState::Running, 1)],
        ),
    );
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0 + Duration::from_secs(2),
            vec![domain("u1", "web", VmState::Running, 3)],
        ),
    );
    let g = f.generation;
    f.set_link(0, LinkState::Down, Some("Connection refused".into()));
    assert!(f.generation > g);
    let vm = f.vm("u1").unwrap();
    assert_eq!(vm.state, VmState::Running);
    assert_eq!(vm.cpu_percent, None);
    assert_eq!(f.hosts[0].error.as_deref(), Some("Connection refused"));
    assert_eq!(f.hosts[0].totals.cpu_percent, None);
    // Repeating the same state is not a change.
    let g = f.generation;
    f.set_link(0, LinkState::Down, Some("Connection refused".into()));
    assert_eq!(f.generation, g);
}

#[test]
fn stopped_vms_use_nothing_and_node_counters_give_host_cpu() {
    let t0 = Instant::now();
    let mut f = two_hosts();
    let mut s0 = sample(
        info(4, 16),
        t0,
        vec![domain("u1", "x", VmState::Shutoff, 0)],
    );
    s0.node_cpu = Some(fleetwatch_core::model::sample::NodeCpu {
        busy_ns: 100,
        total_ns: 1000,
    });
    s0.free_memory_bytes = Some(4 << 30);
    let mut s1 = sample(
        info(4, 16),
        t0 + Duration::from_secs(2),
        vec![domain("u1", "x", VmState::Shutoff, 0)],
    );
    s1.node_cpu = Some(fleetwatch_core::model::sample::NodeCpu {
        busy_ns: 400,
        total_ns: 2000,
    });
    s1.free_memory_bytes = Some(4 << 30);
    f.apply(0, &s0);
    f.apply(0, &s1);
    assert_eq!(f.vm("u1").unwrap().cpu_percent, Some(0.0));
    assert_eq!(f.hosts[0].totals.cpu_percent, Some(30.0));
    assert_eq!(f.hosts[0].totals.memory_used, Some(12 << 30));
    assert_eq!(f.hosts[0].totals.vcpus_allocated, 0);
}

#[test]
fn a_counter_missing_from_a_poll_keeps_its_last_rate_until_the_next_reading() {
    let t0 = Instant::now();
    let s = |secs| t0 + Duration::from_secs(secs);
    let mut f = two_hosts();
    f.apply(
        0,
        &sample(
            info(8, 32),
            s(0),
            vec![domain("u1", "web", VmState::Running, 0)],
        ),
    );
    f.apply(
        0,
        &sample(
            info(8, 32),
            s(2),
            vec![domain("u1", "web", VmState::Running, 2)],
        ),
    );
    assert_eq!(f.vm("u1").unwrap().disk_read_bps, Some(1_000_000.0));
    // Fast polls without disk counters (they cost a monitor round trip per VM).
    for secs in [4, 6, 8] {
        let mut d = domain("u1", "web", VmState::Running, secs);
        d.disk_read_bytes = None;
        d.rss_bytes = None;
        f.apply(0, &sample(info(8, 32), s(secs), vec![d]));
        let vm = f.vm("u1").unwrap();
        assert_eq!(vm.disk_read_bps, Some(1_000_000.0), "held at {secs}s");
        assert_eq!(vm.rss_bytes, Some(1 << 30), "rss held at {secs}s");
        assert!(
            (vm.cpu_percent.unwrap() - 25.0).abs() < 1e-9,
            "cpu still per poll"
        );
    }
    // The next reading: 6 MB more over the 8 s since the last one is 0.75 MB/s.
    let mut d = domain("u1", "web", VmState::Running, 10);
    d.disk_read_bytes = Some(2_000_000 + 3_000_000 * 2);
    f.apply(0, &sample(info(8, 32), s(10), vec![d]));
    assert_eq!(f.vm("u1").unwrap().disk_read_bps, Some(6_000_000.0 / 8.0));
}

#[test]
fn a_uuid_listed_twice_in_one_poll_is_one_vm_placed_once() {
    let t0 = Instant::now();
    let mut f = two_hosts();
    let twice = |secs| {
        sample(
            info(8, 32),
            t0 + Duration::from_secs(secs),
            vec![
                domain("u1", "web", VmState::Running, secs),
                domain("u1", "web-again", VmState::Paused, secs),
                domain("u2", "db", VmState::Running, secs),
            ],
        )
    };
    f.apply(0, &twice(10));
    f.apply(0, &twice(12));
    assert_eq!(f.vm_count(), 2);
    assert_eq!(f.hosts[0].vms.len(), 2);
    assert_eq!(
        f.vm("u1").unwrap().name,
        "web-again",
        "the last listing stands"
    );
    assert!(
        f.also_defined_on("u1").is_empty(),
        "one host, one placement"
    );
    // The VM gone from the next poll leaves every index.
    f.apply(
        0,
        &sample(
            info(8, 32),
            t0 + Duration::from_secs(14),
            vec![domain("u2", "db", VmState::Running, 14)],
        ),
    );
    assert!(f.vm("u1").is_none() && f.copies("u1").is_empty() && f.series("u1").is_none());
    assert!(
        f.vm("u2").unwrap().cpu_percent.is_some(),
        "u2's rate goes on"
    );
}
