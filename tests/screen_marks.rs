#![allow(clippy::unwrap_used)]
//! `:mark` and `:unmark` choose the set an action acts on by what the VMs are (a name regex,
//! a host, a finding kind, what the table shows), and an action on the set lists every VM in
//! its pane and asks for their count. Bad selectors say what is wrong and mark nothing.

mod screen;
use fleetwatch_testkit as support;

use fleetwatch::ui::state::Overlay;
use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::model::findings::Kind;
use ratatui::crossterm::event::KeyCode;
use screen::{Screen, pane_for};
use std::collections::BTreeSet;

fn command(s: &mut Screen, line: &str) -> String {
    s.key(KeyCode::Char(':'));
    s.keys(line);
    s.key(KeyCode::Enter);
    s.ui.message.clone().unwrap_or_default()
}

/// The UUIDs of the fleet's VMs that `pick` picks.
fn of(s: &Screen, pick: impl Fn(&fleetwatch_core::model::Vm) -> bool) -> BTreeSet<String> {
    s.fleet
        .vms()
        .filter(|v| pick(v))
        .map(|v| v.uuid.clone())
        .collect()
}

#[test]
fn marks_by_host_name_and_finding_add_up_and_unmark_takes_them_back() {
    let mut s = Screen::lab(80, 24);
    let said = command(&mut s, "mark host=hv-000");
    let on_0 = of(&s, |v| v.host == 0);
    assert!(on_0.len() >= 2, "the lab's first host runs VMs");
    assert_eq!(s.ui.marks, on_0);
    assert!(
        said.contains(&format!("marked {} VM(s) by host=hv-000", on_0.len())),
        "{said}"
    );

    // The harness evaluates no rules: db-01 (on hv-000, a local disk) is given its finding.
    let db = s.fleet.vms().find(|v| v.name == "db-01").unwrap();
    let (h, u) = (db.host, db.uuid.clone());
    s.fleet.hosts[h]
        .vms
        .get_mut(&u)
        .unwrap()
        .flags
        .push(Kind::LocalStorage);
    s.fleet.hosts[1]
        .vms
        .values_mut()
        .next()
        .unwrap()
        .flags
        .push(Kind::LocalStorage);
    let local = of(&s, |v| v.flags.contains(&Kind::LocalStorage));
    assert_eq!(local.len(), 2);
    command(&mut s, "mark flag=local-storage");
    let both: BTreeSet<String> = on_0.union(&local).cloned().collect();
    assert_eq!(s.ui.marks, both);

    let named = of(&s, |v| v.name.starts_with("vm-001"));
    assert!(!named.is_empty());
    command(&mut s, "mark ~^VM-001");
    assert!(
        named.is_subset(&s.ui.marks),
        "a regex is case-insensitive, as the filter's"
    );

    let said = command(&mut s, "unmark host=hv-000");
    assert!(s.ui.marks.is_disjoint(&on_0), "{said}");
    let said = command(&mut s, "unmark");
    assert!(s.ui.marks.is_empty());
    assert!(said.starts_with("unmarked all"), "{said}");
}

#[test]
fn shown_marks_what_the_table_shows_and_an_action_on_the_set_lists_each_and_asks_the_count() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('/'));
    // The VMs of the two hosts that are up: an action on them can run, and asks their count.
    s.keys("~^vm-00[01]");
    s.key(KeyCode::Enter);
    let shown: BTreeSet<String> =
        s.ui.rows
            .iter()
            .filter_map(|r| s.fleet.vm_at(*r))
            .map(|v| v.uuid.clone())
            .collect();
    assert!(shown.len() >= 2, "{shown:?}");
    command(&mut s, "mark shown");
    assert_eq!(s.ui.marks, shown);
    let pane = pane_for(ActionKind::Reboot, &s, None);
    assert_eq!(pane.plan.vms.len(), shown.len());
    assert_eq!(pane.plan.typed, Some(shown.len().to_string()));
    s.ui.overlay = Overlay::Confirm(Box::new(pane));
    let t = s.draw();
    assert!(
        t.contains(&format!("({})", shown.len())),
        "the count to type:\n{t}"
    );
}

#[test]
fn bad_selectors_say_what_is_wrong_and_mark_nothing() {
    let mut s = Screen::lab(80, 24);
    for (line, says) in [
        ("mark web", "mark what? ~REGEX"),
        ("mark host=hv-nowhere", "no host named \"hv-nowhere\""),
        ("mark flag=shiny", "no finding kind \"shiny\""),
        ("mark ~(", "bad regex"),
        ("mark", "mark what?"),
    ] {
        let said = command(&mut s, line);
        assert!(said.contains(says), "{line}: {said}");
        assert!(s.ui.marks.is_empty(), "{line} marked {:?}", s.ui.marks);
    }
}
