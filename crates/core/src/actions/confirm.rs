//! The confirmation pane's state machine. Focus starts on Cancel; Esc, or Enter on Cancel, runs
//! nothing (the app audits it as cancelled). A disruptive action (or any action on several VMs)
//! needs the VM's name (or the number of VMs) typed, unless a refusal stops it anyway; typing
//! moves the focus to Confirm, and a mismatch keeps the pane open and says so.

use super::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Cancel,
    Confirm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Backspace,
    Enter,
    Esc,
    /// Tab, ← or →: the other button.
    Switch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Open,
    Cancelled,
    Confirmed,
    /// Confirm was pressed but the typed text or a refusal stopped it; the pane stays open and
    /// says why (the reason, for the audit).
    Rejected,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pane {
    pub plan: Plan,
    pub focus: Focus,
    pub typed: String,
    pub message: Option<String>,
}

impl Pane {
    pub fn new(plan: Plan) -> Pane {
        Pane {
            plan,
            focus: Focus::Cancel,
            typed: String::new(),
            message: None,
        }
    }

    pub fn key(&mut self, k: Key) -> Outcome {
        match k {
            Key::Esc => return Outcome::Cancelled,
            Key::Switch => {
                self.focus = match self.focus {
                    Focus::Cancel => Focus::Confirm,
                    Focus::Confirm => Focus::Cancel,
                }
            }
            // Where a refusal stands nothing is asked for: typing would only raise hopes.
            Key::Char(c) if self.plan.typed.is_some() && self.plan.refusals.is_empty() => {
                self.typed.push(c);
                self.focus = Focus::Confirm;
                self.message = None;
            }
            Key::Char(_) => {}
            Key::Backspace => {
                self.typed.pop();
            }
            Key::Enter => match self.focus {
                Focus::Cancel => return Outcome::Cancelled,
                Focus::Confirm => {
                    if let Some(why) = self.plan.refusals.first() {
                        self.message = Some(format!("cannot: {why}; nothing was done"));
                        return Outcome::Rejected;
                    } else if let Some(want) = &self.plan.typed {
                        if &self.typed == want || self.plan.typed_alt.as_ref() == Some(&self.typed)
                        {
                            return Outcome::Confirmed;
                        }
                        self.message = Some(if self.typed.is_empty() {
                            format!("type {want:?} to confirm")
                        } else {
                            format!("typed {:?}, not {want:?}: nothing was done", self.typed)
                        });
                        return Outcome::Rejected;
                    } else {
                        return Outcome::Confirmed;
                    }
                }
            },
        }
        Outcome::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{ActionKind, Expect};
    use crate::model::sample::VmState;

    fn plan(kind: ActionKind, n: usize, refusals: Vec<String>) -> Plan {
        let vms: Vec<Expect> = (0..n)
            .map(|i| Expect {
                uuid: format!("u{i}"),
                name: format!("web-0{i}"),
                host: "hv1".into(),
                state: VmState::Running,
            })
            .collect();
        let typed = if n > 1 {
            Some(n.to_string())
        } else if kind.disruptive() {
            Some(vms[0].name.clone())
        } else {
            None
        };
        Plan {
            kind,
            vms,
            changes: vec![],
            risks: vec![],
            refusals,
            typed,
            typed_alt: None,
            production: Vec::new(),
        }
    }

    fn typed(p: &mut Pane, s: &str) {
        for c in s.chars() {
            assert_eq!(p.key(Key::Char(c)), Outcome::Open);
        }
    }

    #[test]
    fn focus_starts_on_cancel_and_enter_or_esc_there_does_nothing() {
        let mut p = Pane::new(plan(ActionKind::Pause, 1, vec![]));
        assert_eq!(p.focus, Focus::Cancel);
        assert_eq!(p.key(Key::Enter), Outcome::Cancelled);
        let mut p = Pane::new(plan(ActionKind::Pause, 1, vec![]));
        assert_eq!(p.key(Key::Esc), Outcome::Cancelled);
        // Letters do nothing where nothing is to be typed; Confirm is one deliberate move away.
        let mut p = Pane::new(plan(ActionKind::Pause, 1, vec![]));
        assert_eq!(p.key(Key::Char('y')), Outcome::Open);
        assert_eq!(p.focus, Focus::Cancel);
        p.key(Key::Switch);
        assert_eq!(p.key(Key::Enter), Outcome::Confirmed);
    }

    #[test]
    fn disruptive_actions_need_the_name_and_a_mismatch_says_so() {
        let mut p = Pane::new(plan(ActionKind::ForceOff, 1, vec![]));
        typed(&mut p, "web-0");
        assert_eq!(p.focus, Focus::Confirm, "typing moves to Confirm");
        assert_eq!(p.key(Key::Enter), Outcome::Rejected);
        assert_eq!(
            p.message.as_deref(),
            Some("typed \"web-0\", not \"web-00\": nothing was done")
        );
        typed(&mut p, "0");
        assert_eq!(p.key(Key::Enter), Outcome::Confirmed);
        // Esc still leaves after typing.
        let mut p = Pane::new(plan(ActionKind::Reboot, 1, vec![]));
        typed(&mut p, "web-00");
        assert_eq!(p.key(Key::Esc), Outcome::Cancelled);
    }

    #[test]
    fn a_set_needs_its_count_and_refusals_block_confirming() {
        let mut p = Pane::new(plan(ActionKind::Pause, 3, vec![]));
        typed(&mut p, "web-00");
        assert_eq!(p.key(Key::Enter), Outcome::Rejected);
        for _ in 0..6 {
            p.key(Key::Backspace);
        }
        typed(&mut p, "3");
        assert_eq!(p.key(Key::Enter), Outcome::Confirmed);
        let mut p = Pane::new(plan(
            ActionKind::ForceOff,
            1,
            vec!["this session is read-only".into()],
        ));
        // Nothing is asked for, so typing changes nothing: Confirm is still a move away.
        typed(&mut p, "web-00");
        assert_eq!((p.typed.as_str(), p.focus), ("", Focus::Cancel));
        p.key(Key::Switch);
        assert_eq!(p.key(Key::Enter), Outcome::Rejected);
        assert!(p.message.as_deref().unwrap().contains("read-only"));
    }

    #[test]
    fn a_name_with_replaced_characters_can_be_confirmed_by_uuid_prefix() {
        let mut pl = plan(ActionKind::ForceOff, 1, vec![]);
        pl.vms[0].name = "web\u{FFFD}01".into();
        pl.typed = Some(pl.vms[0].name.clone());
        pl.typed_alt = Some("6c616267".into());
        let mut p = Pane::new(pl.clone());
        typed(&mut p, "web01");
        assert_eq!(p.key(Key::Enter), Outcome::Rejected);
        let mut p = Pane::new(pl.clone());
        typed(&mut p, "6c616267");
        assert_eq!(p.key(Key::Enter), Outcome::Confirmed);
        let mut p = Pane::new(pl);
        typed(&mut p, "web\u{FFFD}01");
        assert_eq!(
            p.key(Key::Enter),
            Outcome::Confirmed,
            "the name as displayed"
        );
    }
}
