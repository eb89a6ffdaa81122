//! `fleetwatch snapshot`: the fleet as one JSON document or a plain table, for scripts and for
//! people without a full-screen terminal.

use crate::model::storage::{is_shared, source_label};
use crate::model::{Fleet, Vm};
use crate::ui::format::{bytes, percent, rate};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::time::Instant;

pub fn json(fleet: &Fleet, shared: &[String], taken_at: DateTime<Utc>, now: Instant) -> Value {
    let hosts: Vec<Value> = fleet
        .hosts
        .iter()
        .map(|h| {
            let info = h.info.as_deref();
            json!({
                "name": h.name,
                "uri": h.uri,
                "tags": h.tags,
                "state": h.link.label(),
                "error": h.error,
                "hostname": info.map(|i| &i.hostname),
                "cpus": info.map(|i| i.cpus),
                "memory_bytes": info.map(|i| i.memory_bytes),
                "free_memory_bytes": h.free_memory_bytes,
                "vm_count": h.totals.vms,
                "running": h.totals.running,
                "cpu_percent": h.totals.cpu_percent,
                "memory_used_bytes": h.totals.memory_used,
                "vcpus_allocated": h.totals.vcpus_allocated,
                "memory_allocated_bytes": h.totals.memory_allocated,
                "vcpu_overcommit": h.vcpu_overcommit(),
                "memory_overcommit": h.memory_overcommit(),
                "driver": info.map(|i| &i.driver),
                "hypervisor_version": info.map(|i| &i.hypervisor_version),
                "libvirt_version": info.map(|i| &i.libvirt_version),
                "poll_ms": h.poll_micros.map(|u| u as f64 / 1000.0),
                "rtt_ms": h.rtt_micros.map(|u| u as f64 / 1000.0),
                "calls": h.calls,
                "configs_pending": h.configs_pending,
                "sample_age_s": h.last_sample_at.map(|t| now.saturating_duration_since(t).as_secs_f64()),
                "load": h.local.as_ref().map(|l| l.load),
            })
        })
        .collect();
    let mut vms: Vec<&Vm> = fleet.vms().collect();
    vms.sort_by(|a, b| (a.host, &a.name).cmp(&(b.host, &b.name)));
    let vms: Vec<Value> = vms.iter().map(|vm| vm_json(fleet, vm, shared)).collect();
    json!({
        "taken_at": taken_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "hosts": hosts,
        "vms": vms,
    })
}

fn vm_json(fleet: &Fleet, vm: &Vm, shared: &[String]) -> Value {
    let cfg = vm.config.as_deref();
    // A VM whose XML is not read yet has unknown devices: null, never an empty list.
    let disks: Option<Vec<Value>> = cfg.map(|c| {
        c.disks
            .iter()
            .map(|d| {
                json!({"target": d.target, "path": d.path, "source": source_label(&d.source),
                       "shared": is_shared(d, shared)})
            })
            .collect()
    });
    let nics: Option<Vec<Value>> = cfg.map(|c| {
        c.nics
            .iter()
            .map(|n| json!({"mac": n.mac, "type": n.kind, "source": n.source, "target": n.target}))
            .collect()
    });
    let also: Vec<&str> = fleet
        .also_defined_on(&vm.uuid)
        .into_iter()
        .map(|h| fleet.hosts[h].name.as_str())
        .collect();
    json!({
        "uuid": vm.uuid,
        "name": vm.name,
        "host": fleet.hosts[vm.host].name,
        "state": vm.state.label(),
        "vcpus": vm.vcpus,
        "memory_bytes": vm.memory_bytes,
        "max_memory_bytes": vm.max_memory_bytes,
        "rss_bytes": vm.rss_bytes,
        "cpu_percent": vm.cpu_percent,
        "cpu_time_ns": vm.cpu_time_ns(),
        "host_cpu_percent": vm.host_cpu_percent,
        "disk_read_bps": vm.disk_read_bps,
        "disk_write_bps": vm.disk_write_bps,
        "net_rx_bps": vm.net_rx_bps,
        "net_tx_bps": vm.net_tx_bps,
        "flags": vm.flags,
        "title": cfg.map(|c| &c.title),
        "disks": disks,
        "nics": nics,
        "also_defined_on": also,
    })
}

/// The same facts as a table for a terminal.
pub fn table(fleet: &Fleet) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<16} {:<10} {:>5} {:>4} {:>6} {:>9} {:>9}  {}\n",
        "HOST", "STATE", "CPUS", "VMS", "CPU%", "MEM", "USED", "ERROR"
    ));
    for h in &fleet.hosts {
        out.push_str(&format!(
            "{:<16} {:<10} {:>5} {:>4} {:>6} {:>9} {:>9}  {}\n",
            h.name,
            h.link.label(),
            h.cpus(),
            h.totals.vms,
            percent(h.totals.cpu_percent),
            bytes(Some(h.memory_bytes())),
            bytes(h.totals.memory_used),
            h.error.as_deref().unwrap_or("")
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "{:<24} {:<12} {:<8} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "VM", "HOST", "STATE", "VCPU", "CPU%", "MEM", "DISK-R", "DISK-W", "NET-RX", "NET-TX"
    ));
    let mut vms: Vec<&Vm> = fleet.vms().collect();
    vms.sort_by(|a, b| (a.host, &a.name).cmp(&(b.host, &b.name)));
    for vm in vms {
        out.push_str(&format!(
            "{:<24} {:<12} {:<8} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            vm.name,
            fleet.hosts[vm.host].name,
            vm.state.label(),
            vm.vcpus.map_or("-".into(), |v| v.to_string()),
            percent(vm.cpu_percent),
            bytes(vm.memory_bytes),
            rate(vm.disk_read_bps),
            rate(vm.disk_write_bps),
            rate(vm.net_rx_bps),
            rate(vm.net_tx_bps),
        ));
    }
    out
}
