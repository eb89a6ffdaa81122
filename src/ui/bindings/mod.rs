//! The one table of key bindings. The key map, the `?` screen, the action menu and what
//! `[keys]` may take are all read from [`BINDINGS`], so a key cannot work without being in the
//! help, nor be in the help without working.

use fleetwatch_core::actions::keys::{ActionKeys, KeyRules, Verb};

mod binding;
mod table;

pub use binding::{Binding, Help, Key, When};

/// Every key binding, in the order of the `?` screen.
pub const BINDINGS: &[Binding] = table::TABLE;

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
    BINDINGS
        .iter()
        .filter_map(|b| match b.help {
            Help::Row(label, text) => Some((fill(label, keys), text)),
            Help::Above | Help::Pane(_) => None,
        })
        .collect()
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
