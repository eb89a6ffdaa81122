//! What fleetwatch says about the fleet as a whole must be true: a VM running on two hosts is
//! shown twice and is critical, a host that does not answer is a finding, and findings that
//! compare hosts wait until every host has answered once.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use fleetwatch::ui::rows::{Filter, Query, SortKey, compute};
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::{Finding, Kind, Severity};
use fleetwatch_core::model::rules::evaluate;
use fleetwatch_core::model::sample::{DomainSample, VmState};
use fleetwatch_core::policy::PolicyConfig;
use fleetwatch_core::policy::loader::Inputs;
use std::time::Instant;
use support::{domain, host_config, info, sample};

fn fleet_of(hosts: &[Vec<DomainSample>]) -> Fleet {
    let configs: Vec<_> = (0..hosts.len())
        .map(|i| host_config(&format!("hv{i}")))
        .collect();
    let mut f = Fleet::new(&configs);
    for (i, doms) in hosts.iter().enumerate() {
        f.apply(i, &sample(info(64, 512), Instant::now(), doms.clone()));
    }
    f
}

fn of_kind(found: &[Finding], k: Kind) -> Vec<&Finding> {
    found.iter().filter(|f| f.kind == k).collect()
}

/// The VMs table, sorted by host.
fn table(f: &Fleet) -> fleetwatch::ui::rows::Rows {
    let all = Filter::All;
    let q = Query {
        filter: &all,
        host: None,
        kind: None,
        key: SortKey::Host,
        descending: false,
        follow: None,
    };
    compute(f, &q)
}

/// The VMs table's rows as "name@host".
fn rows(f: &Fleet) -> Vec<String> {
    table(f)
        .refs
        .iter()
        .filter_map(|&r| f.vm_at(r))
        .map(|vm| format!("{}@{}", vm.name, f.hosts[vm.host].name))
        .collect()
}

fn findings(f: &Fleet) -> Vec<Finding> {
    evaluate(
        f,
        &PolicyConfig::default(),
        &Inputs::default(),
        chrono::Utc::now(),
    )
}

#[test]
fn one_uuid_running_on_two_hosts_is_split_brain_and_both_rows_show() {
    let mut f = fleet_of(&[
        vec![domain("u-1", "db-01", VmState::Running, 10)],
        vec![domain("u-1", "db-01", VmState::Running, 10)],
        vec![],
    ]);
    let found = findings(&f);
    let sb = of_kind(&found, Kind::SplitBrain);
    assert_eq!(sb.len(), 1, "{found:#?}");
    assert_eq!(sb[0].severity, Severity::Critical);
    assert!(
        sb[0].detail.contains("hv0") && sb[0].detail.contains("hv1"),
        "{}",
        sb[0].detail
    );
    f.set_findings(found, vec![]);
    assert_eq!(rows(&f), ["db-01@hv0", "db-01@hv1"], "both copies are rows");
    assert_eq!(
        table(&f).running,
        1,
        "one VM runs, however many rows show it"
    );
    for copy in f.copies("u-1") {
        assert!(
            copy.flags.contains(&Kind::SplitBrain),
            "{} lacks the badge",
            copy.host
        );
    }
}

#[test]
fn a_shut_off_copy_beside_a_running_one_is_not_split_brain() {
    let f = fleet_of(&[
        vec![domain("u-1", "db-01", VmState::Shutoff, 10)],
        vec![domain("u-1", "db-01", VmState::Running, 10)],
        vec![],
    ]);
    assert!(of_kind(&findings(&f), Kind::SplitBrain).is_empty());
    assert_eq!(rows(&f), ["db-01@hv1"], "one VM, one row: the running copy");
    let states: Vec<VmState> = f.copies("u-1").iter().map(|v| v.state).collect();
    assert_eq!(states, [VmState::Shutoff, VmState::Running]);
}

#[test]
fn a_copy_on_a_host_that_is_down_is_not_split_brain() {
    // After a host failure, HA starts the VM elsewhere; the dead host's last report is old news.
    let mut f = fleet_of(&[
        vec![domain("u-1", "db-01", VmState::Running, 10)],
        vec![domain("u-1", "db-01", VmState::Running, 10)],
    ]);
    f.set_link(0, LinkState::Down, Some("Connection refused".into()));
    assert!(of_kind(&findings(&f), Kind::SplitBrain).is_empty());
}

#[test]
fn a_down_or_stale_host_is_a_finding_with_its_own_severity() {
    let mut configs: Vec<_> = (0..3).map(|i| host_config(&format!("hv{i}"))).collect();
    configs[2].host_down = Some(Severity::Warning);
    let mut f = Fleet::new(&configs);
    for i in 0..3 {
        f.apply(i, &sample(info(64, 512), Instant::now(), vec![]));
    }
    f.set_link(
        0,
        LinkState::Down,
        Some("unable to connect to server at 'hv0:16509': Connection refused".into()),
    );
    f.set_link(1, LinkState::Stale, None);
    f.set_link(2, LinkState::Down, Some("Connection refused".into()));
    let found = findings(&f);
    let down = of_kind(&found, Kind::HostDown);
    let by_host = |h: &str| down.iter().find(|f| f.host.as_deref() == Some(h)).copied();
    let hv0 = by_host("hv0").unwrap();
    assert_eq!(hv0.severity, Severity::Critical);
    assert!(
        hv0.detail.contains("refused the connection"),
        "{}",
        hv0.detail
    );
    assert!(by_host("hv1").unwrap().detail.contains("stale"));
    assert_eq!(
        by_host("hv2").unwrap().severity,
        Severity::Warning,
        "per-host severity"
    );
}

#[test]
fn findings_that_compare_hosts_wait_for_every_host() {
    // hv0 runs a VM the others could not take; hv1 has not answered yet.
    let configs: Vec<_> = (0..2).map(|i| host_config(&format!("hv{i}"))).collect();
    let mut f = Fleet::new(&configs);
    let mut big = domain("u-1", "big", VmState::Running, 10);
    big.memory_bytes = Some(400 << 30);
    big.max_memory_bytes = Some(400 << 30);
    f.apply(0, &sample(info(64, 512), Instant::now(), vec![big]));
    assert!(!f.settled());
    let early = findings(&f);
    assert!(
        of_kind(&early, Kind::FailoverCapacity).is_empty(),
        "no failover finding from half a fleet: {early:#?}"
    );
    f.apply(1, &sample(info(8, 16), Instant::now(), vec![]));
    assert!(f.settled());
    assert!(!of_kind(&findings(&f), Kind::FailoverCapacity).is_empty());
}

#[test]
fn the_header_says_findings_wait_for_hosts_that_have_not_answered() {
    use fleetwatch::app::draw_frame;
    use fleetwatch::ui::Context;
    use fleetwatch::ui::state::UiState;
    use fleetwatch::ui::theme::Theme;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let configs: Vec<_> = (0..3).map(|i| host_config(&format!("hv{i}"))).collect();
    let mut f = Fleet::new(&configs);
    f.apply(0, &sample(info(64, 512), Instant::now(), vec![]));
    let draw = |f: &Fleet, w: u16| {
        let mut term = Terminal::new(TestBackend::new(w, 24)).unwrap();
        let history = Default::default();
        let cx = Context {
            theme: Theme { color: false },
            shared_storage: &[],
            mode: "read-only",
            now: Instant::now(),
            history: &history,
            groups: &Default::default(),
        };
        term.draw(|fr| draw_frame(fr, f, &mut UiState::default(), &cx))
            .unwrap();
        let buf = term.backend().buffer();
        (0..buf.area.width)
            .map(|x| buf[(x, 0)].symbol())
            .collect::<String>()
    };
    assert!(
        draw(&f, 200).contains("waiting for 2 host(s)"),
        "{}",
        draw(&f, 200)
    );
    assert!(draw(&f, 80).contains("wait 2"), "{}", draw(&f, 80));
    f.set_link(1, LinkState::Down, Some("Connection refused".into()));
    f.apply(2, &sample(info(64, 512), Instant::now(), vec![]));
    assert!(!draw(&f, 200).contains("waiting"), "{}", draw(&f, 200));
}
