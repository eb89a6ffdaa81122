//! One host as the fleet knows it: its link, what it last reported, its VMs, and the totals
//! drawn from them.

use super::findings::{Kind, Severity};
use super::rates::ratio;
use super::sample::{HostInfo, LocalStats, NodeCpu, VmState};
use super::series::{Series, sum};
use super::vm::Vm;
use crate::config::HostConfig;
use crate::link::{LinkState, Retry};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostTotals {
    pub vms: usize,
    pub running: usize,
    pub vcpus_allocated: u64,
    pub memory_allocated: u64,
    pub cpu_percent: Option<f64>,
    pub memory_used: Option<u64>,
    pub disk_bps: Option<f64>,
    pub net_bps: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub uri: String,
    pub tags: Vec<String>,
    /// Its `[group.NAME]`, as the config says.
    pub group: Option<String>,
    pub link: LinkState,
    pub error: Option<String>,
    /// When the link entered its present state (wall clock, for people and JSON).
    pub state_since: Option<DateTime<Utc>>,
    /// For a down host: failed attempts so far and when the next one starts.
    pub retry: Option<Retry>,
    pub info: Option<Arc<HostInfo>>,
    pub last_sample_at: Option<Instant>,
    pub last_sample_wall: Option<DateTime<Utc>>,
    pub poll_micros: Option<u64>,
    /// One round trip to the host, from the last sample.
    pub rtt_micros: Option<u64>,
    /// libvirt round trips the last poll made.
    pub calls: Option<u32>,
    /// Round trips of the last poll spent asking guests, apart from `calls`.
    pub guest_calls: Option<u32>,
    /// Domains whose XML the collector has not read yet.
    pub configs_pending: Option<u32>,
    pub free_memory_bytes: Option<u64>,
    pub local: Option<LocalStats>,
    pub vms: BTreeMap<String, Vm>,
    pub totals: HostTotals,
    pub series: Series,
    /// Kinds of the findings about the host itself (overcommit, failover capacity).
    pub flags: Vec<Kind>,
    /// `host_down` from the host's config: this host's severity for being down.
    pub host_down: Option<Severity>,
    pub(super) node_cpu: Option<(NodeCpu, Instant)>,
    /// The fleet generation at which this host or one of its VMs last changed, so a view can
    /// redo only the rows of the hosts that moved.
    pub changed: u64,
}

impl Host {
    pub(super) fn new(c: &HostConfig) -> Host {
        Host {
            name: c.name.clone(),
            uri: c.uri.clone(),
            tags: c.tags.clone(),
            group: c.group.clone(),
            link: LinkState::Connecting,
            error: None,
            state_since: Some(Utc::now()),
            retry: None,
            info: None,
            last_sample_at: None,
            last_sample_wall: None,
            poll_micros: None,
            rtt_micros: None,
            calls: None,
            guest_calls: None,
            configs_pending: None,
            free_memory_bytes: None,
            local: None,
            vms: BTreeMap::new(),
            totals: HostTotals::default(),
            series: Series::default(),
            flags: Vec::new(),
            host_down: c.host_down,
            node_cpu: None,
            changed: 0,
        }
    }

    pub fn cpus(&self) -> u32 {
        self.info.as_ref().map_or(0, |i| i.cpus)
    }

    pub fn memory_bytes(&self) -> u64 {
        self.info.as_ref().map_or(0, |i| i.memory_bytes)
    }

    /// libvirt's test driver (the demo): it has no migration.
    pub fn is_test_driver(&self) -> bool {
        self.info
            .as_deref()
            .is_some_and(|i| i.driver.eq_ignore_ascii_case("test"))
    }

    pub fn vcpu_overcommit(&self) -> Option<f64> {
        ratio(self.totals.vcpus_allocated as f64, f64::from(self.cpus()))
    }

    pub fn memory_overcommit(&self) -> Option<f64> {
        ratio(
            self.totals.memory_allocated as f64,
            self.memory_bytes() as f64,
        )
    }
}

impl HostTotals {
    /// From the host's VMs, and `node_cpu` (the node's own busy share) when the driver has it.
    pub(super) fn of(h: &Host, node_cpu: Option<f64>) -> HostTotals {
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
}
