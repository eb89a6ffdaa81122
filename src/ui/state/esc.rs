//! Esc: one layer back at a time, the way k9s does, innermost first.

use super::{Overlay, UiState};

impl UiState {
    /// Closes the open pane; else the finished actions' corner; else the VM detail (where it
    /// can be hidden), the filter, the finding kind and the host choice, in that order: what was
    /// opened last, or covers most, goes first.
    pub(super) fn back(&mut self) {
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::Filter { before, .. } => self.set_filter(before),
            Overlay::Help
            | Overlay::Command(_)
            | Overlay::Menu
            | Overlay::Target(_)
            | Overlay::Snapshot(_)
            | Overlay::Ack(_)
            | Overlay::Snapshots(_)
            | Overlay::Host(_) => {}
            Overlay::Confirm(_) => self.message = Some("cancelled: nothing was done".into()),
            Overlay::None if self.actions_running.iter().any(|r| r.result.is_some()) => {
                // Running ones stay: they are still news.
                self.actions_running.retain(|r| r.result.is_none());
            }
            Overlay::None => {
                if self.show_detail && !self.areas.detail_beside {
                    self.show_detail = false;
                } else if !self.filter_text.is_empty() {
                    self.set_filter(String::new());
                } else if self.kind_filter.is_some() {
                    self.kind_filter = None;
                    self.invalidate();
                } else if self.host_filter.is_some() {
                    self.host_filter = None;
                    self.invalidate();
                } else {
                    // Beside the table it shows anyway; hidden, it stays so on a narrower one.
                    self.show_detail = false;
                }
            }
        }
    }
}
