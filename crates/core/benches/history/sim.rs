//! A fleet whose VMs differ the way a real one's do (state, size, load, disks, a few changing
//! every poll), so the recorder's cost is measured on the work it really does: copies that
//! change, events to write, statistics that are not all the same.

use crate::Rng;
use fleetwatch_core::config::HostConfig;
use fleetwatch_core::model::sample::{
    DiskConfig, DiskSource, DomainConfig, DomainSample, HostSample, NicConfig, VmState,
};
use fleetwatch_testkit as support;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct SimVm {
    uuid: String,
    name: String,
    host: usize,
    state: VmState,
    vcpus: u32,
    memory: u64,
    /// Thousandths of a CPU it keeps busy while running.
    cpu_millis: u64,
    /// Bytes per second of disk and network I/O, as a scale for its four counters.
    io: u64,
    /// The collector reads a domain's XML once and keeps it: one shared copy per VM.
    config: Arc<DomainConfig>,
}

pub struct SimFleet {
    pub hosts: Vec<HostConfig>,
    vms: Vec<SimVm>,
    rng: Rng,
    /// State changes and migrations made by `step`, for the report.
    pub changes: usize,
}

fn config(rng: &mut Rng, uuid: &str, vcpus: u32, memory: u64) -> Arc<DomainConfig> {
    let disks = (0..1 + rng.below(3))
        .map(|d| DiskConfig {
            target: format!("vd{}", char::from(b'a' + d as u8)),
            device: "disk".into(),
            path: format!("/srv/pool-{}/{uuid}-{d}.qcow2", rng.below(8)),
            source: DiskSource::File,
        })
        .collect();
    Arc::new(DomainConfig {
        title: String::new(),
        description: String::new(),
        vcpus,
        memory_bytes: memory,
        max_memory_bytes: memory * 2,
        disks,
        nics: vec![NicConfig {
            mac: "52:54:00:00:00:01".into(),
            target: Some("vnet0".into()),
            kind: "bridge".into(),
            source: "br0".into(),
            model: "virtio".into(),
        }],
        fleet_metadata: None,
        fleet: None,
        newest_snapshot: None,
        snapshots: Vec::new(),
        boot: Vec::new(),
    })
}

impl SimFleet {
    pub fn new(hosts: usize, per_host: usize) -> SimFleet {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut vms = Vec::with_capacity(hosts * per_host);
        for h in 0..hosts {
            for v in 0..per_host {
                let uuid = format!("{h:05}{v:03}-7c1e-4d2a-9b1f-{:012x}", rng.draw() >> 16);
                // Mostly running; some stopped, a few paused, as a working fleet is.
                let state = match rng.below(100) {
                    0..=79 => VmState::Running,
                    80..=94 => VmState::Shutoff,
                    _ => VmState::Paused,
                };
                let vcpus = 1 << rng.below(4);
                let memory = (1 + rng.below(16) as u64) << 30;
                vms.push(SimVm {
                    config: config(&mut rng, &uuid, vcpus, memory),
                    uuid,
                    name: format!("app-{h:04}-{v:02}"),
                    host: h,
                    state,
                    vcpus,
                    memory,
                    cpu_millis: rng.below(1000 * i64::from(vcpus)) as u64,
                    io: 1 + rng.below(50_000_000) as u64,
                });
            }
        }
        let hosts = (0..hosts)
            .map(|h| support::host_config(&format!("hv-{h:05}")))
            .collect();
        SimFleet {
            hosts,
            vms,
            rng,
            changes: 0,
        }
    }

    /// One poll interval passes: about one VM in 2,000 starts, stops, pauses or resumes, and
    /// one in 20,000 moves to another host.
    pub fn step(&mut self) {
        let n = self.vms.len() as i64;
        for _ in 0..(n / 2_000).max(1) {
            let vm = &mut self.vms[self.rng.below(n) as usize];
            vm.state = match vm.state {
                VmState::Running if self.rng.below(10) < 7 => VmState::Shutoff,
                VmState::Running => VmState::Paused,
                _ => VmState::Running,
            };
            self.changes += 1;
        }
        let hosts = self.hosts.len() as i64;
        for _ in 0..n / 20_000 {
            let i = self.rng.below(n) as usize;
            let to = self.rng.below(hosts) as usize;
            if self.vms[i].state == VmState::Running && to != self.vms[i].host {
                self.vms[i].host = to;
                self.changes += 1;
            }
        }
    }

    /// Every host's sample, `secs` into a steady load; host `h`'s poll lands `h/hosts` of the
    /// way into the 2 s cycle that starts at `cycle_ms`, as polls spread over the interval do.
    pub fn samples(&self, t0: Instant, secs: u64, cycle_ms: i64) -> Vec<HostSample> {
        let hosts = self.hosts.len();
        let mut domains: Vec<Vec<DomainSample>> = vec![Vec::new(); hosts];
        for vm in &self.vms {
            let active = vm.state.is_active();
            let c = |per_s: u64| active.then_some(per_s * secs);
            domains[vm.host].push(DomainSample {
                uuid: vm.uuid.clone(),
                name: vm.name.clone(),
                state: Some(vm.state),
                vcpus: Some(vm.vcpus),
                memory_bytes: Some(vm.memory),
                max_memory_bytes: Some(vm.memory * 2),
                rss_bytes: active.then_some(vm.memory / 2 + (vm.io % (vm.memory / 4))),
                cpu_time_ns: c(vm.cpu_millis * 1_000_000),
                disk_read_bytes: c(vm.io),
                disk_write_bytes: c(vm.io / 3),
                net_rx_bytes: c(vm.io / 2),
                net_tx_bytes: c(vm.io / 5),
                config: Some(vm.config.clone()),
                guest: None,
            });
        }
        let info = support::info(64, 512);
        domains
            .into_iter()
            .enumerate()
            .map(|(h, doms)| {
                let mut s = support::sample(info.clone(), t0 + Duration::from_secs(secs), doms);
                let at = cycle_ms + (h as i64 * 2_000) / hosts as i64;
                s.wall = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default();
                s.poll_micros = 20_000;
                s
            })
            .collect()
    }
}
