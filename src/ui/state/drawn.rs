//! What a frame showed that the next key or click needs: where the panes are (the mouse hits
//! them), how many rows a page holds, how far lists and panes could scroll. Only the drawing
//! knows these, as it lays out the screen; it hands them back and the app keeps them here, so
//! drawing itself reads the state and never changes it.

use super::UiState;
use super::scroll::Scroll;
use crate::ui::rows::SortKey;
use ratatui::layout::Rect;

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

/// The VMs table as drawn.
#[derive(Debug, Clone, Copy)]
pub struct DrawnTable {
    pub area: Rect,
    /// Column start x and sort key of each column shown.
    pub columns: [(u16, Option<SortKey>); 12],
    pub page: usize,
    /// The first row shown: the selection stays in view.
    pub offset: usize,
}

/// What one frame showed. A part left `None` was not drawn, and what the last frame that drew
/// it said still holds: a click, say, is tested against the table as last seen.
#[must_use = "the next event needs what the frame showed: keep it with `UiState::drawn`"]
#[derive(Debug, Clone, Copy, Default)]
pub struct Drawn {
    pub hosts: Option<Rect>,
    pub detail_beside: Option<bool>,
    pub table: Option<DrawnTable>,
    /// The History view's page, and its cursor kept on the events it lists.
    pub history: Option<(usize, usize)>,
    /// The Findings view's cursor, kept on its list.
    pub finding: Option<usize>,
    /// The Services view's page, and its cursor kept on its list.
    pub service: Option<(usize, usize)>,
    /// The open help or confirmation pane.
    pub scroll: Option<Scroll>,
}

impl UiState {
    /// Keeps what the frame showed, for the next event.
    pub fn drawn(&mut self, d: Drawn) {
        if let Some(h) = d.hosts {
            self.areas.hosts = h;
        }
        if let Some(b) = d.detail_beside {
            self.areas.detail_beside = b;
        }
        if let Some(t) = d.table {
            self.areas.table = t.area;
            self.areas.columns = t.columns;
            self.areas.page = t.page;
            self.offset = t.offset;
        }
        if let Some((page, selected)) = d.history {
            self.areas.page = page;
            self.history_selected = selected;
        }
        if let Some(i) = d.finding {
            self.finding_selected = i;
        }
        if let Some((page, selected)) = d.service {
            self.areas.page = page;
            self.service_selected = selected;
        }
        if let Some(s) = d.scroll {
            self.scroll = s;
        }
    }
}
