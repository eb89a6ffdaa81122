//! The fleet: hosts in config order, each with the VMs it reported, and one primary placement
//! per VM UUID. A UUID can be defined on several hosts at once (a migration in flight, or a
//! definition left behind on the source); the running copy is the one shown.

use super::findings::{Finding, Kind, Severity};
pub use super::host::{Host, HostTotals};
use super::sample::{HostSample, VmState};
use super::series::{Series, sum};
pub use super::vm::Vm;
use crate::config::HostConfig;
use crate::link::{LinkState, Retry};
use chrono::Utc;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub hosts: Vec<Host>,
    /// UUID -> hosts that define it, in host order.
    placements: HashMap<String, Vec<usize>>,
    /// UUID -> the host whose copy is shown.
    primary: HashMap<String, usize>,
    series: HashMap<String, Series>,
    /// Sparklines are not kept (hosts' nor VMs'): a model that only the recorder reads has no
    /// use for them, and the UI's model holds them already.
    without_series: bool,
    /// The current findings, from `rules::evaluate`, by kind, host and VM.
    pub findings: Vec<Finding>,
    /// Why some findings could not be checked (unreadable policy files), for a banner.
    pub problems: Vec<String>,
    /// UUID -> service group, from the last evaluation (`services::set_groups`).
    pub(super) groups: HashMap<String, String>,
    /// Bumped when the findings or the groups change: what views built from them key on.
    pub judged: u64,
    /// The severity each kind has under the policy, for colouring badges.
    pub severities: BTreeMap<Kind, Severity>,
    /// Bumped on every change, so views know when to recompute.
    pub generation: u64,
    /// Bumped only when something the rules read changes (which VMs, their names, states,
    /// sizes and configs, links, host facts), not for counters and rates: an idle fleet's
    /// findings need evaluating again only as time passes.
    pub facts: u64,
    /// UUID -> its findings' places in `findings`: a VM's pane lists them without walking
    /// every finding of the fleet on every frame.
    by_vm: HashMap<String, Vec<usize>>,
    /// (critical, warning), counted once per evaluation rather than per frame.
    counts: (usize, usize),
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

/// The shown copy's point on its VM's graphs.
fn push_series(series: &mut HashMap<String, Series>, uuid: &str, vm: &Vm) {
    let disk = sum(vm.disk_read_bps, vm.disk_write_bps);
    let net = sum(vm.net_rx_bps, vm.net_tx_bps);
    let mem = vm.rss_bytes.or(vm.memory_bytes).map(|m| m as f64);
    let s = match series.get_mut(uuid) {
        Some(s) => s,
        None => series.entry(uuid.to_owned()).or_default(),
    };
    s.push(vm.cpu_percent, mem, disk, net);
}

impl Fleet {
    pub fn new(hosts: &[HostConfig]) -> Fleet {
        Fleet {
            hosts: hosts.iter().map(Host::new).collect(),
            ..Fleet::default()
        }
    }

    /// As [`Fleet::new`], keeping no sparkline series: for a model nothing draws (the
    /// recorder's), so a fleet's series are held once, by the UI.
    pub fn without_series(hosts: &[HostConfig]) -> Fleet {
        Fleet {
            without_series: true,
            ..Fleet::new(hosts)
        }
    }

    pub fn set_link(&mut self, host: usize, state: LinkState, error: Option<String>) {
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        if h.link == state && h.error == error {
            return;
        }
        if h.link != state {
            h.state_since = Some(Utc::now());
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
        h.changed = self.generation + 1;
        self.generation += 1;
        self.facts += 1;
    }

    /// A down host's reconnection schedule, as its supervisor last reported it.
    pub fn set_retry(&mut self, host: usize, retry: Option<Retry>) {
        if let Some(h) = self.hosts.get_mut(host)
            && h.retry != retry
        {
            h.retry = retry;
            self.generation += 1;
        }
    }

    /// Merges one host's poll. Rates use the monotonic times of this and the previous sample.
    pub fn apply(&mut self, host: usize, s: &HostSample) {
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        let cpus = s.info.cpus;
        // Keys move from the old map to the new one: polls every two seconds of every VM of the
        // fleet made cloning them (and re-allocating the indexes' keys) the merge's main cost.
        let mut old = std::mem::take(&mut h.vms);
        let mut vms: BTreeMap<String, Vm> = BTreeMap::new();
        // A hostile or broken host may list a UUID twice: the last one stands, placed once.
        let mut placed = Vec::with_capacity(s.domains.len());
        let mut facts = h.link != LinkState::Up || h.info.as_ref() != Some(&s.info);
        for d in &s.domains {
            let (key, vm) = match old.remove_entry(&d.uuid) {
                Some((key, mut vm)) => {
                    facts |= vm.update(d, s.taken, cpus);
                    (key, vm)
                }
                None => {
                    facts = true;
                    (d.uuid.clone(), Vm::first(d, host, s.taken))
                }
            };
            placed.push(vms.insert(key, vm).is_none());
        }
        let gone: Vec<String> = old.into_keys().collect();
        facts |= !gone.is_empty() || placed.iter().any(|&first| !first);
        h.vms = vms;
        h.changed = self.generation + 1;
        if h.link != LinkState::Up {
            h.state_since = Some(s.wall);
        }
        h.link = LinkState::Up;
        h.error = None;
        h.retry = None;
        h.info = Some(s.info.clone());
        h.last_sample_at = Some(s.taken);
        h.last_sample_wall = Some(s.wall);
        h.poll_micros = Some(s.poll_micros);
        h.rtt_micros = s.rtt_micros;
        h.calls = Some(s.calls);
        h.guest_calls = Some(s.guest_calls);
        h.configs_pending = Some(s.configs_pending);
        // Fetched on slow polls only: the last reading stands in between.
        if s.free_memory_bytes.is_some() {
            h.free_memory_bytes = s.free_memory_bytes;
        }
        if s.local.is_some() {
            h.local.clone_from(&s.local);
        }
        let node_cpu = match (h.node_cpu, s.node_cpu) {
            (Some((p, _)), Some(c)) if c.total_ns > p.total_ns && c.busy_ns >= p.busy_ns => {
                Some((c.busy_ns - p.busy_ns) as f64 / (c.total_ns - p.total_ns) as f64 * 100.0)
            }
            _ => None,
        };
        h.node_cpu = s.node_cpu.map(|c| (c, s.taken));
        h.totals = HostTotals::of(h, node_cpu);
        if !self.without_series {
            let t = &h.totals;
            h.series.push(
                t.cpu_percent,
                t.memory_used.map(|m| m as f64),
                t.disk_bps,
                t.net_bps,
            );
        }

        for (d, first) in s.domains.iter().zip(placed) {
            if first {
                self.replace_placement(&d.uuid, host);
            }
        }
        for uuid in gone {
            self.replace_placement(&uuid, host);
        }
        self.generation += 1;
        if facts {
            self.facts += 1;
        }
    }

    fn replace_placement(&mut self, uuid: &str, host: usize) {
        // Nearly every VM of every poll is defined on this one host only, as before: its copy
        // is the shown one and only its series moves. Four map lookups fewer per VM and poll.
        if self.placements.get(uuid).is_some_and(|l| l == &[host])
            && self.primary.get(uuid) == Some(&host)
            && let h = &mut self.hosts[host]
            && let Some(vm) = h.vms.get_mut(uuid)
        {
            if !vm.primary {
                vm.primary = true;
                h.changed = self.generation + 1;
            }
            if !self.without_series {
                push_series(&mut self.series, uuid, vm);
            }
            return;
        }
        let present = self.hosts[host].vms.contains_key(uuid);
        if !self.placements.contains_key(uuid) {
            self.placements.insert(uuid.to_owned(), Vec::new());
        }
        let Some(list) = self.placements.get_mut(uuid) else {
            return;
        };
        match (list.binary_search(&host), present) {
            (Ok(i), false) => {
                list.remove(i);
            }
            (Err(i), true) => list.insert(i, host),
            _ => {}
        }
        let hosts = &mut self.hosts;
        let best = list.iter().copied().min_by_key(|&i| {
            let h = &hosts[i];
            (rank(h.vms[uuid].state), h.link != LinkState::Up, i)
        });
        let Some(b) = best else {
            self.placements.remove(uuid);
            self.primary.remove(uuid);
            self.series.remove(uuid);
            return;
        };
        let next = self.generation + 1;
        let old = match self.primary.get_mut(uuid) {
            Some(p) => Some(std::mem::replace(p, b)),
            None => self.primary.insert(uuid.to_owned(), b),
        };
        // Both hosts' rows change when the shown copy moves (the running count is the primary
        // copy's).
        if let Some(old) = old.filter(|&o| o != b) {
            hosts[old].changed = next;
            hosts[b].changed = next;
        }
        // Two copies running at once on hosts that answer (split brain) are both shown: hiding
        // one would hide the disk being written from two places.
        let running_up =
            |h: &Host| h.link == LinkState::Up && h.vms[uuid].state == VmState::Running;
        let split = running_up(&hosts[b]);
        for &i in list.iter() {
            let show = i == b || (split && running_up(&hosts[i]));
            let h = &mut hosts[i];
            if let Some(vm) = h.vms.get_mut(uuid)
                && vm.primary != show
            {
                vm.primary = show;
                h.changed = next;
            }
        }
        if b == host && !self.without_series {
            push_series(&mut self.series, uuid, &hosts[host].vms[uuid]);
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

    /// Puts new findings in place and their badges on VMs and hosts. Unchanged findings are no
    /// change: the rows are not recomputed for them.
    /// Kept sorted by kind, host and VM, so a view lists one kind's findings as a slice
    /// rather than filtering and sorting them all on every frame.
    pub fn set_findings(&mut self, mut list: Vec<Finding>, problems: Vec<String>) {
        list.sort_by(|a, b| (a.kind, &a.host, &a.vm).cmp(&(b.kind, &b.host, &b.vm)));
        if list == self.findings && problems == self.problems {
            return;
        }
        self.judged += 1;
        // Each host's VM badges as they were, to tell the hosts whose rows changed.
        let before: Vec<Vec<Vec<Kind>>> = self
            .hosts
            .iter_mut()
            .map(|h| {
                h.flags.clear();
                h.vms
                    .values_mut()
                    .map(|vm| std::mem::take(&mut vm.flags))
                    .collect()
            })
            .collect();
        for f in &list {
            // Every shown copy carries the VM's badges (two of them in a split brain).
            if let Some(u) = &f.uuid {
                for &h in self.placements.get(u).map_or(&[][..], |v| v.as_slice()) {
                    if let Some(vm) = self.hosts[h].vms.get_mut(u).filter(|v| v.primary)
                        && !vm.flags.contains(&f.kind)
                    {
                        vm.flags.push(f.kind);
                        vm.flags.sort();
                    }
                }
                continue;
            }
            let flags = match (&f.uuid, &f.host) {
                (Some(_), _) => None,
                (None, Some(name)) => self
                    .hosts
                    .iter_mut()
                    .find(|h| &h.name == name)
                    .map(|h| &mut h.flags),
                (None, None) => None,
            };
            if let Some(flags) = flags
                && !flags.contains(&f.kind)
            {
                flags.push(f.kind);
                flags.sort();
            }
        }
        let next = self.generation + 1;
        for (h, before) in self.hosts.iter_mut().zip(before) {
            if h.vms.values().map(|vm| &vm.flags).ne(before.iter()) {
                h.changed = next;
            }
        }
        self.severities = list.iter().map(|f| (f.kind, f.severity)).collect();
        self.by_vm.clear();
        for (i, f) in list.iter().enumerate() {
            if let (Some(u), Some(_)) = (&f.uuid, &f.vm) {
                self.by_vm.entry(u.clone()).or_default().push(i);
            }
        }
        let crit = list
            .iter()
            .filter(|f| f.severity == Severity::Critical)
            .count();
        self.counts = (crit, list.len() - crit);
        self.findings = list;
        self.problems = problems;
        self.generation += 1;
    }

    /// Every host has answered once or failed: findings about the whole fleet can be trusted.
    pub fn settled(&self) -> bool {
        self.hosts.iter().all(|h| h.link != LinkState::Connecting)
    }

    /// Hosts still to answer for the first time.
    pub fn unsettled(&self) -> usize {
        self.hosts
            .iter()
            .filter(|h| h.link == LinkState::Connecting)
            .count()
    }

    /// Every copy of a UUID, in host order.
    pub fn copies(&self, uuid: &str) -> Vec<&Vm> {
        self.placements
            .get(uuid)
            .map(|l| {
                l.iter()
                    .filter_map(|&h| self.hosts[h].vms.get(uuid))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// UUIDs running on two or more hosts that answer, with those hosts.
    pub fn split_brains(&self) -> Vec<(&str, Vec<usize>)> {
        let mut out: Vec<(&str, Vec<usize>)> = self
            .placements
            .iter()
            .filter(|(_, l)| l.len() > 1)
            .filter_map(|(u, l)| {
                let running: Vec<usize> = l
                    .iter()
                    .copied()
                    .filter(|&h| {
                        self.hosts[h].link == LinkState::Up
                            && self.hosts[h]
                                .vms
                                .get(u)
                                .is_some_and(|v| v.state == VmState::Running)
                    })
                    .collect();
                (running.len() > 1).then_some((u.as_str(), running))
            })
            .collect();
        out.sort();
        out
    }

    /// Hosts answering now.
    pub fn hosts_up(&self) -> usize {
        self.hosts
            .iter()
            .filter(|h| h.link == LinkState::Up)
            .count()
    }

    /// Findings by severity: (critical, warning).
    pub fn finding_counts(&self) -> (usize, usize) {
        self.counts
    }

    /// The findings about one VM, by kind.
    pub fn findings_of<'a>(&'a self, uuid: &str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.by_vm
            .get(uuid)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.findings.get(i))
    }

    /// When the newest sample from any host was taken, on the wall clock (Unix ms).
    pub fn newest_sample_ms(&self) -> Option<i64> {
        self.hosts
            .iter()
            .filter_map(|h| h.last_sample_wall)
            .map(|t| t.timestamp_millis())
            .max()
    }

    /// The newest sample from any host.
    pub fn newest_sample(&self) -> Option<Instant> {
        self.hosts.iter().filter_map(|h| h.last_sample_at).max()
    }
}
