//! Actions as state: marks, the menu, the target and snapshot forms, the confirmation pane and
//! what runs. Keys here only open panes; what runs is decided by the app, which builds the plan
//! and executes it after the pane confirms.

use super::scroll::Scroll;
use super::{Effect, Overlay, UiState, View};
use crate::ui::keys::{Action, Verb};
use fleetwatch_core::actions::confirm::{Key, Outcome, Pane};
use fleetwatch_core::actions::{ActionFailure, ActionKind, Progress};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::VmState;

/// The migration target form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetForm {
    pub selected: usize,
    pub copy_storage: bool,
}

/// The snapshot form: name and description, Tab switches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotForm {
    pub name: String,
    pub description: String,
    pub on_description: bool,
}

/// One action the app runs, as the progress pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub id: u64,
    pub title: String,
    pub host: usize,
    pub progress: Option<Progress>,
    pub result: Option<Result<String, ActionFailure>>,
}

impl UiState {
    /// The VMs an action is for: the marked ones, else the selected one.
    pub fn action_targets(&self) -> Vec<String> {
        if self.marks.is_empty() {
            self.selected_uuid()
                .map(|u| vec![u.to_owned()])
                .unwrap_or_default()
        } else {
            self.marks.iter().cloned().collect()
        }
    }

    /// Action keys outside any pane.
    pub(crate) fn action_key(&mut self, action: &Action) -> Option<Effect> {
        if self.view != View::Vms || self.overlay != Overlay::None {
            return None;
        }
        match action {
            Action::Mark => {
                if let Some(u) = self.selected_uuid().map(str::to_owned)
                    && !self.marks.remove(&u)
                {
                    self.marks.insert(u);
                }
                Some(Effect::None)
            }
            Action::Menu => {
                self.overlay = Overlay::Menu;
                Some(Effect::None)
            }
            Action::Act(c) => Some(Effect::ActionKey(*c)),
            _ => None,
        }
    }

    /// Opens the form or pane for a verb; the action kind it returns is planned by the app.
    pub fn open_form(&mut self, verb: Verb, fleet: &Fleet) -> Option<ActionKind> {
        let targets = self.action_targets();
        let first = targets.first().and_then(|u| fleet.vm(u));
        match verb {
            Verb::Start => Some(ActionKind::Start),
            Verb::Shutdown => Some(ActionKind::Shutdown),
            Verb::Reboot => Some(ActionKind::Reboot),
            Verb::Pause => Some(if first.is_some_and(|v| v.state == VmState::Paused) {
                ActionKind::Resume
            } else {
                ActionKind::Pause
            }),
            Verb::ForceOff => Some(ActionKind::ForceOff),
            Verb::Snapshot => {
                let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
                self.overlay = Overlay::Snapshot(SnapshotForm {
                    name: format!("fleetwatch-{stamp}"),
                    description: String::new(),
                    on_description: false,
                });
                None
            }
            Verb::Migrate => {
                let from = first.map_or(usize::MAX, |v| v.host);
                let selected = (0..fleet.hosts.len()).find(|&h| h != from).unwrap_or(0);
                self.overlay = Overlay::Target(TargetForm {
                    selected,
                    copy_storage: false,
                });
                None
            }
            Verb::Menu => None,
        }
    }

    /// Keys while a pane is open. Returns an effect for the app where one is due.
    pub(crate) fn pane_key(&mut self, action: &Action, fleet: &Fleet) -> Option<Effect> {
        match &mut self.overlay {
            Overlay::Menu => Some(match action {
                Action::Back => {
                    self.overlay = Overlay::None;
                    Effect::None
                }
                Action::Act(c) => {
                    self.overlay = Overlay::None;
                    Effect::ActionKey(*c)
                }
                _ => Effect::None,
            }),
            Overlay::Target(form) => Some(match action {
                Action::Back => {
                    self.overlay = Overlay::None;
                    Effect::None
                }
                Action::Up => {
                    form.selected = form.selected.saturating_sub(1);
                    Effect::None
                }
                Action::Down => {
                    form.selected = (form.selected + 1).min(fleet.hosts.len().saturating_sub(1));
                    Effect::None
                }
                Action::Input('c') => {
                    form.copy_storage = !form.copy_storage;
                    Effect::None
                }
                Action::Enter | Action::Submit => {
                    let (to, copy) = (form.selected, form.copy_storage);
                    self.overlay = Overlay::None;
                    match fleet.hosts.get(to) {
                        Some(h) => Effect::Plan(ActionKind::Migrate {
                            to,
                            to_name: h.name.clone(),
                            to_uri: h.uri.clone(),
                            copy_storage: copy,
                        }),
                        None => Effect::None,
                    }
                }
                _ => Effect::None,
            }),
            Overlay::Snapshot(form) => Some(match action {
                Action::Back => {
                    self.overlay = Overlay::None;
                    Effect::None
                }
                Action::FocusNext => {
                    form.on_description = !form.on_description;
                    Effect::None
                }
                Action::Input(c) => {
                    let field = if form.on_description {
                        &mut form.description
                    } else {
                        &mut form.name
                    };
                    field.push(*c);
                    Effect::None
                }
                Action::Backspace => {
                    let field = if form.on_description {
                        &mut form.description
                    } else {
                        &mut form.name
                    };
                    field.pop();
                    Effect::None
                }
                Action::ClearInput => {
                    if form.on_description {
                        form.description.clear();
                    } else {
                        form.name.clear();
                    }
                    Effect::None
                }
                Action::Submit => {
                    let kind = ActionKind::Snapshot {
                        name: form.name.trim().to_owned(),
                        description: form.description.trim().to_owned(),
                    };
                    self.overlay = Overlay::None;
                    if let ActionKind::Snapshot { name, .. } = &kind
                        && name.is_empty()
                    {
                        self.message = Some("a snapshot needs a name".into());
                        return Some(Effect::None);
                    }
                    Effect::Plan(kind)
                }
                _ => Effect::None,
            }),
            Overlay::Confirm(pane) => {
                if *action == Action::ClearInput {
                    pane.typed.clear();
                    return Some(Effect::None);
                }
                if self.scroll.key(action) {
                    return Some(Effect::None);
                }
                let key = match action {
                    Action::Back => Key::Esc,
                    Action::Submit | Action::Enter => Key::Enter,
                    Action::Backspace => Key::Backspace,
                    Action::Input(c) => Key::Char(*c),
                    Action::FocusNext => Key::Switch,
                    _ => return Some(Effect::None),
                };
                Some(match pane.key(key) {
                    Outcome::Open => Effect::None,
                    Outcome::Rejected => Effect::Rejected,
                    Outcome::Cancelled => {
                        self.message = Some("cancelled: nothing was done".into());
                        match std::mem::replace(&mut self.overlay, Overlay::None) {
                            Overlay::Confirm(pane) => Effect::Cancelled(Box::new(pane.plan)),
                            _ => Effect::None,
                        }
                    }
                    Outcome::Confirmed => {
                        let Overlay::Confirm(pane) =
                            std::mem::replace(&mut self.overlay, Overlay::None)
                        else {
                            return Some(Effect::None);
                        };
                        self.marks.clear();
                        Effect::Execute(Box::new(pane.plan))
                    }
                })
            }
            _ => None,
        }
    }

    pub fn open_confirm(&mut self, pane: Pane) {
        self.overlay = Overlay::Confirm(Box::new(pane));
        self.scroll = Scroll::default();
    }
}
