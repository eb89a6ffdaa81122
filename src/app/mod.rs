//! App: the loop that joins collectors, model and UI. It alone owns the fleet state; collectors
//! leave it whole snapshots in a mailbox (one slot per host, so a slow app costs no memory),
//! the terminal sends it input, and it draws only when one of those brought something new.

pub mod acks;
pub mod acting;
pub mod check;
pub mod cli;
pub mod client;
pub mod evacuate;
pub mod evacuate_cli;
pub mod evacuating;
pub mod exporter;
pub mod generate;
pub mod logging;
pub mod maintenance;
pub mod out;
pub mod pacing;
pub mod quiet;
pub mod record;
pub mod record_metrics;
pub mod record_status;
pub mod share;
pub mod snapshot;
pub mod stderr;
pub mod stores;
pub mod terminal;
pub mod tui;
mod tui_acks;
mod tui_history;

use crate::ui::keys;
use crate::ui::state::{Effect, UiState};
use fleetwatch_core::config::Config;
use fleetwatch_core::link::{MailboxSender, Message, Update};
use fleetwatch_core::model::{Fleet, rules};
use fleetwatch_core::policy::PolicyConfig;
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_libvirt::known::Pace;
use fleetwatch_libvirt::libvirt::LibvirtConnector;
use fleetwatch_libvirt::libvirt_init;
use fleetwatch_libvirt::supervisor::{Collectors, Limits, Timing};
use ratatui::crossterm::event::{self, Event};
use std::sync::Arc;

/// Applies one collector message to the fleet.
pub fn apply(fleet: &mut Fleet, m: Message) {
    match m.update {
        Update::Sample(s) => fleet.apply(m.host, &s),
        Update::Link {
            state,
            error,
            retry,
        } => {
            fleet.set_link(m.host, state, error);
            fleet.set_retry(m.host, retry);
        }
        Update::Action(_) => {}
    }
}

pub fn start_collectors(config: &Config, tx: MailboxSender) -> std::io::Result<Collectors> {
    start_collectors_paced(config, tx, Pace::Trickle)
}

/// Collectors that read domain XML at the given pace: one-shot commands read it all at once,
/// and poll every host as soon as it connects instead of spreading the fleet's polls.
pub fn start_collectors_paced(
    config: &Config,
    tx: MailboxSender,
    pace: Pace,
) -> std::io::Result<Collectors> {
    start_collectors_watching(config, &vec![true; config.hosts.len()], tx, pace)
}

/// Collectors of all of `config`'s hosts (message indices are the config's) that connect to
/// the `watched` ones only; [`Collectors::watch_only`] changes which.
pub fn start_collectors_watching(
    config: &Config,
    watched: &[bool],
    tx: MailboxSender,
    pace: Pace,
) -> std::io::Result<Collectors> {
    libvirt_init();
    let uris: Vec<String> = config.hosts.iter().map(|h| h.uri.clone()).collect();
    let mut timing = Timing::new(config.poll.interval, config.poll.timeout);
    timing.spread = pace == Pace::Trickle;
    let limits = Limits {
        threads: config.poll.threads,
        connects: config.poll.connects,
        migrations_per_host: config.evacuation.parallel,
        ..Limits::default()
    };
    let connector = Arc::new(connector(config, pace));
    Collectors::start_watching(&uris, watched, timing, limits, connector, tx)
}

/// The connector the collectors use for `config`: read-only connections for every host that
/// may not act (`actions` off, or a read-only session).
pub fn connector(config: &Config, pace: Pace) -> LibvirtConnector {
    LibvirtConnector {
        writable: config.writable_uris(),
        slow_every: config.poll.slow_stats_every,
        interval: config.poll.interval,
        pace,
        cpu: None,
    }
}

pub enum Handled {
    Continue,
    Quit,
    /// Something for the app to do beyond the UI state (history requests).
    Do(Effect),
}

/// Applies one terminal event to the UI state; shared by the real loop and the screen tests.
/// One answer per key the event stands for: a terminal can join Esc and the next key into one.
pub fn handle_event(
    ev: Event,
    fleet: &Fleet,
    ui: &mut UiState,
    collectors: Option<&Collectors>,
) -> Vec<Handled> {
    match ev {
        Event::Key(k) if k.kind != event::KeyEventKind::Release => keys::split_meta(k)
            // Each key is mapped after the one before it applied: Esc may have closed the line
            // the next key would have been typed into.
            .map(|k| {
                let action = keys::map(k, ui.typing(), &ui.action_keys);
                handled(ui.apply(action, fleet), collectors)
            })
            .collect(),
        Event::Mouse(m) => vec![handled(ui.mouse(m, fleet), collectors)],
        _ => vec![Handled::Continue],
    }
}

fn handled(effect: Effect, collectors: Option<&Collectors>) -> Handled {
    match effect {
        Effect::Quit => Handled::Quit,
        Effect::PollNow => {
            if let Some(c) = collectors {
                c.poll_now();
            }
            Handled::Continue
        }
        Effect::None => Handled::Continue,
        other => Handled::Do(other),
    }
}

/// Draws one frame; shared by the real loop and the screen tests. The rows catch up with the
/// fleet first, then the screen is drawn from the state alone, and what it showed (panes for the
/// mouse, page heights, how far things scroll) is kept for the next event.
pub fn draw_frame(
    f: &mut ratatui::Frame,
    fleet: &Fleet,
    ui: &mut UiState,
    cx: &crate::ui::Context,
) {
    // A screen too small for the UI shows only a request to enlarge it: nothing to catch up.
    if crate::ui::fits(f.area()) {
        ui.refresh_rows(fleet);
        if ui.view == crate::ui::state::View::Services {
            ui.services.refresh(fleet);
        }
    }
    let drawn = crate::ui::draw(f, fleet, ui, cx);
    ui.drawn(drawn);
}

/// Re-evaluates the findings (and each VM's service group) for the fleet as it is now.
pub fn evaluate(fleet: &mut Fleet, policy: &PolicyConfig, inputs: &Inputs) {
    let (list, groups) = rules::evaluate_grouped(fleet, policy, inputs, chrono::Utc::now());
    fleet.set_groups(groups);
    fleet.set_findings(list, inputs.problems(policy));
}
