//! The shipped hypervisor source: one libvirt connection, polled with one bulk-stats round trip
//! plus two cheap node calls. CPU time comes from the bulk call or from a GetInfo per VM,
//! whichever measures cheaper on the host (see `cost`); other per-domain calls only where the
//! driver left gaps; XML in a bounded trickle (see `known`).

use super::codes::unsupported;
use super::cost::{CostModel, CpuSource, Observed};
use super::error::{LibvirtError, SourceError};
use super::ffi::{self, DomainEvent, StatsRecord};
use super::gaps::{fill_devices, fill_info};
use super::guests::Guests;
use super::host::{host_info, is_remote};
use super::known::{Known, Pace, budget};
use super::local::LocalProbe;
use super::meter::{Heartbeat, Meter};
use super::source::{Connector, Source};
use super::stats::{domain_from_params, node_cpu_from};
use fleetwatch_core::model::sample::{DomainSample, HostInfo, HostSample, VmState};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use virt::connect::Connect;
use virt_sys as sys;

/// Skip stats that would wait on a domain job (a migration), which otherwise blocks ~30 s.
const NOWAIT: u32 = 1 << 29;

/// Bulk-stats groups asked for on every poll. Each group costs the daemon work per VM, and on
/// QEMU most of them a monitor round trip per VM (measured: 10 guests, state+interface 0.2 ms,
/// +cpu 14 ms, +balloon 17 ms, +vcpu 15 ms, +block 23 ms; README "Poll cost"). State and
/// interfaces are nearly free. CPU time is added as CPU_TOTAL or read per VM, by cost.
pub const FAST_GROUPS: u32 = sys::VIR_DOMAIN_STATS_STATE | sys::VIR_DOMAIN_STATS_INTERFACE;
/// Added every `slow_every`-th poll: disk I/O and balloon (RSS). Their rates are averages over
/// that longer interval.
pub const SLOW_GROUPS: u32 = sys::VIR_DOMAIN_STATS_BALLOON | sys::VIR_DOMAIN_STATS_BLOCK;

pub struct LibvirtConnector {
    /// URIs that may be opened for writing (hosts with `actions = true` in a session that is
    /// not read-only); every other host gets a read-only connection, so libvirt itself refuses
    /// writes there.
    pub writable: std::collections::HashSet<String>,
    /// Fetch the costly groups every this many polls (1: every poll).
    pub slow_every: u32,
    /// The poll interval, which bounds the time a poll spends reading XML.
    pub interval: Duration,
    pub pace: Pace,
    /// Always get CPU time this way instead of choosing by cost (the poll bench compares both).
    pub cpu: Option<CpuSource>,
}

impl LibvirtConnector {
    /// Opens `uri` as the collector does: for writing only if it is in `writable`, otherwise
    /// read-only, so libvirt itself refuses any write on the connection.
    pub fn open(&self, uri: &str) -> Result<Connect, SourceError> {
        let opened = fleetwatch_core::transport::prepare(uri)?;
        let conn = if self.writable.contains(uri) {
            Connect::open(Some(&opened)).map_err(LibvirtError::of("virConnectOpen"))
        } else {
            Connect::open_read_only(Some(&opened))
                .map_err(LibvirtError::of("virConnectOpenReadOnly"))
        };
        Ok(conn?)
    }
}

impl Connector for LibvirtConnector {
    fn connect(&self, uri: &str, progress: &Heartbeat) -> Result<Box<dyn Source>, SourceError> {
        let writable = self.writable.contains(uri);
        let conn = self.open(uri)?;
        progress.beat();
        if is_remote(uri) {
            // Lets libvirt notice a dead peer on its own; needs the event loop thread.
            if let Err(e) = conn.set_keep_alive(5, 3) {
                tracing::debug!(uri, "keepalive not set: {}", e.message());
            }
        }
        let info = host_info(&conn, uri, progress);
        // Events say at once what polling would notice late (metadata edits) or never (a
        // migration's start and end); a driver without them is polled only.
        let pending: Arc<Mutex<Vec<DomainEvent>>> = Arc::default();
        let sink = pending.clone();
        let events = ffi::register_domain_events(
            &conn,
            Arc::new(move |e| {
                if let Ok(mut p) = sink.lock() {
                    p.push(e);
                }
            }),
        )
        .map_err(|e| tracing::info!(uri, "no domain events: {}", e.message()))
        .ok();
        Ok(Box::new(LibvirtSource {
            _events: events,
            pending,
            writable,
            refresh: Arc::default(),
            conn: Arc::new(conn),
            info: Arc::new(info),
            known: Known::default(),
            guests: Guests::new(writable),
            flags: NOWAIT,
            node_cpu_ok: true,
            free_mem_ok: true,
            local: LocalProbe::default(),
            polls: 0,
            slow_every: self.slow_every.max(1),
            node_cpu_fields: None,
            interval: self.interval,
            pace: self.pace,
            forced: self.cpu,
            cost: CostModel::default(),
            running: 0,
            need_live: true,
        }))
    }
}

pub struct LibvirtSource {
    /// Declared before `conn`: callbacks are deregistered before the connection closes.
    _events: Option<ffi::EventRegistration>,
    pending: Arc<Mutex<Vec<DomainEvent>>>,
    writable: bool,
    refresh: Arc<Mutex<HashSet<String>>>,
    conn: Arc<Connect>,
    info: Arc<HostInfo>,
    known: Known,
    guests: Guests,
    flags: u32,
    node_cpu_ok: bool,
    free_mem_ok: bool,
    local: LocalProbe,
    polls: u64,
    slow_every: u32,
    node_cpu_fields: Option<usize>,
    interval: Duration,
    pace: Pace,
    forced: Option<CpuSource>,
    cost: CostModel,
    /// Running domains in the last poll, for the cost of the next.
    running: usize,
    /// A running domain's vCPU count or memory was unknown in the last poll.
    need_live: bool,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Source for LibvirtSource {
    fn actor(&self) -> Option<Arc<dyn super::executor::Actor>> {
        self.writable.then(|| {
            Arc::new(super::executor::LibvirtActor {
                conn: self.conn.clone(),
                refresh: self.refresh.clone(),
            }) as Arc<dyn super::executor::Actor>
        })
    }

    fn poll(&mut self, beat: &Heartbeat) -> Result<HostSample, SourceError> {
        let start = Instant::now();
        let mut meter = Meter::new(beat);
        // The first two polls are slow ones, so disk rates show from the second poll on.
        let slow = self.polls < 2 || self.polls.is_multiple_of(u64::from(self.slow_every));
        self.polls += 1;
        let way = match self.forced {
            Some(w) => w,
            None => self.cost.plan(!slow, self.running),
        };
        let mut groups = FAST_GROUPS;
        if slow {
            groups |= SLOW_GROUPS;
        }
        if way == CpuSource::Bulk {
            groups |= sys::VIR_DOMAIN_STATS_CPU_TOTAL;
            // GetInfo would give vCPU counts (CPU% needs them) and memory; here their groups do,
            // on slow polls (to see a hot-plug) and whenever a running domain's are not known.
            if slow || self.need_live {
                groups |= sys::VIR_DOMAIN_STATS_VCPU | sys::VIR_DOMAIN_STATS_BALLOON;
            }
        }
        let bulk_start = Instant::now();
        let records = self.bulk(groups, &mut meter)?;
        let bulk = bulk_start.elapsed();

        let mut seen = Observed {
            bulk,
            ..Observed::default()
        };
        let mut domains = Vec::with_capacity(records.len());
        // What each record's bulk groups held, and whether its device names were known.
        let mut gaps = Vec::with_capacity(records.len());
        for rec in &records {
            let (mut d, present) = domain_from_params(&rec.uuid, &rec.name, &rec.params);
            if let Some(dom) = &rec.dom
                && d.state.is_none_or(VmState::is_active)
                && (!present.cpu || d.state.is_none())
            {
                let t = Instant::now();
                if let Ok(info) = meter.rpc(|| dom.info()) {
                    fill_info(&mut d, &info);
                }
                seen.infos.0 += 1;
                seen.infos.1 += t.elapsed();
            }
            self.known.observe(&d);
            let cfg = self.known.config(&d.uuid);
            if d.state.is_some_and(VmState::is_active) {
                seen.running += 1;
                seen.cpu_seen |= present.cpu;
                if let Some(dom) = &rec.dom {
                    fill_devices(dom, &mut d, present, groups, cfg.as_deref(), &mut meter);
                }
            }
            gaps.push((present, cfg.is_some()));
            domains.push(d);
        }
        // Free memory changes slowly; one round trip fewer on fast polls.
        let free_memory_bytes = if slow && self.free_mem_ok {
            match meter.rpc(|| self.conn.free_memory()) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.free_mem_ok = !unsupported(&e);
                    None
                }
            }
        } else {
            None
        };
        let node_cpu = if self.node_cpu_ok {
            let trips = if self.node_cpu_fields.is_some() { 1 } else { 2 };
            let fields = self.node_cpu_fields;
            match meter.rpcs(trips, || ffi::node_cpu_stats(&self.conn, fields)) {
                Ok(f) => {
                    self.node_cpu_fields = Some(f.len());
                    node_cpu_from(&f)
                }
                Err(e) => {
                    self.node_cpu_ok = !unsupported(&e);
                    None
                }
            }
        } else {
            None
        };
        // The counters were read by now; XML reads after this do not age them.
        let taken = Instant::now();
        let wall = chrono::Utc::now();

        let events = self.configs(&records, &domains, &mut meter);
        // Device counters of a domain whose XML was read just now: its first reading, a little
        // later than the others', so the next poll has a rate.
        for ((d, rec), (present, had)) in domains.iter_mut().zip(&records).zip(&gaps) {
            let cfg = self.known.config(&d.uuid).filter(|_| !had);
            if let (Some(cfg), Some(dom)) = (cfg, &rec.dom)
                && d.state.is_some_and(VmState::is_active)
            {
                fill_devices(dom, d, *present, groups, Some(&cfg), &mut meter);
            }
        }
        // Counted apart: the poll's own round trips stay what they were, whatever the guests.
        let mut asked = Meter::new(beat);
        self.ask_guests(&records, &domains, start.elapsed(), &mut asked);
        self.need_live = false;
        for d in &mut domains {
            self.known.fill(d);
            self.guests.fill(d);
            let active = d.state.is_some_and(VmState::is_active);
            self.need_live |= active && (d.vcpus.is_none() || d.memory_bytes.is_none());
        }
        seen.fastest = meter.fastest;
        self.cost.record(way, !slow, &seen);
        self.running = seen.running;
        let local = (slow && self.info.is_local).then(|| self.local.stats());
        Ok(HostSample {
            taken,
            wall,
            poll_micros: micros(start.elapsed()),
            rtt_micros: self.cost.rtt().map(micros),
            calls: meter.calls,
            guest_calls: asked.calls,
            configs_pending: u32::try_from(self.known.pending()).unwrap_or(u32::MAX),
            info: self.info.clone(),
            free_memory_bytes,
            node_cpu,
            local,
            domains,
            events,
        })
    }
}

impl LibvirtSource {
    fn bulk(&mut self, groups: u32, meter: &mut Meter) -> Result<Vec<StatsRecord>, LibvirtError> {
        const CALL: &str = "virConnectGetAllDomainStats";
        match meter.rpc(|| ffi::all_domain_stats(&self.conn, groups, self.flags)) {
            Ok(r) => Ok(r),
            Err(e) if self.flags != 0 && unsupported(&e) => {
                // Older daemons and some drivers refuse NOWAIT; ask without it from now on.
                self.flags = 0;
                meter
                    .rpc(|| ffi::all_domain_stats(&self.conn, groups, 0))
                    .map_err(LibvirtError::of(CALL))
            }
            Err(e) => Err(LibvirtError::new(CALL, &e)),
        }
    }

    /// Asks the guests that are due what their addresses, hostname and OS are, within the
    /// poll's guest budget.
    fn ask_guests(
        &mut self,
        records: &[StatsRecord],
        domains: &[DomainSample],
        spent: Duration,
        meter: &mut Meter,
    ) {
        let with = |f: fn(&DomainSample) -> bool| -> HashSet<&str> {
            domains
                .iter()
                .filter(|d| f(d))
                .map(|d| d.uuid.as_str())
                .collect()
        };
        let running = with(|d| d.state == Some(VmState::Running));
        let active = with(|d| d.state.is_some_and(VmState::is_active));
        self.guests.observe(&running, &active, &with(|_| true));
        let budget = Guests::budget(
            self.pace == Pace::Eager,
            running.len(),
            self.interval,
            spent,
        );
        if budget.time.is_zero() {
            return;
        }
        let started = Instant::now();
        let mut done = 0;
        for uuid in self.guests.due(started) {
            if !budget.allows(done, started.elapsed()) {
                break;
            }
            let dom = records
                .iter()
                .find(|r| r.uuid == uuid)
                .and_then(|r| r.dom.as_ref());
            if let Some(dom) = dom {
                self.guests.ask(&uuid, dom, meter);
                done += 1;
            }
        }
    }

    /// Marks what events and actions touched, forgets domains that are gone, and reads the XML
    /// that is due within this poll's budget. Returns the events, for the sample.
    fn configs(
        &mut self,
        records: &[StatsRecord],
        domains: &[DomainSample],
        meter: &mut Meter,
    ) -> Vec<DomainEvent> {
        let events: Vec<DomainEvent> = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let acted: Vec<String> = self
            .refresh
            .lock()
            .map(|mut r| r.drain().collect())
            .unwrap_or_default();
        for uuid in events.iter().map(|e| &e.uuid).chain(acted.iter()) {
            self.known.mark(uuid);
        }
        let present: HashSet<&str> = domains.iter().map(|d| d.uuid.as_str()).collect();
        self.known.retain(&present);
        let budget = budget(self.pace, domains.len(), self.interval);
        let started = Instant::now();
        let mut done = 0;
        for uuid in self.known.due(started) {
            if !budget.allows(done, started.elapsed()) {
                break;
            }
            let dom = domains
                .iter()
                .zip(records)
                .find(|(d, _)| d.uuid == uuid)
                .and_then(|(_, r)| r.dom.as_ref());
            if let Some(dom) = dom {
                self.known.read(&uuid, dom, &self.conn, meter);
                done += 1;
            }
        }
        events
    }
}
