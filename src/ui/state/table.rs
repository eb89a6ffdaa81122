//! The VMs table as state: its rows (recomputed only when the fleet or the query changes), the
//! selection, which follows a VM once the operator chose one, and how far the table is scrolled.

use super::{Focus, UiState, View};
use crate::ui::rows::{self, SortKey};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::Kind;

impl UiState {
    /// Brings the rows up to date with the fleet: nothing when nothing changed, the rows of the
    /// hosts that changed when only some did, all of them when the query or the fleet shown did.
    pub fn refresh_rows(&mut self, fleet: &Fleet) {
        if self.rows_for == Some(fleet.generation) {
            return;
        }
        let follow = if self.chosen {
            self.selected_uuid.clone()
        } else {
            None
        };
        let q = rows::Query {
            filter: &self.filter,
            host: self.host_filter,
            kind: self.kind_filter,
            key: self.sort,
            descending: self.descending,
            follow: follow.as_deref(),
        };
        let r = match self.rows_for {
            Some(_) => self.rows.update(fleet, &q),
            None => self.rows.rebuild(fleet, &q),
        };
        self.rows_for = Some(fleet.generation);
        if !r.changed {
            return;
        }
        self.running = self.rows.running();
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

    pub(super) fn clamp(&mut self, fleet: &Fleet) {
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.selected_uuid = self
            .rows
            .get(self.selected)
            .and_then(|&r| fleet.vm_at(r))
            .map(|vm| vm.uuid.clone());
        self.host_selected = self.host_selected.min(fleet.hosts.len().saturating_sub(1));
    }

    pub(super) fn set_sort(&mut self, key: SortKey) {
        if self.sort == key {
            self.descending = !self.descending;
        } else {
            self.sort = key;
            self.descending = key.natural_descending();
        }
        self.invalidate();
    }

    pub(super) fn move_by(&mut self, delta: isize, fleet: &Fleet) {
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

    /// Shows this VM selected in the table, whatever filters hid it.
    pub fn select_vm(&mut self, uuid: &str, fleet: &Fleet) {
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

    /// The first row to show in a page of `page` rows: scrolled only as far as needed to keep
    /// the selection in view.
    pub fn table_offset(&self, page: usize) -> usize {
        let page = page.max(1);
        let mut offset = self.offset;
        if self.selected < offset {
            offset = self.selected;
        } else if self.selected >= offset + page {
            offset = self.selected + 1 - page;
        }
        offset.min(self.rows.len().saturating_sub(page))
    }
}
