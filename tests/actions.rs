//! Actions end to end on libvirt's test driver, driven through the TUI's own key handling:
//! the confirmation pane, the re-check before executing, the result within a poll, the audit.
#![allow(clippy::unwrap_used)]

mod demo_app;

use demo_app::{App, vm_in};
use fleetwatch::ui::state::Overlay;
use fleetwatch_core::actions::audit;
use fleetwatch_core::actions::{ActionKind, ActionRequest, Expect};
use fleetwatch_core::config::Config;
use fleetwatch_core::model::sample::VmState;
use fleetwatch_libvirt::executor::{Actor, LibvirtActor};
use ratatui::crossterm::event::KeyCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[test]
fn force_off_needs_the_name_refuses_a_wrong_one_and_shows_shut_off_within_a_poll() {
    let mut app = App::start(false);
    let name = vm_in(&app, VmState::Running);
    let uuid = app.select(&name);
    app.key(KeyCode::Char('X'));
    assert!(matches!(app.ui.overlay, Overlay::Confirm(_)));
    // Enter on Cancel (like Esc) does nothing but say so in the audit.
    app.key(KeyCode::Enter);
    assert!(matches!(app.ui.overlay, Overlay::None));
    app.key(KeyCode::Char('X'));
    app.typed(&name[..name.len() - 1]);
    app.key(KeyCode::Enter);
    assert!(
        app.pane_message().unwrap().contains("nothing was done"),
        "{:?}",
        app.pane_message()
    );
    std::thread::sleep(Duration::from_millis(700));
    app.pump();
    assert_eq!(
        app.state(&uuid),
        VmState::Running,
        "a wrong name does nothing"
    );
    app.typed(&name[name.len() - 1..]);
    app.key(KeyCode::Enter);
    assert!(matches!(app.ui.overlay, Overlay::None));
    let took = app.pump_until("shut off", |f| {
        f.vm(&uuid).is_some_and(|v| v.state == VmState::Shutoff)
    });
    eprintln!("shut off seen after {took:?}");
    let audit = app.audit(4);
    assert_eq!(
        audit,
        vec![
            (
                "confirm".into(),
                "force-off".into(),
                Some("cancelled".into())
            ),
            ("confirm".into(), "force-off".into(), Some("refused".into())),
            ("start".into(), "force-off".into(), None),
            ("end".into(), "force-off".into(), Some("ok".into())),
        ]
    );
}

#[test]
fn cancelling_by_esc_or_by_enter_on_cancel_is_audited_as_cancelled() {
    let mut app = App::start(false);
    let name = vm_in(&app, VmState::Running);
    let uuid = app.select(&name);
    app.key(KeyCode::Char('X'));
    app.key(KeyCode::Esc);
    assert!(matches!(app.ui.overlay, Overlay::None));
    app.key(KeyCode::Char('p'));
    app.key(KeyCode::Enter);
    assert!(
        matches!(app.ui.overlay, Overlay::None),
        "focus was on Cancel"
    );
    assert_eq!(
        app.ui.message.as_deref(),
        Some("cancelled: nothing was done")
    );
    assert_eq!(
        app.audit(2),
        vec![
            (
                "confirm".into(),
                "force-off".into(),
                Some("cancelled".into())
            ),
            ("confirm".into(), "pause".into(), Some("cancelled".into())),
        ]
    );
    let records = audit::read(&app.audit).unwrap();
    assert!(
        records
            .iter()
            .all(|r| r.uuid.as_deref() == Some(uuid.as_str()))
    );
    assert_eq!(app.state(&uuid), VmState::Running);
}

#[test]
fn start_shutdown_pause_resume_and_snapshot_through_the_keys() {
    let mut app = App::start(false);
    // Pause and resume a running VM: not disruptive, Tab to the button and Enter.
    let name = vm_in(&app, VmState::Running);
    let uuid = app.select(&name);
    for (key, want) in [
        ('p', VmState::Paused),
        ('p', VmState::Running),
        ('d', VmState::Shutoff),
        ('u', VmState::Running),
    ] {
        app.key(KeyCode::Char(key));
        app.key(KeyCode::Tab);
        app.key(KeyCode::Enter);
        app.pump_until(&format!("{key} -> {}", want.label()), |f| {
            f.vm(&uuid).is_some_and(|v| v.state == want)
        });
    }
    // A snapshot with a name and a description, then visible as backup evidence.
    app.key(KeyCode::Char('n'));
    assert!(matches!(app.ui.overlay, Overlay::Snapshot(_)));
    for _ in 0..40 {
        app.key(KeyCode::Backspace);
    }
    app.typed("before-upgrade");
    app.key(KeyCode::Tab);
    app.typed("taken by the test");
    app.key(KeyCode::Enter);
    app.key(KeyCode::Tab);
    app.key(KeyCode::Enter);
    let took = app.pump_until("the snapshot", |f| {
        f.vm(&uuid)
            .and_then(|v| v.config.as_ref())
            .and_then(|c| c.newest_snapshot.as_ref())
            .is_some_and(|(n, _)| n == "before-upgrade")
    });
    eprintln!("snapshot seen after {took:?}");
    let done: Vec<_> = app.audit(15).into_iter().filter(|a| a.0 == "end").collect();
    assert_eq!(done.len(), 5, "{done:?}");
    assert!(
        done.iter().all(|a| a.2.as_deref() == Some("ok")),
        "{done:?}"
    );
}

#[test]
fn migrating_in_the_demo_is_refused_in_the_pane_before_anything_is_typed() {
    let mut app = App::start(false);
    let name = vm_in(&app, VmState::Running);
    app.select(&name);
    app.key(KeyCode::Char('m'));
    assert!(
        matches!(app.ui.overlay, Overlay::Target(_)),
        "{:?}",
        app.ui.overlay
    );
    // The first host that is not the VM's own.
    let own = app.fleet.vm(app.ui.selected_uuid().unwrap()).unwrap().host;
    if own == 0 {
        app.key(KeyCode::Down);
    }
    app.key(KeyCode::Enter);
    match &app.ui.overlay {
        Overlay::Confirm(p) => {
            assert!(
                p.plan.refusals.iter().any(|r| r.contains("test driver")),
                "{:?}",
                p.plan.refusals
            );
        }
        other => panic!("no confirmation pane: {other:?}"),
    }
}

#[test]
fn a_read_only_session_refuses_and_libvirt_itself_would_too() {
    let mut app = App::start(true);
    let name = vm_in(&app, VmState::Running);
    let uuid = app.select(&name);
    app.key(KeyCode::Char('X'));
    // Nothing is asked for when nothing can run; Confirm answers why.
    app.typed(&name);
    app.key(KeyCode::Tab);
    app.key(KeyCode::Enter);
    let msg = app.pane_message().unwrap();
    assert!(msg.contains("read-only"), "{msg}");
    std::thread::sleep(Duration::from_millis(700));
    app.pump();
    assert_eq!(app.state(&uuid), VmState::Running);
    // Even asked directly, the host's connection is read-only: libvirt refuses the write.
    let conn = virt::connect::Connect::open_read_only(Some("test:///default")).unwrap();
    let actor = LibvirtActor {
        conn: Arc::new(conn),
        refresh: Arc::default(),
    };
    let req = ActionRequest {
        id: 1,
        kind: ActionKind::ForceOff,
        expect: Expect {
            uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f".into(),
            name: "test".into(),
            host: "default".into(),
            state: VmState::Running,
        },
    };
    let e = actor
        .execute(&req, &AtomicBool::new(false), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("read only access prevents"), "{e}");
}

#[test]
fn a_vm_that_changed_since_the_pane_opened_is_refused() {
    let conn = virt::connect::Connect::open(Some("test:///default")).unwrap();
    let actor = LibvirtActor {
        conn: Arc::new(conn),
        refresh: Arc::default(),
    };
    let expect = |state| Expect {
        uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f".into(),
        name: "test".into(),
        host: "default".into(),
        state,
    };
    // The pane showed it paused; it runs now.
    let req = ActionRequest {
        id: 1,
        kind: ActionKind::Resume,
        expect: expect(VmState::Paused),
    };
    let e = actor
        .execute(&req, &AtomicBool::new(false), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("refused") && e.contains("state paused → running"),
        "{e}"
    );
    let gone = ActionRequest {
        id: 2,
        kind: ActionKind::Pause,
        expect: Expect {
            uuid: "00000000-0000-4000-8000-000000000000".into(),
            ..expect(VmState::Running)
        },
    };
    let e = actor
        .execute(&gone, &AtomicBool::new(false), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("no longer on default"), "{e}");
}

/// Forces off a running VM of `uri` through the connection fleetwatch's collector opens for it
/// (the same `LibvirtConnector::open` the collector calls) and fleetwatch's own actor.
fn force_off_on_fleetwatch_connection(config: &Config, uri: &str) -> Result<String, String> {
    let connector = fleetwatch::app::connector(config, fleetwatch_libvirt::known::Pace::Trickle);
    let conn = connector.open(uri).unwrap();
    let dom = conn
        .list_all_domains(virt_sys::VIR_CONNECT_LIST_DOMAINS_RUNNING)
        .unwrap()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("a running VM on {uri}"));
    let req = ActionRequest {
        id: 1,
        kind: ActionKind::ForceOff,
        expect: Expect {
            uuid: dom.uuid_string().unwrap(),
            name: dom.name().unwrap(),
            host: uri.into(),
            state: VmState::Running,
        },
    };
    let actor = LibvirtActor {
        conn: Arc::new(conn),
        refresh: Arc::default(),
    };
    actor
        .execute(&req, &AtomicBool::new(false), &mut |_| {})
        .map_err(|e| e.to_string())
}

#[test]
fn hosts_that_may_not_act_get_a_connection_libvirt_itself_keeps_read_only() {
    fleetwatch_libvirt::libvirt_init();
    let demo = fleetwatch::demo::write().unwrap();
    // A normal session where the first host has no `actions = true`: only that one is refused.
    let mut config = demo.config.clone();
    config.hosts[0].actions = false;
    assert!(config.hosts[1..].iter().all(|h| h.actions), "demo acts");
    for (i, h) in config.hosts.iter().enumerate() {
        let r = force_off_on_fleetwatch_connection(&config, &h.uri);
        if i == 0 {
            let e = r.unwrap_err();
            assert!(e.contains("read only access prevents"), "{}: {e}", h.name);
        } else {
            assert!(r.is_ok(), "{}: {r:?}", h.name);
        }
    }
    // A read-only session (`--read-only`, and `--wall`, which main sets as `read_only`):
    // every host, actions or not, is opened read-only.
    let mut config = demo.config.clone();
    config.read_only = true;
    for h in &config.hosts {
        let e = force_off_on_fleetwatch_connection(&config, &h.uri).unwrap_err();
        assert!(e.contains("read only access prevents"), "{}: {e}", h.name);
    }
}
