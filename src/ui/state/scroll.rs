//! How far a pane longer than the screen (the help, the confirmation pane) is scrolled. The
//! drawing knows how many rows the pane needs; it hands back `max` and `page` for the keys.

use crate::ui::keys::Action;

/// How far a pane was scrolled, and could be, when last drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scroll {
    pub top: usize,
    pub max: usize,
    /// Rows shown at once.
    pub page: usize,
}

impl Scroll {
    /// Moves for a scrolling key; false for any other key.
    pub fn key(&mut self, action: &Action) -> bool {
        let page = self.page.max(1);
        self.top = match action {
            Action::Up => self.top.saturating_sub(1),
            Action::Down => self.top + 1,
            Action::PageUp => self.top.saturating_sub(page),
            Action::PageDown => self.top + page,
            Action::Top => 0,
            Action::Bottom => self.max,
            _ => return false,
        }
        .min(self.max);
        true
    }

    /// For the pane's border: which rows show, and whether more follow.
    pub fn label(&self, total: usize) -> String {
        let last = (self.top + self.page).min(total);
        let more = if self.top < self.max {
            " · ↓ more"
        } else {
            ""
        };
        format!(" lines {}-{last} of {total}{more} ", self.top + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolls_by_page_and_stops_at_the_end() {
        let mut s = Scroll {
            top: 0,
            max: 5,
            page: 3,
        };
        assert!(s.key(&Action::PageDown) && s.top == 3);
        assert!(s.key(&Action::PageDown) && s.top == 5);
        assert!(!s.key(&Action::Enter));
        assert_eq!(s.label(8), " lines 6-8 of 8 ");
    }
}
