//! The `?` screen's state: open, scrolled, closed. Drawn by `ui::help`.

use super::{Effect, Overlay, UiState};
use crate::ui::keys::Action;

impl UiState {
    pub(crate) fn open_help(&mut self) {
        self.overlay = Overlay::Help;
        self.scroll.top = 0;
    }

    /// Keys while the help is open: the moving keys scroll it, Esc or `?` closes it, q still
    /// quits; the rest do nothing, so nothing changes unseen beneath it.
    pub(crate) fn help_key(&mut self, action: &Action) -> Option<Effect> {
        if self.overlay != Overlay::Help {
            return None;
        }
        match action {
            Action::Quit => return None,
            Action::Back | Action::Help => self.overlay = Overlay::None,
            other => {
                self.scroll.key(other);
            }
        }
        Some(Effect::None)
    }
}
