//! One VM as the fleet shows it, and how its rates follow from successive samples. A counter
//! may be missing from a sample (costly statistics are fetched every few polls only): its last
//! rate then stands, as the average over the longer interval, until the next reading.

use super::findings::Kind;
use super::guest::GuestInfo;
use super::rates::{cpu_percent, per_second};
use super::sample::{DomainConfig, DomainSample, VmState};
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
    /// What the guest (or its lease) says of its addresses, hostname and OS.
    pub guest: Option<Arc<GuestInfo>>,
    /// Kinds of the findings about this VM, shown as badges in the flags column.
    pub flags: Vec<Kind>,
    /// This host's copy is the one shown for the UUID.
    pub primary: bool,
    last: Counters,
}

/// Each counter's last reading and when it was taken: all a rate needs, nothing that allocates.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    cpu_time_ns: Option<(u64, Instant)>,
    disk_read_bytes: Option<(u64, Instant)>,
    disk_write_bytes: Option<(u64, Instant)>,
    net_rx_bytes: Option<(u64, Instant)>,
    net_tx_bytes: Option<(u64, Instant)>,
}

/// Advances one counter: a new reading gives a new rate (or "unknown" after a reset); no
/// reading keeps the last rate and the last reading.
fn step(prev: &mut Option<(u64, Instant)>, cur: Option<u64>, at: Instant, rate: &mut Option<f64>) {
    let Some(c) = cur else { return };
    *rate = prev.and_then(|(p, t)| {
        per_second(
            Some(p),
            Some(c),
            at.saturating_duration_since(t).as_secs_f64(),
        )
    });
    *prev = Some((c, at));
}

impl Vm {
    pub(super) fn first(d: &DomainSample, host: usize, at: Instant) -> Vm {
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
            guest: None,
            flags: Vec::new(),
            primary: false,
            last: Counters::default(),
        };
        vm.update(d, at, 0);
        vm
    }

    /// Merges a poll's record; true when a fact the rules read changed (name, state, sizes,
    /// config), false when only counters and rates moved.
    pub(super) fn update(&mut self, d: &DomainSample, at: Instant, host_cpus: u32) -> bool {
        let facts = self.facts_differ(d);
        if self.name != d.name {
            self.name.clone_from(&d.name);
        }
        self.state = d.state.unwrap_or(VmState::Other);
        self.vcpus = d.vcpus;
        self.memory_bytes = d.memory_bytes;
        self.max_memory_bytes = d.max_memory_bytes.or(self.max_memory_bytes);
        if d.config.is_some() && !opt_ptr_eq(&self.config, &d.config) {
            self.config.clone_from(&d.config);
        }
        // Not a fact the rules read; a stopped VM has no addresses to show.
        if !self.state.is_active() {
            self.guest = None;
        } else if d.guest.is_some() && !opt_ptr_eq(&self.guest, &d.guest) {
            self.guest.clone_from(&d.guest);
        }
        self.update_rates(d, at, host_cpus);
        facts
    }

    fn facts_differ(&self, d: &DomainSample) -> bool {
        self.name != d.name
            || self.state != d.state.unwrap_or(VmState::Other)
            || self.vcpus != d.vcpus
            || self.memory_bytes != d.memory_bytes
            || d.max_memory_bytes
                .is_some_and(|m| self.max_memory_bytes != Some(m))
            || (d.config.is_some() && !opt_ptr_eq(&self.config, &d.config))
    }

    fn update_rates(&mut self, d: &DomainSample, at: Instant, host_cpus: u32) {
        if !self.state.is_active() {
            // A stopped VM uses nothing; that is known, not unknown. Its counters start over.
            self.last = Counters::default();
            self.rss_bytes = None;
            self.cpu_percent = Some(0.0);
            self.host_cpu_percent = Some(0.0);
            self.disk_read_bps = Some(0.0);
            self.disk_write_bps = Some(0.0);
            self.net_rx_bps = Some(0.0);
            self.net_tx_bps = Some(0.0);
            return;
        }
        if d.rss_bytes.is_some() {
            self.rss_bytes = d.rss_bytes;
        }
        let l = &mut self.last;
        if let Some(c) = d.cpu_time_ns {
            let (prev, dt) = match l.cpu_time_ns {
                Some((p, t)) => (Some(p), at.saturating_duration_since(t).as_secs_f64()),
                None => (None, 0.0),
            };
            self.cpu_percent = cpu_percent(prev, Some(c), dt, d.vcpus.unwrap_or(0));
            self.host_cpu_percent = cpu_percent(prev, Some(c), dt, host_cpus);
            l.cpu_time_ns = Some((c, at));
        }
        step(
            &mut l.disk_read_bytes,
            d.disk_read_bytes,
            at,
            &mut self.disk_read_bps,
        );
        step(
            &mut l.disk_write_bytes,
            d.disk_write_bytes,
            at,
            &mut self.disk_write_bps,
        );
        step(
            &mut l.net_rx_bytes,
            d.net_rx_bytes,
            at,
            &mut self.net_rx_bps,
        );
        step(
            &mut l.net_tx_bytes,
            d.net_tx_bytes,
            at,
            &mut self.net_tx_bps,
        );
    }

    /// Cumulative CPU time from the latest sample that had it.
    pub fn cpu_time_ns(&self) -> Option<u64> {
        self.last.cpu_time_ns.map(|(v, _)| v)
    }

    /// Cumulative bytes (disk read, disk written, network received, sent) from the latest
    /// samples that had them: what a metrics scraper turns into rates itself.
    pub fn byte_counters(&self) -> [Option<u64>; 4] {
        let l = &self.last;
        [
            l.disk_read_bytes,
            l.disk_write_bytes,
            l.net_rx_bytes,
            l.net_tx_bytes,
        ]
        .map(|c| c.map(|(v, _)| v))
    }

    pub(super) fn clear_rates(&mut self) {
        self.cpu_percent = None;
        self.host_cpu_percent = None;
        self.disk_read_bps = None;
        self.disk_write_bps = None;
        self.net_rx_bps = None;
        self.net_tx_bps = None;
    }
}

fn opt_ptr_eq<T>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if Arc::ptr_eq(x, y))
}
