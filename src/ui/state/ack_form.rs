//! Acknowledging a finding from the Findings view: `K` on a finding opens a form for the reason
//! and how long (24h unless changed); `K` on an acknowledged one ends it. The app writes it to
//! the history store, off the UI task.

use super::findings::{Entry, entries};
use super::{Effect, Overlay, UiState, View};
use crate::ui::keys::Action;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::subject_of;
use fleetwatch_core::model::findings::{Finding, Kind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckForm {
    pub kind: Kind,
    pub subject: String,
    /// What the finding is about, as the form names it ("web-01 on hv-ams-01").
    pub label: String,
    pub reason: String,
    pub lasts: String,
    pub on_lasts: bool,
}

/// The finding under the cursor in the Findings view.
pub fn selected_finding<'f>(ui: &UiState, fleet: &'f Fleet) -> Option<&'f Finding> {
    if ui.view != View::Findings {
        return None;
    }
    match entries(fleet, ui.finding_open).get(ui.finding_selected) {
        Some(Entry::Item(f)) => Some(f),
        _ => None,
    }
}

impl UiState {
    pub fn open_ack_form(&mut self, f: &Finding) {
        let label = match (&f.vm, &f.host) {
            (Some(v), Some(h)) => format!("{v} on {h}"),
            (Some(v), None) => v.clone(),
            (None, Some(h)) => h.clone(),
            (None, None) => "-".into(),
        };
        self.overlay = Overlay::Ack(AckForm {
            kind: f.kind,
            subject: subject_of(f),
            label,
            reason: String::new(),
            lasts: "24h".into(),
            on_lasts: false,
        });
    }

    /// `K` in the Findings view, and the keys of the form once open.
    pub(super) fn ack_key(&mut self, action: &Action, fleet: &Fleet) -> Option<Effect> {
        if *action == Action::Acknowledge && self.overlay == Overlay::None {
            return Some(match selected_finding(self, fleet) {
                Some(f) => Effect::AckKey(Box::new(f.clone())),
                None if self.view == View::Findings => {
                    self.message = Some("K acknowledges a finding: move onto one first".into());
                    Effect::None
                }
                None => {
                    self.message = Some("K acknowledges a finding in the Findings view (f)".into());
                    Effect::None
                }
            });
        }
        let Overlay::Ack(form) = &mut self.overlay else {
            return None;
        };
        let field = if form.on_lasts {
            &mut form.lasts
        } else {
            &mut form.reason
        };
        match action {
            Action::Back => self.overlay = Overlay::None,
            Action::FocusNext => form.on_lasts = !form.on_lasts,
            Action::Input(c) => field.push(*c),
            Action::Backspace => {
                field.pop();
            }
            Action::ClearInput => field.clear(),
            Action::Submit => {
                let effect = Effect::Ack {
                    kind: form.kind,
                    subject: form.subject.clone(),
                    reason: form.reason.trim().to_owned(),
                    lasts: form.lasts.trim().to_owned(),
                };
                self.overlay = Overlay::None;
                return Some(effect);
            }
            _ => {}
        }
        Some(Effect::None)
    }
}
