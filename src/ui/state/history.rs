//! History as state: what the graphs cover, which events the History view lists and where its
//! cursor is, and the keys that step through time. The app asks the reader thread for the data
//! these name.

use super::{Effect, Overlay, UiState, View};
use crate::ui::keys::Action;
use fleetwatch_core::history::query::EventRow;

/// What the detail pane's graphs cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphRange {
    /// The last minutes, from memory.
    #[default]
    Live,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl GraphRange {
    pub fn next(self) -> GraphRange {
        use GraphRange::*;
        match self {
            Live => Hour,
            Hour => Day,
            Day => Week,
            Week => Month,
            Month => Year,
            Year => Live,
        }
    }

    pub fn label(self) -> &'static str {
        use GraphRange::*;
        match self {
            Live => "5 min",
            Hour => "1 hour",
            Day => "1 day",
            Week => "1 week",
            Month => "1 month",
            Year => "1 year",
        }
    }

    /// The stats level (0 raw, 1.. rollups) and how far back, for the history store.
    pub fn query(self) -> Option<(i64, i64)> {
        use GraphRange::*;
        let day = 86_400_000;
        match self {
            Live => None,
            Hour => Some((0, 3_600_000)),
            Day => Some((1, day)),
            Week => Some((2, 7 * day)),
            Month => Some((3, 30 * day)),
            Year => Some((4, 365 * day)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    All,
    Migrations,
    Hosts,
}

impl Tab {
    fn next(self) -> Tab {
        match self {
            Tab::All => Tab::Migrations,
            Tab::Migrations => Tab::Hosts,
            Tab::Hosts => Tab::All,
        }
    }

    pub fn admits(self, e: &EventRow) -> bool {
        match self {
            Tab::All => true,
            Tab::Migrations => e.kind == "migrated",
            Tab::Hosts => e.kind.starts_with("host-"),
        }
    }
}

const STEP_MS: i64 = 5 * 60_000;

impl UiState {
    /// Keys that concern history; None when the action is not one of them.
    pub(crate) fn history_action(&mut self, action: &Action, now_ms: i64) -> Option<Effect> {
        match action {
            Action::HistoryView => {
                self.view = View::History;
                Some(Effect::LoadEvents)
            }
            Action::StepBack => Some(Effect::TimeTravel(
                self.historical.unwrap_or(now_ms) - STEP_MS,
            )),
            Action::StepForward => Some(match self.historical {
                Some(t) if t + STEP_MS < now_ms => Effect::TimeTravel(t + STEP_MS),
                Some(_) => Effect::Live,
                None => {
                    self.message = Some("already live".into());
                    Effect::None
                }
            }),
            Action::Live => Some(Effect::Live),
            Action::GraphRange => {
                self.graph_range = self.graph_range.next();
                Some(Effect::LoadGraph)
            }
            _ if self.view == View::History && self.overlay == Overlay::None => match action {
                Action::Up => Some(self.history_step(-1)),
                Action::Down => Some(self.history_step(1)),
                Action::PageUp => Some(self.history_step(-(self.areas.page.max(1) as isize))),
                Action::PageDown => Some(self.history_step(self.areas.page.max(1) as isize)),
                Action::Top => Some(self.history_step(isize::MIN / 2)),
                Action::FocusNext => {
                    self.history_tab = self.history_tab.next();
                    self.history_selected = 0;
                    Some(Effect::None)
                }
                Action::Back | Action::HistoryView => {
                    self.view = View::Vms;
                    Some(Effect::None)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn history_step(&mut self, d: isize) -> Effect {
        self.history_selected = (self.history_selected as isize + d).max(0) as usize;
        Effect::None
    }
}
