//! The action keys and their `[keys]` overrides: which pressed key stands for which built-in
//! action key. Terminal-free, so the config loader checks `[keys]` with the rest of the file.

/// The action keys, configurable in `[keys]`: pressed key -> the built-in key it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionKeys {
    pressed: std::collections::HashMap<char, char>,
}

/// A bad `[keys]` entry: which one (its name in `[keys]`), and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KeysError {
    pub key: String,
    pub message: String,
}

/// Built-in action keys and their names in `[keys]`.
pub const ACTION_KEYS: &[(&str, char)] = &[
    ("start", 'u'),
    ("shutdown", 'd'),
    ("reboot", 'r'),
    ("pause", 'p'),
    ("snapshot", 'n'),
    ("migrate", 'm'),
    ("force_off", 'X'),
    ("menu", 'a'),
];

/// Keys the rest of the UI uses; an action may not take them.
pub const TAKEN: &str = "q?/:jkhlgGsSifHLtA<>[] c";

impl Default for ActionKeys {
    fn default() -> Self {
        ActionKeys {
            pressed: ACTION_KEYS.iter().map(|&(_, c)| (c, c)).collect(),
        }
    }
}

impl ActionKeys {
    /// From `[keys]` (name -> one character); unknown names and clashes are errors, each
    /// naming the `[keys]` entry at fault so the config loader can point at its line.
    pub fn from_config(
        keys: &std::collections::BTreeMap<String, String>,
    ) -> Result<ActionKeys, KeysError> {
        let fail = |key: &str, message: String| KeysError {
            key: key.to_owned(),
            message,
        };
        let mut chosen: Vec<(char, char)> = ACTION_KEYS.iter().map(|&(_, c)| (c, c)).collect();
        for (name, value) in keys {
            let Some(i) = ACTION_KEYS.iter().position(|(n, _)| n == name) else {
                let names: Vec<&str> = ACTION_KEYS.iter().map(|(n, _)| *n).collect();
                return Err(fail(
                    name,
                    format!("[keys] {name}: not an action; one of {}", names.join(" ")),
                ));
            };
            let mut chars = value.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(fail(
                    name,
                    format!("[keys] {name} = {value:?}: one character, e.g. \"X\""),
                ));
            };
            if TAKEN.contains(c) {
                return Err(fail(
                    name,
                    format!("[keys] {name} = {value:?}: that key already does something else"),
                ));
            }
            chosen[i].0 = c;
        }
        let mut seen = std::collections::HashSet::new();
        for (c, _) in &chosen {
            if !seen.insert(*c) {
                // Defaults never clash: a configured entry took this key.
                let culprit = ACTION_KEYS
                    .iter()
                    .zip(&chosen)
                    .find(|((n, _), (p, _))| p == c && keys.contains_key(*n))
                    .map_or("", |((n, _), _)| n);
                return Err(fail(
                    culprit,
                    format!("[keys] {culprit}: {c:?} is given to two actions"),
                ));
            }
        }
        Ok(ActionKeys {
            pressed: chosen.into_iter().collect(),
        })
    }

    /// The key shown for a built-in action key.
    pub fn shown(&self, builtin: char) -> char {
        self.pressed
            .iter()
            .find(|(_, b)| **b == builtin)
            .map_or(builtin, |(p, _)| *p)
    }

    /// The built-in action key that `pressed` stands for, if any.
    pub fn builtin_for(&self, pressed: char) -> Option<&char> {
        self.pressed.get(&pressed)
    }
}
