//! Domain event callbacks: libvirt calls them on its event loop thread and they hand each event
//! to a Rust closure. libvirt owns each boxed closure and frees it through `free_sink` once its
//! callback is deregistered; the registration keeps the connection alive until then.

use super::domain::{domain_name, domain_uuid};
use std::ffi::{c_char, c_int, c_void};
use virt::connect::Connect;
use virt::error::Error;
use virt_sys as sys;

pub use fleetwatch_core::model::event::{DomainEvent, EventKind};

pub type EventSink = std::sync::Arc<dyn Fn(DomainEvent) + Send + Sync>;

/// Domain event callbacks registered on a connection; deregistered when dropped.
pub struct EventRegistration {
    conn: sys::virConnectPtr,
    ids: Vec<c_int>,
}

// SAFETY: the pointer is a counted reference to a libvirt connection, which libvirt locks
// internally; it is only used to deregister and to drop that reference.
unsafe impl Send for EventRegistration {}

fn deliver(dom: sys::virDomainPtr, opaque: *mut c_void, kind: EventKind) {
    if opaque.is_null() || dom.is_null() {
        return;
    }
    // A panic must not unwind into libvirt's C event loop.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: opaque is the Box<EventSink> we registered, alive until libvirt calls `free_sink`.
        let sink = unsafe { &*(opaque as *const EventSink) };
        sink(DomainEvent {
            uuid: domain_uuid(dom),
            name: domain_name(dom),
            kind,
            at_ms: chrono::Utc::now().timestamp_millis(),
        });
    }));
}

unsafe extern "C" fn on_lifecycle(
    _c: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    detail: c_int,
    opaque: *mut c_void,
) -> c_int {
    deliver(
        dom,
        opaque,
        EventKind::Lifecycle(crate::events::lifecycle(event, detail)),
    );
    0
}

unsafe extern "C" fn on_metadata(
    _c: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _type: c_int,
    _nsuri: *const c_char,
    opaque: *mut c_void,
) {
    deliver(dom, opaque, EventKind::MetadataChanged);
}

unsafe extern "C" fn on_device(
    _c: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _alias: *const c_char,
    opaque: *mut c_void,
) {
    deliver(dom, opaque, EventKind::DeviceChanged);
}

unsafe extern "C" fn free_sink(opaque: *mut c_void) {
    if !opaque.is_null() {
        // SAFETY: opaque came from Box::into_raw in `register_domain_events`; libvirt frees once.
        drop(unsafe { Box::from_raw(opaque as *mut EventSink) });
    }
}

/// Registers lifecycle, metadata-change and device add/remove callbacks for every domain of
/// the connection. Needs libvirt's event loop running (see [`crate::libvirt_init`]).
pub fn register_domain_events(conn: &Connect, sink: EventSink) -> Result<EventRegistration, Error> {
    type Generic = unsafe extern "C" fn(sys::virConnectPtr, sys::virDomainPtr, *mut c_void);
    // SAFETY: libvirt calls each callback with the signature of its event ID; the casts are the
    // C API's VIR_DOMAIN_EVENT_CALLBACK, from one function pointer type to another.
    let callbacks: [(u32, Generic); 4] = unsafe {
        [
            (
                sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        sys::virConnectPtr,
                        sys::virDomainPtr,
                        c_int,
                        c_int,
                        *mut c_void,
                    ) -> c_int,
                    Generic,
                >(on_lifecycle),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        sys::virConnectPtr,
                        sys::virDomainPtr,
                        c_int,
                        *const c_char,
                        *mut c_void,
                    ),
                    Generic,
                >(on_metadata),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        sys::virConnectPtr,
                        sys::virDomainPtr,
                        *const c_char,
                        *mut c_void,
                    ),
                    Generic,
                >(on_device),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        sys::virConnectPtr,
                        sys::virDomainPtr,
                        *const c_char,
                        *mut c_void,
                    ),
                    Generic,
                >(on_device),
            ),
        ]
    };
    // SAFETY: a counted reference of our own, released in Drop after deregistering.
    unsafe { sys::virConnectRef(conn.as_ptr()) };
    let mut reg = EventRegistration {
        // SAFETY: the pointer of a live connection, kept alive by the reference taken above.
        conn: unsafe { conn.as_ptr() },
        ids: Vec::new(),
    };
    for (id, cb) in callbacks {
        let opaque = Box::into_raw(Box::new(sink.clone())) as *mut c_void;
        // SAFETY: the connection is live; libvirt owns `opaque` from here and frees it with
        // `free_sink`, also when registering fails.
        let rc = unsafe {
            sys::virConnectDomainEventRegisterAny(
                reg.conn,
                std::ptr::null_mut(),
                id as c_int,
                Some(cb),
                opaque,
                Some(free_sink),
            )
        };
        if rc < 0 {
            return Err(Error::last_error());
        }
        reg.ids.push(rc);
    }
    Ok(reg)
}

impl Drop for EventRegistration {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            // SAFETY: id came from a successful registration on this connection.
            unsafe { sys::virConnectDomainEventDeregisterAny(self.conn, id) };
        }
        // SAFETY: releases the reference taken in `register_domain_events`.
        unsafe { sys::virConnectClose(self.conn) };
    }
}
