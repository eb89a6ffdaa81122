//! The live fleet through a shared store: each recorder writes the newest picture of the hosts
//! it holds (link state and sample, the VMs' configs apart and only when read anew), and TUIs
//! that watch the fleet through the store read what changed since their last look, turning it
//! back into the collectors' messages. The store is shared by a team, so what comes out of it
//! is cleaned again, as what came from a hypervisor was.

use crate::link::LinkState;
use crate::model::sample::{DiskSource, VmState};
use crate::model::sample::{DomainConfig, DomainSample, HostInfo, HostSample, LocalStats, NodeCpu};
use crate::sanitize::{clean, clean_multiline};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// One host's row as a recorder writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveHost {
    pub host: String,
    pub link: LinkState,
    pub error: Option<String>,
    /// [`encode`]d; `None` before the host's first sample.
    pub sample: Option<String>,
    /// (UUID, [`encode_config`]d) of the VMs whose config this recorder had not written yet.
    pub configs: Vec<(String, String)>,
}

/// One host's row as a reader gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRow {
    pub host: String,
    pub seq: i64,
    /// This machine's time of the write (the store's clock moved to ours), Unix ms.
    pub written_ms: i64,
    /// The lease holder that wrote it.
    pub recorder: String,
    pub link: String,
    pub error: Option<String>,
    pub sample: Option<String>,
}

/// What changed since a reader's last look.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveChanges {
    pub hosts: Vec<LiveRow>,
    /// (seq, host, UUID, encoded config).
    pub configs: Vec<(i64, String, String, String)>,
}

/// A sample as stored: the collector's, less what only its own process knows (its monotonic
/// clock) and the configs, which are written apart when they change.
#[derive(Serialize, Deserialize)]
struct Stored {
    wall: DateTime<Utc>,
    poll_micros: u64,
    rtt_micros: Option<u64>,
    calls: u32,
    configs_pending: u32,
    info: HostInfo,
    free_memory_bytes: Option<u64>,
    node_cpu: Option<NodeCpu>,
    local: Option<LocalStats>,
    domains: Vec<StoredDomain>,
}

/// A domain as an array, not an object: written for every VM at every poll, its field names
/// would be most of the bytes (at 10,000 VMs, a third of the recorder's cost).
#[derive(Serialize, Deserialize)]
struct StoredDomain(
    /// uuid, name, state
    String,
    String,
    Option<VmState>,
    /// vcpus, memory, max memory, rss
    Option<u32>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    /// cpu time (ns), disk read, disk write, net rx, net tx (bytes)
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    /// Its config was read (and is in the configs the reader has, or will have).
    bool,
);

pub fn encode(s: &HostSample) -> String {
    let stored = Stored {
        wall: s.wall,
        poll_micros: s.poll_micros,
        rtt_micros: s.rtt_micros,
        calls: s.calls,
        configs_pending: s.configs_pending,
        info: (*s.info).clone(),
        free_memory_bytes: s.free_memory_bytes,
        node_cpu: s.node_cpu,
        local: s.local.clone(),
        domains: s
            .domains
            .iter()
            .map(|d| {
                StoredDomain(
                    d.uuid.clone(),
                    d.name.clone(),
                    d.state,
                    d.vcpus,
                    d.memory_bytes,
                    d.max_memory_bytes,
                    d.rss_bytes,
                    d.cpu_time_ns,
                    d.disk_read_bytes,
                    d.disk_write_bytes,
                    d.net_rx_bytes,
                    d.net_tx_bytes,
                    d.config.is_some(),
                )
            })
            .collect(),
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

pub fn encode_config(c: &DomainConfig) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

/// A stored config, cleaned; `None` when it is not one (written by something else, or cut).
pub fn decode_config(text: &str) -> Option<DomainConfig> {
    let mut c: DomainConfig = serde_json::from_str(text).ok()?;
    c.title = clean(&c.title);
    c.description = clean_multiline(&c.description);
    for d in &mut c.disks {
        d.target = clean(&d.target);
        d.device = clean(&d.device);
        d.path = clean(&d.path);
        match &mut d.source {
            DiskSource::Network { protocol } => *protocol = clean(protocol),
            DiskSource::Volume { pool, pool_type } => {
                *pool = clean(pool);
                *pool_type = pool_type.as_deref().map(clean);
            }
            DiskSource::Other(o) => *o = clean(o),
            DiskSource::File | DiskSource::Block => {}
        }
    }
    for n in &mut c.nics {
        n.mac = clean(&n.mac);
        n.target = n.target.as_deref().map(clean);
        n.kind = clean(&n.kind);
        n.source = clean(&n.source);
        n.model = clean(&n.model);
    }
    if let Some(f) = &mut c.fleet {
        if let Some(a) = &mut f.approval {
            a.owner = clean(&a.owner);
            a.ticket = clean(&a.ticket);
            a.group = a.group.as_deref().map(clean);
        }
        f.problems = f.problems.iter().map(|p| clean(p)).collect();
    }
    c.newest_snapshot = c.newest_snapshot.map(|(n, at)| (clean(&n), at));
    for s in &mut c.snapshots {
        s.name = clean(&s.name);
        s.state = clean(&s.state);
        s.parent = s.parent.as_deref().map(clean);
    }
    Some(c)
}

/// A stored sample as the collectors would have sent it, taken at `taken` on this machine's
/// monotonic clock, its VMs' configs from `configs` (that host's, by UUID; shared, so an unchanged config stays the
/// same `Arc` from one sample to the next, as the collectors keep it). `None` when the text
/// is not a sample.
pub fn decode(
    text: &str,
    taken: Instant,
    configs: &HashMap<String, Arc<DomainConfig>>,
) -> Option<HostSample> {
    let s: Stored = serde_json::from_str(text).ok()?;
    let mut info = s.info;
    for f in [
        &mut info.hostname,
        &mut info.cpu_model,
        &mut info.driver,
        &mut info.hypervisor_version,
        &mut info.libvirt_version,
    ] {
        *f = clean(f);
    }
    // What sysinfo says is about the recorder's machine, not ours.
    info.is_local = false;
    Some(HostSample {
        taken,
        wall: s.wall,
        poll_micros: s.poll_micros,
        rtt_micros: s.rtt_micros,
        calls: s.calls,
        guest_calls: 0,
        configs_pending: s.configs_pending,
        info: Arc::new(info),
        free_memory_bytes: s.free_memory_bytes,
        node_cpu: s.node_cpu,
        local: s.local,
        domains: s
            .domains
            .into_iter()
            .map(|d| {
                let StoredDomain(
                    uuid,
                    name,
                    state,
                    vcpus,
                    mem,
                    max_mem,
                    rss,
                    cpu,
                    dr,
                    dw,
                    rx,
                    tx,
                    c,
                ) = d;
                DomainSample {
                    config: if c { configs.get(&uuid).cloned() } else { None },
                    uuid: clean(&uuid),
                    name: clean(&name),
                    state,
                    vcpus,
                    memory_bytes: mem,
                    max_memory_bytes: max_mem,
                    rss_bytes: rss,
                    cpu_time_ns: cpu,
                    disk_read_bytes: dr,
                    disk_write_bytes: dw,
                    net_rx_bytes: rx,
                    net_tx_bytes: tx,
                    // Not in the shared store: a client asks no guest.
                    guest: None,
                }
            })
            .collect(),
        // Events are in the history (the recorder wrote them), not repeated here.
        events: Vec::new(),
    })
}

/// The link state a row says, cleaned of anything a stranger wrote there.
pub fn link_of(row: &LiveRow) -> (LinkState, Option<String>) {
    let state = row.link.parse().unwrap_or(LinkState::Down);
    (state, row.error.as_deref().map(clean_multiline))
}
