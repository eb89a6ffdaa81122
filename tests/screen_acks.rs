#![allow(clippy::unwrap_used)]
//! Screen tests of acknowledged findings: `K` in the Findings view, the form, and how an
//! acknowledged finding shows (dimmed, who, since when, why) and counts (apart).

mod screen;
use fleetwatch_testkit as support;

use fleetwatch::app::{Handled, handle_event};
use fleetwatch::ui::state::{Effect, Overlay};
use fleetwatch_core::model::acks::{Ack, DEFAULT_FOR, subject_of};
use fleetwatch_core::model::findings::Finding;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use screen::Screen;

fn press(s: &mut Screen, code: KeyCode) -> Vec<Effect> {
    let ev = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    let out = handle_event(ev, &s.fleet, &mut s.ui, None)
        .into_iter()
        .filter_map(|h| match h {
            Handled::Do(e) => Some(e),
            _ => None,
        })
        .collect();
    s.draw();
    out
}

/// The Findings view with the cursor on the first finding of the first kind.
fn on_a_finding() -> (Screen, Finding) {
    let (fleet, now) = screen::with_findings(Vec::new());
    let mut s = Screen::new(fleet, now, 80, 24);
    press(&mut s, KeyCode::Char('f'));
    press(&mut s, KeyCode::Char('j'));
    let f = fleetwatch::ui::state::ack_form::selected_finding(&s.ui, &s.fleet)
        .unwrap()
        .clone();
    (s, f)
}

#[test]
fn k_on_a_finding_asks_the_app_and_the_form_gives_the_reason_and_how_long() {
    let (mut s, f) = on_a_finding();
    let effects = press(&mut s, KeyCode::Char('K'));
    let [Effect::AckKey(asked)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(**asked, f);
    // Not acknowledged yet: the app opens the form.
    s.ui.open_ack_form(&f);
    let text = s.draw();
    assert!(text.contains(" Acknowledge "), "{text}");
    assert!(
        text.contains(&format!("acknowledge {} of", f.kind)),
        "{text}"
    );
    assert!(text.contains("24h█"), "a day unless changed: {text}");
    for c in "CHG-88 in review".chars() {
        press(&mut s, KeyCode::Char(c));
    }
    press(&mut s, KeyCode::Tab);
    for _ in 0..3 {
        press(&mut s, KeyCode::Backspace);
    }
    for c in "8h".chars() {
        press(&mut s, KeyCode::Char(c));
    }
    let effects = press(&mut s, KeyCode::Enter);
    let [
        Effect::Ack {
            kind,
            subject,
            reason,
            lasts,
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!((*kind, subject.as_str()), (f.kind, subject_of(&f).as_str()));
    assert_eq!(
        (reason.as_str(), lasts.as_str()),
        ("CHG-88 in review", "8h")
    );
    assert_eq!(s.ui.overlay, Overlay::None);
    // Esc leaves the form without anything asked of the app.
    s.ui.open_ack_form(&f);
    assert!(
        press(&mut s, KeyCode::Esc)
            .iter()
            .all(|e| matches!(e, Effect::None))
    );
    assert_eq!(s.ui.overlay, Overlay::None);
}

#[test]
fn k_outside_the_findings_view_says_where_it_works() {
    let mut s = Screen::lab(80, 24);
    press(&mut s, KeyCode::Char('K'));
    assert!(
        s.text()
            .contains("K acknowledges a finding in the Findings view"),
        "{}",
        s.text()
    );
}

#[test]
fn an_acknowledged_finding_shows_dimmed_with_who_and_why_and_counts_apart() {
    let (mut s, f) = on_a_finding();
    let before = s.lines()[0].clone();
    let now = chrono::Utc::now().timestamp_millis();
    let a = Ack::new(
        f.kind,
        &subject_of(&f),
        "ann",
        "CHG-88 in review",
        now - 7_200_000,
        DEFAULT_FOR,
    )
    .unwrap();
    s.history.acks = vec![a];
    let text = s.draw();
    let line = s
        .lines()
        .into_iter()
        .find(|l| l.contains("ack ann 2h00m ago"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("CHG-88"), "{line}");
    assert!(text.contains("· 1 acknowledged "), "{text}");
    let header = &s.lines()[0];
    assert!(
        header.contains("1A") || header.contains("1 ack"),
        "{header}"
    );
    assert_ne!(*header, before, "the counts left it out");
    // Expired, it counts again and shows as any other.
    s.history.acks[0].expires_ms = now - 1;
    let text = s.draw();
    assert!(!text.contains("ack ann"), "{text}");
    assert_eq!(s.lines()[0], before);
}
