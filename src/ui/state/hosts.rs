//! The hosts as state: narrowing the table to one host, and the keys of the host detail.

use super::{Effect, Focus, Overlay, UiState, View};
use crate::ui::keys::Action;
use fleetwatch_core::model::Fleet;

impl UiState {
    /// Keys while the host detail is open: Esc closes, Enter narrows the table to the host,
    /// F5 retries now, ↑↓ step to the next host. Quit still quits.
    pub(crate) fn host_detail_key(&mut self, action: &Action, fleet: &Fleet) -> Option<Effect> {
        let Overlay::Host(i) = self.overlay else {
            return None;
        };
        let n = fleet.hosts.len();
        Some(match action {
            Action::Quit => return None,
            Action::Back | Action::ToggleDetail => {
                self.overlay = Overlay::None;
                Effect::None
            }
            Action::Enter => {
                self.overlay = Overlay::None;
                self.toggle_host(i);
                Effect::None
            }
            Action::Refresh => {
                self.message = Some(format!(
                    "retrying {} now",
                    fleet.hosts.get(i).map_or("?", |h| h.name.as_str())
                ));
                Effect::PollNow
            }
            Action::Up | Action::Down if n > 0 => {
                let next = if *action == Action::Up {
                    i.saturating_sub(1)
                } else {
                    (i + 1).min(n - 1)
                };
                self.host_selected = next;
                self.overlay = Overlay::Host(next);
                Effect::None
            }
            _ => Effect::None,
        })
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
}
