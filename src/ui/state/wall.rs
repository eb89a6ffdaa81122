//! Wall mode: nobody at the keyboard, so the screen turns by itself: the view cycles (overview,
//! findings, recent migrations), and hosts that do not fit the hosts pane come a page at a time
//! with it.

use super::{UiState, View};

impl UiState {
    /// On to the next view, and the next page of hosts.
    pub fn wall_next(&mut self) {
        if self.wall != Some(false) {
            return;
        }
        self.view = match self.view {
            View::Vms => View::Findings,
            View::Findings => {
                self.history_tab = super::history::Tab::Migrations;
                View::History
            }
            View::History | View::Services => View::Vms,
        };
        self.wall_page = self.wall_page.wrapping_add(1);
    }

    /// The first of `n` hosts the hosts pane shows in its `visible` lines: on a wall the
    /// current page, else as far down as keeps the selected host in view.
    pub fn hosts_first(&self, visible: usize, n: usize) -> usize {
        let visible = visible.max(1);
        if self.wall.is_some() {
            let pages = n.div_ceil(visible).max(1);
            (self.wall_page % pages) * visible
        } else {
            self.host_selected.saturating_sub(visible - 1)
        }
    }

    /// On a wall whose hosts pane cannot hold every host: which ones show, e.g. "hosts 9-14 of
    /// 14".
    pub fn wall_hosts_shown(&self, visible: usize, n: usize) -> Option<String> {
        if self.wall.is_none() || visible == 0 || n <= visible {
            return None;
        }
        let first = self.hosts_first(visible, n);
        let last = (first + visible).min(n);
        Some(format!("hosts {}-{last} of {n}", first + 1))
    }
}
