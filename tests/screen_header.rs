#![allow(clippy::unwrap_used)]
//! Screen tests of the header and the wall display: the mode and the data's age at every
//! width, and every host on a wall.

mod screen;
use fleetwatch_testkit as support;

use fleetwatch_core::history::writer::Status;
use screen::Screen;
use std::time::Duration;

fn header(s: &mut Screen) -> String {
    s.draw().lines().next().unwrap_or_default().to_owned()
}

#[test]
fn the_header_shows_the_mode_and_rec_at_80_120_and_200_columns() {
    let modes = [
        ("DEMO · actions on", ["DEMO", "ACT"]),
        ("read-only", ["RO", "RO"]),
        ("actions on 3 host(s)", ["ACT", "3"]),
    ];
    for (w, h) in [(80, 24), (120, 30), (200, 50)] {
        for (mode, words) in modes {
            for historical in [None, Some(1_795_233_600_000)] {
                let mut s = Screen::lab(w, h);
                s.mode = mode;
                s.history.status = Some(Status::Recording);
                s.ui.historical = historical;
                let line = header(&mut s);
                let what = format!("{w}x{h} {mode:?} historical {historical:?}: {line:?}");
                assert!(line.trim_end().ends_with("REC"), "{what}");
                let tail = &line[line.rfind('│').unwrap()..];
                for word in words {
                    // Said in full where there is room.
                    let full = match word {
                        "ACT" => "actions on",
                        "RO" => "read-only",
                        other => other,
                    };
                    assert!(tail.contains(word) || tail.contains(full), "{word}: {what}");
                }
                if historical.is_some() {
                    assert!(line.contains("HISTORICAL"), "{what}");
                }
            }
        }
    }
}

#[test]
fn the_header_ages_the_oldest_host_that_is_up_and_counts_the_stale_ones() {
    for (w, h, want) in [
        (80, 24, "20s ago 1 stale"),
        (120, 30, "data 20s ago · 1 stale"),
        (200, 50, "data 20s ago · 1 stale"),
    ] {
        let mut s = Screen::lab(w, h);
        // hv-000 answered 3 s ago, hv-001 20 s ago; hv-002 is stale, hv-003 down.
        s.fleet.hosts[1].last_sample_at = Some(s.now - Duration::from_secs(20));
        let line = header(&mut s);
        assert!(line.contains(want), "{w}x{h}: {line}");
    }
}

/// `n` hosts of two VMs each, all up, polled twice.
fn many_hosts(n: usize) -> (fleetwatch_core::model::Fleet, std::time::Instant) {
    let t0 = std::time::Instant::now();
    let (configs, _) = support::synthetic(n, 2, t0, 0);
    let mut fleet = fleetwatch_core::model::Fleet::new(&configs);
    for secs in [10, 12] {
        let (_, samples) = support::synthetic(n, 2, t0, secs);
        for (h, s) in samples.iter().enumerate() {
            fleet.apply(h, s);
        }
    }
    (fleet, t0 + Duration::from_secs(13))
}

/// The host names in the hosts pane (not the table's HOST column).
fn hosts_shown(t: &str) -> Vec<String> {
    t.lines()
        .skip_while(|l| !l.starts_with("┌ Hosts"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect()
}

#[test]
fn a_wall_shows_every_host_at_80x24_a_page_per_view_and_no_key_hints() {
    let (fleet, now) = many_hosts(14);
    let mut s = Screen::new(fleet, now, 80, 24);
    s.ui.wall = Some(false);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let t = s.draw();
        seen.extend(hosts_shown(&t));
        let footer = s.footer();
        for hint in ["? help", "/ filter", ": cmd", "Tab", "i detail", "s sort"] {
            assert!(!footer.contains(hint), "{hint}: {footer}");
        }
        assert!(
            footer.contains("of 14"),
            "the footer says which hosts: {footer}"
        );
        s.ui.wall_next();
    }
    let all: std::collections::BTreeSet<String> = (0..14).map(|h| format!("hv-{h:03}")).collect();
    assert_eq!(seen, all);
    // The wall's clock is the real one.
    let clock = regex::Regex::new(r"\d\d:\d\d:\d\d").unwrap();
    insta::assert_snapshot!("wall_80x24", clock.replace(&s.draw(), "HH:MM:SS"));
    // Paused, the page stays with the view.
    s.ui.wall = Some(true);
    let before = hosts_shown(&s.draw());
    s.ui.wall_next();
    assert_eq!(hosts_shown(&s.draw()), before);
}

#[test]
fn a_wall_and_the_header_draw_at_every_size_without_panic() {
    let (fleet, now) = many_hosts(14);
    for w in (1..=130).step_by(7).chain([59, 60, 80, 200]) {
        for h in (1..=40).step_by(5).chain([11, 12, 19, 20, 24]) {
            for wall in [None, Some(false)] {
                let mut s = Screen::new(fleet.clone(), now, w, h);
                s.ui.wall = wall;
                s.mode = "DEMO · actions on";
                s.history.status = Some(Status::Recording);
                for _ in 0..3 {
                    assert_eq!(s.draw().lines().count(), h as usize, "{w}x{h}");
                    s.ui.wall_next();
                }
            }
        }
    }
}

#[test]
fn a_recorder_dropping_messages_says_so_in_the_header_without_a_banner() {
    for (w, h) in [(80, 24), (120, 30), (200, 50)] {
        let mut s = Screen::lab(w, h);
        s.history.status = Some(Status::Behind { dropped: 1234 });
        let text = s.draw();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].trim_end().ends_with("REC dropping"),
            "{w}x{h}: {}",
            lines[0]
        );
        // Monitoring is whole; only history is thinned: no row of the screen is taken for it.
        assert!(!lines[1].starts_with('!'), "{w}x{h}: {}", lines[1]);
    }
}
