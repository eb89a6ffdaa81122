//! `fleetwatch snapshot`: the fleet as one JSON document or a plain table, for scripts and for
//! people without a full-screen terminal.

use crate::ui::format::{bytes, percent, rate};
use chrono::{DateTime, SecondsFormat, Utc};
use fleetwatch_core::model::storage::{is_shared, source_label};
use fleetwatch_core::model::{Fleet, Vm};
use fleetwatch_core::text_table::Table;
use serde_json::{Value, json};
use std::time::Instant;

pub fn json(fleet: &Fleet, shared: &[String], taken_at: DateTime<Utc>, now: Instant) -> Value {
    let hosts: Vec<Value> = fleet
        .hosts
        .iter()
        .map(|h| {
            let info = h.info.as_deref();
            let why = h
                .error
                .as_deref()
                .and_then(|e| fleetwatch_core::diagnose::explain(&h.uri, e));
            let retry = h.retry.filter(|_| h.link == fleetwatch_core::link::LinkState::Down);
            json!({
                "name": h.name,
                "uri": fleetwatch_core::transport::redact(&h.uri),
                "transport": fleetwatch_core::transport::Transport::of(&h.uri).label(),
                "tags": h.tags,
                "state": h.link.label(),
                "state_since": h.state_since.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
                "error": h.error,
                "reason": why.as_ref().map(|w| &w.reason),
                "next_step": why.as_ref().map(|w| &w.next),
                "attempts": retry.map(|r| r.attempts),
                "next_retry_s": retry.map(|r| r.at.saturating_duration_since(now).as_secs_f64()),
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
                "guest_calls": h.guest_calls,
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
    let guest = vm.guest.as_deref();
    // Not asked yet (or nothing answered) is null; a stopped VM has none.
    let addresses: Option<Vec<Value>> = match guest {
        Some(g) => Some(
            g.addresses
                .iter()
                .map(|a| json!({"address": a.ip.to_string(), "prefix": a.prefix, "interface": a.interface}))
                .collect(),
        ),
        None => (!vm.state.is_active()).then(Vec::new),
    };
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
        "addresses": addresses,
        "address_source": guest.and_then(|g| g.source),
        "guest_hostname": guest.and_then(|g| g.hostname.as_deref()),
        "guest_os": guest.and_then(|g| g.os.as_deref()),
    })
}

/// The same facts as a table for a terminal.
pub fn table(fleet: &Fleet) -> String {
    let mut hosts = Table::new(&[
        "HOST", "STATE", ">CPUS", ">VMS", ">CPU%", ">MEM", ">USED", "ERROR",
    ]);
    for h in &fleet.hosts {
        // A host that never answered has no size: "-", not 0.
        let known = h.info.is_some();
        let why = h.error.as_deref().map(|e| {
            fleetwatch_core::diagnose::explain(&h.uri, e)
                .map_or_else(|| e.to_owned(), |x| format!("{}: {e}", x.reason))
        });
        hosts.row(vec![
            h.name.clone(),
            h.link.label().to_owned(),
            if known {
                h.cpus().to_string()
            } else {
                "-".into()
            },
            h.totals.vms.to_string(),
            percent(h.totals.cpu_percent),
            if known {
                bytes(Some(h.memory_bytes()))
            } else {
                "-".into()
            },
            bytes(h.totals.memory_used),
            why.unwrap_or_default(),
        ]);
    }
    let mut vms = Table::new(&[
        "VM", "HOST", "STATE", ">VCPU", ">CPU%", ">MEM", ">DISK-R", ">DISK-W", ">NET-RX",
        ">NET-TX", "FLAGS",
    ]);
    let mut list: Vec<&Vm> = fleet.vms().collect();
    list.sort_by(|a, b| (a.host, &a.name).cmp(&(b.host, &b.name)));
    for vm in list {
        let flags: Vec<&str> = vm.flags.iter().map(|k| k.name()).collect();
        vms.row(vec![
            vm.name.clone(),
            fleet.hosts[vm.host].name.clone(),
            vm.state.label().to_owned(),
            vm.vcpus.map_or("-".into(), |v| v.to_string()),
            percent(vm.cpu_percent),
            bytes(vm.memory_bytes),
            rate(vm.disk_read_bps),
            rate(vm.disk_write_bps),
            rate(vm.net_rx_bps),
            rate(vm.net_tx_bps),
            flags.join(","),
        ]);
    }
    format!("{}\n{}", hosts.render(), vms.render())
}
