//! The one table of key bindings. The key map, the `?` screen, the action menu and what
//! `[keys]` may take are all read from [`BINDINGS`], so a key cannot work without being in the
//! help, nor be in the help without working.

use super::keys::Action;
use fleetwatch_core::actions::keys::{ActionKeys, KeyRules, Verb};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::fmt;

/// A key as the table knows it. Shift is not part of it: the terminal already made `G` of
/// Shift+g, and Shift+arrow has meant the arrow all along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn ch(c: char) -> Key {
        Key::code(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    pub const fn code(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub fn of(e: KeyEvent) -> Key {
        Key {
            code: e.code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            // Alt on other keys was always ignored; only on characters does it hide an Esc.
            alt: e.modifiers.contains(KeyModifiers::ALT) && matches!(e.code, KeyCode::Char(_)),
        }
    }

    /// The character of an unmodified character key: what `[keys]` can name.
    pub fn plain_char(self) -> Option<char> {
        match self.code {
            KeyCode::Char(c) if !self.ctrl && !self.alt => Some(c),
            _ => None,
        }
    }
}

/// How the help spells the key.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.alt {
            f.write_str("M-")?;
        }
        if self.ctrl {
            f.write_str("^")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            // Shift-Tab does what Tab does: there is no way round the panes to reverse.
            KeyCode::Tab | KeyCode::BackTab => f.write_str("Tab"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other}"),
        }
    }
}

/// Where a binding works: browsing, or typing into a line (filter, command, form, confirmation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Browsing,
    Typing,
    Always,
}

impl When {
    pub fn covers(self, typing: bool) -> bool {
        match self {
            When::Always => true,
            When::Browsing => !typing,
            When::Typing => typing,
        }
    }
}

/// Where a binding is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help {
    /// Starts a row of the `?` screen: its keys column and what they do. `{name}` in the keys
    /// column is the key the verb of that `[keys]` name is on, built in or configured.
    Row(&'static str, &'static str),
    /// Explained on the row above.
    Above,
    /// Explained by the pane it works in, which names its key.
    Pane(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub when: When,
    pub help: Help,
    /// A key `[keys]` can move: the verb whose name is its entry there.
    pub verb: Option<Verb>,
    /// Its line in the action menu.
    pub menu: Option<&'static str>,
}

mod table;

/// Every key binding, in the order of the `?` screen.
pub const BINDINGS: &[Binding] = table::TABLE;

/// The last row of the `?` screen: not a key.
pub const MOUSE: (&str, &str) = (
    "mouse",
    "click: select · click a title: sort · wheel: scroll",
);

/// The binding for `key` where it is pressed.
pub fn find(key: Key, typing: bool) -> Option<&'static Binding> {
    BINDINGS
        .iter()
        .find(|b| b.when.covers(typing) && b.keys.contains(&key))
}

/// Whether `key` does anything anywhere.
pub fn bound(key: Key) -> bool {
    BINDINGS.iter().any(|b| b.keys.contains(&key))
}

pub fn of_verb(verb: Verb) -> Option<&'static Binding> {
    BINDINGS.iter().find(|b| b.verb == Some(verb))
}

/// The key `verb` is on: configured, else built in.
pub fn shown(verb: Verb, keys: &ActionKeys) -> String {
    match keys.moved(verb) {
        Some(c) => Key::ch(c).to_string(),
        None => of_verb(verb)
            .and_then(|b| b.keys.first())
            .map_or_else(String::new, Key::to_string),
    }
}

/// What the config loader checks `[keys]` against.
pub fn key_rules() -> KeyRules {
    let builtin = BINDINGS
        .iter()
        .filter_map(|b| Some((b.verb?, b.keys.first()?.plain_char()?)))
        .collect();
    let taken = BINDINGS
        .iter()
        .filter(|b| b.verb.is_none() && b.when.covers(false))
        .flat_map(|b| b.keys.iter().filter_map(|k| k.plain_char()))
        .collect();
    KeyRules { builtin, taken }
}

/// The `?` screen's rows: keys as configured, and what they do.
pub fn help_rows(keys: &ActionKeys) -> Vec<(String, &'static str)> {
    let mut rows: Vec<(String, &'static str)> = BINDINGS
        .iter()
        .filter_map(|b| match b.help {
            Help::Row(label, text) => Some((fill(label, keys), text)),
            Help::Above | Help::Pane(_) => None,
        })
        .collect();
    rows.push((MOUSE.0.to_owned(), MOUSE.1));
    rows
}

/// The action menu: key as configured, label, verb.
pub fn menu(keys: &ActionKeys) -> Vec<(String, &'static str, Verb)> {
    BINDINGS
        .iter()
        .filter_map(|b| Some((shown(b.verb?, keys), b.menu?, b.verb?)))
        .collect()
}

/// `label` with each `{name}` replaced by the key of that verb.
fn fill(label: &str, keys: &ActionKeys) -> String {
    let mut out = String::new();
    let mut rest = label;
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        let Some((name, tail)) = after.split_once('}') else {
            rest = after;
            break;
        };
        match Verb::from_name(name) {
            Some(v) => out.push_str(&shown(v, keys)),
            None => out.push_str(name),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
