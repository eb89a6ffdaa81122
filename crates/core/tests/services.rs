//! The service view's grouping on hand-made fleets: groups from the rules' own pass, exposure
//! to one host's loss, members on hosts that stopped answering, the order a triage reads.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::rules::evaluate_grouped;
use fleetwatch_core::model::sample::{Approval, DomainConfig, DomainSample, FleetMeta, VmState};
use fleetwatch_core::model::services::{Exposure, services};
use fleetwatch_core::policy::PolicyConfig;
use fleetwatch_core::policy::loader::Inputs;
use std::sync::Arc;
use std::time::Instant;
use support::{host_config, info, sample};

fn vm(uuid: &str, name: &str, state: VmState, group: Option<&str>) -> DomainSample {
    let mut d = support::domain(uuid, name, state, 10);
    let mut cfg: DomainConfig = (*support::config("/srv/shared/x.qcow2")).clone();
    cfg.fleet = Some(FleetMeta {
        approval: Some(Approval {
            owner: "team".into(),
            ticket: "CHG-1".into(),
            group: group.map(str::to_owned),
            ..Approval::default()
        }),
        backup_last: Some(chrono::Utc::now()),
        problems: Vec::new(),
    });
    d.config = Some(Arc::new(cfg));
    d
}

fn judged(hosts: &[Vec<DomainSample>]) -> Fleet {
    let configs: Vec<_> = (0..hosts.len())
        .map(|i| host_config(&format!("hv{i}")))
        .collect();
    let mut f = Fleet::new(&configs);
    for (i, doms) in hosts.iter().enumerate() {
        f.apply(i, &sample(info(64, 512), Instant::now(), doms.clone()));
    }
    regroup(&mut f);
    f
}

fn regroup(f: &mut Fleet) {
    let policy = PolicyConfig {
        shared_storage: vec!["/srv/shared/".into()],
        ..PolicyConfig::default()
    };
    let inputs = Inputs::load(&policy);
    let (list, groups) = evaluate_grouped(f, &policy, &inputs, chrono::Utc::now());
    f.set_groups(groups);
    f.set_findings(list, Vec::new());
}

#[test]
fn services_are_ordered_by_what_one_host_loss_would_do() {
    let f = judged(&[
        vec![
            vm("u-db1", "db-1", VmState::Running, Some("db")),
            vm("u-db2", "db-2", VmState::Running, Some("db")),
            vm("u-web1", "web-1", VmState::Running, Some("web")),
            vm("u-solo", "solo", VmState::Running, None),
        ],
        vec![
            vm("u-web2", "web-2", VmState::Running, Some("web")),
            vm("u-q1", "q-1", VmState::Shutoff, Some("queue")),
        ],
    ]);
    let (list, ungrouped) = services(&f);
    assert_eq!(ungrouped, 1);
    let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["queue", "db", "web"], "{list:?}");
    assert_eq!(list[0].exposure, Exposure::Down);
    assert_eq!(list[1].exposure, Exposure::OneHost(0));
    assert_eq!(list[1].running, 2);
    // Two replicas of db on one host is also an anti-affinity finding each.
    assert_eq!(list[1].findings, 2, "{:?}", f.findings);
    assert!(
        list[1].risk(&f).contains("all 2 running on hv0"),
        "{}",
        list[1].risk(&f)
    );
    assert_eq!(list[2].exposure, Exposure::Spread(2));
    assert_eq!(list[2].members, ["u-web1", "u-web2"]);
}

#[test]
fn members_on_a_silent_host_are_unknown_not_running() {
    let mut f = judged(&[
        vec![vm("u-a", "api-1", VmState::Running, Some("api"))],
        vec![vm("u-b", "api-2", VmState::Running, Some("api"))],
    ]);
    assert_eq!(services(&f).0[0].exposure, Exposure::Spread(2));
    f.set_link(1, LinkState::Down, Some("connection refused".into()));
    regroup(&mut f);
    let (list, _) = services(&f);
    assert_eq!(list[0].exposure, Exposure::OneHost(0), "{list:?}");
    assert_eq!((list[0].running, list[0].unknown), (1, 1));
    let risk = list[0].risk(&f);
    assert!(
        risk.contains("losing hv0 takes it down") && risk.contains("1 on hosts not answering"),
        "{risk}"
    );
    // Neither host answers: not "down" (they may well run), but not known to run either.
    f.set_link(0, LinkState::Down, Some("timeout".into()));
    regroup(&mut f);
    let (list, _) = services(&f);
    assert_eq!(list[0].exposure, Exposure::Silent, "{list:?}");
    assert_eq!((list[0].running, list[0].unknown), (0, 2));
}
