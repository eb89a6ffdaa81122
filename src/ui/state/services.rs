//! The Services view as state: every service group with its exposure, the open one's members
//! beneath it, the cursor on that list, and its keys. Enter on a member shows the VM.

use super::{Effect, Overlay, UiState, View};
use crate::ui::keys::Action;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::services::{Service, services};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The service at this place in `Listing::services`.
    Service(usize),
    /// Member `m` (an index into its `members`) of service `s`.
    Member(usize, usize),
}

/// The fleet grouped into services, kept while what it is built from holds: grouping every VM
/// costs milliseconds at fleet scale, and most messages change only counters.
#[derive(Debug, Clone, Default)]
pub struct Grouped {
    /// (facts, judged) of the fleet it was built from.
    key: Option<(u64, u64)>,
    pub services: Vec<Service>,
    /// VMs in no service group, for the title: a fleet with none grouped says why it is empty.
    pub ungrouped: usize,
}

impl Grouped {
    /// Builds again only when the VMs, their states, the links, findings or groups changed.
    pub fn refresh(&mut self, fleet: &Fleet) {
        let key = Some((fleet.facts, fleet.judged));
        if self.key != key {
            (self.services, self.ungrouped) = services(fleet);
            self.key = key;
        }
    }

    /// The services, worst first, with the `open` one's members (else the first's) beneath it.
    pub fn entries(&self, open: Option<&str>) -> Vec<Entry> {
        let open = open
            .and_then(|o| self.services.iter().position(|s| s.name == o))
            .or((!self.services.is_empty()).then_some(0));
        let mut entries = Vec::new();
        for (i, s) in self.services.iter().enumerate() {
            entries.push(Entry::Service(i));
            if Some(i) == open {
                entries.extend((0..s.members.len()).map(|m| Entry::Member(i, m)));
            }
        }
        entries
    }
}

/// Moves the cursor; landing on a service opens it (and closes the one before).
fn step(ui: &mut UiState, delta: isize) {
    let g = &ui.services;
    let list = g.entries(ui.service_open.as_deref());
    let n = list.len() as isize;
    let i = (ui.service_selected as isize + delta).clamp(0, (n - 1).max(0)) as usize;
    match list.get(i) {
        Some(Entry::Service(s)) => {
            let name = g.services[*s].name.clone();
            // Members of a service above collapse: find its line again in the new list.
            ui.service_selected = g
                .entries(Some(&name))
                .iter()
                .position(|e| *e == Entry::Service(*s))
                .unwrap_or(0);
            ui.service_open = Some(name);
        }
        _ => ui.service_selected = i,
    }
}

impl UiState {
    /// Keys while the Services view shows with no pane over it; None for those it leaves to the
    /// rest of the screen.
    pub(super) fn services_key(&mut self, action: &Action, fleet: &Fleet) -> Option<Effect> {
        if self.view != View::Services || self.overlay != Overlay::None {
            return None;
        }
        self.services.refresh(fleet);
        let page = self.areas.page.max(1) as isize;
        let delta = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            Action::Enter => {
                let list = self.services.entries(self.service_open.as_deref());
                match list.get(self.service_selected) {
                    Some(Entry::Member(s, m)) => {
                        let uuid = self.services.services[*s].members[*m].clone();
                        self.select_vm(&uuid, fleet);
                    }
                    // On a service: down to its first member.
                    Some(Entry::Service(_)) => step(self, 1),
                    None => {}
                }
                return Some(Effect::None);
            }
            Action::Back | Action::Services => {
                self.view = View::Vms;
                return Some(Effect::None);
            }
            _ => return None,
        };
        step(self, delta);
        Some(Effect::None)
    }
}
