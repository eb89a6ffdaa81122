#![allow(clippy::unwrap_used)]
//! Screen tests of guests' addresses: `/` and `:find` by IP, the IP column, the detail's lines.

mod screen;
use fleetwatch_testkit as support;

use ratatui::crossterm::event::KeyCode;
use screen::Screen;

fn filtered(s: &mut Screen, text: &str) -> Vec<String> {
    s.key(KeyCode::Char('/'));
    s.key(KeyCode::Char('u'));
    for _ in 0..40 {
        s.key(KeyCode::Backspace);
    }
    s.keys(text);
    s.key(KeyCode::Enter);
    s.draw();
    s.row_names()
}

#[test]
fn a_whole_address_finds_its_vm_only_and_a_part_finds_every_vm_it_is_part_of() {
    let mut s = Screen::lab(80, 24);
    // db-01 has 10.1.2.3, web-01 10.1.2.30: a whole address is that address.
    assert_eq!(filtered(&mut s, "10.1.2.3"), ["db-01"]);
    let mut part = filtered(&mut s, "10.1.2.");
    part.sort();
    assert_eq!(part, ["db-01", "web-01"]);
    assert_eq!(filtered(&mut s, "~^2001:db8::"), ["db-01"]);
    assert_eq!(
        filtered(&mut s, "db-01.prod"),
        ["db-01"],
        "by the guest's hostname"
    );
    assert!(filtered(&mut s, "10.9.9.9").is_empty());
}

#[test]
fn find_says_who_has_an_address_and_shows_it() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char(':'));
    s.keys("find 10.1.2.3");
    s.key(KeyCode::Enter);
    s.draw();
    assert!(
        s.text().contains("10.1.2.3: db-01 on hv-000"),
        "{}",
        s.text()
    );
    assert_eq!(s.row_names(), ["db-01"]);
    s.key(KeyCode::Char(':'));
    s.keys("find 192.0.2.1");
    s.key(KeyCode::Enter);
    s.draw();
    assert!(s.text().contains("no VM reports 192.0.2.1"), "{}", s.text());
    assert_eq!(
        s.row_names(),
        ["db-01"],
        "nothing found leaves the table as it was"
    );
}

#[test]
fn wide_screens_show_an_ip_column_and_the_detail_every_address() {
    let mut s = Screen::lab(200, 50);
    s.draw();
    let header = s.lines().into_iter().find(|l| l.contains("NAME")).unwrap();
    assert!(header.contains(" IP "), "{header}");
    let db = s
        .lines()
        .into_iter()
        .find(|l| l.starts_with("│db-01 "))
        .unwrap();
    assert!(db.contains("10.1.2.3 "), "{db}");
    filtered(&mut s, "db-01");
    let text = s.text();
    assert!(
        text.contains("ip      10.1.2.3, 2001:db8::13 (agent)"),
        "{text}"
    );
    assert!(
        text.contains("guest   db-01.prod · Debian GNU/Linux 12"),
        "{text}"
    );
    // At 80 columns the address gives way to the numbers.
    let mut narrow = Screen::lab(80, 24);
    narrow.draw();
    let header = narrow
        .lines()
        .into_iter()
        .find(|l| l.contains("NAME"))
        .unwrap();
    assert!(!header.contains(" IP"), "{header}");
}
