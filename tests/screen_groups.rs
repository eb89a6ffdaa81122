#![allow(clippy::unwrap_used)]
//! Host groups on screen: the hosts pane labels each host's group, the header names the
//! selected VM's (in the group's colour, in reverse video without colour), and the first line
//! of a confirmation pane for a VM of a production group says PRODUCTION.

mod screen;
use fleetwatch_testkit as support;

use fleetwatch::ui::state::Overlay;
use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::config::HostGroup;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Modifier;
use screen::{Screen, pane_for};

/// The lab with hv-000 and hv-001 in `prod` (red, production), hv-002 in `lab`, hv-003 in none.
fn grouped(w: u16, h: u16) -> Screen {
    let mut s = Screen::lab(w, h);
    for (i, g) in [(0, "prod"), (1, "prod"), (2, "lab")] {
        s.fleet.hosts[i].group = Some(g.into());
    }
    s.groups.insert(
        "prod".into(),
        HostGroup {
            color: Some("red".into()),
            production: true,
            read_only: false,
            actions: None,
            severity: Default::default(),
        },
    );
    s.groups.insert("lab".into(), HostGroup::default());
    s.draw();
    s
}

/// Moves the selection to the first VM on host `host`.
fn select_on(s: &mut Screen, host: usize) {
    s.key(KeyCode::Char('g'));
    for _ in 0..s.ui.rows.len() {
        let u = s.ui.selected_uuid().unwrap();
        if s.fleet.vm(u).unwrap().host == host {
            return;
        }
        s.key(KeyCode::Char('j'));
    }
    panic!("no VM on host {host}");
}

fn line_with<'a>(t: &'a str, needle: &str) -> &'a str {
    t.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}:\n{t}"))
}

#[test]
fn the_hosts_pane_labels_each_hosts_group_at_both_sizes() {
    for (w, h) in [(80, 24), (200, 50)] {
        let s = grouped(w, h);
        let t = s.text();
        assert!(line_with(&t, "hv-000").contains(" prod "), "{t}");
        assert!(line_with(&t, "hv-002").contains(" lab "), "{t}");
        let none = line_with(&t, "hv-003");
        assert!(!none.contains("prod") && !none.contains(" lab "), "{t}");
        // The columns after the label stay aligned, whatever the group's name.
        let col = |name: &str| line_with(&t, name).find("CPU");
        assert!(col("hv-000").is_some(), "{t}");
        assert_eq!(col("hv-000"), col("hv-002"), "{t}");
    }
    // No group anywhere: no column for one (the lab's screens are as before).
    let plain = Screen::lab(80, 24);
    assert!(!plain.text().contains(" prod "));
}

#[test]
fn the_header_names_the_selected_vms_host_group_marked_without_colour() {
    let mut s = grouped(80, 24);
    select_on(&mut s, 0);
    let header = s.text().lines().next().unwrap().to_owned();
    assert!(header.contains("prod"), "{header}");
    let (x, y) = s.find("prod").unwrap();
    assert_eq!(y, 0);
    let cell = &s.buffer()[(x, y)];
    assert!(
        cell.modifier.contains(Modifier::REVERSED),
        "NO_COLOR: the label in reverse video"
    );
    select_on(&mut s, 2);
    let header = s.text().lines().next().unwrap().to_owned();
    assert!(
        header.contains("lab") && !header.contains("prod"),
        "{header}"
    );
    select_on(&mut s, 3);
    let header = s.text().lines().next().unwrap().to_owned();
    assert!(
        !header.contains("lab") && !header.contains("prod"),
        "{header}"
    );
    // The detail pane says it beside the host.
    select_on(&mut s, 0);
    s.key(KeyCode::Char('i'));
    let t = s.text();
    assert!(
        line_with(&t, "hv-000 (up)").contains("hv-000 (up)  prod "),
        "{t}"
    );
}

#[test]
fn a_confirmation_pane_for_a_production_vm_says_so_in_its_first_line() {
    let mut s = grouped(80, 24);
    select_on(&mut s, 0);
    s.ui.overlay = Overlay::Confirm(Box::new(pane_for(ActionKind::Reboot, &s, None)));
    let t = s.draw();
    let (_, y) = s.find("Confirm: reboot").unwrap();
    let first = t.lines().nth(y as usize).unwrap();
    assert!(first.contains("PRODUCTION (prod)"), "{t}");
    s.ui.overlay = Overlay::None;
    select_on(&mut s, 2);
    s.ui.overlay = Overlay::Confirm(Box::new(pane_for(ActionKind::Reboot, &s, None)));
    let t = s.draw();
    assert!(t.contains("Confirm: reboot"), "{t}");
    assert!(!t.contains("PRODUCTION"), "{t}");
}
