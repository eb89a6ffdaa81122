use super::*;
use crate::ui::action::Action;
use ratatui::crossterm::event::KeyCode;

/// Every (key, binding) pair of the table.
fn pairs() -> impl Iterator<Item = (Key, &'static Binding)> {
    BINDINGS
        .iter()
        .flat_map(|b| b.keys.iter().map(move |k| (*k, b)))
}

#[test]
fn no_two_bindings_take_one_key_where_both_work() {
    let all: Vec<_> = pairs().collect();
    for (i, (k, a)) in all.iter().enumerate() {
        for (l, b) in &all[i + 1..] {
            let overlap = [false, true]
                .iter()
                .any(|&typing| a.when.covers(typing) && b.when.covers(typing));
            assert!(
                !(k == l && overlap),
                "{k} is bound twice: {:?} and {:?}",
                a.action,
                b.action
            );
        }
    }
}

#[test]
fn the_table_starts_with_a_help_row_and_each_verb_has_one_binding() {
    assert!(matches!(BINDINGS[0].help, Help::Row(..)));
    for verb in Verb::ALL {
        let n = BINDINGS.iter().filter(|b| b.verb == Some(verb)).count();
        assert_eq!(n, 1, "{verb}");
    }
    for b in BINDINGS {
        if let Action::Act(v) = b.action {
            assert_eq!(b.verb, Some(v), "an action key is configurable as itself");
        }
        if b.verb.is_some() {
            assert_eq!(b.keys.len(), 1, "{:?}: [keys] moves one key", b.action);
            assert!(b.keys[0].plain_char().is_some(), "{:?}", b.action);
            assert_eq!(b.when, When::Browsing, "{:?}", b.action);
        }
    }
}

#[test]
fn every_configurable_action_key_is_in_the_menu_with_its_key() {
    let menu = menu(&ActionKeys::default());
    for b in BINDINGS
        .iter()
        .filter(|b| matches!(b.action, Action::Act(_)))
    {
        let verb = b.verb.expect("configurable");
        let key = b.keys[0].to_string();
        assert!(
            menu.iter().any(|(k, _, v)| *v == verb && *k == key),
            "{verb} is not in the menu as {key}"
        );
    }
}

#[test]
fn what_keys_may_not_take_is_every_other_character_the_table_binds() {
    let rules = key_rules();
    for (key, b) in pairs() {
        let Some(c) = key.plain_char() else { continue };
        if b.verb.is_some() {
            assert!(!rules.taken.contains(&c), "{c} is a verb's own key");
            assert!(rules.builtin.contains(&(b.verb.unwrap_or(Verb::Menu), c)));
        } else if b.when.covers(false) {
            assert!(rules.taken.contains(&c), "{c} ({:?})", b.action);
        }
    }
}

#[test]
fn keys_are_spelled_as_the_help_spells_them() {
    use KeyCode as K;
    let spelled: Vec<String> = [
        Key::ch(' '),
        Key::ctrl('c'),
        Key::code(K::PageDown),
        Key::code(K::F(5)),
        Key::code(K::Esc),
        Key::code(K::Up),
    ]
    .iter()
    .map(Key::to_string)
    .collect();
    assert_eq!(spelled, ["space", "^C", "PgDn", "F5", "Esc", "↑"]);
}

#[test]
fn help_labels_show_moved_keys() {
    let mut moved = std::collections::BTreeMap::new();
    moved.insert("menu".to_owned(), "M".to_owned());
    moved.insert("start".to_owned(), "U".to_owned());
    let keys = ActionKeys::from_config(&moved, &key_rules()).expect("valid [keys]");
    let rows = help_rows(&keys);
    assert!(rows.iter().any(|(k, _)| k == "space  M"), "{rows:?}");
    assert!(rows.iter().any(|(k, _)| k == "U d r p n m X"), "{rows:?}");
}
