//! The seam between the supervisor and a hypervisor: the supervisor only knows these traits, so
//! tests drive it through hangs, panics and refusals with sources of their own.

use crate::error::SourceError;
use crate::executor::Actor;
use crate::meter::Heartbeat;
use fleetwatch_core::model::sample::HostSample;
use std::sync::Arc;

/// One connected hypervisor. `poll` blocks; it is only ever called on a collector thread. It
/// beats `progress` after each libvirt call that completes: the supervisor gives the host up
/// only when no beat came for the whole timeout, so a slow poll that moves is never cut off.
pub trait Source: Send {
    fn poll(&mut self, progress: &Heartbeat) -> Result<HostSample, SourceError>;
    /// Carries out actions on this connection, when it may write.
    fn actor(&self) -> Option<Arc<dyn Actor>> {
        None
    }
}

/// Opens sources. The shipped one is [`crate::libvirt::LibvirtConnector`]; tests plug in their own to
/// drive the supervisor through hangs and failures without a hypervisor.
pub trait Connector: Send + Sync + 'static {
    /// Opens a source, beating `progress` after each call that completed, so a far host whose
    /// connect takes many slow round trips is not given up while it answers.
    fn connect(&self, uri: &str, progress: &Heartbeat) -> Result<Box<dyn Source>, SourceError>;
}
