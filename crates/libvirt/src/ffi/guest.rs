//! What a guest says about itself: its interfaces' addresses (agent, DHCP lease or ARP) and the
//! agent's OS and hostname. The `virt` crate's `interface_addresses` frees the list but not
//! the interfaces in it, a leak on every call of a call made every minute for every VM.

use super::params::{ParamValue, read_params};
use std::ffi::{CStr, c_char, c_int};
use virt::domain::Domain;
use virt::error::Error;
use virt_sys as sys;

/// One interface as the source reported it: name, and (address, prefix) pairs, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawInterface {
    pub name: String,
    pub addresses: Vec<(String, u64)>,
}

fn owned(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: p is non-null and NUL-terminated, owned by the interface being copied.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `virDomainInterfaceAddresses` from `source` (`VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_*`).
pub fn interface_addresses(dom: &Domain, source: u32) -> Result<Vec<RawInterface>, Error> {
    let mut list: *mut sys::virDomainInterfacePtr = std::ptr::null_mut();
    // SAFETY: dom is a live handle; libvirt fills `list` with n interfaces that we own and free
    // below, each with virDomainInterfaceFree and the array with free().
    let n = unsafe { sys::virDomainInterfaceAddresses(dom.as_ptr(), &mut list, source, 0) };
    if n < 0 {
        return Err(Error::last_error());
    }
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        // SAFETY: i < n and libvirt returned n valid interface pointers.
        let iface = unsafe { *list.add(i) };
        if iface.is_null() {
            continue;
        }
        // SAFETY: iface is valid until freed below.
        let r = unsafe { &*iface };
        let mut addresses = Vec::with_capacity(r.naddrs as usize);
        for j in 0..r.naddrs as usize {
            // SAFETY: addrs holds naddrs entries.
            let a = unsafe { &*r.addrs.add(j) };
            addresses.push((owned(a.addr), u64::from(a.prefix)));
        }
        out.push(RawInterface {
            name: owned(r.name),
            addresses,
        });
        // SAFETY: each interface is freed exactly once, after it was copied.
        unsafe { sys::virDomainInterfaceFree(iface) };
    }
    if !list.is_null() {
        // SAFETY: the array itself was allocated by libvirt with malloc and is freed once.
        unsafe { libc_free(list.cast()) };
    }
    Ok(out)
}

unsafe extern "C" {
    #[link_name = "free"]
    fn libc_free(p: *mut std::ffi::c_void);
}

/// `virDomainGetGuestInfo` for the OS and hostname groups (the guest agent; a writable
/// connection). Returns the raw `os.*` and `hostname` parameters.
pub fn guest_info(dom: &Domain) -> Result<Vec<(String, ParamValue)>, Error> {
    let mut params: sys::virTypedParameterPtr = std::ptr::null_mut();
    let mut n: c_int = 0;
    let types = sys::VIR_DOMAIN_GUEST_INFO_OS | sys::VIR_DOMAIN_GUEST_INFO_HOSTNAME;
    // SAFETY: dom is live; libvirt allocates `params` (n entries), freed below with its own
    // free function.
    let rc = unsafe { sys::virDomainGetGuestInfo(dom.as_ptr(), types, &mut params, &mut n, 0) };
    if rc < 0 {
        return Err(Error::last_error());
    }
    // SAFETY: params points at n initialised parameters.
    let out = unsafe { read_params(params, n) };
    // SAFETY: params and n came from the call above.
    unsafe { sys::virTypedParamsFree(params, n) };
    Ok(out)
}
