//! Each finding rule on hand-made fleets, with the clock given: expiry and age edges, UUID
//! against name matching, a migrating VM, unreadable policy files.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Duration, Utc};
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::{Finding, Kind, Severity};
use fleetwatch_core::model::rules::evaluate;
use fleetwatch_core::model::sample::{
    Approval, DiskConfig, DiskSource, DomainConfig, DomainSample, FleetMeta, VmState,
};
use fleetwatch_core::policy::catalog::Catalog;
use fleetwatch_core::policy::inventory::Inventory;
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_core::policy::{InputError, PolicyConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use support::{host_config, info, sample};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A VM with shared storage, its metadata approving it (unless `approval` is None) and backed up
/// an hour ago (unless `backup` is None).
fn vm(
    uuid: &str,
    name: &str,
    state: VmState,
    approval: Option<Approval>,
    backup: Option<DateTime<Utc>>,
) -> DomainSample {
    let mut d = support::domain(uuid, name, state, 10);
    let mut cfg: DomainConfig = (*support::config("/srv/shared/x.qcow2")).clone();
    cfg.fleet = Some(FleetMeta {
        approval,
        backup_last: backup,
        problems: Vec::new(),
    });
    d.config = Some(Arc::new(cfg));
    d
}

fn ok_approval(group: Option<&str>) -> Option<Approval> {
    Some(Approval {
        owner: "team".into(),
        ticket: "CHG-1".into(),
        group: group.map(str::to_owned),
        ..Approval::default()
    })
}

fn fresh() -> Option<DateTime<Utc>> {
    Some(now() - Duration::hours(1))
}

/// The given hosts plus an empty spare, so one host's loss can be absorbed.
fn fleet(hosts: &[Vec<DomainSample>]) -> Fleet {
    let mut hosts = hosts.to_vec();
    hosts.push(Vec::new());
    let configs: Vec<_> = (0..hosts.len())
        .map(|i| host_config(&format!("hv{i}")))
        .collect();
    let mut f = Fleet::new(&configs);
    for (i, doms) in hosts.iter().enumerate() {
        f.apply(i, &sample(info(64, 512), Instant::now(), doms.clone()));
    }
    f
}

fn policy() -> PolicyConfig {
    PolicyConfig {
        shared_storage: vec!["/srv/shared/".into()],
        ..PolicyConfig::default()
    }
}

fn kinds(found: &[Finding], vm: &str) -> Vec<Kind> {
    // Ghosts name an inventory entry, not a running VM.
    found
        .iter()
        .filter(|f| f.vm.as_deref() == Some(vm) && f.kind != Kind::Ghost)
        .map(|f| f.kind)
        .collect()
}

fn detail(found: &[Finding], vm: &str, k: Kind) -> String {
    found
        .iter()
        .find(|f| f.vm.as_deref() == Some(vm) && f.kind == k)
        .map(|f| f.detail.clone())
        .unwrap_or_else(|| panic!("no {k} for {vm}: {found:#?}"))
}

fn inputs_with(inv: &str) -> Inputs {
    Inputs {
        inventory: Some(Inventory::parse(inv, Path::new("inv.toml")).map(Arc::new)),
        catalog: None,
    }
}

#[test]
fn a_clean_vm_has_no_findings() {
    let f = fleet(&[vec![vm(
        "u1",
        "web-01",
        VmState::Running,
        ok_approval(None),
        fresh(),
    )]]);
    assert_eq!(evaluate(&f, &policy(), &Inputs::default(), now()), vec![]);
}

#[test]
fn unapproved_with_no_source_or_expired_and_says_which() {
    let expired = Approval {
        expires: Some(now() - Duration::seconds(1)),
        ..ok_approval(None).unwrap()
    };
    let just_valid = Approval {
        expires: Some(now() + Duration::seconds(1)),
        ..ok_approval(None).unwrap()
    };
    let f = fleet(&[vec![
        vm("u1", "none", VmState::Running, None, fresh()),
        vm("u2", "old", VmState::Shutoff, Some(expired), fresh()),
        vm("u3", "edge", VmState::Running, Some(just_valid), fresh()),
    ]]);
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert!(detail(&found, "none", Kind::Unapproved).starts_with("no approval"));
    let d = detail(&found, "old", Kind::Unapproved);
    assert!(
        d.contains("expired 2026-11-21 11:59") && d.contains("VM metadata"),
        "{d}"
    );
    assert!(kinds(&found, "edge").is_empty());
    // At the very second it expires it is expired.
    let found = evaluate(
        &f,
        &policy(),
        &Inputs::default(),
        now() + Duration::seconds(1),
    );
    assert!(kinds(&found, "edge").contains(&Kind::Unapproved));
}

#[test]
fn inventory_matches_by_uuid_first_then_by_name() {
    let f = fleet(&[vec![
        vm("aaaa-1", "web-01", VmState::Running, None, fresh()),
        vm("bbbb-2", "web-01-clone", VmState::Running, None, fresh()),
        vm("cccc-3", "db-01", VmState::Running, None, fresh()),
        // Same name as an entry that gives a UUID: a clone, not approved by that entry.
        vm("dddd-4", "cache-01", VmState::Running, None, fresh()),
    ]]);
    let inv = "[[vm]]\nuuid = \"AAAA-1\"\n\n[[vm]]\nname = \"db-01\"\n\n[[vm]]\nname = \"cache-01\"\nuuid = \"eeee-5\"\n";
    let found = evaluate(&f, &policy(), &inputs_with(inv), now());
    assert!(kinds(&found, "web-01").is_empty(), "{found:#?}");
    assert!(kinds(&found, "db-01").is_empty());
    assert_eq!(kinds(&found, "web-01-clone"), vec![Kind::Unapproved]);
    assert_eq!(kinds(&found, "cache-01"), vec![Kind::Unapproved]);
    // The cache-01 entry (uuid eeee-5) matches nothing: a ghost.
    let ghosts: Vec<&Finding> = found.iter().filter(|f| f.kind == Kind::Ghost).collect();
    assert_eq!(ghosts.len(), 1, "{ghosts:#?}");
    assert!(ghosts[0].detail.contains("line 7") && ghosts[0].detail.contains("eeee-5"));
    assert_eq!(ghosts[0].severity, Severity::Warning);
}

#[test]
fn ghost_detail_names_hosts_that_could_not_be_searched() {
    let mut f = fleet(&[
        vec![vm("u1", "a", VmState::Running, ok_approval(None), fresh())],
        vec![],
    ]);
    f.set_link(1, LinkState::Down, Some("refused".into()));
    let found = evaluate(
        &f,
        &policy(),
        &inputs_with("[[vm]]\nname = \"gone\"\n"),
        now(),
    );
    let g = found.iter().find(|f| f.kind == Kind::Ghost).unwrap();
    assert!(g.detail.contains("not searched: hv1"), "{}", g.detail);
    assert!(
        !g.detail.contains("hv2"),
        "the spare answered: {}",
        g.detail
    );
    assert_eq!(g.vm.as_deref(), Some("gone"));
}

#[test]
fn unbacked_by_newest_evidence_and_age_edge_with_group_override() {
    let mut p = policy();
    p.group.insert(
        "db".into(),
        fleetwatch_core::policy::GroupPolicy {
            backup_max_age: Some(std::time::Duration::from_secs(6 * 3600)),
            netboot_expected: false,
        },
    );
    let exactly_a_day = Some(now() - Duration::hours(24));
    let f = fleet(&[vec![
        vm("u1", "never", VmState::Running, ok_approval(None), None),
        vm(
            "u2",
            "day",
            VmState::Running,
            ok_approval(None),
            exactly_a_day,
        ),
        vm(
            "u3",
            "day-and-a-second",
            VmState::Running,
            ok_approval(None),
            Some(now() - Duration::hours(24) - Duration::seconds(1)),
        ),
        vm(
            "u4",
            "db-7h",
            VmState::Running,
            ok_approval(Some("db")),
            Some(now() - Duration::hours(7)),
        ),
        vm("u5", "catalog", VmState::Running, ok_approval(None), None),
        vm(
            "u6",
            "failed-only",
            VmState::Running,
            ok_approval(None),
            None,
        ),
    ]]);
    let catalog = Catalog::parse(concat!(
        "{\"vm\": \"catalog\", \"completed_at\": \"2026-11-21T10:00:00Z\", \"status\": \"ok\", \"location\": \"s3://x\"}\n",
        "{\"uuid\": \"u6\", \"completed_at\": \"2026-11-21T10:00:00Z\", \"status\": \"failed\"}\n",
    ));
    let inputs = Inputs {
        inventory: None,
        catalog: Some(Ok(Arc::new(catalog))),
    };
    let found = evaluate(&f, &p, &inputs, now());
    assert!(detail(&found, "never", Kind::Unbacked).starts_with("no backup evidence"));
    assert!(
        kinds(&found, "day").is_empty(),
        "exactly the max age is still backed"
    );
    let d = detail(&found, "day-and-a-second", Kind::Unbacked);
    assert!(
        d.contains("1d00h old") && d.contains("backup metadata"),
        "{d}"
    );
    let d = detail(&found, "db-7h", Kind::Unbacked);
    assert!(d.contains("max age 6h00m"), "{d}");
    assert!(kinds(&found, "catalog").is_empty());
    assert!(kinds(&found, "failed-only").contains(&Kind::Unbacked));
}

#[test]
fn a_snapshot_is_backup_evidence_only_when_the_policy_says_so() {
    let mut d = vm("u1", "snap", VmState::Running, ok_approval(None), None);
    let mut cfg = (**d.config.as_ref().unwrap()).clone();
    cfg.newest_snapshot = Some(("nightly".into(), now() - Duration::hours(2)));
    d.config = Some(Arc::new(cfg));
    let f = fleet(&[vec![d]]);
    // By default an internal snapshot lives on the VM's own disks: no backup.
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert_eq!(kinds(&found, "snap"), vec![Kind::Unbacked], "{found:#?}");
    assert!(detail(&found, "snap", Kind::Unbacked).contains("snapshots_count_as_backup"));
    let p = PolicyConfig {
        snapshots_count_as_backup: true,
        ..policy()
    };
    let found = evaluate(&f, &p, &Inputs::default(), now());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn drift_shows_both_values() {
    let spec = Approval {
        vcpus: Some(4),
        memory_mib: Some(4096),
        ..ok_approval(None).unwrap()
    };
    // The support builder runs 2 vCPUs with 4 GiB max memory.
    let f = fleet(&[vec![
        vm("u1", "web", VmState::Running, Some(spec.clone()), fresh()),
        vm("u2", "off", VmState::Shutoff, Some(spec), fresh()),
    ]]);
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert_eq!(
        detail(&found, "web", Kind::Drift),
        "vCPUs 2 running, 4 approved (VM metadata)"
    );
    assert!(
        kinds(&found, "off").is_empty(),
        "a shut-off VM runs nothing to drift"
    );
}

#[test]
fn local_storage_unless_shared_prefix_or_network() {
    let mut d = vm("u1", "local", VmState::Running, ok_approval(None), fresh());
    let mut cfg = (**d.config.as_ref().unwrap()).clone();
    cfg.disks.push(DiskConfig {
        target: "vdb".into(),
        device: "disk".into(),
        path: "/var/lib/libvirt/images/data.qcow2".into(),
        source: DiskSource::File,
    });
    cfg.disks.push(DiskConfig {
        target: "vdc".into(),
        device: "disk".into(),
        path: "pool/img".into(),
        source: DiskSource::Network {
            protocol: "rbd".into(),
        },
    });
    cfg.disks.push(DiskConfig {
        target: "sda".into(),
        device: "cdrom".into(),
        path: "/iso/install.iso".into(),
        source: DiskSource::File,
    });
    d.config = Some(Arc::new(cfg));
    let found = evaluate(&fleet(&[vec![d]]), &policy(), &Inputs::default(), now());
    assert_eq!(
        detail(&found, "local", Kind::LocalStorage),
        "cannot move off hv0: local disk(s) vdb /var/lib/libvirt/images/data.qcow2"
    );
}

#[test]
fn anti_affinity_counts_running_replicas_per_host() {
    let g = || ok_approval(Some("web"));
    let f = fleet(&[
        vec![
            vm("u1", "web-1", VmState::Running, g(), fresh()),
            vm("u2", "web-2", VmState::Running, g(), fresh()),
            vm("u3", "web-3", VmState::Paused, g(), fresh()),
        ],
        vec![vm("u4", "web-4", VmState::Running, g(), fresh())],
    ]);
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert_eq!(kinds(&found, "web-1"), vec![Kind::AntiAffinity]);
    assert!(
        detail(&found, "web-2", Kind::AntiAffinity)
            .contains("2 running replicas of group \"web\" on hv0")
    );
    assert!(kinds(&found, "web-3").is_empty() && kinds(&found, "web-4").is_empty());
}

#[test]
fn findings_follow_a_migrating_vm() {
    let g = || ok_approval(Some("web"));
    let configs = [host_config("a"), host_config("b")];
    let mut f = Fleet::new(&configs);
    let t = Instant::now();
    f.apply(
        0,
        &sample(
            info(64, 512),
            t,
            vec![
                vm("u1", "w1", VmState::Running, g(), fresh()),
                vm("u2", "w2", VmState::Running, g(), fresh()),
            ],
        ),
    );
    f.apply(1, &sample(info(64, 512), t, vec![]));
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert_eq!(kinds(&found, "w2"), vec![Kind::AntiAffinity]);
    // w2 moves to b: the conflict is gone, and its other findings name the new host.
    f.apply(
        1,
        &sample(
            info(64, 512),
            t,
            vec![vm("u2", "w2", VmState::Running, g(), None)],
        ),
    );
    f.apply(
        0,
        &sample(
            info(64, 512),
            t,
            vec![vm("u1", "w1", VmState::Running, g(), fresh())],
        ),
    );
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    assert!(kinds(&found, "w1").is_empty());
    let w2: Vec<&Finding> = found
        .iter()
        .filter(|x| x.vm.as_deref() == Some("w2"))
        .collect();
    assert_eq!(w2.len(), 1);
    assert_eq!(
        (w2[0].kind, w2[0].host.as_deref()),
        (Kind::Unbacked, Some("b"))
    );
    // The badges follow too.
    f.set_findings(found, Vec::new());
    assert_eq!(f.vm("u2").unwrap().flags, vec![Kind::Unbacked]);
    assert!(f.vm("u1").unwrap().flags.is_empty());
}

#[test]
fn overcommit_and_failover_capacity_per_host() {
    // Two 8-CPU, 16 GiB hosts. a: 40 vCPUs (5x) in 10 running 2-GiB VMs... too big for b.
    let big = |i: usize| {
        let mut d = vm(
            &format!("a{i}"),
            &format!("a{i}"),
            VmState::Running,
            ok_approval(None),
            fresh(),
        );
        d.vcpus = Some(4);
        d.memory_bytes = Some(1 << 30);
        d
    };
    let configs = [host_config("a"), host_config("b")];
    let mut f = Fleet::new(&configs);
    let t = Instant::now();
    f.apply(0, &sample(info(8, 16), t, (0..10).map(big).collect()));
    let mut b = vm("b0", "b0", VmState::Running, ok_approval(None), fresh());
    b.memory_bytes = Some(12 << 30);
    b.vcpus = Some(2);
    f.apply(1, &sample(info(8, 16), t, vec![b]));
    let found = evaluate(&f, &policy(), &Inputs::default(), now());
    let host = |h: &str, k: Kind| {
        found
            .iter()
            .find(|f| f.host.as_deref() == Some(h) && f.kind == k && f.vm.is_none())
            .map(|f| f.detail.clone())
    };
    let over = host("a", Kind::Overcommit).unwrap();
    assert!(over.contains("40 allocated on 8 CPUs = 5.0x"), "{over}");
    assert!(host("b", Kind::Overcommit).is_none());
    // b has 4 GiB and 30 vCPUs of room: four of a's VMs fit, six are stranded.
    let fo = host("a", Kind::FailoverCapacity).unwrap();
    assert!(fo.contains("strands 6 VM(s), 6.0 GiB and 24 vCPUs"), "{fo}");
    // a has 6 GiB free: b's 12 GiB VM does not fit.
    assert!(
        host("b", Kind::FailoverCapacity)
            .unwrap()
            .contains("strands 1 VM(s)")
    );
    assert_eq!(
        found
            .iter()
            .find(|f| f.kind == Kind::FailoverCapacity)
            .unwrap()
            .severity,
        Severity::Critical
    );
}

#[test]
fn unreadable_inventory_silences_its_rules_and_says_why() {
    let f = fleet(&[vec![vm("u1", "x", VmState::Running, None, fresh())]]);
    let mut p = policy();
    p.inventory = Some(PathBuf::from("/etc/fw/inv.toml"));
    let inputs = Inputs {
        inventory: Some(Err(InputError {
            file: "/etc/fw/inv.toml".into(),
            line: Some(3),
            reason: "expected `=`".into(),
        })),
        catalog: None,
    };
    let found = evaluate(&f, &p, &inputs, now());
    assert!(
        found
            .iter()
            .all(|f| f.kind != Kind::Unapproved && f.kind != Kind::Ghost),
        "{found:#?}"
    );
    assert_eq!(
        inputs.problems(&p),
        vec!["/etc/fw/inv.toml, line 3: expected `=`".to_owned()]
    );
}

#[test]
fn severity_can_be_changed_by_policy() {
    let mut p = policy();
    p.severity.insert(Kind::Unbacked, Severity::Warning);
    let f = fleet(&[vec![vm(
        "u1",
        "x",
        VmState::Running,
        ok_approval(None),
        None,
    )]]);
    let found = evaluate(&f, &p, &Inputs::default(), now());
    assert_eq!(found[0].severity, Severity::Warning);
}
