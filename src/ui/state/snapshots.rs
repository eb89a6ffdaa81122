//! The snapshots pane of one VM (`v`): its snapshots with when, state, parent and which is
//! current; `n` takes one, `r` reverts to the one under the cursor, `D` deletes it. Each goes
//! through the same plan and confirmation pane as every action; deleting a snapshot is here
//! only, never in the action menu, and nothing anywhere deletes a VM or its disks.

use super::{Effect, Overlay, UiState, View};
use crate::ui::keys::{Action, Verb};
use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::SnapshotInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotsPane {
    pub uuid: String,
    pub selected: usize,
}

/// The VM's snapshots, oldest first; `None` while its XML is not read.
pub fn list<'f>(fleet: &'f Fleet, uuid: &str) -> Option<&'f [SnapshotInfo]> {
    fleet
        .vm(uuid)
        .and_then(|v| v.config.as_deref())
        .map(|c| c.snapshots.as_slice())
}

impl UiState {
    /// `v`, and the pane's keys once open.
    pub(super) fn snapshots_key(&mut self, action: &Action, fleet: &Fleet) -> Option<Effect> {
        if *action == Action::Snapshots && self.overlay == Overlay::None {
            if self.view != View::Vms {
                return None;
            }
            match self.selected_uuid() {
                Some(u) => {
                    // The newest is where one usually goes back to: start there.
                    let n = list(fleet, u).map_or(0, <[_]>::len);
                    self.overlay = Overlay::Snapshots(SnapshotsPane {
                        uuid: u.to_owned(),
                        selected: n.saturating_sub(1),
                    });
                }
                None => self.message = Some("no VM selected".into()),
            }
            return Some(Effect::None);
        }
        let Overlay::Snapshots(pane) = &mut self.overlay else {
            return None;
        };
        let snaps = list(fleet, &pane.uuid).unwrap_or_default();
        let last = snaps.len().saturating_sub(1);
        let chosen = snaps.get(pane.selected.min(last)).map(|s| s.name.clone());
        match action {
            Action::Back => self.overlay = Overlay::None,
            Action::Up => pane.selected = pane.selected.saturating_sub(1),
            Action::Down => pane.selected = (pane.selected + 1).min(last),
            Action::Input('n') => return Some(Effect::ActionKey(Verb::Snapshot)),
            Action::Input('r') | Action::Input('D') => {
                let Some(name) = chosen else {
                    self.message = Some("no snapshot to choose: n takes one".into());
                    return Some(Effect::None);
                };
                let kind = if *action == Action::Input('r') {
                    ActionKind::RevertSnapshot { name }
                } else {
                    ActionKind::DeleteSnapshot { name }
                };
                self.overlay = Overlay::None;
                return Some(Effect::Plan(kind));
            }
            _ => {}
        }
        Some(Effect::None)
    }
}
