//! Keys to actions. Habits from htop, k9s and vim: `?` help, `/` filter, `:` commands, q quits,
//! arrows and hjkl move. No key here changes anything on a hypervisor; the letters the actions
//! will use (a d m n p r u X space) are left free.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    FocusNext,
    Enter,
    ToggleDetail,
    Findings,
    HistoryView,
    StepBack,
    StepForward,
    Live,
    GraphRange,
    /// Space: mark or unmark the selected VM.
    Mark,
    /// `a`: the action menu.
    Menu,
    /// An action key (u d r p n m X), or c in the migration form.
    Act(char),
    /// `A`: abort a running migration.
    Abort,
    SortNext,
    SortPrev,
    SortReverse,
    StartFilter,
    StartCommand,
    Refresh,
    Input(char),
    Backspace,
    /// Ctrl-U while typing: the whole line goes.
    ClearInput,
    Submit,
    Noop,
}

/// What each key does, for the help screen; kept beside the mapping so the two cannot drift.
pub const HELP: &[(&str, &str)] = &[
    (
        "?",
        "this help; ↑↓ PgUp PgDn scroll it where it does not fit",
    ),
    ("q  ^C", "quit"),
    ("↑↓  j k", "move the selection"),
    (
        "PgUp PgDn g G",
        "page up / down · first / last row (also ^u ^d Home End)",
    ),
    (
        "Tab  ←→  h l",
        "switch between the hosts pane and the VMs table",
    ),
    (
        "Enter  i",
        "host: its detail (Enter there: only its VMs) · VM: detail",
    ),
    (
        "f",
        "findings by kind; Enter: a kind's VMs, or a finding's VM",
    ),
    ("H", "history: events, migrations, hosts (Tab switches)"),
    ("[ ]  L", "time travel 5 min back / forward · L: live again"),
    ("t", "graph range: 5 min, 1 hour, day, week, month, year"),
    (
        "s S  < >",
        "sort: next column, reverse, previous / next column",
    ),
    (
        "/",
        "filter by name, host or state; ~ starts a regex; ^U clears",
    ),
    (
        ":",
        "at -6h|14:30 · live · sort COL · host NAME · flag KIND · q",
    ),
    (
        "F5  ^L",
        "poll every host now (retries down hosts) and redraw",
    ),
    (
        "Esc",
        "back one layer: pane, VM detail, filter, finding kind, host",
    ),
    ("space  a", "mark a VM (act on a set) · the action menu"),
    (
        "u d r p n m X",
        "start stop reboot pause snapshot migrate force-off; A abort",
    ),
    (
        "mouse",
        "click: select · click a title: sort · wheel: scroll",
    ),
];

pub use fleetwatch_core::actions::keys::{ACTION_KEYS, ActionKeys, KeysError};

pub fn map(key: KeyEvent, typing: bool, actions: &ActionKeys) -> Action {
    if let (false, KeyCode::Char(c)) = (typing, key.code)
        && !key.modifiers.contains(KeyModifiers::CONTROL)
    {
        match actions.builtin_for(c) {
            Some('a') => return Action::Menu,
            Some(b) => return Action::Act(*b),
            // A built-in action key moved elsewhere no longer acts.
            None if ACTION_KEYS.iter().any(|(_, k)| *k == c) => return Action::Noop,
            None => {}
        }
    }
    map_fixed(key, typing)
}

fn map_fixed(key: KeyEvent, typing: bool) -> Action {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl {
        return match key.code {
            KeyCode::Char('u') if typing => Action::ClearInput,
            KeyCode::Char('c') => Action::Quit,
            KeyCode::Char('l') => Action::Refresh,
            KeyCode::Char('d') => Action::PageDown,
            KeyCode::Char('u') => Action::PageUp,
            KeyCode::Char('f') => Action::PageDown,
            KeyCode::Char('b') => Action::PageUp,
            _ => Action::Noop,
        };
    }
    if typing {
        return match key.code {
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => Action::FocusNext,
            KeyCode::Esc => Action::Back,
            KeyCode::Enter => Action::Submit,
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Char(c) => Action::Input(c),
            KeyCode::Up => Action::Up,
            KeyCode::Down => Action::Down,
            KeyCode::Home => Action::Top,
            KeyCode::End => Action::Bottom,
            KeyCode::PageUp => Action::PageUp,
            KeyCode::PageDown => Action::PageDown,
            _ => Action::Noop,
        };
    }
    match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Esc => Action::Back,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Tab
        | KeyCode::BackTab
        | KeyCode::Left
        | KeyCode::Right
        | KeyCode::Char('h' | 'l') => Action::FocusNext,
        KeyCode::Enter => Action::Enter,
        KeyCode::Char('i') => Action::ToggleDetail,
        KeyCode::Char('f') => Action::Findings,
        KeyCode::Char('H') => Action::HistoryView,
        KeyCode::Char('[') => Action::StepBack,
        KeyCode::Char(']') => Action::StepForward,
        KeyCode::Char('L') => Action::Live,
        KeyCode::Char('t') => Action::GraphRange,
        KeyCode::Char(' ') => Action::Mark,
        KeyCode::Char('a') => Action::Menu,
        KeyCode::Char('A') => Action::Abort,
        KeyCode::Char(c @ ('u' | 'd' | 'r' | 'p' | 'n' | 'm' | 'X' | 'c')) => Action::Act(c),
        KeyCode::Char('s') | KeyCode::Char('>') => Action::SortNext,
        KeyCode::Char('<') => Action::SortPrev,
        KeyCode::Char('S') => Action::SortReverse,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char(':') => Action::StartCommand,
        KeyCode::F(5) => Action::Refresh,
        _ => Action::Noop,
    }
}
