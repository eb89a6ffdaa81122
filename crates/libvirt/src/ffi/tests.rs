use super::params::read_params;
use super::*;
use std::ffi::{CString, c_char, c_int};
use virt::connect::Connect;
use virt_sys as sys;

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
                == EventKind::Lifecycle(fleetwatch_core::model::event::Lifecycle::Kind("resumed"))
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
