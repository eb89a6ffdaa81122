//! Domain events as the core knows them: libvirt's lifecycle codes are turned into
//! [`Lifecycle`] by the libvirt crate, so nothing here sees a libvirt number.

/// A domain event as the hypervisor delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEvent {
    pub uuid: String,
    pub name: String,
    pub kind: EventKind,
    /// When libvirt delivered it (Unix ms): events carry no time of their own.
    pub at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Lifecycle(Lifecycle),
    MetadataChanged,
    DeviceChanged,
}

/// What a lifecycle event means here.
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
