//! The demo fleet driven as the TUI drives it: its key handling, its action runner and its
//! audit, on libvirt's test driver, for the action tests.
#![allow(dead_code, clippy::unwrap_used)]

use fleetwatch::app::acting::Acting;
use fleetwatch::app::{Handled, apply, handle_event, start_collectors};
use fleetwatch::ui::state::{Overlay, UiState};
use fleetwatch_core::actions::audit::{self, Target};
use fleetwatch_core::config::Config;
use fleetwatch_core::link::{Mailbox, MailboxReceiver, Update};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::VmState;
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_libvirt::supervisor::Collectors;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::time::{Duration, Instant};

pub struct App {
    pub _demo: fleetwatch::demo::Demo,
    pub _dir: tempfile::TempDir,
    pub config: Config,
    pub collectors: Collectors,
    pub rx: MailboxReceiver,
    pub fleet: Fleet,
    pub ui: UiState,
    pub acting: Acting,
    pub audit: Target,
}

impl App {
    pub fn start(read_only: bool) -> App {
        let demo = fleetwatch::demo::write().unwrap();
        let mut config = demo.config.clone();
        config.poll.interval = Duration::from_millis(300);
        config.read_only = read_only;
        let dir = tempfile::tempdir().unwrap();
        let target = Target::File(dir.path().join("audit.jsonl"));
        let (err_tx, _err_rx) = tokio::sync::mpsc::unbounded_channel();
        let acting = Acting::new(Some(audit::spawn(target.clone(), err_tx).unwrap()));
        let (tx, rx) = Mailbox::new(config.hosts.len());
        let collectors = start_collectors(&config, tx).unwrap();
        let mut app = App {
            _demo: demo,
            _dir: dir,
            fleet: Fleet::new(&config.hosts),
            config,
            collectors,
            rx,
            ui: UiState::default(),
            acting,
            audit: target,
        };
        app.pump_until("every host up", |f| {
            f.vm_count() >= 40 && f.hosts.iter().all(|h| h.info.is_some())
        });
        app
    }

    pub fn pump(&mut self) {
        while let Some(m) = self.rx.try_recv() {
            if let Update::Action(u) = m.update {
                self.acting.update(u, &mut self.ui, &self.collectors);
            } else {
                apply(&mut self.fleet, m);
            }
        }
        self.ui.refresh_rows(&self.fleet);
    }

    pub fn pump_until(&mut self, what: &str, ok: impl Fn(&Fleet) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            self.pump();
            if ok(&self.fleet) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "waited too long for {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn key(&mut self, code: KeyCode) {
        let ev = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
        for handled in handle_event(ev, &self.fleet, &mut self.ui, Some(&self.collectors)) {
            match handled {
                Handled::Do(e) => {
                    let inputs = Inputs::default();
                    self.acting.effect(
                        e,
                        &self.fleet,
                        &mut self.ui,
                        &self.config,
                        &inputs,
                        &self.collectors,
                    )
                }
                Handled::Quit => panic!("quit"),
                Handled::Continue => {}
            }
        }
    }

    pub fn typed(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Selects a VM by filtering the table down to it.
    pub fn select(&mut self, name: &str) -> String {
        self.key(KeyCode::Char('/'));
        self.typed(&format!("~^{name}$"));
        self.key(KeyCode::Enter);
        let u = self.ui.selected_uuid().unwrap().to_owned();
        assert_eq!(self.fleet.vm(&u).unwrap().name, name);
        u
    }

    pub fn state(&self, uuid: &str) -> VmState {
        self.fleet.vm(uuid).unwrap().state
    }

    pub fn pane_message(&self) -> Option<String> {
        match &self.ui.overlay {
            Overlay::Confirm(p) => p.message.clone(),
            _ => None,
        }
    }

    /// The audit once it holds at least `n` records (the writer is a thread of its own), or
    /// whatever it holds after a generous deadline.
    pub fn audit(&self, n: usize) -> Vec<(String, String, Option<String>)> {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let records: Vec<_> = audit::read(&self.audit)
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.phase, r.action, r.outcome))
                .collect();
            if records.len() >= n || Instant::now() > end {
                return records;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn vm_in(app: &App, state: VmState) -> String {
    let mut names: Vec<String> = app
        .fleet
        .vms()
        .filter(|v| v.state == state)
        .map(|v| v.name.clone())
        .collect();
    names.sort();
    names.into_iter().next().unwrap()
}
