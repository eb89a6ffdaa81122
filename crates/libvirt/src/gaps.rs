//! Per-domain calls for what a driver's bulk records left out: CPU time, memory and vCPUs from
//! virDomainGetInfo, and device counters where the block or interface group did not come back
//! (the test driver returns only state). Each call is counted by the poll's meter.

use super::codes::state_of;
use super::meter::Meter;
use super::stats::Present;
use fleetwatch_core::model::sample::{DomainConfig, DomainSample};
use virt::domain::Domain;
use virt_sys as sys;

/// What one virDomainGetInfo gives: CPU time, current and maximum memory, vCPUs, and the state
/// should the driver have sent none. A shut-off domain needs no call at all.
pub fn fill_info(d: &mut DomainSample, info: &virt::domain::DomainInfo) {
    let state = *d.state.get_or_insert(state_of(info.state));
    if state.is_active() {
        d.cpu_time_ns.get_or_insert(info.cpu_time);
        d.memory_bytes
            .get_or_insert(info.memory.saturating_mul(1024));
        d.max_memory_bytes
            .get_or_insert(info.max_mem.saturating_mul(1024));
        d.vcpus.get_or_insert(info.nr_virt_cpu);
    }
}

/// Per-device calls for a group that was asked for and did not come back. Needs the config
/// for the device names, so a domain whose XML is not read yet has none of these counters.
pub fn fill_devices(
    dom: &Domain,
    d: &mut DomainSample,
    p: Present,
    groups: u32,
    cfg: Option<&DomainConfig>,
    meter: &mut Meter,
) {
    let Some(cfg) = cfg else { return };
    if groups & sys::VIR_DOMAIN_STATS_BLOCK != 0 && !p.block {
        for disk in cfg.disks.iter().filter(|k| !k.target.is_empty()) {
            if let Ok(s) = meter.rpc(|| dom.block_stats(&disk.target)) {
                if s.rd_bytes >= 0 {
                    *d.disk_read_bytes.get_or_insert(0) += s.rd_bytes as u64;
                }
                if s.wr_bytes >= 0 {
                    *d.disk_write_bytes.get_or_insert(0) += s.wr_bytes as u64;
                }
            }
        }
    }
    if groups & sys::VIR_DOMAIN_STATS_INTERFACE != 0 && !p.net {
        for nic in &cfg.nics {
            let Some(t) = &nic.target else { continue };
            if let Ok(s) = meter.rpc(|| dom.interface_stats(t)) {
                if s.rx_bytes >= 0 {
                    *d.net_rx_bytes.get_or_insert(0) += s.rx_bytes as u64;
                }
                if s.tx_bytes >= 0 {
                    *d.net_tx_bytes.get_or_insert(0) += s.tx_bytes as u64;
                }
            }
        }
    }
}
