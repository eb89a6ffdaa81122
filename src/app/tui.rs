//! The interactive loop: collectors, findings, history and the terminal, joined. The fleet is
//! owned here alone; everything else sends messages. Frames are paced
//! (`pacing`): a burst of messages is one frame, and a frame that changed nothing sends nothing.

use super::acting::{self, Acting};
use super::exporter::{Exporter, http};
use super::pacing::{MIN_GAP, Pacer};
use super::tui_history::{History, reader_of};
use super::{Handled, apply, draw_frame, evaluate, handle_event, start_collectors, terminal};
use crate::ui::Context;
use crate::ui::history::HistoryData;
use crate::ui::state::{Effect, UiState, View};
use crate::ui::theme::Theme;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::reader::Response;
use fleetwatch_core::history::writer::{self, Status};
use fleetwatch_core::link::{Mailbox, Update};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::policy::loader::{self, Inputs};
use ratatui::crossterm::event::{self, Event};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// Findings are re-evaluated at most this often however fast samples arrive: they walk the
/// whole fleet, samples touch one host.
const EVALUATE_EVERY: Duration = Duration::from_secs(1);
/// And they take at most one part in this many of the UI's time: at 50,000 VMs one evaluation
/// takes about a tenth of a second, so a large fleet's findings follow a few seconds behind
/// instead of costing a tenth of a core.
const EVALUATE_SHARE: u32 = 30;
/// With no fact changed (only counters and rates), findings are evaluated again this often:
/// for what time alone changes (a backup growing too old, an approval expiring, how long a host
/// has been down).
const AGES_EVERY: Duration = Duration::from_secs(10);

/// The last evaluation: of which facts, when, and when the next may run.
#[derive(Clone, Copy)]
struct Evaluated {
    facts: u64,
    at: Instant,
    next: Instant,
}

/// The open History view reloads its list this often.
const EVENTS_EVERY: Duration = Duration::from_secs(5);

/// Terminal input is read on a thread of its own: crossterm's read blocks.
fn spawn_input(tx: UnboundedSender<Event>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while let Ok(ev) = event::read() {
                if tx.send(ev).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// `metrics`: where to serve `/metrics` as a recorder does, for a one-machine setup.
pub async fn run(
    config: Config,
    mode: &str,
    wall: bool,
    metrics: Option<&str>,
) -> color_eyre::Result<()> {
    // Bound before the terminal is taken: a port in use is said plainly, on a plain screen.
    let exporter = match metrics {
        Some(addr) => {
            let listener = http::bind(addr)
                .await
                .map_err(color_eyre::eyre::Report::msg)?;
            let x = std::sync::Arc::new(Exporter::default());
            tokio::spawn(http::serve(listener, x.clone()));
            Some(x)
        }
        None => None,
    };
    let (tx, mut rx) = Mailbox::new(config.hosts.len());
    let collectors = if config.history.client {
        super::client::start(&config, tx)?
    } else {
        start_collectors(&config, tx)?
    };
    let (policy_tx, mut policy_rx) = unbounded_channel();
    let mut inputs = Inputs::default();
    loader::spawn(config.policy.clone(), loader::CHECK_EVERY, policy_tx)?;
    let (status_tx, mut status_rx) = unbounded_channel::<Status>();
    let (answer_tx, mut answer_rx) = unbounded_channel::<Response>();
    let recorder = match (config.history.enabled, config.history.db_path()) {
        (true, Some(_)) => Some(writer::spawn(
            config.history.clone(),
            config.hosts.clone(),
            status_tx.clone(),
        )?),
        _ => None,
    };
    let mut history = History {
        requests: reader_of(&config, answer_tx.clone(), &status_tx)?,
        data: HistoryData::default(),
        past: None,
        asked_timeline: None,
        events_at: None,
        health_at: None,
        acks_at: None,
        answers: answer_tx.clone(),
    };
    let (audit_err_tx, mut audit_err_rx) = unbounded_channel::<String>();
    let audit = acting::spawn_audit(&config, audit_err_tx)?;
    let mut acting = Acting::new(audit);
    acting.evac.kept = super::maintenance::Kept::new(super::acks::place(&config).ok(), answer_tx)?;
    if config.history.client {
        // Operators act from many machines onto one audit: say which one.
        let here = fleetwatch_core::history::lease::this_hostname();
        acting.operator.ssh_from.get_or_insert(here);
    }
    let mut fleet = Fleet::new(&config.hosts);
    let mut ui = UiState::default();
    ui.action_keys = config.keys.clone();
    let mut next_cycle = None;
    if wall {
        ui.wall = Some(false);
        next_cycle = Some(Instant::now() + config.wall.cycle);
    }
    let theme = Theme::from_env();
    let (ev_tx, mut ev_rx) = unbounded_channel();
    let mut guard = terminal::enter()?;
    spawn_input(ev_tx)?;
    use tokio::signal::unix::{SignalKind, signal};
    let mut term_sig = signal(SignalKind::terminate())?;
    let mut hup_sig = signal(SignalKind::hangup())?;
    let mut int_sig = signal(SignalKind::interrupt())?;
    let mut tstp_sig = signal(SignalKind::from_raw(rustix::process::Signal::TSTP.as_raw()))?;
    let mut evaluated: Option<Evaluated> = None;
    // The facts findings come from change once a poll: evaluating more often finds nothing
    // new (five seconds at most, so a slow interval does not hold a finding back long).
    let evaluate_every = config.poll.interval.min(Duration::from_secs(5));
    let mut pacer = Pacer::default();
    let mut drained: Option<Instant> = None;
    'run: loop {
        let due = match evaluated {
            Some(e) if e.facts == fleet.facts => Some(e.next.max(e.at + AGES_EVERY)),
            Some(e) => Some(e.next),
            None => Some(Instant::now()),
        };
        if due.is_some_and(|d| d <= Instant::now()) {
            let started = Instant::now();
            evaluate(&mut fleet, &config.policy, &inputs);
            super::tui_acks::end_cleared(&fleet, &mut history, &config, &mut ui, &acting.operator);
            let took = started.elapsed();
            evaluated = Some(Evaluated {
                facts: fleet.facts,
                at: started,
                next: started
                    + EVALUATE_EVERY
                        .max(evaluate_every)
                        .max(took * EVALUATE_SHARE),
            });
            pacer.changed();
        }
        if let Some(at) = next_cycle.filter(|at| *at <= Instant::now()) {
            ui.wall_next();
            next_cycle = Some(at + config.wall.cycle);
            pacer.input();
        }
        history.check_health(&config);
        acting.evac.kept.refresh();
        if let Some(x) = exporter.as_deref().filter(|x| x.wants()) {
            export(
                x,
                &fleet,
                &history,
                &acting.evac.kept.hosts,
                recorder.is_some(),
            );
        }
        if ui.view == View::History
            && history
                .events_at
                .is_none_or(|t| t.elapsed() >= EVENTS_EVERY)
        {
            history.effect(Effect::LoadEvents, &mut ui);
        }
        let now = Instant::now();
        if pacer.due(now) {
            let cx = Context {
                theme,
                shared_storage: &config.policy.shared_storage,
                mode,
                now,
                history: &history.data,
                groups: &config.groups,
            };
            let shown = history.past.as_ref().unwrap_or(&fleet);
            guard.term.draw(|f| draw_frame(f, shown, &mut ui, &cx))?;
            pacer.drawn(now);
            history.follow(&ui);
        }
        // What wakes the loop may change what is shown: a key is drawn at once, the rest is
        // gathered into the next frame; the pacer's own wake-up changes nothing.
        tokio::select! {
            // Everything pending at once, and at most once a frame gap: hundreds of hosts
            // reporting a second cost ten wake-ups, not hundreds; the mailbox holds the rest.
            Some(batch) = rx.recv_batch(), if drained.is_none_or(|t| t.elapsed() >= MIN_GAP) => {
                drained = Some(Instant::now());
                ui.merged = rx.merged();
                pacer.changed();
                for m in batch {
                    if let Update::Action(u) = m.update {
                        acting.update(u, &mut ui, &collectors);
                        continue;
                    }
                    if let Some(w) = &recorder {
                        w.send(&m);
                    }
                    apply(&mut fleet, m);
                }
                acting.tick(&fleet, &mut ui, &config, &inputs, &collectors);
            }
            Some(e) = audit_err_rx.recv() => {
                ui.message = Some(e);
                pacer.changed();
            }
            Some(new) = policy_rx.recv() => {
                inputs = new;
                evaluated = None;
            }
            Some(s) = status_rx.recv() => {
                history.data.status = Some(s);
                pacer.changed();
            }
            Some(a) = answer_rx.recv() => {
                match a {
                    Response::Maintenance { generation, list, error } => {
                        acting.evac.answer(generation, list, error, &mut ui)
                    }
                    a => history.answer(a, &config, &mut ui),
                }
                pacer.input();
            }
            Some(ev) = ev_rx.recv() => {
                pacer.input();
                let mut events = vec![ev];
                events.extend(std::iter::from_fn(|| ev_rx.try_recv().ok()));
                for ev in events {
                    if let Event::Resize(..) = ev {
                        guard.term.autoresize()?;
                    }
                    // Raw mode turns Ctrl-Z into a key; it still means "suspend", as in a shell.
                    if let Event::Key(k) = &ev
                        && k.code == ratatui::crossterm::event::KeyCode::Char('z')
                            && k.modifiers.contains(ratatui::crossterm::event::KeyModifiers::CONTROL)
                            && k.kind != ratatui::crossterm::event::KeyEventKind::Release
                        {
                            guard.suspend()?;
                            continue;
                        }
                    let shown = history.past.as_ref().unwrap_or(&fleet);
                    let handled = handle_event(ev, shown, &mut ui, Some(&collectors));
                    for handled in handled {
                        // A time travel by the key before may have changed what is shown.
                        let shown = history.past.as_ref().unwrap_or(&fleet);
                        match handled {
                            Handled::Quit => break 'run,
                            Handled::Do(e @ (Effect::TimeTravel(_) | Effect::Live | Effect::LoadEvents | Effect::LoadGraph)) => {
                                history.effect(e, &mut ui)
                            }
                            Handled::Do(e @ (Effect::AckKey(_) | Effect::Ack { .. })) => {
                                super::tui_acks::effect(e, &mut ui, &history, &config, &acting.operator)
                            }
                            Handled::Do(e) => acting.effect(e, shown, &mut ui, &config, &inputs, &collectors),
                            Handled::Continue => {}
                        }
                    }
                }
            }
            () = sleep_until(
                [
                    due,
                    next_cycle,
                    pacer.next_at(),
                    // The mailbox's turn comes again (once past, its branch is open).
                    drained.map(|t| t + MIN_GAP).filter(|&t| t > Instant::now()),
                ]
                .into_iter()
                .flatten()
                .min(),
            ) => {}
            () = wake(exporter.as_deref()) => {}
            _ = term_sig.recv() => break,
            _ = hup_sig.recv() => break,
            _ = int_sig.recv() => break,
            _ = tstp_sig.recv() => guard.suspend()?,
            else => break,
        }
    }
    drop(guard);
    // A maintenance change still being written gets a moment; one the store refuses is named.
    if !acting.evac.kept.flush(Duration::from_secs(3)) {
        let why = acting
            .evac
            .kept
            .unsaved
            .as_deref()
            .unwrap_or("still writing");
        crate::errln!("fleetwatch: the last change of a host's maintenance may be lost ({why})");
    }
    Ok(())
}

/// The fleet as the screen has it, findings included; the history's health when this TUI
/// records it.
fn export(
    x: &Exporter,
    fleet: &Fleet,
    history: &History,
    maintenance: &[fleetwatch_core::actions::maintenance::Maintenance],
    recording: bool,
) {
    if recording {
        x.set_health(fleetwatch_core::metrics::Health {
            hosts_recorded: fleet.hosts.len(),
            stalled: history.data.stalled.clone(),
            ..Default::default()
        });
        x.wrote(fleet.newest_sample_ms());
    }
    x.publish(fleetwatch_core::metrics::render_acked(
        fleet,
        None,
        &history.data.acks,
        maintenance,
    ));
}

/// A scrape waiting for the fleet's text; never, without `--metrics`.
async fn wake(x: Option<&Exporter>) {
    match x {
        Some(x) => x.wake.notified().await,
        None => std::future::pending().await,
    }
}
