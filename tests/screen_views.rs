#![allow(clippy::unwrap_used)]
//! Screen tests of the views' words: the History view's title and keys, and hosts that are down
//! saying "-" for what they never reported.

mod screen;
use fleetwatch_testkit as support;

use ratatui::crossterm::event::KeyCode;
use screen::Screen;

fn history_title(s: &Screen) -> String {
    s.lines()
        .into_iter()
        .find(|l| l.starts_with("┌ History"))
        .expect("a History title")
}

#[test]
fn the_history_title_is_spaced_and_its_keys_are_said_once() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut s = Screen::lab(w, h);
        s.key(KeyCode::Char('H'));
        let title = history_title(&s);
        assert!(
            title.starts_with("┌ History · last 30 days · [all] migrations hosts "),
            "{w}x{h}: {title}"
        );
        let footer = s.footer();
        for wrong in ["Tab pane", "i detail", "s sort", "f findings"] {
            assert!(
                !footer.contains(wrong),
                "{w}x{h}: the table's keys: {footer}"
            );
        }
        let said = format!("{title}{footer}");
        assert_eq!(said.matches("Tab").count(), 1, "{w}x{h}: {said}");
        assert_eq!(said.matches("Esc").count(), 1, "{w}x{h}: {said}");
    }
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('H'));
    s.key(KeyCode::Char('/'));
    s.keys("web");
    s.key(KeyCode::Enter);
    assert!(
        history_title(&s).contains("· filter \"web\" "),
        "{}",
        history_title(&s)
    );
    for (span, words) in [
        ("6h", "last 6 hours ·"),
        ("90m", "last 90 minutes ·"),
        ("1d", "last 1 day ·"),
        ("36h", "last 36 hours ·"),
    ] {
        s.key(KeyCode::Char(':'));
        s.keys(&format!("history {span}"));
        s.key(KeyCode::Enter);
        assert!(
            history_title(&s).contains(words),
            "{span}: {}",
            history_title(&s)
        );
    }
}

#[test]
fn a_host_that_never_reported_shows_dashes_not_zeros() {
    use fleetwatch_core::link::LinkState;
    let t0 = std::time::Instant::now();
    let (configs, _) = support::synthetic(2, 2, t0, 0);
    let mut fleet = fleetwatch_core::model::Fleet::new(&configs);
    for secs in [10, 12] {
        let (_, samples) = support::synthetic(2, 2, t0, secs);
        fleet.apply(0, &samples[0]);
    }
    fleet.set_link(1, LinkState::Down, Some("connection refused".into()));
    for (w, h) in [(80, 24), (200, 50)] {
        let mut s = Screen::new(fleet.clone(), t0 + std::time::Duration::from_secs(13), w, h);
        s.key(KeyCode::Tab);
        s.key(KeyCode::Char('j'));
        s.key(KeyCode::Enter);
        let t = s.text();
        assert!(t.contains("Host hv-001"), "{t}");
        assert!(!t.contains("0 running of 0"), "{w}x{h}:\n{t}");
        assert!(t.contains("vms        - (never reported)"), "{w}x{h}:\n{t}");
        assert!(t.contains("host       - (never reported)"), "{w}x{h}:\n{t}");
        // The host that did report says what it knows.
        s.key(KeyCode::Up);
        let t = s.text();
        assert!(t.contains("vms        2 running of 2"), "{w}x{h}:\n{t}");
        assert!(t.contains("64 cpus"), "{w}x{h}:\n{t}");
    }
}

#[test]
fn a_down_host_that_reported_before_says_its_counts_are_the_last_known() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Tab);
    s.key(KeyCode::Char('G'));
    s.key(KeyCode::Enter);
    let t = s.text();
    assert!(t.contains("Host hv-003"), "{t}");
    assert!(t.contains("when last heard from"), "{t}");
}
