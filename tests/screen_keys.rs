#![allow(clippy::unwrap_used)]
//! Screen tests of the keys: what Esc closes, editing the filter, the help's scrolling.

mod screen;
use fleetwatch_testkit as support;

use fleetwatch_core::model::findings::Kind;
use ratatui::crossterm::event::KeyCode;
use screen::Screen;

/// Narrowed to a host, a finding kind and a filter, with the detail pane open.
fn narrowed() -> Screen {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char(':'));
    s.keys("host hv-000");
    s.key(KeyCode::Enter);
    s.key(KeyCode::Char(':'));
    s.keys("flag local-storage");
    s.key(KeyCode::Enter);
    s.key(KeyCode::Char('/'));
    s.keys("db");
    s.key(KeyCode::Enter);
    s.key(KeyCode::Char('i'));
    assert!(s.text().contains(" Detail "), "{}", s.text());
    s
}

#[test]
fn esc_closes_the_detail_then_the_filter_then_the_kind_then_the_host() {
    let mut s = narrowed();
    s.key(KeyCode::Esc);
    assert!(
        !s.text().contains(" Detail "),
        "the detail first:\n{}",
        s.text()
    );
    assert_eq!(s.ui.filter_text, "db", "the filter stays");
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.filter_text, "");
    assert_eq!(s.ui.kind_filter, Some(Kind::LocalStorage), "the kind stays");
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.kind_filter, None);
    assert_eq!(s.ui.host_filter, Some(0), "the host stays");
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.host_filter, None);
    assert!(s.vms_title().contains("VMs 12/12"), "{}", s.vms_title());
}

#[test]
fn esc_skips_the_detail_where_it_always_shows_beside_the_table() {
    let mut s = narrowed();
    s.term.backend_mut().resize(200, 50);
    s.draw();
    // Beside the table the detail cannot be closed: the first Esc is the filter's.
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.filter_text, "");
    assert!(s.text().contains(" Detail "));
}

fn ctrl(s: &mut Screen, c: char) {
    use ratatui::crossterm::event::{Event, KeyEvent, KeyModifiers};
    s.event(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )));
}

/// Whether the footer shows `text` at column 1 in reverse video: selected.
fn footer_selected(s: &Screen, text: &str) -> bool {
    let buf = s.buffer();
    let y = buf.area.height - 1;
    text.chars().enumerate().all(|(i, c)| {
        let cell = &buf[(1 + i as u16, y)];
        cell.symbol() == c.to_string() && cell.modifier.contains(ratatui::style::Modifier::REVERSED)
    })
}

#[test]
fn slash_opens_with_the_old_filter_selected_so_typing_replaces_it() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('/'));
    s.keys("web");
    s.key(KeyCode::Enter);
    s.key(KeyCode::Char('/'));
    assert!(s.footer().starts_with("/web"), "{}", s.footer());
    assert!(footer_selected(&s, "web"), "the old text is selected");
    s.keys("db");
    assert_eq!(s.ui.filter_text, "db", "typing replaced it");
    assert!(
        !footer_selected(&s, "db"),
        "and the new text is not selected"
    );
    s.key(KeyCode::Enter);
    assert_eq!(s.row_names(), ["db-01", "db-02", "db-backup", "db-04"]);
    // An arrow key or End keeps the text and types after it, as in an address bar.
    for key in [KeyCode::Right, KeyCode::End] {
        s.key(KeyCode::Char('/'));
        s.key(key);
        assert!(!footer_selected(&s, "db"), "{key:?} ends the selection");
        s.keys("-0");
        s.key(KeyCode::Enter);
        assert!(
            s.ui.filter_text.starts_with("db-0"),
            "{key:?}: {}",
            s.ui.filter_text
        );
    }
    // Ctrl-U clears it, and so does Backspace on the selected text.
    s.key(KeyCode::Char('/'));
    ctrl(&mut s, 'u');
    assert_eq!(s.ui.filter_text, "");
    assert!(s.footer().starts_with("/█"), "{}", s.footer());
    s.keys("web");
    s.key(KeyCode::Enter);
    s.key(KeyCode::Char('/'));
    s.key(KeyCode::Backspace);
    assert_eq!(s.ui.filter_text, "");
    // Esc brings back what was there before the `/`.
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.filter_text, "web");
}

#[test]
fn a_bad_regex_is_refused_on_enter_and_the_filter_stays_open() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('/'));
    s.keys("web");
    s.key(KeyCode::Enter);
    s.key(KeyCode::Char('/'));
    s.keys("~(");
    s.key(KeyCode::Enter);
    assert!(
        matches!(s.ui.overlay, fleetwatch::ui::state::Overlay::Filter { .. }),
        "Enter on a bad regex keeps the filter open"
    );
    let footer = s.footer();
    assert!(
        footer.starts_with("/~(█  bad regex: unclosed group"),
        "{footer}"
    );
    // The table does not claim a filter it cannot apply.
    let title = s.vms_title();
    assert!(title.contains("filter \"~(\" not valid"), "{title}");
    // Fixed, it is kept.
    s.key(KeyCode::Char(')'));
    s.key(KeyCode::Enter);
    assert_eq!(s.ui.overlay, fleetwatch::ui::state::Overlay::None);
    assert_eq!(s.ui.filter_text, "~()");
    // Esc on a bad one brings back the one before.
    s.key(KeyCode::Char('/'));
    s.keys("~[");
    s.key(KeyCode::Enter);
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.filter_text, "~()");
    assert!(s.ui.filter_error.is_none());
}

#[test]
fn help_scrolls_when_it_does_not_fit_and_says_so() {
    let mut s = Screen::lab(80, 16);
    let before = s.ui.selected_uuid().map(str::to_owned);
    s.key(KeyCode::Char('?'));
    let t = s.text();
    assert!(t.contains("scroll"), "the help says it scrolls:\n{t}");
    assert!(t.contains("this help"), "{t}");
    assert!(
        !t.contains("O overcommit"),
        "the last lines are below:\n{t}"
    );
    // j, ↓ and PgDn go down, k, ↑ and PgUp up, G and g to the ends.
    s.key(KeyCode::Char('j'));
    assert!(!s.text().contains("this help"), "{}", s.text());
    s.key(KeyCode::Char('k'));
    assert!(s.text().contains("this help"), "{}", s.text());
    s.key(KeyCode::PageDown);
    assert!(!s.text().contains("this help"), "{}", s.text());
    s.key(KeyCode::Char('G'));
    let t = s.text();
    assert!(t.contains("O overcommit"), "{t}");
    assert!(!t.contains("this help"), "{t}");
    insta::assert_snapshot!("help_80x16_at_the_end", t);
    s.key(KeyCode::Up);
    s.key(KeyCode::Down);
    s.key(KeyCode::Down);
    assert!(s.text().contains("O overcommit"), "never past the end");
    s.key(KeyCode::PageUp);
    s.key(KeyCode::Char('g'));
    assert!(s.text().contains("this help"), "{}", s.text());
    // The keys scrolled the help, not the table under it.
    assert_eq!(s.ui.selected_uuid().map(str::to_owned), before);
    s.key(KeyCode::Esc);
    assert!(!s.text().contains("Help"), "{}", s.text());
    // Opened again, it starts at the top.
    s.key(KeyCode::Char('G'));
    s.key(KeyCode::Char('?'));
    assert!(s.text().contains("this help"), "{}", s.text());
}

/// The `?` row that explains each binding: its own, or the one above it in the table.
fn help_row_of(i: usize) -> Option<&'static str> {
    use fleetwatch::ui::bindings::{BINDINGS, Help};
    BINDINGS[..=i].iter().rev().find_map(|b| match b.help {
        Help::Row(_, text) => Some(text),
        _ => None,
    })
}

#[test]
fn every_binding_is_on_the_help_screen_on_its_own_row() {
    use fleetwatch::ui::bindings::{BINDINGS, Help};
    // Tall enough that the help does not scroll, wide enough that no row wraps.
    let mut s = Screen::lab(200, 50);
    s.key(KeyCode::Char('?'));
    // Only the popup's own columns: the table shows through on either side.
    let (x, _) = s.find("┌ Help").expect("the help");
    let lines: Vec<String> = s
        .lines()
        .iter()
        .map(|l| l.chars().skip(usize::from(x) + 1).take(82).collect())
        .collect();
    for (i, b) in BINDINGS.iter().enumerate() {
        if let Help::Pane(pane) = b.help {
            assert_eq!(pane, "the migrate form", "a pane nobody checks: {b:?}");
            continue;
        }
        let text = help_row_of(i).expect("a row above");
        let line = lines
            .iter()
            .find(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no help row {text:?}:\n{}", s.text()));
        for key in b.keys {
            let label = key.to_string();
            // A word of its row; glued arrows (↑↓) and closing punctuation still count.
            let found = line.split_whitespace().any(|w| {
                w == label
                    || w.trim_matches(|c| "(),;".contains(c)) == label
                    || ("↑↓←→".contains(&label) && w.contains(&label))
            });
            assert!(
                found,
                "{label} ({:?}) not on its help row: {line}",
                b.action
            );
        }
    }
}

#[test]
fn the_migrate_form_names_its_own_key() {
    use fleetwatch::ui::keys::Verb;
    let mut s = Screen::lab(80, 24);
    assert_eq!(s.ui.open_form(Verb::Migrate, &s.fleet), None);
    assert!(
        s.draw().contains("copy local disks too (c)"),
        "{}",
        s.text()
    );
    s.key(KeyCode::Char('c'));
    assert!(
        s.text().contains("[x] copy local disks too"),
        "{}",
        s.text()
    );
}

#[test]
fn the_action_menu_lists_every_action_key_as_configured() {
    use fleetwatch::ui::bindings::{BINDINGS, key_rules};
    use fleetwatch::ui::keys::{Action, ActionKeys};
    let mut moved = std::collections::BTreeMap::new();
    moved.insert("force_off".to_owned(), "Z".to_owned());
    for keys in [
        ActionKeys::default(),
        ActionKeys::from_config(&moved, &key_rules()).unwrap(),
    ] {
        let mut s = Screen::lab(80, 24);
        s.ui.action_keys = keys.clone();
        s.key(KeyCode::Char('a'));
        let t = s.text();
        assert!(t.contains(" Actions "), "{t}");
        for b in BINDINGS {
            let (Action::Act(verb), Some(label)) = (&b.action, b.menu) else {
                continue;
            };
            let key = fleetwatch::ui::bindings::shown(*verb, &keys);
            assert!(t.contains(&format!(" {key}  {label}")), "{verb}: {t}");
        }
    }
}

/// tmux (escape-time) and slow links deliver Esc and the key after it as one Alt+key.
#[test]
fn esc_then_a_key_sent_as_one_alt_key_is_both_keys() {
    use ratatui::crossterm::event::{Event, KeyEvent, KeyModifiers};
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('H'));
    assert_eq!(s.ui.view, fleetwatch::ui::state::View::History);
    s.event(Event::Key(KeyEvent::new(
        KeyCode::Char(':'),
        KeyModifiers::ALT,
    )));
    assert_eq!(
        s.ui.view,
        fleetwatch::ui::state::View::Vms,
        "the Esc closed the view"
    );
    assert_eq!(
        s.ui.overlay,
        fleetwatch::ui::state::Overlay::Command(String::new()),
        "and the : opened the command line"
    );
    assert!(s.footer().starts_with(':'), "{}", s.footer());
    // Typing, the Esc leaves the line and the key is read as a key again, not as text.
    s.keys("at");
    s.event(Event::Key(KeyEvent::new(
        KeyCode::Char('/'),
        KeyModifiers::ALT,
    )));
    assert!(
        matches!(s.ui.overlay, fleetwatch::ui::state::Overlay::Filter { .. }),
        "{:?}",
        s.ui.overlay
    );
}
