#![allow(clippy::unwrap_used)]
//! The screen for a far host: up, shown slow with its round-trip time, its unread configs
//! counted, and a VM whose XML is not read yet said to be unknown rather than drawn empty.

use fleetwatch_testkit as support;

use fleetwatch::app::draw_frame;
use fleetwatch::ui::Context;
use fleetwatch::ui::state::UiState;
use fleetwatch::ui::theme::Theme;
use fleetwatch_core::model::Fleet;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};
use support::{domain, host_config, info, sample};

/// hv-far (212 ms away, 3 of its VMs' XML unread, the first of them listed) and hv-near.
fn fleet() -> (Fleet, Instant) {
    let t0 = Instant::now();
    let mut f = Fleet::new(&[host_config("hv-far"), host_config("hv-near")]);
    for secs in [10, 12] {
        let at = t0 + Duration::from_secs(secs);
        let mut far: Vec<_> = (0..4)
            .map(|i| {
                let state = fleetwatch_core::model::sample::VmState::Running;
                domain(&format!("f{i}"), &format!("far-{i}"), state, secs)
            })
            .collect();
        for d in &mut far[..3] {
            d.config = None;
        }
        let mut s = sample(info(32, 256), at, far);
        (s.rtt_micros, s.calls, s.configs_pending) = (Some(212_400), 4, 3);
        f.apply(0, &s);
        let state = fleetwatch_core::model::sample::VmState::Running;
        let mut s = sample(info(32, 256), at, vec![domain("n0", "near-0", state, secs)]);
        (s.rtt_micros, s.calls) = (Some(310), 6);
        f.apply(1, &s);
    }
    (f, t0 + Duration::from_secs(13))
}

fn screen(fleet: &Fleet, now: Instant, w: u16, h: u16) -> Vec<String> {
    support::in_utc();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut ui = UiState::default();
    let history = Default::default();
    let cx = Context {
        theme: Theme { color: false },
        shared_storage: &[],
        mode: "read-only",
        now,
        history: &history,
        groups: &Default::default(),
    };
    term.draw(|f| draw_frame(f, fleet, &mut ui, &cx)).unwrap();
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

fn line<'a>(lines: &'a [String], host: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(&format!(" {host} ")))
        .unwrap_or_else(|| panic!("no line for {host}:\n{}", lines.join("\n")))
}

#[test]
fn a_far_host_is_up_and_shown_slow_with_its_rtt_at_120_columns() {
    let (f, now) = fleet();
    let lines = screen(&f, now, 120, 30);
    let far = line(&lines, "hv-far");
    assert!(
        far.contains(" UP ") && far.contains("slow: rtt 212ms"),
        "{far}"
    );
    let near = line(&lines, "hv-near");
    assert!(!near.contains("slow"), "{near}");
}

#[test]
fn wide_screens_show_every_hosts_rtt_and_the_unread_xml() {
    let (f, now) = fleet();
    let lines = screen(&f, now, 200, 50);
    let far = line(&lines, "hv-far");
    assert!(
        far.contains("slow: rtt 212ms") && far.contains("3 XML pending"),
        "{far}"
    );
    assert!(!far.contains("· rtt"), "said once: {far}");
    let near = line(&lines, "hv-near");
    assert!(
        near.contains("· rtt 310µs") && !near.contains("pending"),
        "{near}"
    );
    // The first VM (far-0) is selected, its XML unread: unknown, not "no disks".
    let text = lines.join("\n");
    assert!(
        text.contains("XML not read yet: disks, NICs, metadata unknown"),
        "{text}"
    );
}

#[test]
fn the_host_detail_gives_the_round_trip_the_calls_and_the_configs_to_read() {
    let (f, now) = fleet();
    let d = fleetwatch::ui::host_detail::lines(&f.hosts[0], Theme { color: false }, now);
    let text: Vec<String> = d.iter().map(|l| l.to_string()).collect();
    let poll = text.iter().find(|l| l.starts_with("poll")).unwrap();
    assert!(poll.contains("4 round trips"), "{poll}");
    assert!(poll.contains("rtt 212"), "{poll}");
    assert!(poll.contains("3 VM configs still to read"), "{poll}");
}
