//! What the operator is looking at: focus, selection, sort, filter, open panes. Owned by the UI
//! task alone; changed only by actions from keys and mouse.

mod esc;
mod filter;
mod input;
mod wall;

use super::findings;
use super::keys::Action;
use super::rows::{self, Filter, SortKey};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::Kind;

use ratatui::layout::Rect;

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
    Target(super::actions::TargetForm),
    Snapshot(super::actions::SnapshotForm),
    Confirm(Box<fleetwatch_core::actions::confirm::Pane>),
    /// The detail of host number N.
    Host(usize),
}

/// What the main area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Vms,
    Findings,
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
    /// Stop the running migration.
    Abort,
}

/// Where things were drawn last frame, for mouse hit-testing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub hosts: Rect,
    pub table: Rect,
    /// Column start x and sort key of each VM table column shown.
    pub columns: [(u16, Option<SortKey>); 12],
    pub page: usize,
    /// The detail pane sits beside the table (wide terminal): `i` and Esc do not hide it.
    pub detail_beside: bool,
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
    pub actions_running: Vec<super::actions::Running>,
    pub graph_range: super::history::GraphRange,
    pub history_tab: super::history::Tab,
    pub history_selected: usize,
    /// How far back the History view lists events.
    pub history_since: std::time::Duration,
    pub host_selected: usize,
    pub rows: Vec<rows::RowRef>,
    /// VMs running fleet-wide, counted with the rows.
    pub running: usize,
    rows_for: Option<u64>,
    pub selected: usize,
    chosen: bool,
    offset: usize,
    selected_uuid: Option<String>,
    pub show_detail: bool,
    pub message: Option<String>,
    pub areas: Areas,
    /// How far the open help or confirmation pane is scrolled.
    pub scroll: super::scroll::Scroll,
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
            rows: Vec::new(),
            running: 0,
            rows_for: None,
            selected: 0,
            chosen: false,
            offset: 0,
            selected_uuid: None,
            show_detail: false,
            message: None,
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
                | Overlay::Confirm(_)
        )
    }

    pub fn selected_uuid(&self) -> Option<&str> {
        self.selected_uuid.as_deref()
    }

    /// Brings the rows up to date with the fleet; cheap when nothing changed.
    pub fn refresh_rows(&mut self, fleet: &Fleet) {
        if self.rows_for == Some(fleet.generation) {
            return;
        }
        let follow = if self.chosen {
            self.selected_uuid.as_deref()
        } else {
            None
        };
        let r = rows::compute(
            fleet,
            &rows::Query {
                filter: &self.filter,
                host: self.host_filter,
                kind: self.kind_filter,
                key: self.sort,
                descending: self.descending,
                follow,
            },
        );
        self.rows = r.refs;
        self.running = r.running;
        self.rows_for = Some(fleet.generation);
        // Keep the same VM selected when rows move under it, once the operator has chosen one;
        // before that the top row stays selected while hosts report in.
        if !self.chosen {
            self.selected = 0;
        } else if let Some(i) = r.followed {
            self.selected = i;
        }
        self.clamp(fleet);
    }

    /// Rows must be computed again (another fleet is shown).
    pub fn invalidate(&mut self) {
        self.rows_for = None;
    }

    fn clamp(&mut self, fleet: &Fleet) {
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.selected_uuid = self
            .rows
            .get(self.selected)
            .and_then(|&r| fleet.vm_at(r))
            .map(|vm| vm.uuid.clone());
        self.host_selected = self.host_selected.min(fleet.hosts.len().saturating_sub(1));
    }

    fn set_sort(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = key.natural_descending();
        }
        self.invalidate();
    }

    fn move_by(&mut self, delta: isize, fleet: &Fleet) {
        match self.focus {
            Focus::Vms => {
                self.chosen = true;
                let n = self.rows.len();
                self.selected = (self.selected as isize + delta)
                    .clamp(0, n.saturating_sub(1) as isize)
                    as usize;
            }
            Focus::Hosts => {
                let n = fleet.hosts.len();
                self.host_selected = (self.host_selected as isize + delta)
                    .clamp(0, n.saturating_sub(1) as isize)
                    as usize;
            }
        }
        self.clamp(fleet);
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
        let page = self.areas.page.max(1) as isize;
        if self.view == View::Findings && self.overlay == Overlay::None {
            let n = findings::entries(fleet, self.finding_open).len() as isize;
            let delta = match action {
                Action::Up => Some(-1),
                Action::Down => Some(1),
                Action::PageUp => Some(-page),
                Action::PageDown => Some(page),
                Action::Top => Some(-n),
                Action::Bottom => Some(n),
                _ => None,
            };
            if let Some(d) = delta {
                findings::step(self, fleet, d);
                return Effect::None;
            }
            match action {
                Action::Enter => {
                    findings::activate(self, fleet);
                    self.refresh_rows(fleet);
                    return Effect::None;
                }
                Action::Back | Action::Findings => {
                    self.view = View::Vms;
                    return Effect::None;
                }
                _ => {}
            }
        }
        match action {
            Action::Quit => return Effect::Quit,
            // Handled above, by `history_action`.
            Action::HistoryView
            | Action::StepBack
            | Action::StepForward
            | Action::Live
            | Action::GraphRange => {}
            Action::Mark | Action::Menu | Action::Act(_) => {}
            Action::Abort => return Effect::Abort,
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

    /// Shows this VM selected in the table, whatever filters hid it.
    pub(crate) fn select_vm(&mut self, uuid: &str, fleet: &Fleet) {
        self.set_filter(String::new());
        self.kind_filter = None;
        self.host_filter = None;
        self.view = View::Vms;
        self.focus = Focus::Vms;
        self.selected_uuid = Some(uuid.to_owned());
        self.chosen = true;
        self.show_detail = true;
        self.invalidate();
        self.refresh_rows(fleet);
    }

    pub(crate) fn show_kind(&mut self, k: Kind) {
        self.kind_filter = Some(k);
        self.view = View::Vms;
        self.focus = Focus::Vms;
        self.selected = 0;
        self.chosen = false;
        self.invalidate();
    }

    pub(crate) fn show_host(&mut self, h: usize) {
        self.host_filter = None;
        self.toggle_host(h);
        self.host_selected = h;
        self.view = View::Vms;
    }

    pub(crate) fn toggle_host(&mut self, h: usize) {
        self.host_filter = if self.host_filter == Some(h) {
            None
        } else {
            Some(h)
        };
        self.focus = Focus::Vms;
        self.selected = 0;
        self.selected_uuid = None;
        self.invalidate();
    }

    /// Scrolls only as far as needed to keep the selection in a page of `page` rows.
    pub fn scroll_to_selection(&mut self, page: usize) -> usize {
        let page = page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        self.offset = self.offset.min(self.rows.len().saturating_sub(page));
        self.offset
    }
}
