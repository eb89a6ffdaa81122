//! The rows the recorder hands a store and gets back, in domain terms: ids are the store's own
//! (a backend numbers its rows as it likes), states are the model's, not their stored labels.

use crate::link::LinkState;
use crate::model::sample::VmState;

/// A row's id in its table, as the store gave it.
pub type RowId = i64;

/// One statistics series: a VM's or a host's (the store decides how to tell them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Series {
    Vm(RowId),
    Host(RowId),
}

/// A VM's move as an event records it: from, to, and when it started if that was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub from: RowId,
    pub to: RowId,
    pub started_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    pub at: i64,
    pub kind: &'a str,
    pub vm: Option<RowId>,
    pub host: RowId,
    pub moved: Option<Move>,
    pub actor: &'a str,
    pub detail: &'a str,
}

/// A copy of a VM on a host, from `since` until it is closed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlacement {
    pub vm: RowId,
    pub host: RowId,
    pub state: VmState,
    pub vcpus: Option<u32>,
    pub memory: Option<u64>,
    pub max_memory: Option<u64>,
    pub since: i64,
}

/// A placement still open on a host, as a starting recorder takes it back.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPlacement {
    pub uuid: String,
    pub row: RowId,
    pub state: VmState,
    pub vcpus: Option<u32>,
    pub memory: Option<u64>,
    pub max_memory: Option<u64>,
    pub since: i64,
}

/// A VM's copy still open on a host, named: what recorders sharing a database know of the VM
/// on the hosts the others hold.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCopy {
    pub host: String,
    pub state: VmState,
    pub since: i64,
}

/// Where the store last had a VM, on every host: its open copies and its waiting judgments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Whereabouts {
    pub copies: Vec<OpenCopy>,
    pub pending: Vec<PendingRow>,
}

/// A host's open state row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostStateRow {
    pub row: RowId,
    pub state: LinkState,
}

/// A judgment the recorder has not made yet (see `recorder::copies`): the event it will be
/// unless another host shows the VM running.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPending<'a> {
    pub vm: RowId,
    pub host: RowId,
    pub at: i64,
    pub kind: &'a str,
    pub actor: &'a str,
    pub detail: &'a str,
    pub was: VmState,
}

/// A waiting judgment as a starting recorder takes it back; its host by name, since host ids
/// outlive the config that named them.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRow {
    pub id: RowId,
    pub uuid: String,
    pub host: String,
    pub at: i64,
    pub actor: String,
    pub was: VmState,
}

/// A fleetwatch action on a VM, as its audit's start record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnAction {
    pub operator: String,
    pub action: String,
    /// The action as the audit stored it (JSON), to tell two snapshots apart.
    pub params: String,
}

/// A VM state from its stored label; every backend stores the labels `VmState::label` gives.
pub fn vm_state(label: &str) -> VmState {
    label.parse().unwrap_or(VmState::Other)
}

/// A host state from its stored label (`LinkState::label`).
pub fn link_state(label: &str) -> LinkState {
    label.parse().unwrap_or(LinkState::Connecting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_labels_read_back_and_match_the_json_names() {
        use VmState::*;
        for s in [Running, Paused, Shutoff, Crashed, Other] {
            assert_eq!(vm_state(s.label()), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json.trim_matches('"'), s.label());
        }
        use LinkState::*;
        for s in [Connecting, Up, Stale, Down] {
            assert_eq!(link_state(s.label()), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json.trim_matches('"'), s.label());
        }
        assert_eq!(
            vm_state("RUNNING?"),
            Other,
            "an unknown label is no state of ours"
        );
        assert_eq!(link_state(""), Connecting);
    }
}
