//! The snapshots pane on libvirt's test driver, driven through the TUI's key handling: take
//! one, see it listed, revert to it (the VM's name typed), delete it (its own name typed), and
//! the action menu, which never offers to delete anything.
#![allow(clippy::unwrap_used)]

mod demo_app;

use demo_app::{App, vm_in};
use fleetwatch::ui::state::Overlay;
use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::VmState;
use ratatui::crossterm::event::KeyCode;

fn snapshots(f: &Fleet, uuid: &str) -> Vec<String> {
    f.vm(uuid)
        .and_then(|v| v.config.as_ref())
        .map(|c| c.snapshots.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default()
}

fn take(app: &mut App, uuid: &str, name: &str) {
    app.key(KeyCode::Char('n'));
    for _ in 0..40 {
        app.key(KeyCode::Backspace);
    }
    app.typed(name);
    app.key(KeyCode::Enter);
    app.key(KeyCode::Tab);
    app.key(KeyCode::Enter);
    app.pump_until(&format!("snapshot {name}"), |f| {
        snapshots(f, uuid).iter().any(|n| n == name)
    });
}

fn confirm_pane(app: &App) -> (ActionKind, Vec<String>, Option<String>) {
    match &app.ui.overlay {
        Overlay::Confirm(p) => (
            p.plan.kind.clone(),
            p.plan.changes.clone(),
            p.plan.typed.clone(),
        ),
        o => panic!("no confirmation pane: {o:?}"),
    }
}

#[test]
fn the_pane_lists_reverts_and_deletes_each_confirmed_by_typing() {
    let mut app = App::start(false);
    let name = vm_in(&app, VmState::Running);
    let uuid = app.select(&name);
    take(&mut app, &uuid, "before-upgrade");
    take(&mut app, &uuid, "after-upgrade");

    app.key(KeyCode::Char('v'));
    assert!(
        matches!(app.ui.overlay, Overlay::Snapshots(_)),
        "{:?}",
        app.ui.overlay
    );
    let list = app
        .fleet
        .vm(&uuid)
        .unwrap()
        .config
        .clone()
        .unwrap()
        .snapshots
        .clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].parent.as_deref(), Some("before-upgrade"));
    assert!(list[1].current && list[0].state == "running");

    // Revert to the older one: the VM's name must be typed; the pane says what is lost.
    app.key(KeyCode::Up);
    app.key(KeyCode::Char('r'));
    let (kind, changes, typed) = confirm_pane(&app);
    assert_eq!(
        kind,
        ActionKind::RevertSnapshot {
            name: "before-upgrade".into()
        }
    );
    assert!(
        changes[0].contains("everything since") && changes[0].contains("is lost"),
        "{changes:?}"
    );
    assert!(changes[0].contains("it will be running"), "{changes:?}");
    assert_eq!(typed.as_deref(), Some(name.as_str()));
    app.typed(&name);
    app.key(KeyCode::Enter);
    app.pump_until("the revert", |f| {
        f.vm(&uuid)
            .and_then(|v| v.config.as_ref())
            .is_some_and(|c| {
                c.snapshots
                    .iter()
                    .any(|s| s.current && s.name == "before-upgrade")
            })
    });

    // Delete the newer one: its own name is typed, a wrong one does nothing.
    app.key(KeyCode::Char('v'));
    app.key(KeyCode::Down);
    app.key(KeyCode::Char('D'));
    let (kind, changes, typed) = confirm_pane(&app);
    assert_eq!(
        kind,
        ActionKind::DeleteSnapshot {
            name: "after-upgrade".into()
        }
    );
    assert_eq!(
        changes,
        [format!(
            "deletes snapshot \"after-upgrade\" of {name}; the VM and its disks stay"
        )]
    );
    assert_eq!(typed.as_deref(), Some("after-upgrade"));
    app.typed(&name);
    app.key(KeyCode::Enter);
    assert!(
        matches!(app.ui.overlay, Overlay::Confirm(_)),
        "the VM's name is not the snapshot's"
    );
    app.key(KeyCode::Esc);
    app.key(KeyCode::Char('v'));
    app.key(KeyCode::Down);
    app.key(KeyCode::Char('D'));
    app.typed("after-upgrade");
    app.key(KeyCode::Enter);
    app.pump_until("the delete", |f| snapshots(f, &uuid) == ["before-upgrade"]);
    assert_eq!(
        app.fleet.vm(&uuid).unwrap().state,
        VmState::Running,
        "the VM stays"
    );

    let done: Vec<_> = app.audit(10).into_iter().filter(|a| a.0 == "end").collect();
    let actions: Vec<&str> = done.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(
        actions,
        ["snapshot", "snapshot", "revert-snapshot", "delete-snapshot"],
        "{done:?}"
    );
}

#[test]
fn the_action_menu_offers_no_delete() {
    let mut app = App::start(false);
    let name = vm_in(&app, VmState::Running);
    app.select(&name);
    app.key(KeyCode::Char('a'));
    let menu: Vec<String> = fleetwatch::ui::bindings::menu(&app.ui.action_keys)
        .into_iter()
        .map(|(_, label, _)| label.to_lowercase())
        .collect();
    assert!(!menu.is_empty());
    assert!(
        menu.iter()
            .all(|l| !l.contains("delete") && !l.contains("undefine")),
        "{menu:?}"
    );
}
