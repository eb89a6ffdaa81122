#![allow(clippy::unwrap_used)]
//! Screen tests of the confirmation pane: it fits, and it asks nothing of an action that cannot
//! run.

mod screen;
use fleetwatch_testkit as support;

use fleetwatch::ui::state::Overlay;
use fleetwatch_core::actions::ActionKind;
use ratatui::crossterm::event::KeyCode;
use screen::{Screen, pane_for};

fn select(s: &mut Screen, name: &str) {
    s.key(KeyCode::Char('g'));
    while s.selected_name() != name {
        s.key(KeyCode::Char('j'));
    }
}

#[test]
fn a_long_migration_plan_scrolls_under_buttons_that_always_show_at_80x24() {
    let mut s = Screen::lab(80, 24);
    // Every VM marked: more VMs, changes and risks than 24 lines hold.
    s.key(KeyCode::Char('g'));
    for _ in 0..12 {
        s.key(KeyCode::Char(' '));
        s.key(KeyCode::Char('j'));
    }
    let to = 1;
    let kind = ActionKind::Migrate {
        to,
        to_name: s.fleet.hosts[to].name.clone(),
        to_uri: s.fleet.hosts[to].uri.clone(),
        copy_storage: false,
    };
    let pane = pane_for(kind, &s, None);
    s.ui.overlay = Overlay::Confirm(Box::new(pane));
    let t = s.draw();
    assert!(t.contains("[ Cancel ]") && t.contains("MIGRATE"), "{t}");
    assert!(t.contains("Cannot run:"), "what stops it shows first:\n{t}");
    assert!(t.contains("↓ more"), "the pane says it scrolls:\n{t}");
    insta::assert_snapshot!("confirm_migrate_set_80x24", t);
    let first_vm = s.lines()[1].clone();
    s.key(KeyCode::Down);
    assert_ne!(s.lines()[1], first_vm, "↓ scrolled the plan");
    s.key(KeyCode::PageDown);
    s.key(KeyCode::End);
    let t = s.text();
    assert!(!t.contains("↓ more"), "at the end:\n{t}");
    assert!(t.contains("CPU compatibility"), "the last risk:\n{t}");
    assert!(t.contains("[ Cancel ]") && t.contains("MIGRATE"), "{t}");
    s.key(KeyCode::Home);
    assert_eq!(s.lines()[1], first_vm);
}

#[test]
fn force_off_of_a_shut_off_vm_says_it_cannot_run_and_asks_for_no_name() {
    let mut s = Screen::lab(80, 24);
    select(&mut s, "db-backup");
    let pane = pane_for(ActionKind::ForceOff, &s, None);
    s.ui.overlay = Overlay::Confirm(Box::new(pane));
    let t = s.draw();
    assert!(t.contains("Cannot run:"), "{t}");
    assert!(t.contains("db-backup is shutoff: cannot force-off"), "{t}");
    assert!(!t.contains("Type the VM's name"), "{t}");
    assert!(t.contains("cannot run · Esc: close"), "{t}");
    insta::assert_snapshot!("confirm_force_off_refused_80x24", t);
    // Typing asks nothing and moves nothing: Enter still closes.
    s.keys("db-backup");
    let Overlay::Confirm(pane) = &s.ui.overlay else {
        panic!("the pane closed")
    };
    assert_eq!(pane.typed, "");
    assert!(!s.text().contains("db-backup█"), "{}", s.text());
    s.key(KeyCode::Enter);
    assert_eq!(s.ui.overlay, Overlay::None);
}

#[test]
fn the_confirmation_pane_draws_at_every_size_and_scrolls_without_panic() {
    let base = Screen::lab(80, 24);
    let mut marked = Screen::new(base.fleet.clone(), base.now, 80, 24);
    marked.key(KeyCode::Char('g'));
    for _ in 0..12 {
        marked.key(KeyCode::Char(' '));
        marked.key(KeyCode::Char('j'));
    }
    let to = 1;
    let kind = ActionKind::Migrate {
        to,
        to_name: marked.fleet.hosts[to].name.clone(),
        to_uri: marked.fleet.hosts[to].uri.clone(),
        copy_storage: false,
    };
    let pane = pane_for(kind, &marked, None);
    for w in (1..=130).step_by(9).chain([60, 80, 200]) {
        for h in (1..=40).step_by(6).chain([12, 24]) {
            let mut s = Screen::new(base.fleet.clone(), base.now, w, h);
            s.ui.overlay = Overlay::Confirm(Box::new(pane.clone()));
            for key in [KeyCode::Down, KeyCode::PageDown, KeyCode::End, KeyCode::Up] {
                s.key(key);
                assert_eq!(s.text().lines().count(), h as usize, "{w}x{h}");
            }
        }
    }
}
