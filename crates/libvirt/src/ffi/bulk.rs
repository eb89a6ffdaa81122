//! The two bulk calls of a poll: every domain's stats records in one round trip, and the whole
//! node's CPU times.

use super::domain::{domain_name, domain_uuid};
use super::params::{ParamValue, field_name, read_params};
use std::ffi::c_int;
use virt::connect::Connect;
use virt::error::Error;
use virt_sys as sys;

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
