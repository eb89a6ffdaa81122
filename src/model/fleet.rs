//! The fleet: hosts in config order, each with the VMs it reported, and one primary placement
//! per VM UUID. A UUID can be defined on several hosts at once (a migration in flight, or a
//! definition left behind on the source); the running copy is the one shown.

use super::rates::{cpu_percent, per_second, ratio};
use super::sample::{
    DomainConfig, DomainSample, HostInfo, HostSample, LocalStats, NodeCpu, VmState,
};
use super::series::{sum, Series};
use crate::collection::LinkState;
use crate::config::HostConfig;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Vm {
    pub uuid: String,
    pub name: String,
    pub host: usize,
    pub state: VmState,
    pub vcpus: Option<u32>,
    pub memory_bytes: Option<u64>,
    pub max_memory_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    /// Percent of the VM's own vCPUs.
    pub cpu_percent: Option<f64>,
    /// Percent of the host's CPUs.
    pub host_cpu_percent: Option<f64>,
    pub disk_read_bps: Option<f64>,
    pub disk_write_bps: Option<f64>,
    pub net_rx_bps: Option<f64>,
    pub net_tx_bps: Option<f64>,
    pub config: Option<Arc<DomainConfig>>,
    /// Findings, filled by later stages; shown in the flags column.
    pub flags: Vec<String>,
    /// This host's copy is the one shown for the UUID.
    pub primary: bool,
    last: Counters,
    last_at: Instant,
}

/// The cumulative counters of the previous sample: all a rate needs, nothing that allocates.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    cpu_time_ns: Option<u64>,
    disk_read_bytes: Option<u64>,
    disk_write_bytes: Option<u64>,
    net_rx_bytes: Option<u64>,
    net_tx_bytes: Option<u64>,
}

impl Counters {
    fn of(d: &DomainSample) -> Counters {
        Counters {
            cpu_time_ns: d.cpu_time_ns,
            disk_read_bytes: d.disk_read_bytes,
            disk_write_bytes: d.disk_write_bytes,
            net_rx_bytes: d.net_rx_bytes,
            net_tx_bytes: d.net_tx_bytes,
        }
    }
}

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
    pub link: LinkState,
    pub error: Option<String>,
    pub info: Option<Arc<HostInfo>>,
    pub last_sample_at: Option<Instant>,
    pub last_sample_wall: Option<DateTime<Utc>>,
    pub poll_micros: Option<u64>,
    pub free_memory_bytes: Option<u64>,
    pub local: Option<LocalStats>,
    pub vms: BTreeMap<String, Vm>,
    pub totals: HostTotals,
    pub series: Series,
    node_cpu: Option<(NodeCpu, Instant)>,
}

impl Host {
    fn new(c: &HostConfig) -> Host {
        Host {
            name: c.name.clone(),
            uri: c.uri.clone(),
            tags: c.tags.clone(),
            link: LinkState::Connecting,
            error: None,
            info: None,
            last_sample_at: None,
            last_sample_wall: None,
            poll_micros: None,
            free_memory_bytes: None,
            local: None,
            vms: BTreeMap::new(),
            totals: HostTotals::default(),
            series: Series::default(),
            node_cpu: None,
        }
    }

    pub fn cpus(&self) -> u32 {
        self.info.as_ref().map_or(0, |i| i.cpus)
    }

    pub fn memory_bytes(&self) -> u64 {
        self.info.as_ref().map_or(0, |i| i.memory_bytes)
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

#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub hosts: Vec<Host>,
    /// UUID -> hosts that define it, in host order.
    placements: HashMap<String, Vec<usize>>,
    /// UUID -> the host whose copy is shown.
    primary: HashMap<String, usize>,
    series: HashMap<String, Series>,
    /// Bumped on every change, so views know when to recompute.
    pub generation: u64,
}

fn rank(state: VmState) -> u8 {
    match state {
        VmState::Running => 0,
        VmState::Paused => 1,
        VmState::Crashed => 2,
        VmState::Other => 3,
        VmState::Shutoff => 4,
    }
}

impl Fleet {
    pub fn new(hosts: &[HostConfig]) -> Fleet {
        Fleet {
            hosts: hosts.iter().map(Host::new).collect(),
            ..Fleet::default()
        }
    }

    pub fn set_link(&mut self, host: usize, state: LinkState, error: Option<String>) {
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        if h.link == state && h.error == error {
            return;
        }
        h.link = state;
        h.error = error;
        if state == LinkState::Down {
            // Keep the last known VMs in view (where they were matters), but no rate is current.
            for vm in h.vms.values_mut() {
                vm.clear_rates();
            }
            h.totals.cpu_percent = None;
            h.totals.disk_bps = None;
            h.totals.net_bps = None;
        }
        self.generation += 1;
    }

    /// Merges one host's poll. Rates use the monotonic times of this and the previous sample.
    pub fn apply(&mut self, host: usize, s: &HostSample) {
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        let before: Vec<String> = h.vms.keys().cloned().collect();
        let cpus = s.info.cpus;
        let mut vms = BTreeMap::new();
        for d in &s.domains {
            let vm = match h.vms.remove(&d.uuid) {
                Some(mut vm) => {
                    vm.update(d, s.taken, cpus);
                    vm
                }
                None => Vm::first(d, host, s.taken),
            };
            vms.insert(d.uuid.clone(), vm);
        }
        h.vms = vms;
        h.link = LinkState::Up;
        h.error = None;
        h.info = Some(s.info.clone());
        h.last_sample_at = Some(s.taken);
        h.last_sample_wall = Some(s.wall);
        h.poll_micros = Some(s.poll_micros);
        h.free_memory_bytes = s.free_memory_bytes;
        h.local = s.local.clone();
        let node_cpu = match (h.node_cpu, s.node_cpu) {
            (Some((p, _)), Some(c)) if c.total_ns > p.total_ns && c.busy_ns >= p.busy_ns => {
                Some((c.busy_ns - p.busy_ns) as f64 / (c.total_ns - p.total_ns) as f64 * 100.0)
            }
            _ => None,
        };
        h.node_cpu = s.node_cpu.map(|c| (c, s.taken));
        h.totals = totals(h, node_cpu);
        let t = &h.totals;
        h.series.push(
            t.cpu_percent,
            t.memory_used.map(|m| m as f64),
            t.disk_bps,
            t.net_bps,
        );

        let mut touched = before;
        touched.extend(s.domains.iter().map(|d| d.uuid.clone()));
        touched.sort_unstable();
        touched.dedup();
        for uuid in touched {
            self.replace_placement(&uuid, host);
        }
        self.generation += 1;
    }

    fn replace_placement(&mut self, uuid: &str, host: usize) {
        let present = self.hosts[host].vms.contains_key(uuid);
        let list = self.placements.entry(uuid.to_owned()).or_default();
        match (list.binary_search(&host), present) {
            (Ok(i), false) => {
                list.remove(i);
            }
            (Err(i), true) => list.insert(i, host),
            _ => {}
        }
        let best = list.iter().copied().min_by_key(|&i| {
            let h = &self.hosts[i];
            (rank(h.vms[uuid].state), h.link != LinkState::Up, i)
        });
        match best {
            Some(b) => {
                self.primary.insert(uuid.to_owned(), b);
                for &i in list.iter() {
                    if let Some(vm) = self.hosts[i].vms.get_mut(uuid) {
                        vm.primary = i == b;
                    }
                }
                if b == host {
                    let vm = &self.hosts[host].vms[uuid];
                    let disk = sum(vm.disk_read_bps, vm.disk_write_bps);
                    let net = sum(vm.net_rx_bps, vm.net_tx_bps);
                    let mem = vm.rss_bytes.or(vm.memory_bytes).map(|m| m as f64);
                    self.series.entry(uuid.to_owned()).or_default().push(
                        vm.cpu_percent,
                        mem,
                        disk,
                        net,
                    );
                }
            }
            None => {
                self.placements.remove(uuid);
                self.primary.remove(uuid);
                self.series.remove(uuid);
            }
        }
    }

    /// Every VM once, at its primary placement, in no particular order.
    pub fn vms(&self) -> impl Iterator<Item = &Vm> + '_ {
        self.primary
            .iter()
            .map(move |(uuid, &h)| &self.hosts[h].vms[uuid])
    }

    /// The VM at a host index and position in that host's map (see `ui::rows::RowRef`).
    pub fn vm_at(&self, (host, pos): (u32, u32)) -> Option<&Vm> {
        self.hosts
            .get(host as usize)?
            .vms
            .values()
            .nth(pos as usize)
    }

    pub fn vm(&self, uuid: &str) -> Option<&Vm> {
        self.primary.get(uuid).map(|&h| &self.hosts[h].vms[uuid])
    }

    /// Hosts other than the primary one that also define this UUID.
    pub fn also_defined_on(&self, uuid: &str) -> Vec<usize> {
        let p = self.primary.get(uuid).copied();
        self.placements
            .get(uuid)
            .map(|l| l.iter().copied().filter(|&h| Some(h) != p).collect())
            .unwrap_or_default()
    }

    pub fn series(&self, uuid: &str) -> Option<&Series> {
        self.series.get(uuid)
    }

    pub fn vm_count(&self) -> usize {
        self.primary.len()
    }

    /// The newest sample from any host.
    pub fn newest_sample(&self) -> Option<Instant> {
        self.hosts.iter().filter_map(|h| h.last_sample_at).max()
    }
}

fn opt_ptr_eq<T>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if Arc::ptr_eq(x, y))
}

fn totals(h: &Host, node_cpu: Option<f64>) -> HostTotals {
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

impl Vm {
    fn first(d: &DomainSample, host: usize, at: Instant) -> Vm {
        let mut vm = Vm {
            uuid: d.uuid.clone(),
            name: d.name.clone(),
            host,
            state: d.state.unwrap_or(VmState::Other),
            vcpus: None,
            memory_bytes: None,
            max_memory_bytes: None,
            rss_bytes: None,
            cpu_percent: None,
            host_cpu_percent: None,
            disk_read_bps: None,
            disk_write_bps: None,
            net_rx_bps: None,
            net_tx_bps: None,
            config: None,
            flags: Vec::new(),
            primary: false,
            last: Counters::default(),
            last_at: at,
        };
        vm.take(d, at);
        vm
    }

    fn take(&mut self, d: &DomainSample, at: Instant) {
        if self.name != d.name {
            self.name.clone_from(&d.name);
        }
        self.state = d.state.unwrap_or(VmState::Other);
        self.vcpus = d.vcpus;
        self.memory_bytes = d.memory_bytes;
        self.max_memory_bytes = d.max_memory_bytes;
        self.rss_bytes = d.rss_bytes;
        if d.config.is_some() && !opt_ptr_eq(&self.config, &d.config) {
            self.config.clone_from(&d.config);
        }
        self.last = Counters::of(d);
        self.last_at = at;
    }

    fn update(&mut self, d: &DomainSample, at: Instant, host_cpus: u32) {
        let dt = at.saturating_duration_since(self.last_at).as_secs_f64();
        let p = self.last;
        let active = d.state.is_some_and(VmState::is_active);
        if active {
            self.cpu_percent = cpu_percent(p.cpu_time_ns, d.cpu_time_ns, dt, d.vcpus.unwrap_or(0));
            self.host_cpu_percent = cpu_percent(p.cpu_time_ns, d.cpu_time_ns, dt, host_cpus);
            self.disk_read_bps = per_second(p.disk_read_bytes, d.disk_read_bytes, dt);
            self.disk_write_bps = per_second(p.disk_write_bytes, d.disk_write_bytes, dt);
            self.net_rx_bps = per_second(p.net_rx_bytes, d.net_rx_bytes, dt);
            self.net_tx_bps = per_second(p.net_tx_bytes, d.net_tx_bytes, dt);
        } else {
            // A stopped VM uses nothing; that is known, not unknown.
            self.cpu_percent = Some(0.0);
            self.host_cpu_percent = Some(0.0);
            self.disk_read_bps = Some(0.0);
            self.disk_write_bps = Some(0.0);
            self.net_rx_bps = Some(0.0);
            self.net_tx_bps = Some(0.0);
        }
        self.take(d, at);
    }

    /// Cumulative CPU time from the latest sample.
    pub fn cpu_time_ns(&self) -> Option<u64> {
        self.last.cpu_time_ns
    }

    fn clear_rates(&mut self) {
        self.cpu_percent = None;
        self.host_cpu_percent = None;
        self.disk_read_bps = None;
        self.disk_write_bps = None;
        self.net_rx_bps = None;
        self.net_tx_bps = None;
    }
}
