//! The evacuation pane on the demo: `E` on a host and `:evacuate HOST` open the plan in a
//! confirmation pane that wants the host's name; the demo's test driver cannot migrate, which
//! the pane says, and confirming anyway runs nothing. `:return` with no evacuation known says so.
#![allow(clippy::unwrap_used)]

mod demo_app;

use demo_app::App;
use fleetwatch::ui::state::Overlay;
use fleetwatch_core::actions::ActionKind;
use ratatui::crossterm::event::KeyCode;

fn pane(app: &App) -> fleetwatch_core::actions::plan::Plan {
    match &app.ui.overlay {
        Overlay::Confirm(p) => p.plan.clone(),
        o => panic!("no confirmation pane: {o:?}"),
    }
}

#[test]
fn e_on_a_host_opens_its_evacuation_wanting_its_name_and_the_demo_says_it_cannot_run() {
    let mut app = App::start(false);
    app.key(KeyCode::Tab);
    app.key(KeyCode::Char('E'));
    let p = pane(&app);
    let host = app.fleet.hosts[0].name.clone();
    assert!(
        matches!(&p.kind, ActionKind::Evacuate { host: h, back: false, .. } if *h == host),
        "{:?}",
        p.kind
    );
    assert_eq!(p.typed.as_deref(), Some(host.as_str()));
    assert!(
        p.refusals.iter().any(|r| r.contains("test driver")),
        "{p:?}"
    );
    assert!(
        p.refusals
            .iter()
            .any(|r| r.contains("cannot move: local disk(s)")),
        "{p:?}"
    );
    // Confirming anyway: refused, nothing runs, the host is not in maintenance.
    app.typed(&host);
    app.key(KeyCode::Tab);
    app.key(KeyCode::Enter);
    assert!(
        app.pane_message().unwrap().contains("cannot"),
        "{:?}",
        app.ui.overlay
    );
    assert!(app.ui.actions_running.is_empty());
    assert!(app.ui.maintenance.is_empty());
}

#[test]
fn the_commands_name_what_they_cannot_find() {
    let mut app = App::start(false);
    app.key(KeyCode::Char(':'));
    app.typed("evacuate no-such-host");
    app.key(KeyCode::Enter);
    assert_eq!(app.ui.overlay, Overlay::None);
    assert_eq!(
        app.ui.message.as_deref(),
        Some("no host named \"no-such-host\"")
    );
    let host = app.fleet.hosts[1].name.clone();
    app.key(KeyCode::Char(':'));
    app.typed(&format!("return {host}"));
    app.key(KeyCode::Enter);
    let p = pane(&app);
    assert!(
        matches!(p.kind, ActionKind::Evacuate { back: true, .. }),
        "{:?}",
        p.kind
    );
    assert!(
        p.refusals[0].contains(&format!(
            "{host} is not in maintenance: nothing to bring back"
        )),
        "{p:?}"
    );
}
