//! Calls on one domain handle that the `virt` crate lacks or that must not allocate an error:
//! its UUID and name for records and events, and aborting its job.

use std::ffi::{CStr, c_char};
use virt::error::Error;
use virt_sys as sys;

/// `virDomainAbortJob`: stops the domain's running job (a migration), which the crate lacks.
pub fn abort_job(dom: &virt::domain::Domain) -> Result<(), Error> {
    // SAFETY: dom is a live domain handle for the duration of the call.
    if unsafe { sys::virDomainAbortJob(dom.as_ptr()) } < 0 {
        return Err(Error::last_error());
    }
    Ok(())
}

pub(super) fn domain_uuid(dom: sys::virDomainPtr) -> String {
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

pub(super) fn domain_name(dom: sys::virDomainPtr) -> String {
    // SAFETY: the returned string belongs to dom and lives as long as it; we copy it at once.
    let p = unsafe { sys::virDomainGetName(dom) };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: p is non-null and NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
