//! What the operator is looking at: focus, selection, sort, filter, open panes. Owned by the UI
//! task alone; changed only by actions from keys and mouse, and by what the last frame showed
//! (`drawn`), never by drawing itself.

pub mod ack_form;
pub mod actions;
mod drawn;
mod esc;
mod filter;
pub mod findings;
mod help;
pub mod history;
mod hosts;
mod input;
mod marks;
pub mod scroll;
pub mod services;
pub mod snapshots;
mod table;
mod wall;

use super::keys::Action;
use super::rows::{Filter, SortKey};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::Kind;

pub use drawn::{Areas, Drawn, DrawnTable};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Hosts,
    Vms,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    /// The `/` line; `before` comes back on Esc, `selected` is the old text still selected.
    Filter {
        before: String,
        selected: bool,
    },
    Command(String),
    Menu,
    Target(actions::TargetForm),
    Snapshot(actions::SnapshotForm),
    /// Acknowledging a finding: reason and how long.
    Ack(ack_form::AckForm),
    /// One VM's snapshots (`v`).
    Snapshots(snapshots::SnapshotsPane),
    Confirm(Box<fleetwatch_core::actions::confirm::Pane>),
    /// The detail of host number N.
    Host(usize),
}

/// What the main area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Vms,
    Findings,
    /// VMs by service group: what one host's loss takes down.
    Services,
    History,
}

/// What the app must do after an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    Quit,
    PollNow,
    /// Show the fleet as it was at this moment (Unix ms).
    TimeTravel(i64),
    /// Back to the live fleet.
    Live,
    /// (Re)load the event list.
    LoadEvents,
    /// Load the selected VM's graphs for the chosen range.
    LoadGraph,
    /// An action key was pressed: the app opens its form or plans it.
    ActionKey(super::keys::Verb),
    /// Plan this action for the targets and open the confirmation pane.
    Plan(fleetwatch_core::actions::ActionKind),
    /// The pane confirmed: run it.
    Execute(Box<fleetwatch_core::actions::plan::Plan>),
    /// The pane refused a confirmation (typed text, a refusal): audit the attempt.
    Rejected,
    /// The pane was left without acting (Esc, or Enter on Cancel): audit that too.
    Cancelled(Box<fleetwatch_core::actions::plan::Plan>),
    /// Stop the running migration (and any evacuation after it).
    Abort,
    /// `E` / `R` / `:evacuate` / `:return`: plan the host's evacuation (or its return) and
    /// open its confirmation pane.
    Evacuate {
        host: usize,
        back: bool,
    },
    /// `K` on a finding: the app ends its acknowledgement, or opens the form for one.
    AckKey(Box<fleetwatch_core::model::findings::Finding>),
    /// The form was filled: acknowledge for `lasts` (e.g. "24h").
    Ack {
        kind: Kind,
        subject: String,
        reason: String,
        lasts: String,
    },
}

#[derive(Debug, Clone)]
pub struct UiState {
    pub focus: Focus,
    pub overlay: Overlay,
    pub filter_text: String,
    pub filter_error: Option<String>,
    filter: Filter,
    pub sort: SortKey,
    pub descending: bool,
    pub host_filter: Option<usize>,
    /// Only VMs with a finding of this kind.
    pub kind_filter: Option<Kind>,
    pub view: View,
    pub finding_selected: usize,
    /// The kind whose findings the Findings view lists.
    pub finding_open: Option<Kind>,
    pub service_selected: usize,
    /// The service whose members the Services view lists.
    pub service_open: Option<String>,
    pub services: services::Grouped,
    /// Showing the fleet as recorded at this moment (Unix ms), not live.
    pub historical: Option<i64>,
    pub action_keys: super::keys::ActionKeys,
    /// Wall mode: no prompts, views cycle; `Some(paused)`.
    pub wall: Option<bool>,
    /// Wall mode: which page of hosts shows, turned with the view.
    pub wall_page: usize,
    /// VMs marked (space) for an action on a set.
    pub marks: std::collections::BTreeSet<String>,
    /// Actions running or finished, for the corner pane.
    pub actions_running: Vec<actions::Running>,
    pub graph_range: history::GraphRange,
    pub history_tab: history::Tab,
    pub history_selected: usize,
    /// How far back the History view lists events.
    pub history_since: std::time::Duration,
    pub host_selected: usize,
    /// Hosts in maintenance (as the history store keeps them): who, since when, VMs away.
    pub maintenance: std::collections::BTreeMap<String, String>,
    pub rows: crate::ui::row_cache::RowCache,
    /// VMs running fleet-wide, counted with the rows.
    pub running: usize,
    rows_for: Option<u64>,
    pub selected: usize,
    chosen: bool,
    offset: usize,
    selected_uuid: Option<String>,
    pub show_detail: bool,
    pub message: Option<String>,
    /// Collector updates folded into newer ones before the UI took them (the mailbox's count).
    pub merged: u64,
    pub areas: Areas,
    /// How far the open help or confirmation pane is scrolled.
    pub scroll: scroll::Scroll,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            focus: Focus::Vms,
            overlay: Overlay::None,
            filter_text: String::new(),
            filter_error: None,
            filter: Filter::All,
            sort: SortKey::Host,
            descending: false,
            host_filter: None,
            kind_filter: None,
            view: View::Vms,
            finding_selected: 0,
            finding_open: None,
            service_selected: 0,
            service_open: None,
            services: Default::default(),
            historical: None,
            wall: None,
            wall_page: 0,
            action_keys: Default::default(),
            marks: Default::default(),
            actions_running: Vec::new(),
            graph_range: Default::default(),
            history_tab: Default::default(),
            history_selected: 0,
            history_since: std::time::Duration::from_secs(30 * 86_400),
            host_selected: 0,
            maintenance: Default::default(),
            rows: Default::default(),
            running: 0,
            rows_for: None,
            selected: 0,
            chosen: false,
            offset: 0,
            selected_uuid: None,
            show_detail: false,
            message: None,
            merged: 0,
            areas: Areas::default(),
            scroll: Default::default(),
        }
    }
}

impl UiState {
    pub fn typing(&self) -> bool {
        matches!(
            self.overlay,
            Overlay::Filter { .. }
                | Overlay::Command(_)
                | Overlay::Snapshot(_)
                | Overlay::Ack(_)
                | Overlay::Snapshots(_)
                | Overlay::Confirm(_)
        )
    }

    pub fn selected_uuid(&self) -> Option<&str> {
        self.selected_uuid.as_deref()
    }

    pub fn apply(&mut self, action: Action, fleet: &Fleet) -> Effect {
        self.message = None;
        if let Some(paused) = self.wall {
            // A wall display takes no orders but quit and pause.
            return match action {
                Action::Quit => Effect::Quit,
                Action::Mark => {
                    self.wall = Some(!paused);
                    Effect::None
                }
                _ => Effect::None,
            };
        }
        if let Some(effect) = self.help_key(&action) {
            return effect;
        }
        if let Some(effect) = self.host_detail_key(&action, fleet) {
            return effect;
        }
        if let Some(effect) = self.ack_key(&action, fleet) {
            return effect;
        }
        if let Some(effect) = self.snapshots_key(&action, fleet) {
            return effect;
        }
        if let Some(effect) = self.pane_key(&action, fleet) {
            return effect;
        }
        if let Some(effect) = self.filter_key(&action, fleet) {
            return effect;
        }
        if !self.typing() {
            if let Some(effect) =
                self.history_action(&action, chrono::Utc::now().timestamp_millis())
            {
                return effect;
            }
            if let Some(effect) = self.action_key(&action) {
                return effect;
            }
        }
        if let Some(effect) = self.findings_key(&action, fleet) {
            return effect;
        }
        if let Some(effect) = self.services_key(&action, fleet) {
            return effect;
        }
        let page = self.areas.page.max(1) as isize;
        match action {
            Action::Quit => return Effect::Quit,
            // Handled above, by `history_action`.
            Action::HistoryView
            | Action::StepBack
            | Action::StepForward
            | Action::Live
            | Action::GraphRange => {}
            // Handled above, by `ack_key`.
            Action::Mark
            | Action::Menu
            | Action::Act(_)
            | Action::Acknowledge
            | Action::Snapshots => {}
            Action::Abort => return Effect::Abort,
            Action::Evacuate | Action::Return => {
                let host = match self.focus {
                    Focus::Hosts => Some(self.host_selected),
                    Focus::Vms => self
                        .selected_uuid()
                        .and_then(|u| fleet.vm(u))
                        .map(|v| v.host),
                };
                match host.filter(|h| *h < fleet.hosts.len()) {
                    Some(host) => {
                        return Effect::Evacuate {
                            host,
                            back: action == Action::Return,
                        };
                    }
                    None => self.message = Some("no host selected".into()),
                }
            }
            Action::Noop => {}
            Action::Help => self.open_help(),
            Action::Back => self.back(),
            Action::Up => self.move_by(-1, fleet),
            Action::Down => self.move_by(1, fleet),
            Action::PageUp => self.move_by(-page, fleet),
            Action::PageDown => self.move_by(page, fleet),
            // Home and End on the command line: its cursor is always at the end.
            Action::Top | Action::Bottom if matches!(self.overlay, Overlay::Command(_)) => {}
            Action::Top => self.move_by(isize::MIN / 2, fleet),
            Action::Bottom => self.move_by(isize::MAX / 2, fleet),
            Action::FocusNext => {
                self.focus = match self.focus {
                    Focus::Hosts => Focus::Vms,
                    Focus::Vms => Focus::Hosts,
                }
            }
            Action::Enter | Action::ToggleDetail if self.focus == Focus::Hosts => {
                if self.host_selected < fleet.hosts.len() {
                    self.overlay = Overlay::Host(self.host_selected);
                }
            }
            Action::Enter | Action::ToggleDetail => self.show_detail = !self.show_detail,
            Action::Findings => {
                self.view = View::Findings;
                self.overlay = Overlay::None;
            }
            Action::Services => {
                self.view = View::Services;
                self.overlay = Overlay::None;
            }
            Action::SortNext => self.set_sort(self.sort.step(true)),
            Action::SortPrev => self.set_sort(self.sort.step(false)),
            Action::SortReverse => {
                self.descending = !self.descending;
                self.invalidate();
            }
            Action::StartFilter => self.start_filter(),
            Action::StartCommand => self.overlay = Overlay::Command(String::new()),
            Action::Refresh => {
                self.message = Some("polling every host now".into());
                return Effect::PollNow;
            }
            Action::Input(c) => {
                if let Overlay::Command(s) = &mut self.overlay {
                    s.push(c);
                }
            }
            Action::Backspace => {
                if let Overlay::Command(s) = &mut self.overlay {
                    s.pop();
                }
            }
            Action::ClearInput => {
                if let Overlay::Command(s) = &mut self.overlay {
                    s.clear();
                }
            }
            Action::Submit => match std::mem::replace(&mut self.overlay, Overlay::None) {
                Overlay::Command(c) => return self.command(&c, fleet),
                _ => self.focus = Focus::Vms,
            },
        }
        self.refresh_rows(fleet);
        Effect::None
    }
}
