#![allow(clippy::unwrap_used)]
//! Screen tests of the keys: what Esc closes, editing the filter, the help's scrolling.

mod screen;
mod support;

use fleetwatch::model::findings::Kind;
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
