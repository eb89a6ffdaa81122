//! The only `unsafe` in fleetwatch: libvirt calls the `virt` crate does not wrap, or wraps with a
//! leak. Each function copies what libvirt returned into owned Rust values and frees libvirt's
//! memory before returning, so nothing raw escapes this module.
#![allow(unsafe_code)]

mod bulk;
mod domain;
mod events;
mod guest;
mod params;
#[cfg(test)]
mod tests;

pub use bulk::{StatsRecord, all_domain_stats, node_cpu_stats};
pub use domain::abort_job;
pub use events::{DomainEvent, EventKind, EventRegistration, EventSink, register_domain_events};
pub use guest::{RawInterface, guest_info, interface_addresses};
pub use params::ParamValue;
