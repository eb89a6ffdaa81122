//! `make bench`: the model and the UI at fleet scale, 100 hosts x 100 VMs (synthetic samples).
//! Targets: merging one poll under 10 ms, rendering one 200x50 frame under 5 ms, one scrape
//! of /metrics under 100 ms.

use fleetwatch_testkit as support;

use fleetwatch::app::draw_frame;
use fleetwatch::ui::Context;
use fleetwatch::ui::state::UiState;
use fleetwatch::ui::theme::Theme;
use fleetwatch_core::model::Fleet;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

fn report(name: &str, mut times: Vec<Duration>, target_ms: f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(times[times.len() / 2]);
    let p95 = ms(times[times.len() * 95 / 100]);
    let verdict = if p95 < target_ms { "ok" } else { "OVER TARGET" };
    println!(
        "{name:<48} median {median:>8.3} ms   p95 {p95:>8.3} ms   (target < {target_ms} ms: {verdict}, n={})",
        times.len()
    );
}

fn main() {
    let (hosts, per_host) = (100, 100);
    let t0 = Instant::now();
    let (configs, first) = support::synthetic(hosts, per_host, t0, 10);
    let mut fleet = Fleet::new(&configs);
    for (i, s) in first.iter().enumerate() {
        fleet.apply(i, s);
    }
    let rounds = 30;
    let mut one_host = Vec::new();
    let mut whole = Vec::new();
    for r in 0..rounds {
        let (_, samples) = support::synthetic(hosts, per_host, t0, 12 + r * 2);
        let start = Instant::now();
        for (i, s) in samples.iter().enumerate() {
            let t = Instant::now();
            fleet.apply(i, s);
            one_host.push(t.elapsed());
        }
        whole.push(start.elapsed());
    }
    println!(
        "fleet: {hosts} hosts x {per_host} VMs = {} VMs",
        fleet.vm_count()
    );
    report(
        "merge one host's poll (100 VMs) into the model",
        one_host,
        10.0,
    );
    report("merge a poll of every host (10,000 VMs)", whole, 100.0);

    // Findings walk the whole fleet; the app runs them at most once a second.
    let policy = fleetwatch_core::policy::PolicyConfig::default();
    let inputs = fleetwatch_core::policy::loader::Inputs::default();
    let mut eval = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let found =
            fleetwatch_core::model::rules::evaluate(&fleet, &policy, &inputs, chrono::Utc::now());
        fleet.set_findings(found, Vec::new());
        eval.push(t.elapsed());
    }
    report(
        "evaluate findings for 10,000 VMs (+ set badges)",
        eval,
        100.0,
    );

    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    let mut ui = UiState::default();
    let history = fleetwatch::ui::history::HistoryData::default();
    let cx = Context {
        theme: Theme { color: true },
        shared_storage: &[],
        mode: "bench",
        now: t0 + Duration::from_secs(100),
        history: &history,
        groups: &Default::default(),
    };
    // Samples made up front, so building them is not part of what is timed.
    let fresh: Vec<_> = (0..100u64)
        .map(|r| {
            let h = (r % hosts as u64) as usize;
            let (_, mut s) = support::synthetic(hosts, per_host, t0, 100 + r * 2);
            (h, s.swap_remove(h))
        })
        .collect();
    let mut unchanged = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        term.draw(|f| draw_frame(f, &fleet, &mut ui, &cx))
            .expect("draw");
        unchanged.push(t.elapsed());
    }
    let mut changed = Vec::new();
    for (h, s) in &fresh {
        // A new poll from one host: only its rows are filtered, sorted and put back.
        fleet.apply(*h, s);
        let t = Instant::now();
        term.draw(|f| draw_frame(f, &fleet, &mut ui, &cx))
            .expect("draw");
        changed.push(t.elapsed());
    }
    let mut sort_only = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let rows = fleetwatch::ui::rows::compute(
            &fleet,
            &fleetwatch::ui::rows::Query {
                filter: &fleetwatch::ui::rows::Filter::All,
                host: None,
                kind: None,
                key: fleetwatch::ui::rows::SortKey::Host,
                descending: false,
                follow: None,
            },
        );
        sort_only.push(t.elapsed());
        assert_eq!(rows.refs.len(), fleet.vm_count());
    }
    report("  a full filter and sort of 10,000 rows", sort_only, 5.0);
    // The Findings view lists a kind that may hold every VM: one slice of the sorted findings.
    ui.view = fleetwatch::ui::state::View::Findings;
    let mut findings_view = Vec::new();
    for i in 0..50 {
        // Each frame differs (the cursor moves), so nothing is skipped.
        ui.finding_selected = 1 + i * 37;
        let t = Instant::now();
        term.draw(|f| draw_frame(f, &fleet, &mut ui, &cx))
            .expect("draw");
        findings_view.push(t.elapsed());
    }
    ui.view = fleetwatch::ui::state::View::Vms;
    report(
        &format!(
            "render the Findings view ({} findings)",
            fleet.findings.len()
        ),
        findings_view,
        5.0,
    );
    // The Services view groups the whole fleet each frame: 500 groups of 20 VMs.
    let groups = fleet
        .vms()
        .enumerate()
        .map(|(i, v)| (v.uuid.clone(), format!("svc-{:03}", i % 500)))
        .collect();
    fleet.set_groups(groups);
    let mut grouping = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(fleetwatch_core::model::services::services(&fleet));
        grouping.push(t.elapsed());
    }
    report("  group 10,000 VMs into services", grouping, 20.0);
    ui.view = fleetwatch::ui::state::View::Services;
    let mut services_view = Vec::new();
    for i in 0..50 {
        ui.service_selected = i * 7;
        let t = Instant::now();
        term.draw(|f| draw_frame(f, &fleet, &mut ui, &cx))
            .expect("draw");
        services_view.push(t.elapsed());
    }
    ui.view = fleetwatch::ui::state::View::Vms;
    report(
        "render the Services view (500 groups, 10,000 VMs)",
        services_view,
        20.0,
    );
    report("render a 200x50 frame (nothing changed)", unchanged, 5.0);
    report(
        "render a 200x50 frame after new data (re-sort)",
        changed,
        5.0,
    );

    // One scrape of /metrics: the recorder renders the whole fleet once per scrape.
    let mut scrape = Vec::new();
    let mut bytes = 0;
    for _ in 0..20 {
        let t = Instant::now();
        bytes = fleetwatch_core::metrics::render(&fleet, None).len();
        scrape.push(t.elapsed());
    }
    report(
        &format!(
            "render /metrics for 10,000 VMs ({:.1} MB)",
            bytes as f64 / 1e6
        ),
        scrape,
        100.0,
    );
}
