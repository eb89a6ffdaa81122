//! The action keys' vocabulary and their `[keys]` overrides. Terminal-free, so the config loader
//! checks `[keys]` with the rest of the file; which keys exist at all is the UI's table, which
//! the loader is handed as [`KeyRules`] rather than keeping a copy that could drift from it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// What a configurable key does: the VM actions and the menu that lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Start,
    Shutdown,
    Reboot,
    Pause,
    Snapshot,
    Migrate,
    ForceOff,
    Menu,
}

impl Verb {
    /// In the order error messages list them.
    pub const ALL: [Verb; 8] = [
        Verb::Start,
        Verb::Shutdown,
        Verb::Reboot,
        Verb::Pause,
        Verb::Snapshot,
        Verb::Migrate,
        Verb::ForceOff,
        Verb::Menu,
    ];

    /// Its one spelling, as a `[keys]` entry names it.
    pub const fn name(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Shutdown => "shutdown",
            Verb::Reboot => "reboot",
            Verb::Pause => "pause",
            Verb::Snapshot => "snapshot",
            Verb::Migrate => "migrate",
            Verb::ForceOff => "force_off",
            Verb::Menu => "menu",
        }
    }

    pub fn from_name(name: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.name() == name)
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `[keys]` is checked against, from the UI's table of bindings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRules {
    /// Each configurable verb and its built-in key.
    pub builtin: Vec<(Verb, char)>,
    /// Keys that do something else; no verb may take them.
    pub taken: Vec<char>,
}

/// The `[keys]` overrides: only the verbs moved off their built-in key, so the default is empty
/// and needs no knowledge of the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionKeys {
    moved: BTreeMap<Verb, char>,
}

/// A bad `[keys]` entry. [`KeysError::entry`] names it so the loader can point at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeysError {
    NotAVerb { entry: String },
    NotOneChar { entry: String, value: String },
    Taken { entry: String, value: String },
    Twice { entry: String, key: char },
}

impl KeysError {
    /// The `[keys]` entry at fault.
    pub fn entry(&self) -> &str {
        match self {
            KeysError::NotAVerb { entry }
            | KeysError::NotOneChar { entry, .. }
            | KeysError::Taken { entry, .. }
            | KeysError::Twice { entry, .. } => entry,
        }
    }
}

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            KeysError::NotAVerb { entry } => {
                let names: Vec<&str> = Verb::ALL.iter().map(|v| v.name()).collect();
                write!(
                    f,
                    "[keys] {entry}: not an action; one of {}",
                    names.join(" ")
                )
            }
            KeysError::NotOneChar { entry, value } => {
                write!(f, "[keys] {entry} = {value:?}: one character, e.g. \"X\"")
            }
            KeysError::Taken { entry, value } => write!(
                f,
                "[keys] {entry} = {value:?}: that key already does something else"
            ),
            KeysError::Twice { entry, key } => {
                write!(f, "[keys] {entry}: {key:?} is given to two actions")
            }
        }
    }
}

impl std::error::Error for KeysError {}

impl ActionKeys {
    /// From `[keys]` (name -> one character), checked against the UI's `rules`.
    pub fn from_config(
        keys: &BTreeMap<String, String>,
        rules: &KeyRules,
    ) -> Result<ActionKeys, KeysError> {
        let mut moved = BTreeMap::new();
        for (entry, value) in keys {
            let Some(verb) = Verb::from_name(entry) else {
                return Err(KeysError::NotAVerb {
                    entry: entry.clone(),
                });
            };
            let mut chars = value.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(KeysError::NotOneChar {
                    entry: entry.clone(),
                    value: value.clone(),
                });
            };
            if rules.taken.contains(&c) {
                return Err(KeysError::Taken {
                    entry: entry.clone(),
                    value: value.clone(),
                });
            }
            moved.insert(verb, c);
        }
        let mut seen = HashSet::new();
        for &(verb, builtin) in &rules.builtin {
            let c = moved.get(&verb).copied().unwrap_or(builtin);
            if !seen.insert(c) {
                // Built-in keys never clash, so a configured entry took this key.
                let culprit = moved
                    .iter()
                    .find(|(_, k)| **k == c)
                    .map_or("", |(v, _)| v.name());
                return Err(KeysError::Twice {
                    entry: culprit.to_owned(),
                    key: c,
                });
            }
        }
        Ok(ActionKeys { moved })
    }

    /// The key `verb` was moved to, if `[keys]` moved it.
    pub fn moved(&self, verb: Verb) -> Option<char> {
        self.moved.get(&verb).copied()
    }

    /// The verb `[keys]` moved onto `pressed`, if any.
    pub fn verb_at(&self, pressed: char) -> Option<Verb> {
        self.moved
            .iter()
            .find(|(_, c)| **c == pressed)
            .map(|(v, _)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> KeyRules {
        KeyRules {
            builtin: vec![(Verb::Start, 'u'), (Verb::ForceOff, 'X')],
            taken: vec!['q'],
        }
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<ActionKeys, KeysError> {
        let keys = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ActionKeys::from_config(&keys, &rules())
    }

    #[test]
    fn a_verb_may_take_a_key_its_owner_left() {
        let k = parse(&[("start", "X"), ("force_off", "K")]).unwrap();
        assert_eq!(k.moved(Verb::Start), Some('X'));
        assert_eq!(k.verb_at('K'), Some(Verb::ForceOff));
        assert_eq!(k.verb_at('u'), None);
    }

    #[test]
    fn each_bad_entry_is_named() {
        let e = parse(&[("force_off", "u")]).unwrap_err();
        assert_eq!(e.entry(), "force_off");
        assert!(e.to_string().contains("two actions"), "{e}");
        assert!(matches!(
            parse(&[("pause", "q")]),
            Err(KeysError::Taken { .. })
        ));
        let e = parse(&[("force-off", "K")]).unwrap_err();
        assert!(e.to_string().contains("one of start"), "{e}");
    }
}
