//! What counts as an event, from the two inputs: libvirt's lifecycle events (exact, but missed
//! while disconnected) and the difference between successive placements (always right, but only
//! as precise as the poll). Pure functions, so both are tested without a store.

use crate::model::sample::VmState;

/// Event kinds as stored and as `history --json` names them.
pub const KINDS: &[&str] = &[
    "migrated",
    "started",
    "stopped",
    "paused",
    "resumed",
    "crashed",
    "defined",
    "undefined",
    "copy-added",
    "copy-removed",
    "config-changed",
    "host-up",
    "host-down",
    "host-stale",
];

/// The event a state change on one host is, if any.
pub fn transition(from: VmState, to: VmState) -> Option<&'static str> {
    use VmState::*;
    if from == to {
        return None;
    }
    Some(match (from, to) {
        (_, Crashed) => "crashed",
        (Paused, Running) => "resumed",
        (Running, Paused) => "paused",
        (Shutoff | Crashed | Other, Running | Paused) => "started",
        (Running | Paused, Shutoff | Other) => "stopped",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample::VmState::*;

    #[test]
    fn transitions() {
        assert_eq!(transition(Shutoff, Running), Some("started"));
        assert_eq!(transition(Running, Shutoff), Some("stopped"));
        assert_eq!(transition(Running, Paused), Some("paused"));
        assert_eq!(transition(Paused, Running), Some("resumed"));
        assert_eq!(transition(Running, Crashed), Some("crashed"));
        assert_eq!(transition(Running, Running), None);
        assert_eq!(transition(Crashed, Shutoff), None);
    }
}
