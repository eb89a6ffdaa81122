//! The table itself, in the order of the `?` screen.

use super::binding::{Binding, Help, Key, When};
use crate::ui::action::Action;
use fleetwatch_core::actions::keys::Verb;
use ratatui::crossterm::event::KeyCode;

const fn bind(keys: &'static [Key], action: Action, when: When, help: Help) -> Binding {
    Binding {
        keys,
        action,
        when,
        help,
        verb: None,
        menu: None,
    }
}

/// A VM action: configurable and in the menu.
const fn act(keys: &'static [Key], verb: Verb, menu: &'static str, help: Help) -> Binding {
    Binding {
        keys,
        action: Action::Act(verb),
        when: When::Browsing,
        help,
        verb: Some(verb),
        menu: Some(menu),
    }
}

use Action as A;
use Help::{Above, Pane, Row};
use KeyCode as K;
use When::{Always, Browsing, Typing};

/// Every key binding. Rows of the help start where a binding has `Help::Row`.
pub(super) const TABLE: &[Binding] = &[
    bind(
        &[Key::ch('?'), Key::code(K::F(1))],
        A::Help,
        Browsing,
        Row(
            "?  F1",
            "this help; ↑↓ PgUp PgDn scroll it where it does not fit",
        ),
    ),
    bind(&[Key::ch('q')], A::Quit, Browsing, Row("q  ^C", "quit")),
    bind(&[Key::ctrl('c')], A::Quit, Always, Above),
    bind(
        &[Key::code(K::Up)],
        A::Up,
        Always,
        Row("↑↓  j k", "move the selection"),
    ),
    bind(&[Key::ch('k')], A::Up, Browsing, Above),
    bind(&[Key::code(K::Down)], A::Down, Always, Above),
    bind(&[Key::ch('j')], A::Down, Browsing, Above),
    bind(
        &[Key::code(K::PageUp), Key::ctrl('b')],
        A::PageUp,
        Always,
        Row(
            "PgUp PgDn g G",
            "page up / down · first / last row (also ^U ^D ^B ^F Home End)",
        ),
    ),
    // Typing, ^U clears the line instead.
    bind(&[Key::ctrl('u')], A::PageUp, Browsing, Above),
    bind(
        &[Key::code(K::PageDown), Key::ctrl('d'), Key::ctrl('f')],
        A::PageDown,
        Always,
        Above,
    ),
    bind(&[Key::code(K::Home)], A::Top, Always, Above),
    bind(&[Key::ch('g')], A::Top, Browsing, Above),
    bind(&[Key::code(K::End)], A::Bottom, Always, Above),
    bind(&[Key::ch('G')], A::Bottom, Browsing, Above),
    bind(
        &[
            Key::code(K::Tab),
            Key::code(K::BackTab),
            Key::code(K::Left),
            Key::code(K::Right),
        ],
        A::FocusNext,
        Always,
        Row(
            "Tab  ←→  h l",
            "hosts pane ↔ VMs table · mouse: click, click a title, wheel",
        ),
    ),
    bind(&[Key::ch('h'), Key::ch('l')], A::FocusNext, Browsing, Above),
    bind(
        &[Key::code(K::Enter)],
        A::Enter,
        Browsing,
        Row(
            "Enter  i",
            "host: its detail (Enter there: only its VMs) · VM: detail",
        ),
    ),
    bind(&[Key::ch('i')], A::ToggleDetail, Browsing, Above),
    bind(
        &[Key::ch('f')],
        A::Findings,
        Browsing,
        Row(
            "f  K  o",
            "findings (Enter: its VMs) · K: ack it · o: services by group",
        ),
    ),
    bind(&[Key::ch('K')], A::Acknowledge, Browsing, Above),
    bind(&[Key::ch('o')], A::Services, Browsing, Above),
    bind(
        &[Key::ch('H')],
        A::HistoryView,
        Browsing,
        Row("H", "history: events, migrations, hosts (Tab switches)"),
    ),
    bind(
        &[Key::ch('[')],
        A::StepBack,
        Browsing,
        Row("[ ]  L", "time travel 5 min back / forward · L: live again"),
    ),
    bind(&[Key::ch(']')], A::StepForward, Browsing, Above),
    bind(&[Key::ch('L')], A::Live, Browsing, Above),
    bind(
        &[Key::ch('t')],
        A::GraphRange,
        Browsing,
        Row(
            "t  v",
            "graph range 5 min…1 year · v: snapshots (revert, delete)",
        ),
    ),
    bind(&[Key::ch('v')], A::Snapshots, Browsing, Above),
    bind(
        &[Key::ch('s'), Key::ch('>')],
        A::SortNext,
        Browsing,
        Row(
            "s S  < >",
            "sort: next column, reverse, previous / next column",
        ),
    ),
    bind(&[Key::ch('S')], A::SortReverse, Browsing, Above),
    bind(&[Key::ch('<')], A::SortPrev, Browsing, Above),
    bind(
        &[Key::ch('/')],
        A::StartFilter,
        Browsing,
        Row(
            "/",
            "filter by name, host, state or IP; ~ starts a regex; ^U clears",
        ),
    ),
    bind(&[Key::ctrl('u')], A::ClearInput, Typing, Above),
    bind(
        &[Key::ch(':')],
        A::StartCommand,
        Browsing,
        Row(
            ":",
            "at -6h|14:30 · live · sort · host NAME · flag KIND · mark · q",
        ),
    ),
    bind(
        &[Key::code(K::F(5))],
        A::Refresh,
        Browsing,
        Row(
            "F5  ^L",
            "poll every host now (retries down hosts) and redraw",
        ),
    ),
    bind(&[Key::ctrl('l')], A::Refresh, Always, Above),
    bind(
        &[Key::code(K::Esc)],
        A::Back,
        Always,
        Row(
            "Esc",
            "back one layer: pane, VM detail, filter, finding kind, host",
        ),
    ),
    bind(
        &[Key::ch(' ')],
        A::Mark,
        Browsing,
        Row(
            "space  {menu}",
            "mark a VM (act on a set) · the action menu",
        ),
    ),
    Binding {
        verb: Some(Verb::Menu),
        ..bind(&[Key::ch('a')], A::Menu, Browsing, Above)
    },
    act(
        &[Key::ch('u')],
        Verb::Start,
        "start",
        Row(
            "{start} {shutdown} {reboot} {pause} {snapshot} {migrate} {force_off}",
            "start stop reboot pause snapshot migrate force-off; A abort",
        ),
    ),
    act(&[Key::ch('d')], Verb::Shutdown, "graceful shutdown", Above),
    act(
        &[Key::ch('r')],
        Verb::Reboot,
        "reboot (type the name)",
        Above,
    ),
    act(&[Key::ch('p')], Verb::Pause, "pause / resume", Above),
    act(
        &[Key::ch('n')],
        Verb::Snapshot,
        "snapshot (name, description)",
        Above,
    ),
    act(
        &[Key::ch('m')],
        Verb::Migrate,
        "live migrate (choose a host; type the name)",
        Above,
    ),
    act(
        &[Key::ch('X')],
        Verb::ForceOff,
        "force off (power cut; type the name)",
        Above,
    ),
    bind(&[Key::ch('A')], A::Abort, Browsing, Above),
    bind(
        &[Key::ch('E')],
        A::Evacuate,
        Browsing,
        Row(
            "E  R",
            "evacuate the host (maintenance) · R: return its VMs",
        ),
    ),
    bind(&[Key::ch('R')], A::Return, Browsing, Above),
    // The migration form is no line to type into, so its one letter is a binding of its own.
    bind(
        &[Key::ch('c')],
        A::Input('c'),
        Browsing,
        Pane("the migrate form"),
    ),
];
