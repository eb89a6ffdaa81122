//! Keys to actions. Habits from htop, k9s and vim: `?` help, `/` filter, `:` commands, q quits,
//! arrows and hjkl move. Which key does what is the table in [`super::bindings`]; no key
//! changes anything on a hypervisor by itself, the action keys only open a confirmation.

use super::bindings::{self, Key};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub use super::action::Action;
pub use fleetwatch_core::actions::keys::{ActionKeys, KeyRules, KeysError, Verb};

/// The action for `key`, from the table in [`super::bindings`]; while typing, what no binding
/// claims is text for the line.
pub fn map(key: KeyEvent, typing: bool, actions: &ActionKeys) -> Action {
    let pressed = Key::of(key);
    if !typing
        && let Some(c) = pressed.plain_char()
        && let Some(verb) = actions.verb_at(c)
    {
        return bindings::of_verb(verb).map_or(Action::Noop, |b| b.action.clone());
    }
    match bindings::find(pressed, typing) {
        // A configurable key moved elsewhere no longer acts.
        Some(b) if b.verb.is_some_and(|v| actions.moved(v).is_some()) => Action::Noop,
        Some(b) => b.action.clone(),
        None if typing && !pressed.ctrl => match key.code {
            KeyCode::Char(c) => Action::Input(c),
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Enter => Action::Submit,
            _ => Action::Noop,
        },
        None => Action::Noop,
    }
}

/// The keys one key event stands for. Esc and a key pressed quickly after it reach us as one
/// Alt+key where the terminal cannot tell them apart (tmux's escape-time, a slow ssh link); an
/// Alt+character with no binding of its own is read as those two keys, as vim reads Meta.
pub fn split_meta(key: KeyEvent) -> impl Iterator<Item = KeyEvent> {
    let pressed = Key::of(key);
    let split = pressed.alt && !bindings::bound(pressed);
    let esc = split.then(|| KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    let mut rest = key;
    if split {
        rest.modifiers.remove(KeyModifiers::ALT);
    }
    esc.into_iter().chain(std::iter::once(rest))
}
