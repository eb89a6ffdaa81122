//! fleetwatch's libvirt layer: threads that own libvirt connections and send whole host
//! snapshots to the app. Nothing here runs on the UI task, and nothing the UI does can block on a
//! hypervisor. libvirt's numbers (states, event codes, error codes) end here: what leaves this
//! crate is the core's typed vocabulary, and errors whose text is libvirt's own message.
//!
//! How a sample travels:
//!
//! ```text
//! scheduler thread (every host's state machine and timers; keeps time, never calls libvirt)
//!   └─ call pool (fixed threads; a hung call's thread is replaced and left to end)
//!        └─ Source::poll  (libvirt::LibvirtSource: bulk stats, gaps, XML trickle)
//!             → HostSample → Message { host, update: Sample | Link | Action } → the mailbox → the app
//! ```
//!
//! - `supervisor/`: the collectors ([`supervisor::Collectors`]): the scheduler, the call pool,
//!   jittered back-off, and the action pool that runs [`executor::Actor`]s on the connection a
//!   host's last connect made.
//! - `source`: the [`Source`] and [`Connector`] traits the supervisor knows; `libvirt` ships
//!   the implementation, tests plug in mocks.
//! - `ffi/`: every `unsafe` call into libvirt (bulk stats, domain events, typed params).
//! - `stats`, `gaps`, `cost`, `known`, `guests`, `domxml`, `snapshots`, `host`, `local`: what one poll reads
//!   and how it is turned into a [`fleetwatch_core::model::sample::HostSample`].
//! - `codes`, `events`, `error`: leaves that turn libvirt's numbers and failures into the core's
//!   types and this crate's errors; `meter` counts calls and beats the heartbeat; `children`
//!   ends the ssh processes of abandoned connections.

pub mod children;
pub mod codes;
pub mod cost;
pub mod domxml;
pub mod error;
pub mod events;
pub mod executor;
pub mod ffi;
pub mod gaps;
pub mod guests;
pub mod host;
pub mod known;
pub mod libvirt;
pub mod local;
pub mod meter;
pub mod snapshots;
pub mod source;
pub mod stats;
pub mod supervisor;

pub use error::{ActError, ActionError, LibvirtError, LinkError, SourceError};
pub use meter::Heartbeat;
pub use source::{Connector, Source};

use std::sync::Once;

static INIT: Once = Once::new();

/// Process-wide libvirt set-up, done once before any connection opens: silence libvirt's
/// default error printer (it would write over the UI), and run libvirt's event loop on a thread
/// of its own so keepalives and, later, domain events work.
pub fn libvirt_init() {
    INIT.call_once(|| {
        virt::error::clear_error_callback();
        if let Err(e) = virt::event::event_register_default_impl() {
            tracing::warn!("libvirt event loop not registered: {}", e.message());
            return;
        }
        // Without a timer the loop can sleep forever in poll() and miss new connections.
        if let Err(e) = virt::event::event_add_timeout(1000, |_, _| {}, std::ptr::null_mut()) {
            tracing::warn!("libvirt event timer not added: {}", e.message());
        }
        let spawned = std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| {
                loop {
                    if let Err(e) = virt::event::event_run_default_impl() {
                        tracing::warn!("libvirt event loop: {}", e.message());
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("libvirt event thread not started: {e}");
        }
    });
}
