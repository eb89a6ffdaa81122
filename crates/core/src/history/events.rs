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
    "snapshot-taken",
    "snapshot-reverted",
    "snapshot-deleted",
    "host-up",
    "host-down",
    "host-stale",
];

/// What changed between two readings of one VM's snapshots: each snapshot new (taken) and
/// gone (deleted), and a current one that moved back to a snapshot that was already there
/// (reverted), with the snapshot's name.
pub fn snapshot_changes(
    old: &[crate::model::sample::SnapshotInfo],
    new: &[crate::model::sample::SnapshotInfo],
) -> Vec<(&'static str, String)> {
    let had = |n: &str| old.iter().any(|s| s.name == n);
    let has = |n: &str| new.iter().any(|s| s.name == n);
    let mut out: Vec<(&'static str, String)> = new
        .iter()
        .filter(|s| !had(&s.name))
        .map(|s| ("snapshot-taken", s.name.clone()))
        .collect();
    out.extend(
        old.iter()
            .filter(|s| !has(&s.name))
            .map(|s| ("snapshot-deleted", s.name.clone())),
    );
    let current = |l: &[crate::model::sample::SnapshotInfo]| {
        l.iter().find(|s| s.current).map(|s| s.name.clone())
    };
    if let Some(now) = current(new)
        && had(&now)
        && current(old).as_ref() != Some(&now)
    {
        out.push(("snapshot-reverted", now));
    }
    out
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
