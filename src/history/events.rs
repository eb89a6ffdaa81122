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

/// What a libvirt lifecycle event (type, detail) means here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// A plain transition, recorded as this kind.
    Kind(&'static str),
    /// The incoming side of a live migration began (STARTED_MIGRATED on the destination).
    MigrationStarted,
    /// The outgoing side ended (STOPPED_MIGRATED on the source).
    MigrationEnded,
    /// Not recorded from the event: the placement difference says it better (defined,
    /// undefined, the middle steps of a migration, shutdown in progress).
    Ignore,
}

/// libvirt's virDomainEventType and detail numbers.
pub fn lifecycle(event: i32, detail: i32) -> Lifecycle {
    use Lifecycle::*;
    match (event, detail) {
        (2, 1) => MigrationStarted,
        (5, 3) => MigrationEnded,
        (2, _) => Kind("started"),
        (3, 1 | 7 | 8) => Ignore,
        (3, _) | (7, _) => Kind("paused"),
        (4, 1 | 3 | 4) => Ignore,
        (4, _) => Kind("resumed"),
        (5, 2) | (8, _) => Kind("crashed"),
        (5, _) => Kind("stopped"),
        _ => Ignore,
    }
}

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
    fn lifecycle_events() {
        assert_eq!(lifecycle(2, 0), Lifecycle::Kind("started"));
        assert_eq!(lifecycle(2, 1), Lifecycle::MigrationStarted);
        assert_eq!(lifecycle(5, 3), Lifecycle::MigrationEnded);
        assert_eq!(lifecycle(5, 1), Lifecycle::Kind("stopped"));
        assert_eq!(lifecycle(5, 2), Lifecycle::Kind("crashed"));
        assert_eq!(lifecycle(3, 0), Lifecycle::Kind("paused"));
        assert_eq!(lifecycle(3, 1), Lifecycle::Ignore);
        assert_eq!(lifecycle(4, 0), Lifecycle::Kind("resumed"));
        assert_eq!(lifecycle(4, 1), Lifecycle::Ignore);
        assert_eq!(lifecycle(0, 0), Lifecycle::Ignore);
        assert_eq!(lifecycle(6, 0), Lifecycle::Ignore);
    }

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
