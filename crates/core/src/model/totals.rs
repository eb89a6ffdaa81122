//! A host's totals from its VMs and the node's own counters.

use super::fleet::{Host, HostTotals};
use super::sample::VmState;
use super::series::sum;

pub(super) fn totals(h: &Host, node_cpu: Option<f64>) -> HostTotals {
    let mut t = HostTotals {
        vms: h.vms.len(),
        ..HostTotals::default()
    };
    let mut vm_cpu: Option<f64> = None;
    for vm in h.vms.values() {
        if vm.state == VmState::Running {
            t.running += 1;
        }
        if vm.state.is_active() {
            t.vcpus_allocated += u64::from(vm.vcpus.unwrap_or(0));
            t.memory_allocated += vm.memory_bytes.unwrap_or(0);
        }
        vm_cpu = sum(vm_cpu, vm.host_cpu_percent);
        t.disk_bps = sum(t.disk_bps, sum(vm.disk_read_bps, vm.disk_write_bps));
        t.net_bps = sum(t.net_bps, sum(vm.net_rx_bps, vm.net_tx_bps));
    }
    // The node's own counters include everything on the host; the sum of guests is the
    // fallback when the driver has none.
    t.cpu_percent = node_cpu.or(vm_cpu.map(|c| c.min(100.0)));
    t.memory_used = match (h.free_memory_bytes, h.info.as_ref()) {
        (Some(free), Some(i)) if i.memory_bytes >= free => Some(i.memory_bytes - free),
        _ => Some(t.memory_allocated),
    };
    t
}
