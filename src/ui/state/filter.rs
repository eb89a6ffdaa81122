//! The `/` filter line. It opens with the old text selected, as a browser's address bar does:
//! typing replaces it, an arrow key or End keeps it. Enter keeps only a filter that parses, so a
//! broken regex is never taken for one that shows every row.

use super::{Effect, Focus, Overlay, UiState};
use crate::ui::keys::Action;
use crate::ui::rows::Filter;
use fleetwatch_core::model::Fleet;

impl UiState {
    pub(super) fn start_filter(&mut self) {
        self.overlay = Overlay::Filter {
            before: self.filter_text.clone(),
            selected: !self.filter_text.is_empty(),
        };
    }

    /// Whether the filter line's text is selected (the next letter replaces it).
    pub fn filter_selected(&self) -> bool {
        matches!(self.overlay, Overlay::Filter { selected: true, .. })
    }

    pub(super) fn set_filter(&mut self, text: String) {
        match Filter::parse(&text) {
            Ok(f) => {
                self.filter = f;
                self.filter_error = None;
            }
            Err(e) => {
                self.filter = Filter::All;
                self.filter_error = Some(e.to_string());
            }
        }
        self.filter_text = text;
        self.invalidate();
    }

    /// Keys while the filter line is open; None for those it leaves to the table (moving).
    pub(super) fn filter_key(&mut self, action: &Action, fleet: &Fleet) -> Option<Effect> {
        let Overlay::Filter { before, selected } = &mut self.overlay else {
            return None;
        };
        let replace = std::mem::take(selected);
        match action {
            Action::Input(c) => {
                let mut t = if replace {
                    String::new()
                } else {
                    self.filter_text.clone()
                };
                t.push(*c);
                self.set_filter(t);
            }
            Action::Backspace => {
                let mut t = self.filter_text.clone();
                if replace {
                    t.clear();
                } else {
                    t.pop();
                }
                self.set_filter(t);
            }
            Action::ClearInput => self.set_filter(String::new()),
            Action::Submit if self.filter_error.is_some() => {
                // Stays open with the error shown, for a fix or Esc.
            }
            Action::Submit => {
                self.overlay = Overlay::None;
                self.focus = Focus::Vms;
            }
            Action::Back => {
                let before = std::mem::take(before);
                self.overlay = Overlay::None;
                self.set_filter(before);
            }
            // The cursor is always at the end: these only end the selection.
            Action::FocusNext | Action::Top | Action::Bottom => {}
            _ => return None,
        }
        self.refresh_rows(fleet);
        Some(Effect::None)
    }
}
