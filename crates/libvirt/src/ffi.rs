//! The only `unsafe` in fleetwatch: libvirt calls the `virt` crate does not wrap, or wraps with a
//! leak. Each function copies what libvirt returned into owned Rust values and frees libvirt's
//! memory before returning, so nothing raw escapes this module.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};
use virt::connect::Connect;
use virt::error::Error;
use virt_sys as sys;

/// One typed parameter value, as libvirt sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Int(i64),
    UInt(u64),
    Double(f64),
    Bool(bool),
    Str(String),
}

impl ParamValue {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            ParamValue::Int(v) => u64::try_from(v).ok(),
            ParamValue::UInt(v) => Some(v),
            ParamValue::Double(v) if v >= 0.0 => Some(v as u64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// One domain's record from `virConnectGetAllDomainStats`, owned.
#[derive(Debug)]
pub struct StatsRecord {
    /// A reference of our own to the domain, for the per-domain calls that fill gaps.
    pub dom: Option<virt::domain::Domain>,
    pub uuid: String,
    pub name: String,
    pub params: Vec<(String, ParamValue)>,
}

/// `virConnectGetAllDomainStats` for every domain (active and inactive) with the given groups
/// and flags, freeing libvirt's list before returning.
pub fn all_domain_stats(
    conn: &Connect,
    groups: u32,
    flags: u32,
) -> Result<Vec<StatsRecord>, Error> {
    let mut list: *mut sys::virDomainStatsRecordPtr = std::ptr::null_mut();
    // SAFETY: conn is a live connection; libvirt fills `list` with a NULL-terminated array that
    // we own and free below with the matching free function.
    let n = unsafe { sys::virConnectGetAllDomainStats(conn.as_ptr(), groups, &mut list, flags) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: i < n, and libvirt returned n valid, non-null records.
        let rec = unsafe { &**list.add(i) };
        // SAFETY: params points at nparams initialised parameters owned by the record.
        let params = unsafe { read_params(rec.params, rec.nparams) };
        // SAFETY: rec.dom is live; the extra reference we take is released by Domain's Drop.
        let dom = (unsafe { sys::virDomainRef(rec.dom) } == 0)
            .then(|| unsafe { virt::domain::Domain::from_ptr(rec.dom) });
        out.push(StatsRecord {
            dom,
            uuid: domain_uuid(rec.dom),
            name: domain_name(rec.dom),
            params,
        });
    }
    if !list.is_null() {
        // SAFETY: list came from virConnectGetAllDomainStats and is freed exactly once.
        unsafe { sys::virDomainStatsRecordListFree(list) };
    }
    Ok(out)
}

/// The whole node's cumulative CPU times (`kernel`, `user`, `idle`, `iowait`, ... in ns), from
/// `virNodeGetCPUStats` over all CPUs. `count` is the number of fields from an earlier call:
/// knowing it saves the round trip that asks for it.
pub fn node_cpu_stats(conn: &Connect, count: Option<usize>) -> Result<Vec<(String, u64)>, Error> {
    let mut n: c_int = match count {
        Some(c) => c as c_int,
        None => {
            let mut n: c_int = 0;
            // SAFETY: with params NULL libvirt only writes the number of parameters into n.
            let rc = unsafe {
                sys::virNodeGetCPUStats(conn.as_ptr(), -1, std::ptr::null_mut(), &mut n, 0)
            };
            if rc < 0 {
                return Err(Error::last_error());
            }
            n
        }
    };
    let empty = sys::virNodeCPUStats {
        field: [0; 80],
        value: 0,
    };
    let mut buf: Vec<sys::virNodeCPUStats> = vec![empty; n.max(0) as usize];
    // SAFETY: buf has room for n entries, which is what we tell libvirt; it writes back how many
    // it filled, never more.
    let rc = unsafe { sys::virNodeGetCPUStats(conn.as_ptr(), -1, buf.as_mut_ptr(), &mut n, 0) };
    if rc < 0 {
        return Err(Error::last_error());
    }
    Ok(buf
        .iter()
        .take(n.max(0) as usize)
        .map(|p| (field_name(&p.field), p.value))
        .collect())
}

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
/// the connection. Needs libvirt's event loop running (see `collection::libvirt_init`).
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

/// `virDomainAbortJob`: stops the domain's running job (a migration), which the crate lacks.
pub fn abort_job(dom: &virt::domain::Domain) -> Result<(), Error> {
    // SAFETY: dom is a live domain handle for the duration of the call.
    if unsafe { sys::virDomainAbortJob(dom.as_ptr()) } < 0 {
        return Err(Error::last_error());
    }
    Ok(())
}

fn field_name(field: &[c_char; 80]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn domain_uuid(dom: sys::virDomainPtr) -> String {
    let mut buf = [0 as c_char; sys::VIR_UUID_STRING_BUFLEN as usize];
    // SAFETY: dom is the record's live domain; buf has VIR_UUID_STRING_BUFLEN bytes as required.
    let rc = unsafe { sys::virDomainGetUUIDString(dom, buf.as_mut_ptr()) };
    if rc < 0 {
        return String::new();
    }
    // SAFETY: libvirt wrote a NUL-terminated string into buf.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn domain_name(dom: sys::virDomainPtr) -> String {
    // SAFETY: the returned string belongs to dom and lives as long as it; we copy it at once.
    let p = unsafe { sys::virDomainGetName(dom) };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: p is non-null and NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// # Safety
/// `params` must point at `n` initialised `virTypedParameter`s (or be NULL with n <= 0).
unsafe fn read_params(
    params: *const sys::virTypedParameter,
    n: c_int,
) -> Vec<(String, ParamValue)> {
    if params.is_null() || n <= 0 {
        return Vec::new();
    }
    // SAFETY: guaranteed by the caller.
    let slice = unsafe { std::slice::from_raw_parts(params, n as usize) };
    slice
        .iter()
        .filter_map(|p| {
            // SAFETY: the union member read is the one `type_` names.
            let v = unsafe {
                match p.type_ as u32 {
                    sys::VIR_TYPED_PARAM_INT => ParamValue::Int(i64::from(p.value.i)),
                    sys::VIR_TYPED_PARAM_UINT => ParamValue::UInt(u64::from(p.value.ui)),
                    sys::VIR_TYPED_PARAM_LLONG => ParamValue::Int(p.value.l),
                    sys::VIR_TYPED_PARAM_ULLONG => ParamValue::UInt(p.value.ul),
                    sys::VIR_TYPED_PARAM_DOUBLE => ParamValue::Double(p.value.d),
                    sys::VIR_TYPED_PARAM_BOOLEAN => ParamValue::Bool(p.value.b != 0),
                    sys::VIR_TYPED_PARAM_STRING if !p.value.s.is_null() => {
                        ParamValue::Str(CStr::from_ptr(p.value.s).to_string_lossy().into_owned())
                    }
                    _ => return None,
                }
            };
            Some((field_name(&p.field), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn param(
        name: &str,
        type_: u32,
        value: sys::_virTypedParameter__bindgen_ty_1,
    ) -> sys::virTypedParameter {
        let mut field = [0 as c_char; 80];
        for (d, s) in field.iter_mut().zip(name.bytes()) {
            *d = s as c_char;
        }
        sys::virTypedParameter {
            field,
            type_: type_ as c_int,
            value,
        }
    }

    #[test]
    fn every_param_type_is_read() {
        let s = CString::new("vda").unwrap();
        let ps = [
            param(
                "state.state",
                sys::VIR_TYPED_PARAM_INT,
                sys::_virTypedParameter__bindgen_ty_1 { i: 1 },
            ),
            param(
                "vcpu.current",
                sys::VIR_TYPED_PARAM_UINT,
                sys::_virTypedParameter__bindgen_ty_1 { ui: 4 },
            ),
            param(
                "net.0.rx.bytes",
                sys::VIR_TYPED_PARAM_ULLONG,
                sys::_virTypedParameter__bindgen_ty_1 { ul: 1 << 40 },
            ),
            param(
                "x.l",
                sys::VIR_TYPED_PARAM_LLONG,
                sys::_virTypedParameter__bindgen_ty_1 { l: -3 },
            ),
            param(
                "x.d",
                sys::VIR_TYPED_PARAM_DOUBLE,
                sys::_virTypedParameter__bindgen_ty_1 { d: 0.5 },
            ),
            param(
                "x.b",
                sys::VIR_TYPED_PARAM_BOOLEAN,
                sys::_virTypedParameter__bindgen_ty_1 { b: 1 },
            ),
            param(
                "block.0.name",
                sys::VIR_TYPED_PARAM_STRING,
                sys::_virTypedParameter__bindgen_ty_1 {
                    s: s.as_ptr() as *mut c_char,
                },
            ),
            param("bogus", 99, sys::_virTypedParameter__bindgen_ty_1 { i: 0 }),
        ];
        // SAFETY: `ps` and the strings it points into outlive the call; the count is its length.
        let got = unsafe { read_params(ps.as_ptr(), ps.len() as c_int) };
        assert_eq!(
            got,
            vec![
                ("state.state".into(), ParamValue::Int(1)),
                ("vcpu.current".into(), ParamValue::UInt(4)),
                ("net.0.rx.bytes".into(), ParamValue::UInt(1 << 40)),
                ("x.l".into(), ParamValue::Int(-3)),
                ("x.d".into(), ParamValue::Double(0.5)),
                ("x.b".into(), ParamValue::Bool(true)),
                ("block.0.name".into(), ParamValue::Str("vda".into())),
            ]
        );
        // SAFETY: a null array is what read_params must refuse without reading.
        let none = unsafe { read_params(std::ptr::null(), 3) };
        assert!(none.is_empty());
    }

    #[test]
    fn bulk_stats_and_node_cpu_from_the_test_driver() {
        crate::libvirt_init();
        let conn = Connect::open_read_only(Some("test:///default")).unwrap();
        let recs = all_domain_stats(&conn, sys::VIR_DOMAIN_STATS_STATE, 0).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].name, "test");
        assert_eq!(recs[0].uuid.len(), 36);
        assert!(
            recs[0]
                .params
                .iter()
                .any(|(k, v)| k == "state.state" && v.as_u64() == Some(1))
        );
        let cpu = node_cpu_stats(&conn, None).unwrap();
        assert!(cpu.iter().any(|(k, _)| k == "idle"), "{cpu:?}");
        // With the count known, one call gives the same fields.
        let again = node_cpu_stats(&conn, Some(cpu.len())).unwrap();
        let names = |v: &[(String, u64)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(names(&again), names(&cpu));
    }

    #[test]
    fn metadata_and_lifecycle_events_arrive() {
        crate::libvirt_init();
        let watcher = Connect::open_read_only(Some("test:///default")).unwrap();
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink_got = got.clone();
        let reg = register_domain_events(
            &watcher,
            std::sync::Arc::new(move |e| sink_got.lock().unwrap().push(e)),
        )
        .unwrap();
        let admin = Connect::open(Some("test:///default")).unwrap();
        // A domain of this test's own: other tests read the shared "test" domain's state.
        let dom = admin.create_domain_xml(
            "<domain type='test'><name>events-probe</name><memory>65536</memory><os><type>hvm</type></os></domain>",
            0,
        )
        .unwrap();
        dom.set_metadata(
            sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
            Some("<fleet><backup last=\"2026-11-21T10:00:00Z\"/></fleet>"),
            Some("fw"),
            Some("urn:fleetwatch:test"),
            0,
        )
        .unwrap();
        dom.suspend().unwrap();
        dom.resume().unwrap();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let seen = got.lock().unwrap().clone();
            let meta = seen
                .iter()
                .any(|e| e.kind == EventKind::MetadataChanged && e.name == "events-probe");
            // VIR_DOMAIN_EVENT_SUSPENDED = 3, VIR_DOMAIN_EVENT_RESUMED = 4
            let life = seen.iter().any(|e| {
                e.kind
                    == EventKind::Lifecycle(fleetwatch_core::model::event::Lifecycle::Kind(
                        "resumed",
                    ))
            });
            if meta && life {
                assert!(seen.iter().all(|e| e.uuid.len() == 36));
                break;
            }
            assert!(std::time::Instant::now() < end, "events seen: {seen:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(reg);
        let before = got.lock().unwrap().len();
        dom.suspend().unwrap();
        dom.resume().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(
            got.lock().unwrap().len(),
            before,
            "no events after deregistering"
        );
        dom.destroy().unwrap();
    }

    #[test]
    fn errors_come_back_as_errors() {
        crate::libvirt_init();
        let conn = Connect::open_read_only(Some("test:///default")).unwrap();
        // An unknown flag bit is refused by libvirt; it must surface as Err, not as an empty list.
        let e = all_domain_stats(&conn, sys::VIR_DOMAIN_STATS_STATE, 1 << 20).unwrap_err();
        assert!(!e.message().is_empty());
    }
}
