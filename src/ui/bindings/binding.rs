//! What one entry of the binding table holds: its keys, its action, where it works and where
//! the help explains it.

use crate::ui::action::Action;
use fleetwatch_core::actions::keys::Verb;
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
