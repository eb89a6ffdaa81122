#![allow(clippy::unwrap_used)]
//! The rules on VMs whose XML the collector has not read yet (a far host's configs come in a
//! trickle): metadata, snapshots and disks are unknown, so no finding may rest on them; once
//! read, the same VMs get their findings.

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::{Finding, Kind};
use fleetwatch_core::model::rules::evaluate;
use fleetwatch_core::model::sample::{
    Approval, DiskConfig, DiskSource, DomainConfig, DomainSample, FleetMeta, VmState,
};
use fleetwatch_core::policy::PolicyConfig;
use fleetwatch_core::policy::inventory::Inventory;
use fleetwatch_core::policy::loader::Inputs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use support::{host_config, info, sample};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn policy() -> PolicyConfig {
    PolicyConfig {
        shared_storage: vec!["/srv/shared/".into()],
        ..PolicyConfig::default()
    }
}

/// What the XML would say: a local disk, no snapshot, no backup, and an approval in the
/// metadata for 4 vCPUs (the VM runs 2) in group `pair`.
fn read_config() -> Arc<DomainConfig> {
    let mut cfg: DomainConfig = (*support::config("/var/lib/libvirt/images/x.qcow2")).clone();
    cfg.disks.push(DiskConfig {
        target: "vdb".into(),
        device: "disk".into(),
        path: "/srv/shared/y.qcow2".into(),
        source: DiskSource::File,
    });
    cfg.fleet = Some(FleetMeta {
        approval: Some(Approval {
            owner: "team".into(),
            ticket: "CHG-1".into(),
            group: Some("pair".into()),
            vcpus: Some(4),
            ..Approval::default()
        }),
        backup_last: None,
        problems: Vec::new(),
    });
    Arc::new(cfg)
}

fn vm(uuid: &str, name: &str, config: Option<Arc<DomainConfig>>) -> DomainSample {
    let mut d = support::domain(uuid, name, VmState::Running, 10);
    d.config = config;
    d
}

fn fleet(doms: Vec<DomainSample>) -> Fleet {
    let mut f = Fleet::new(&[host_config("far"), host_config("spare")]);
    f.apply(0, &sample(info(64, 512), Instant::now(), doms));
    f.apply(1, &sample(info(64, 512), Instant::now(), Vec::new()));
    f
}

fn kinds(found: &[Finding], vm: &str) -> Vec<Kind> {
    found
        .iter()
        .filter(|f| f.vm.as_deref() == Some(vm))
        .map(|f| f.kind)
        .collect()
}

#[test]
fn a_vm_whose_xml_is_not_read_yet_has_no_findings_that_need_it() {
    // Not in an inventory (its approval could be in the metadata), no catalog (a snapshot or
    // backup metadata could be in the XML), disks unknown.
    let f = fleet(vec![vm("u1", "a", None), vm("u2", "b", None)]);
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_same_vms_once_read_have_them() {
    let f = fleet(vec![
        vm("u1", "a", Some(read_config())),
        vm("u2", "b", Some(read_config())),
    ]);
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    for name in ["a", "b"] {
        let mut k = kinds(&found, name);
        k.sort();
        let mut want = vec![
            Kind::Unbacked,
            Kind::Drift,
            Kind::LocalStorage,
            Kind::AntiAffinity,
        ];
        want.sort();
        assert_eq!(k, want, "{name}: {found:#?}");
    }
}

#[test]
fn what_the_inventory_says_still_counts_but_not_against_unread_metadata() {
    let inv = "[[vm]]\nname = \"a\"\nowner = \"t\"\nticket = \"T-1\"\ngroup = \"pair\"\n\n\
               [[vm]]\nname = \"b\"\nowner = \"t\"\nticket = \"T-2\"\ngroup = \"pair\"\n\n\
               [[vm]]\nname = \"gone\"\n";
    let inputs = Inputs {
        inventory: Some(Inventory::parse(inv, Path::new("inv.toml")).map(Arc::new)),
        catalog: None,
    };
    // b is read, a is not: a is found by name (no ghost), but neither is flagged for the
    // group they share, since a's metadata could hold the approval that counts.
    let f = fleet(vec![
        vm("u1", "a", None),
        vm("u2", "b", Some(read_config())),
    ]);
    let found = evaluate(&f, &policy(), &inputs, now());
    assert!(kinds(&found, "a").is_empty(), "{found:#?}");
    assert!(
        !kinds(&found, "b").contains(&Kind::AntiAffinity),
        "{found:#?}"
    );
    assert!(kinds(&found, "b").contains(&Kind::LocalStorage));
    let ghosts: Vec<_> = found.iter().filter(|f| f.kind == Kind::Ghost).collect();
    assert_eq!(ghosts.len(), 1, "{ghosts:#?}");
    assert_eq!(ghosts[0].vm.as_deref(), Some("gone"));
}

#[test]
fn host_rules_use_live_values_and_do_not_wait_for_xml() {
    // 200 unread VMs of 2 vCPUs on 64 CPUs: 6.3x, above the default 4x, counted from the
    // live vCPU counts.
    let doms: Vec<DomainSample> = (0..200)
        .map(|i| vm(&format!("u{i}"), &format!("v{i}"), None))
        .collect();
    let f = fleet(doms);
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert!(
        found.iter().any(|f| f.kind == Kind::Overcommit),
        "{:?}",
        found.iter().map(|f| f.kind).collect::<Vec<_>>()
    );
    assert!(found.iter().all(|f| f.vm.is_none()), "{found:#?}");
}
