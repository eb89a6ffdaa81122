#![allow(clippy::unwrap_used)]
//! Screen tests of the header and the wall display: the mode and the data's age at every
//! width, and every host on a wall.

mod screen;
mod support;

use fleetwatch::history::writer::Status;
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
