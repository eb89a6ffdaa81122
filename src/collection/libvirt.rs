//! The shipped hypervisor source: one libvirt connection, polled with one bulk-stats round trip
//! plus two cheap node calls; per-domain calls only where the driver left gaps, XML only when a
//! domain is new or changed.

use super::ffi::{self, DomainEvent, StatsRecord};
use super::snapshots::SnapshotCache;
use super::stats::{domain_from_params, node_cpu_from, Present};
use super::{domxml, Connector, Heartbeat, Source};
use crate::model::sample::{
    DiskSource, DomainConfig, DomainSample, HostInfo, HostSample, LocalStats, VmState,
};
use crate::sanitize::{clean, clean_multiline};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use virt::connect::Connect;
use virt::error::ErrorNumber;
use virt_sys as sys;

/// Skip stats that would wait on a domain job (a migration), which otherwise blocks ~30 s.
const NOWAIT: u32 = 1 << 29;
/// Re-read every domain's XML at least this often, to catch changes made behind our back.
const XML_REFRESH: Duration = Duration::from_secs(60);

/// Bulk-stats groups asked for on every poll. Each group costs the daemon work per VM, and on
/// QEMU most of them a monitor round trip per VM (measured: 10 guests, state+interface 0.2 ms,
/// +cpu 14 ms, +balloon 17 ms, +vcpu 15 ms, +block 23 ms; README "Poll cost"). State and
/// interfaces are nearly free; CPU time and memory come cheaper from virDomainGetInfo (0.2 ms a
/// VM, read from /proc, no monitor).
pub const FAST_GROUPS: u32 = sys::VIR_DOMAIN_STATS_STATE | sys::VIR_DOMAIN_STATS_INTERFACE;
/// Added every `slow_every`-th poll: disk I/O and balloon (RSS). Their rates are averages over
/// that longer interval.
pub const SLOW_GROUPS: u32 = sys::VIR_DOMAIN_STATS_BALLOON | sys::VIR_DOMAIN_STATS_BLOCK;

pub fn libvirt_error(e: &virt::error::Error) -> String {
    clean_multiline(e.message())
}

pub struct LibvirtConnector {
    /// URIs that may be opened for writing (hosts with `actions = true` in a session that is
    /// not read-only); every other host gets a read-only connection, so libvirt itself refuses
    /// writes there.
    pub writable: std::collections::HashSet<String>,
    /// Fetch the costly groups every this many polls (1: every poll).
    pub slow_every: u32,
}

impl Connector for LibvirtConnector {
    fn connect(&self, uri: &str) -> Result<Box<dyn Source>, String> {
        let writable = self.writable.contains(uri);
        let conn = if writable {
            Connect::open(Some(uri))
        } else {
            Connect::open_read_only(Some(uri))
        }
        .map_err(|e| libvirt_error(&e))?;
        if is_remote(uri) {
            // Lets libvirt notice a dead peer on its own; needs the event loop thread.
            if let Err(e) = conn.set_keep_alive(5, 3) {
                tracing::debug!(uri, "keepalive not set: {}", e.message());
            }
        }
        let info = host_info(&conn, uri);
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
            known: HashMap::new(),
            flags: NOWAIT,
            node_cpu_ok: true,
            free_mem_ok: true,
            sys: None,
            polls: 0,
            slow_every: self.slow_every.max(1),
            node_cpu_fields: None,
            pools: HashMap::new(),
        }))
    }
}

fn is_remote(uri: &str) -> bool {
    uri_host(uri).is_some_and(|h| !h.is_empty())
}

fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    Some(host.split(':').next().unwrap_or(""))
}

fn is_local_machine(uri: &str, driver: &str) -> bool {
    if driver.eq_ignore_ascii_case("test") {
        return false;
    }
    match uri_host(uri) {
        Some(h) => h.is_empty() || h == "localhost" || h.starts_with("127.") || h == "[::1]",
        None => true,
    }
}

fn version_string(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, (v / 1000) % 1000, v % 1000)
}

fn host_info(conn: &Connect, uri: &str) -> HostInfo {
    let node = conn.node_info().ok();
    let driver = conn.driver_type().map(|s| clean(&s)).unwrap_or_default();
    HostInfo {
        hostname: conn.hostname().map(|s| clean(&s)).unwrap_or_default(),
        cpus: node.as_ref().map_or(0, |n| n.cpus),
        memory_bytes: node.as_ref().map_or(0, |n| n.memory.saturating_mul(1024)),
        cpu_model: node.as_ref().map(|n| clean(&n.model)).unwrap_or_default(),
        mhz: node.as_ref().map_or(0, |n| n.mhz),
        hypervisor_version: conn.hyp_version().map(version_string).unwrap_or_default(),
        libvirt_version: conn.lib_version().map(version_string).unwrap_or_default(),
        is_local: is_local_machine(uri, &driver),
        driver,
    }
}

struct Known {
    config: Arc<DomainConfig>,
    snapshots: SnapshotCache,
    state: Option<VmState>,
    vcpus: Option<u32>,
    read_at: Instant,
}

pub struct LibvirtSource {
    /// Declared before `conn`: callbacks are deregistered before the connection closes.
    _events: Option<ffi::EventRegistration>,
    pending: Arc<Mutex<Vec<DomainEvent>>>,
    writable: bool,
    refresh: Arc<Mutex<std::collections::HashSet<String>>>,
    conn: Arc<Connect>,
    info: Arc<HostInfo>,
    known: HashMap<String, Known>,
    flags: u32,
    node_cpu_ok: bool,
    free_mem_ok: bool,
    sys: Option<(sysinfo::System, sysinfo::Disks, u32)>,
    polls: u64,
    slow_every: u32,
    node_cpu_fields: Option<usize>,
    pools: HashMap<String, Option<String>>,
}

pub fn state_of(s: virt::domain::DomainStateEnum) -> VmState {
    use virt::domain::DomainState as S;
    match s {
        virt::enumutil::Enum::Known(S::Running | S::Blocked) => VmState::Running,
        virt::enumutil::Enum::Known(S::Paused | S::PMSuspended) => VmState::Paused,
        virt::enumutil::Enum::Known(S::Shutdown | S::Shutoff) => VmState::Shutoff,
        virt::enumutil::Enum::Known(S::Crashed) => VmState::Crashed,
        _ => VmState::Other,
    }
}

fn unsupported(e: &virt::error::Error) -> bool {
    matches!(
        e.code(),
        virt::enumutil::Enum::Known(ErrorNumber::NoSupport | ErrorNumber::InvalidArg)
    )
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

    fn poll(&mut self, progress: &Heartbeat) -> Result<HostSample, String> {
        let start = Instant::now();
        // The first two polls are slow ones, so disk rates show from the second poll on.
        let slow = self.polls < 2 || self.polls.is_multiple_of(u64::from(self.slow_every));
        let groups = if slow {
            FAST_GROUPS | SLOW_GROUPS
        } else {
            FAST_GROUPS
        };
        self.polls += 1;
        let records = match ffi::all_domain_stats(&self.conn, groups, self.flags) {
            Ok(r) => r,
            Err(e) if self.flags != 0 && unsupported(&e) => {
                // Older daemons and some drivers refuse NOWAIT; ask without it from now on.
                self.flags = 0;
                ffi::all_domain_stats(&self.conn, groups, 0).map_err(|e| libvirt_error(&e))?
            }
            Err(e) => return Err(libvirt_error(&e)),
        };
        progress.beat();
        // Free memory changes slowly; one round trip fewer on fast polls.
        let free_memory_bytes = if slow && self.free_mem_ok {
            match self.conn.free_memory() {
                Ok(v) => Some(v),
                Err(e) => {
                    self.free_mem_ok = !unsupported(&e);
                    None
                }
            }
        } else {
            None
        };
        progress.beat();
        let node_cpu = if self.node_cpu_ok {
            match ffi::node_cpu_stats(&self.conn, self.node_cpu_fields) {
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
        progress.beat();
        let now = Instant::now();
        let events: Vec<DomainEvent> = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        // A domain an event named, or an action touched, has its XML read again in this poll.
        let acted: Vec<String> = self
            .refresh
            .lock()
            .map(|mut r| r.drain().collect())
            .unwrap_or_default();
        for uuid in events.iter().map(|e| &e.uuid).chain(acted.iter()) {
            if let Some(k) = self.known.get_mut(uuid) {
                k.read_at = now - XML_REFRESH - Duration::from_secs(1);
            }
        }
        let mut domains = Vec::with_capacity(records.len());
        for rec in records {
            // A domain's calls (GetInfo, XML, snapshots) are a few round trips.
            domains.push(self.domain(rec, now, groups));
            progress.beat();
        }
        self.known
            .retain(|uuid, _| domains.iter().any(|d| &d.uuid == uuid));
        let local = (slow && self.info.is_local).then(|| self.local_stats());
        Ok(HostSample {
            taken: Instant::now(),
            wall: chrono::Utc::now(),
            poll_micros: start.elapsed().as_micros() as u64,
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
    fn domain(&mut self, rec: StatsRecord, now: Instant, groups: u32) -> DomainSample {
        let (mut d, present) = domain_from_params(&rec.uuid, &rec.name, &rec.params);
        if let Some(dom) = &rec.dom {
            // One virDomainGetInfo gives CPU time, memory and vCPUs (and the state, should the
            // driver have sent none); shut-off domains need no call at all.
            if d.state.is_none_or(VmState::is_active) && (!present.cpu || d.state.is_none()) {
                if let Ok(info) = dom.info() {
                    fill_info(&mut d, &info);
                }
            }
            let stale = match self.known.get(&d.uuid) {
                None => true,
                Some(k) => {
                    k.state != d.state || k.vcpus != d.vcpus || now - k.read_at > XML_REFRESH
                }
            };
            if stale {
                match dom
                    .xml_desc(0)
                    .map_err(|e| libvirt_error(&e))
                    .and_then(|x| domxml::parse(&x))
                {
                    Ok(mut cfg) => {
                        // Snapshots are read on the XML's cadence: new, changed, or every minute.
                        let mut snapshots = self
                            .known
                            .remove(&d.uuid)
                            .map(|k| k.snapshots)
                            .unwrap_or_default();
                        cfg.newest_snapshot = snapshots.newest(dom);
                        for disk in &mut cfg.disks {
                            if let DiskSource::Volume { pool, pool_type } = &mut disk.source {
                                *pool_type = self.pool_type(pool);
                            }
                        }
                        let known = Known {
                            config: Arc::new(cfg),
                            snapshots,
                            state: d.state,
                            vcpus: d.vcpus,
                            read_at: now,
                        };
                        self.known.insert(d.uuid.clone(), known);
                    }
                    Err(e) => tracing::warn!(uuid = %d.uuid, "domain XML not read: {e}"),
                }
            }
            if d.state.is_some_and(VmState::is_active) {
                let cfg = self.known.get(&d.uuid).map(|k| k.config.clone());
                fill_devices(dom, &mut d, present, groups, cfg.as_deref());
            }
        }
        if let Some(k) = self.known.get(&d.uuid) {
            d.config = Some(k.config.clone());
            if d.vcpus.is_none() {
                d.vcpus = Some(k.config.vcpus);
            }
            if d.memory_bytes.is_none() {
                d.memory_bytes = Some(k.config.memory_bytes);
            }
            if d.max_memory_bytes.is_none() {
                d.max_memory_bytes = Some(k.config.max_memory_bytes);
            }
        }
        d
    }

    /// What kind of storage pool this is, asked once per connection.
    fn pool_type(&mut self, pool: &str) -> Option<String> {
        if let Some(t) = self.pools.get(pool) {
            return t.clone();
        }
        let t = self
            .conn
            .lookup_storage_pool_by_name(pool)
            .and_then(|p| p.xml_desc(0))
            .ok()
            .and_then(|x| {
                roxmltree::Document::parse(&x)
                    .ok()
                    .and_then(|d| d.root_element().attribute("type").map(clean))
            });
        self.pools.insert(pool.to_owned(), t.clone());
        t
    }

    fn local_stats(&mut self) -> LocalStats {
        let (sys, disks, n) = self.sys.get_or_insert_with(|| {
            (
                sysinfo::System::new(),
                sysinfo::Disks::new_with_refreshed_list(),
                0,
            )
        });
        sys.refresh_memory();
        *n += 1;
        if n.is_multiple_of(6) {
            disks.refresh(true);
        }
        let l = sysinfo::System::load_average();
        let image_free_bytes = disks
            .list()
            .iter()
            .filter(|d| {
                std::path::Path::new("/var/lib/libvirt/images").starts_with(d.mount_point())
            })
            .max_by_key(|d| d.mount_point().as_os_str().len())
            .map(|d| d.available_space());
        LocalStats {
            load: [l.one, l.five, l.fifteen],
            swap_total_bytes: sys.total_swap(),
            swap_used_bytes: sys.used_swap(),
            image_free_bytes,
        }
    }
}

fn fill_info(d: &mut DomainSample, info: &virt::domain::DomainInfo) {
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

/// Per-domain device calls for a group that was asked for and did not come back (the test
/// driver returns only state).
fn fill_devices(
    dom: &virt::domain::Domain,
    d: &mut DomainSample,
    p: Present,
    groups: u32,
    cfg: Option<&DomainConfig>,
) {
    let Some(cfg) = cfg else { return };
    if groups & sys::VIR_DOMAIN_STATS_BLOCK != 0 && !p.block {
        for disk in cfg.disks.iter().filter(|k| !k.target.is_empty()) {
            if let Ok(s) = dom.block_stats(&disk.target) {
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
            if let Ok(s) = dom.interface_stats(t) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_hosts() {
        assert_eq!(uri_host("qemu+ssh://root@hv1:2222/system"), Some("hv1"));
        assert_eq!(uri_host("qemu:///system"), Some(""));
        assert!(is_remote("qemu+tcp://127.0.0.11/system"));
        assert!(!is_remote("test:///default"));
        assert!(is_local_machine("qemu:///system", "QEMU"));
        assert!(is_local_machine("qemu+tcp://127.0.0.11/system", "QEMU"));
        assert!(!is_local_machine("qemu+ssh://hv1/system", "QEMU"));
        assert!(!is_local_machine("test:///default", "Test"));
        assert_eq!(version_string(9_000_000), "9.0.0");
        assert_eq!(version_string(7_002_011), "7.2.11");
    }
}
