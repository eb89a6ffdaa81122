//! The Prometheus exposition of a fleet: names, units, labels, hostile names, findings.

use fleetwatch_core::link::LinkState;
use fleetwatch_core::metrics::{Health, label, render};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::{Finding, Kind, Severity};
use fleetwatch_core::model::sample::VmState;
use fleetwatch_testkit::{domain, host_config, info, sample};
use std::time::Instant;

/// uuid, name, state
type Dom<'a> = (&'a str, &'a str, VmState);

fn fleet_of(hosts: &[(&str, Vec<Dom>)]) -> Fleet {
    let configs: Vec<_> = hosts.iter().map(|(n, _)| host_config(n)).collect();
    let mut fleet = Fleet::without_series(&configs);
    let t0 = Instant::now();
    for (i, (_, vms)) in hosts.iter().enumerate() {
        fleet.set_link(i, LinkState::Up, None);
        let doms = vms.iter().map(|(u, n, s)| domain(u, n, *s, 100)).collect();
        fleet.apply(i, &sample(info(8, 32), t0, doms));
    }
    fleet
}

/// The samples (not comments) of one metric name, as their whole lines.
fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .collect()
}

#[test]
fn hosts_vms_and_counters_in_base_units() {
    let mut fleet = fleet_of(&[
        ("hv-a", vec![("u-1", "web", VmState::Running)]),
        ("hv-b", vec![("u-2", "db", VmState::Shutoff)]),
    ]);
    fleet.set_link(1, LinkState::Down, Some("gone".into()));
    let text = render(&fleet, None);
    assert_eq!(
        samples(&text, "fleetwatch_host_up"),
        [
            "fleetwatch_host_up{host=\"hv-a\"} 1.0",
            "fleetwatch_host_up{host=\"hv-b\"} 0.0"
        ]
    );
    assert!(text.contains("fleetwatch_host_state{host=\"hv-b\",state=\"down\"} 1.0"));
    assert!(text.contains("fleetwatch_host_state{host=\"hv-b\",state=\"up\"} 0.0"));
    // 100 s at half a CPU; 100 MB read. Counters carry _total in name, HELP and TYPE.
    assert_eq!(
        samples(&text, "fleetwatch_vm_cpu_seconds_total"),
        ["fleetwatch_vm_cpu_seconds_total{host=\"hv-a\",vm=\"web\",uuid=\"u-1\"} 50.0"]
    );
    assert!(text.contains("# TYPE fleetwatch_vm_cpu_seconds_total counter"));
    assert_eq!(
        samples(&text, "fleetwatch_vm_disk_read_bytes_total"),
        ["fleetwatch_vm_disk_read_bytes_total{host=\"hv-a\",vm=\"web\",uuid=\"u-1\"} 100000000.0"]
    );
    assert!(text.contains(
        "fleetwatch_vm_state{host=\"hv-b\",vm=\"db\",uuid=\"u-2\",state=\"shutoff\"} 1.0"
    ));
    // A shut-off VM has no counters: no sample rather than a made-up zero.
    assert_eq!(
        samples(&text, "fleetwatch_vm_network_transmit_bytes_total").len(),
        1
    );
    // A process that does not record says nothing about recording.
    assert!(samples(&text, "fleetwatch_recorder_hosts").is_empty());
}

#[test]
fn a_vm_running_on_two_hosts_is_two_series() {
    let fleet = fleet_of(&[
        ("hv-a", vec![("u-1", "web", VmState::Running)]),
        ("hv-b", vec![("u-1", "web", VmState::Running)]),
    ]);
    let text = render(&fleet, None);
    let running: Vec<_> = samples(&text, "fleetwatch_vm_running");
    assert_eq!(running.len(), 2, "{running:?}");
    assert!(running.iter().all(|l| l.ends_with(" 1.0")));
}

#[test]
fn hostile_names_stay_one_well_formed_sample() {
    let evil = "x\"} 1\nfleetwatch_host_up{host=\"forged\\\u{1b}[2J";
    let fleet = fleet_of(&[("hv-a", vec![("u-1", evil, VmState::Running)])]);
    let text = render(&fleet, None);
    let lines = samples(&text, "fleetwatch_vm_vcpus");
    assert_eq!(lines.len(), 1, "{text}");
    assert!(!text.contains('\u{1b}'));
    assert!(!text.contains("host=\"forged"), "{}", lines[0]);
    assert!(
        lines[0].contains(r#"vm="x\"} 1 fleetwatch_host_up{host=\"forged\\"#),
        "{}",
        lines[0]
    );
    assert_eq!(samples(&text, "fleetwatch_host_up").len(), 1);
    let long = label(&"n".repeat(5000));
    assert_eq!(long.chars().count(), 201);
}

#[test]
fn findings_per_kind_and_one_series_each() {
    let mut fleet = fleet_of(&[("hv-a", vec![("u-1", "web", VmState::Running)])]);
    let f = |kind: Kind| Finding {
        kind,
        severity: Severity::Critical,
        vm: Some("web".into()),
        uuid: Some("u-1".into()),
        host: Some("hv-a".into()),
        detail: "no backup".into(),
    };
    // The same kind twice for one VM (two disks, say) is still one series.
    fleet.set_findings(
        vec![f(Kind::Unbacked), f(Kind::Unbacked), f(Kind::Unapproved)],
        vec![],
    );
    let text = render(&fleet, None);
    assert!(text.contains("fleetwatch_findings{kind=\"unbacked\",severity=\"critical\"} 2.0"));
    assert!(text.contains("fleetwatch_findings{kind=\"drift\",severity=\"warning\"} 0.0"));
    assert_eq!(samples(&text, "fleetwatch_findings").len(), Kind::ALL.len());
    assert_eq!(
        samples(&text, "fleetwatch_finding"),
        [
            "fleetwatch_finding{kind=\"unapproved\",severity=\"critical\",host=\"hv-a\",vm=\"web\",uuid=\"u-1\"} 1.0",
            "fleetwatch_finding{kind=\"unbacked\",severity=\"critical\",host=\"hv-a\",vm=\"web\",uuid=\"u-1\"} 1.0",
        ]
    );
}

#[test]
fn health_of_a_recorder() {
    let fleet = fleet_of(&[("hv-a", vec![])]);
    let h = Health {
        hosts_recorded: 1,
        poll_lag_s: Some(2.5),
        write_errors: 3,
        last_rollup_s: Some(1_700_000_000.0),
        stalled: vec!["rollups of 1m stopped".into()],
    };
    let text = render(&fleet, Some(&h));
    assert_eq!(
        samples(&text, "fleetwatch_recorder_hosts"),
        ["fleetwatch_recorder_hosts 1.0"]
    );
    assert_eq!(
        samples(&text, "fleetwatch_recorder_write_errors_total"),
        ["fleetwatch_recorder_write_errors_total 3.0"]
    );
    assert_eq!(
        samples(&text, "fleetwatch_recorder_poll_lag_seconds"),
        ["fleetwatch_recorder_poll_lag_seconds 2.5"]
    );
    assert_eq!(
        samples(&text, "fleetwatch_history_stalled"),
        ["fleetwatch_history_stalled 1.0"]
    );
    assert_eq!(
        samples(&text, "fleetwatch_history_last_rollup_timestamp_seconds"),
        ["fleetwatch_history_last_rollup_timestamp_seconds 1700000000.0"]
    );
}

#[test]
fn an_acknowledged_finding_leaves_the_alerting_series_and_is_counted_apart() {
    use fleetwatch_core::metrics::render_acked;
    use fleetwatch_core::model::acks::{Ack, DEFAULT_FOR};
    let mut fleet = fleet_of(&[(
        "hv-a",
        vec![
            ("u-1", "web", VmState::Running),
            ("u-2", "db", VmState::Running),
        ],
    )]);
    let f = |vm: &str, uuid: &str| Finding {
        kind: Kind::Unbacked,
        severity: Severity::Critical,
        vm: Some(vm.into()),
        uuid: Some(uuid.into()),
        host: Some("hv-a".into()),
        detail: "no backup".into(),
    };
    fleet.set_findings(vec![f("web", "u-1"), f("db", "u-2")], vec![]);
    let now = chrono::Utc::now().timestamp_millis();
    let ack = Ack::new(Kind::Unbacked, "u-1", "ann", "CHG-88", now, DEFAULT_FOR).unwrap();
    let text = render_acked(&fleet, None, std::slice::from_ref(&ack), &[]);
    assert!(
        text.contains("fleetwatch_findings{kind=\"unbacked\",severity=\"critical\"} 1.0"),
        "{text}"
    );
    assert!(
        text.contains("fleetwatch_findings_acknowledged{kind=\"unbacked\"} 1.0"),
        "{text}"
    );
    let one: Vec<&str> = samples(&text, "fleetwatch_finding");
    assert_eq!(one.len(), 1, "{one:?}");
    assert!(one[0].contains("vm=\"db\""), "{one:?}");
    // Expired, it alerts again.
    let old = Ack {
        expires_ms: now - 1,
        ..ack
    };
    let text = render_acked(&fleet, None, &[old], &[]);
    assert_eq!(samples(&text, "fleetwatch_finding").len(), 2);
    assert!(
        text.contains("fleetwatch_findings_acknowledged{kind=\"unbacked\"} 0.0"),
        "{text}"
    );
}

#[test]
fn findings_on_a_host_in_maintenance_leave_the_alerting_series_and_are_counted_apart() {
    use fleetwatch_core::actions::maintenance::Maintenance;
    use fleetwatch_core::metrics::render_acked;
    let mut fleet = fleet_of(&[
        ("hv-a", vec![("u-1", "web", VmState::Running)]),
        ("hv-b", vec![("u-2", "db", VmState::Running)]),
    ]);
    let f = |vm: &str, uuid: &str, host: &str| Finding {
        kind: Kind::Unbacked,
        severity: Severity::Critical,
        vm: Some(vm.into()),
        uuid: Some(uuid.into()),
        host: Some(host.into()),
        detail: "no backup".into(),
    };
    fleet.set_findings(
        vec![f("web", "u-1", "hv-a"), f("db", "u-2", "hv-b")],
        vec![],
    );
    let held = [Maintenance::new("hv-a", "ann", 1_700_000_000_000)];
    let text = render_acked(&fleet, None, &[], &held);
    let one: Vec<&str> = samples(&text, "fleetwatch_finding");
    assert_eq!(one.len(), 1, "{one:?}");
    assert!(one[0].contains("host=\"hv-b\""), "{one:?}");
    assert!(
        text.contains("fleetwatch_findings{kind=\"unbacked\",severity=\"critical\"} 1.0"),
        "{text}"
    );
    assert!(
        text.contains("fleetwatch_findings_maintenance{kind=\"unbacked\"} 1.0"),
        "{text}"
    );
    // The host-down alert stays quiet for it (assets/alerts.yml).
    assert_eq!(
        samples(&text, "fleetwatch_host_maintenance"),
        [
            "fleetwatch_host_maintenance{host=\"hv-a\"} 1.0",
            "fleetwatch_host_maintenance{host=\"hv-b\"} 0.0"
        ]
    );
    // Out of maintenance, it alerts again.
    let text = render_acked(&fleet, None, &[], &[]);
    assert_eq!(samples(&text, "fleetwatch_finding").len(), 2);
    assert!(
        text.contains("fleetwatch_findings_maintenance{kind=\"unbacked\"} 0.0"),
        "{text}"
    );
}
