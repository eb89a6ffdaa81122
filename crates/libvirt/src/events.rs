//! libvirt's lifecycle event numbers, turned into the core's [`Lifecycle`].

use fleetwatch_core::model::event::Lifecycle;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
