#![allow(clippy::unwrap_used)]
//! `Fleet::facts` moves only when something the rules read changes: an idle fleet's polls (only
//! counters move) must not make the UI evaluate every finding again each poll.

use fleetwatch_testkit as support;

use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::{DomainSample, VmState};
use std::time::{Duration, Instant};
use support::{domain, host_config, info, sample};

/// The same VM `secs` seconds on: counters grown, facts (and the config's Arc) the same.
fn later(d: &DomainSample, secs: u64) -> DomainSample {
    let fresh = domain(&d.uuid, &d.name, d.state.unwrap(), secs);
    DomainSample {
        config: d.config.clone(),
        ..fresh
    }
}

fn polled(f: &mut Fleet, t0: Instant, secs: u64, doms: Vec<DomainSample>) -> u64 {
    let before = f.facts;
    f.apply(
        0,
        &sample(info(8, 32), t0 + Duration::from_secs(secs), doms),
    );
    f.facts - before
}

#[test]
fn counters_alone_leave_the_facts_alone() {
    let t0 = Instant::now();
    let mut f = Fleet::new(&[host_config("a")]);
    let web = domain("u1", "web", VmState::Running, 10);
    let db = domain("u2", "db", VmState::Running, 10);
    assert_eq!(
        polled(&mut f, t0, 0, vec![web.clone(), db.clone()]),
        1,
        "new VMs are facts"
    );
    for s in 1..5 {
        let generation = f.generation;
        assert_eq!(
            polled(
                &mut f,
                t0,
                2 * s,
                vec![later(&web, 10 + 2 * s), later(&db, 10 + 2 * s)]
            ),
            0,
            "poll {s}: only counters moved"
        );
        assert!(
            f.generation > generation,
            "the views still see the new rates"
        );
    }
}

#[test]
fn each_kind_of_fact_moves_them() {
    let t0 = Instant::now();
    let mut f = Fleet::new(&[host_config("a")]);
    let web = domain("u1", "web", VmState::Running, 10);
    polled(&mut f, t0, 0, vec![web.clone()]);
    let mut t = 0;
    let mut step = |f: &mut Fleet, what: &str, d: Vec<DomainSample>| {
        t += 2;
        assert_eq!(polled(f, t0, t, d), 1, "{what} is a fact");
    };
    let paused = DomainSample {
        state: Some(VmState::Paused),
        ..later(&web, 12)
    };
    step(&mut f, "a state change", vec![paused]);
    let grown = DomainSample {
        vcpus: Some(4),
        ..later(&web, 14)
    };
    step(&mut f, "a vCPU hot-plug", vec![grown.clone()]);
    let renamed = DomainSample {
        name: "web-old".into(),
        ..grown.clone()
    };
    step(&mut f, "a rename", vec![renamed.clone()]);
    let reconfigured = DomainSample {
        config: domain("u1", "x", VmState::Running, 0).config,
        ..renamed.clone()
    };
    step(&mut f, "a new config", vec![reconfigured.clone()]);
    step(&mut f, "a VM gone", vec![]);

    let before = f.facts;
    f.set_link(0, LinkState::Down, Some("gone".into()));
    assert_eq!(f.facts, before + 1, "a link change is a fact");
}
