#![allow(clippy::unwrap_used)]
//! The Services view on the lab fleet: groups from the inventory, the worst exposed first,
//! members on a silent host not counted as running, Enter on a member showing its VM, and the
//! same words at 80x24 and 200x50.

mod screen;
use fleetwatch_testkit as support;

use fleetwatch::ui::state::View;
use fleetwatch_core::model::rules::evaluate_grouped;
use fleetwatch_core::policy::inventory::Inventory;
use fleetwatch_core::policy::loader::Inputs;
use ratatui::crossterm::event::KeyCode;
use screen::{Screen, lab, shared};
use std::sync::Arc;

/// db on two hosts that answer, web's running members on one (web-03 is on the stale host),
/// report's only VM on the down host; the rest in no group.
fn grouped(w: u16, h: u16) -> Screen {
    let (mut fleet, now) = lab();
    let mut inv = String::new();
    for (vm, group) in [
        ("db-01", "db"),
        ("db-02", "db"),
        ("web-01", "web"),
        ("web-02", "web"),
        ("web-03", "web"),
        ("db-04", "report"),
    ] {
        inv += &format!("[[vm]]\nname = \"{vm}\"\nowner = \"team\"\ngroup = \"{group}\"\n\n");
    }
    let inputs = Inputs {
        inventory: Some(Inventory::parse(&inv, std::path::Path::new("inv.toml")).map(Arc::new)),
        catalog: None,
    };
    let policy = fleetwatch_core::policy::PolicyConfig {
        shared_storage: shared(),
        inventory: Some("inv.toml".into()),
        ..Default::default()
    };
    let (found, groups) = evaluate_grouped(&fleet, &policy, &inputs, chrono::Utc::now());
    fleet.set_groups(groups);
    fleet.set_findings(found, Vec::new());
    Screen::new(fleet, now, w, h)
}

fn title(s: &Screen) -> String {
    s.lines()
        .into_iter()
        .find(|l| l.starts_with("┌ Services"))
        .unwrap_or_else(|| panic!("no Services view:\n{}", s.text()))
}

/// The view's lines that start a service, in order.
fn services(s: &Screen) -> Vec<String> {
    s.lines()
        .into_iter()
        .filter(|l| l.starts_with("│  ") || l.starts_with("│! "))
        .filter(|l| !l.starts_with("│    "))
        .map(|l| l.trim_matches('│').trim().to_owned())
        .collect()
}

#[test]
fn services_show_the_worst_exposed_first_at_both_sizes() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut s = grouped(w, h);
        s.key(KeyCode::Char('o'));
        let t = title(&s);
        assert!(
            t.contains("Services · 3 groups · 1 unknown · 1 on one host · 6 VMs in none"),
            "{w}x{h}: {t}"
        );
        let lines = services(&s);
        let names: Vec<&str> = lines
            .iter()
            .map(|l| {
                l.trim_start_matches("! ")
                    .split_whitespace()
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(names, ["report", "web", "db"], "{w}x{h}: {lines:?}");
        // db-04's host is down: not known to run, not known to be down either.
        assert!(
            lines[0].starts_with("! report")
                && lines[0].contains("0/1")
                && lines[0].contains("unknown"),
            "{lines:?}"
        );
        assert!(!s.footer().contains("s sort"), "{}", s.footer());
        let web = if w >= 120 {
            "all 2 running on hv-000: its loss takes it down (1 on hosts not answering)"
        } else {
            "all on hv-000"
        };
        assert!(
            lines[1].contains("2/3") && lines[1].contains(web),
            "{w}x{h}: {lines:?}"
        );
        let db = if w >= 120 {
            "on 2 hosts: survives one host's loss"
        } else {
            "2 hosts"
        };
        assert!(lines[2].contains(db), "{w}x{h}: {lines:?}");
        if w == 80 {
            insta::assert_snapshot!("services_80x24", s.text());
        }
    }
}

#[test]
fn enter_on_a_member_shows_its_vm_and_esc_goes_back() {
    let mut s = grouped(80, 24);
    s.key(KeyCode::Char(':'));
    s.keys("services");
    s.key(KeyCode::Enter);
    assert_eq!(s.ui.view, View::Services);
    // Down past report's one member onto web, then onto web's first member.
    for _ in 0..3 {
        s.key(KeyCode::Char('j'));
    }
    let text = s.text();
    assert!(
        text.contains("    web-01") && !text.contains("    db-04"),
        "{text}"
    );
    s.key(KeyCode::Enter);
    assert_eq!(s.ui.view, View::Vms);
    assert_eq!(s.selected_name(), "web-01");
    s.key(KeyCode::Char('o'));
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.view, View::Vms);
}

#[test]
fn a_fleet_in_no_group_says_how_to_make_one() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('o'));
    let t = s.text();
    assert!(title(&s).contains("0 groups · 12 VMs in none"), "{t}");
    assert!(t.contains("No service groups"), "{t}");
}

#[test]
fn the_view_follows_the_fleet_it_was_grouped_from() {
    let mut s = grouped(200, 50);
    s.key(KeyCode::Char('o'));
    assert!(
        services(&s)[1].contains("all 2 running on hv-000"),
        "{:?}",
        services(&s)
    );
    // hv-000 stops answering: web's running members are now not known to run.
    s.fleet.set_link(
        0,
        fleetwatch_core::link::LinkState::Down,
        Some("gone".into()),
    );
    s.draw();
    let lines = services(&s);
    let web = lines.iter().find(|l| l.contains("web")).unwrap();
    assert!(web.contains("0/3") && web.contains("unknown"), "{lines:?}");
}
