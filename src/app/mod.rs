//! App: the loop that joins collectors, model and UI. It alone owns the fleet state; collectors
//! send it whole snapshots over a channel, the terminal sends it input, and it draws only when
//! one of those brought something new.

pub mod check;
pub mod cli;
pub mod snapshot;
pub mod terminal;

use crate::collection::libvirt::LibvirtConnector;
use crate::collection::supervisor::{Collectors, Timing};
use crate::collection::{libvirt_init, Message, Update};
use crate::config::Config;
use crate::model::{rules, Fleet};
use crate::policy::loader::{self, Inputs};
use crate::policy::PolicyConfig;
use crate::ui::keys;
use crate::ui::state::{Effect, UiState};
use crate::ui::theme::Theme;
use crate::ui::{self, Context};
use ratatui::crossterm::event::{self, Event};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Applies one collector message to the fleet.
pub fn apply(fleet: &mut Fleet, m: Message) {
    match m.update {
        Update::Sample(s) => fleet.apply(m.host, &s),
        Update::Link { state, error } => fleet.set_link(m.host, state, error),
    }
}

pub fn start_collectors(
    config: &Config,
    tx: UnboundedSender<Message>,
) -> std::io::Result<Collectors> {
    libvirt_init();
    let uris: Vec<String> = config.hosts.iter().map(|h| h.uri.clone()).collect();
    Collectors::start(
        &uris,
        Timing::new(config.poll.interval, config.poll.timeout),
        Arc::new(LibvirtConnector {
            read_only: true,
            slow_every: config.poll.slow_stats_every,
        }),
        tx,
    )
}

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

pub enum Handled {
    Continue,
    Quit,
}

/// Applies one terminal event to the UI state; shared by the real loop and the screen tests.
pub fn handle_event(
    ev: Event,
    fleet: &Fleet,
    ui: &mut UiState,
    collectors: Option<&Collectors>,
) -> Handled {
    let effect = match ev {
        Event::Key(k) if k.kind != event::KeyEventKind::Release => {
            ui.apply(keys::map(k, ui.typing()), fleet)
        }
        Event::Mouse(m) => ui.mouse(m, fleet),
        _ => Effect::None,
    };
    match effect {
        Effect::Quit => Handled::Quit,
        Effect::PollNow => {
            if let Some(c) = collectors {
                c.poll_now();
            }
            Handled::Continue
        }
        Effect::None => Handled::Continue,
    }
}

/// Re-evaluates the findings for the fleet as it is now.
pub fn evaluate(fleet: &mut Fleet, policy: &PolicyConfig, inputs: &Inputs) {
    let list = rules::evaluate(fleet, policy, inputs, chrono::Utc::now());
    fleet.set_findings(list, inputs.problems(policy));
}

/// Findings are re-evaluated at most this often however fast samples arrive: they walk the
/// whole fleet, samples touch one host.
const EVALUATE_EVERY: Duration = Duration::from_secs(1);

pub async fn run_tui(config: Config, mode: &str) -> color_eyre::Result<()> {
    let (tx, mut rx): (_, UnboundedReceiver<Message>) = unbounded_channel();
    let collectors = start_collectors(&config, tx)?;
    let (policy_tx, mut policy_rx) = unbounded_channel();
    let mut inputs = Inputs::load(&PolicyConfig::default());
    loader::spawn(config.policy.clone(), loader::CHECK_EVERY, policy_tx)?;
    let mut fleet = Fleet::new(&config.hosts);
    let mut ui = UiState::default();
    let theme = Theme::from_env();
    let (ev_tx, mut ev_rx) = unbounded_channel();
    let mut guard = terminal::enter()?;
    spawn_input(ev_tx)?;
    let mut term_sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup_sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut int_sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut evaluated: Option<(u64, Instant)> = None;
    loop {
        // Findings follow the fleet, a second behind at most.
        let due = match evaluated {
            Some((generation, _)) if generation == fleet.generation => None,
            Some((_, at)) => Some(at + EVALUATE_EVERY),
            None => Some(Instant::now()),
        };
        if due.is_some_and(|d| d <= Instant::now()) {
            evaluate(&mut fleet, &config.policy, &inputs);
            evaluated = Some((fleet.generation, Instant::now()));
        }
        let cx = Context {
            theme,
            shared_storage: &config.policy.shared_storage,
            mode,
            now: Instant::now(),
        };
        guard.term.draw(|f| ui::draw(f, &fleet, &mut ui, &cx))?;
        let wake = due.map(tokio::time::Instant::from_std);
        tokio::select! {
            Some(m) = rx.recv() => {
                apply(&mut fleet, m);
                // Drain whatever else arrived, so a burst costs one frame.
                while let Ok(m) = rx.try_recv() {
                    apply(&mut fleet, m);
                }
            }
            Some(new) = policy_rx.recv() => {
                inputs = new;
                evaluated = None;
            }
            Some(ev) = ev_rx.recv() => {
                if let Event::Resize(..) = ev {
                    guard.term.autoresize()?;
                }
                if let Handled::Quit = handle_event(ev, &fleet, &mut ui, Some(&collectors)) {
                    break;
                }
                while let Ok(ev) = ev_rx.try_recv() {
                    if let Handled::Quit = handle_event(ev, &fleet, &mut ui, Some(&collectors)) {
                        return Ok(());
                    }
                }
            }
            () = sleep_until(wake) => {}
            _ = term_sig.recv() => break,
            _ = hup_sig.recv() => break,
            _ = int_sig.recv() => break,
            else => break,
        }
    }
    Ok(())
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
