//! The reboot time bomb: a VM that boots from the network first is a `netboot-first` finding
//! (unless its group expects it), and the panes of actions that boot it say so.
#![allow(clippy::unwrap_used)]

use chrono::Utc;
use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::actions::plan::{PlanContext, plan};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::{Kind, Severity};
use fleetwatch_core::model::rules::evaluate;
use fleetwatch_core::model::sample::{Approval, DomainConfig, DomainSample, FleetMeta, VmState};
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_core::policy::{GroupPolicy, PolicyConfig};
use fleetwatch_testkit::{config, domain, host_config, info, sample};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// A VM of `group` booting from `boot`, in that order.
fn vm(name: &str, group: &str, boot: &[&str]) -> DomainSample {
    let mut d = domain(&format!("u-{name}"), name, VmState::Running, 10);
    let mut cfg: DomainConfig = (*config("/srv/shared/x.qcow2")).clone();
    cfg.boot = boot.iter().map(|b| (*b).to_owned()).collect();
    cfg.fleet = Some(FleetMeta {
        approval: Some(Approval {
            owner: "team".into(),
            ticket: "CHG-1".into(),
            group: Some(group.into()),
            ..Approval::default()
        }),
        backup_last: Some(Utc::now()),
        problems: Vec::new(),
    });
    d.config = Some(Arc::new(cfg));
    d
}

fn fleet() -> Fleet {
    let f = vec![
        vm("ldap-02", "ldap", &["network", "hd"]),
        vm("web-01", "web", &["hd", "network"]),
        vm("plain", "web", &[]),
        vm("runner", "ci", &["network", "hd"]),
    ];
    let configs = [host_config("hv0"), host_config("hv1")];
    let mut fleet = Fleet::new(&configs);
    fleet.apply(0, &sample(info(64, 512), Instant::now(), f));
    fleet.apply(1, &sample(info(64, 512), Instant::now(), Vec::new()));
    fleet
}

fn policy() -> PolicyConfig {
    let mut p = PolicyConfig {
        shared_storage: vec!["/srv/shared/".into()],
        ..PolicyConfig::default()
    };
    p.group.insert(
        "ci".into(),
        GroupPolicy {
            backup_max_age: None,
            netboot_expected: true,
        },
    );
    p
}

#[test]
fn network_first_is_a_warning_naming_the_order_unless_the_group_expects_it() {
    let found = evaluate(&fleet(), &policy(), &Inputs::default(), Utc::now());
    let netboot: Vec<_> = found
        .iter()
        .filter(|f| f.kind == Kind::NetbootFirst)
        .collect();
    assert_eq!(netboot.len(), 1, "{netboot:#?}");
    let f = netboot[0];
    assert_eq!(f.vm.as_deref(), Some("ldap-02"));
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.detail.contains("boot order network, hd"), "{}", f.detail);
    assert!(f.detail.contains("a reinstall included"), "{}", f.detail);
    assert_eq!(Kind::parse("netboot-first"), Some(Kind::NetbootFirst));
}

#[test]
fn the_panes_that_boot_it_say_so_and_the_others_do_not() {
    let fleet = fleet();
    let (allowed, shared, groups) = (
        vec![true, true],
        vec!["/srv/shared/".to_owned()],
        HashMap::new(),
    );
    let cx = PlanContext {
        maintenance: &[],
        group_actions: &[],
        read_only: false,
        actions_allowed: &allowed,
        shared_storage: &shared,
        groups: &groups,
        now: Utc::now(),
        max_vcpu_overcommit: 4.0,
        production: &[],
    };
    let says = |uuid: &str, kind: ActionKind| {
        plan(&fleet, &[uuid.to_owned()], kind, &cx)
            .risks
            .iter()
            .any(|r| r.contains("boots from the network first (network, hd)"))
    };
    assert!(says("u-ldap-02", ActionKind::Reboot));
    assert!(says("u-ldap-02", ActionKind::ForceOff));
    // Expected for its group or not, a reboot of a runner still takes the network's image.
    assert!(says("u-runner", ActionKind::Reboot));
    assert!(!says("u-ldap-02", ActionKind::Pause));
    assert!(!says("u-web-01", ActionKind::Reboot));
    assert!(!says("u-plain", ActionKind::Reboot));
}
