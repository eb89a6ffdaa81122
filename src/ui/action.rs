//! What a key asks the UI to do, apart from which key it is: the vocabulary the binding table
//! maps keys onto and the state's transitions take.

use fleetwatch_core::actions::keys::Verb;

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
    Services,
    HistoryView,
    StepBack,
    StepForward,
    Live,
    GraphRange,
    /// Space: mark or unmark the selected VM.
    Mark,
    /// `a`: the action menu.
    Menu,
    /// A VM action's key (u d r p n m X as built in).
    Act(Verb),
    /// `A`: abort a running migration.
    Abort,
    /// `K`: acknowledge the finding under the cursor, or end its acknowledgement.
    Acknowledge,
    /// `v`: the selected VM's snapshots.
    Snapshots,
    /// `E`: evacuate the selected host (or the selected VM's).
    Evacuate,
    /// `R`: bring back the VMs its evacuation moved away.
    Return,
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
