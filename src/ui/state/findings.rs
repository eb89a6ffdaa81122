//! The Findings view as state: its list (every kind with its count, the worst first, the open
//! kind's findings beneath it), the cursor on it, and its keys. Enter on a kind shows its VMs in
//! the table; on a finding, its VM (or host).

use super::{Effect, Overlay, UiState, View};
use crate::ui::keys::Action;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::{Finding, Kind, Severity};

pub enum Entry<'a> {
    Group {
        kind: Kind,
        count: usize,
        severity: Severity,
    },
    Item(&'a Finding),
}

/// Groups in severity order (critical first), then kind order; the findings of the `open` kind
/// (else the first) beneath it, by host and VM.
pub fn entries(fleet: &Fleet, open: Option<Kind>) -> Vec<Entry<'_>> {
    let mut kinds: Vec<(Severity, Kind)> = Kind::ALL
        .iter()
        .filter_map(|&k| fleet.severities.get(&k).map(|&s| (s, k)))
        .collect();
    kinds.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::new();
    let open = open
        .filter(|k| kinds.iter().any(|(_, x)| x == k))
        .or(kinds.first().map(|(_, k)| *k));
    // The fleet keeps its findings sorted by kind, host and VM: each kind is one slice.
    let all = &fleet.findings;
    for (severity, kind) in kinds {
        let from = all.partition_point(|f| f.kind < kind);
        let to = from + all[from..].partition_point(|f| f.kind == kind);
        out.push(Entry::Group {
            kind,
            count: to - from,
            severity,
        });
        if Some(kind) == open {
            out.extend(all[from..to].iter().map(Entry::Item));
        }
    }
    out
}

/// Moves the cursor; landing on a kind opens it (and closes the one before).
pub fn step(ui: &mut UiState, fleet: &Fleet, delta: isize) {
    let list = entries(fleet, ui.finding_open);
    let n = list.len() as isize;
    let i = (ui.finding_selected as isize + delta).clamp(0, (n - 1).max(0)) as usize;
    match list.get(i) {
        Some(Entry::Group { kind, .. }) => {
            let kind = *kind;
            ui.finding_open = Some(kind);
            // Items of a group above collapse: find the header again in the new list.
            ui.finding_selected = entries(fleet, Some(kind))
                .iter()
                .position(|e| matches!(e, Entry::Group { kind: k, .. } if *k == kind))
                .unwrap_or(0);
        }
        _ => ui.finding_selected = i,
    }
}

pub fn activate(ui: &mut UiState, fleet: &Fleet) {
    let list = entries(fleet, ui.finding_open);
    match list.get(ui.finding_selected) {
        Some(Entry::Group { kind, .. }) => ui.show_kind(*kind),
        Some(Entry::Item(f)) => {
            let vm = f.uuid.as_deref().filter(|u| fleet.vm(u).is_some());
            let host = f
                .host
                .as_deref()
                .and_then(|h| fleet.hosts.iter().position(|x| x.name == h));
            match (vm, host) {
                (Some(u), _) => ui.select_vm(u, fleet),
                (None, Some(h)) => ui.show_host(h),
                (None, None) => ui.message = Some(format!("{}: {}", f.kind, f.detail)),
            }
        }
        None => {}
    }
}

impl UiState {
    /// Keys while the Findings view shows with no pane over it; None for those it leaves to the
    /// rest of the screen.
    pub(super) fn findings_key(&mut self, action: &Action, fleet: &Fleet) -> Option<Effect> {
        if self.view != View::Findings || self.overlay != Overlay::None {
            return None;
        }
        let page = self.areas.page.max(1) as isize;
        let n = entries(fleet, self.finding_open).len() as isize;
        let delta = match action {
            Action::Up => Some(-1),
            Action::Down => Some(1),
            Action::PageUp => Some(-page),
            Action::PageDown => Some(page),
            Action::Top => Some(-n),
            Action::Bottom => Some(n),
            _ => None,
        };
        if let Some(d) = delta {
            step(self, fleet, d);
            return Some(Effect::None);
        }
        match action {
            Action::Enter => {
                activate(self, fleet);
                self.refresh_rows(fleet);
                Some(Effect::None)
            }
            Action::Back | Action::Findings => {
                self.view = View::Vms;
                Some(Effect::None)
            }
            _ => None,
        }
    }
}
