//! What a collector sends: one whole, self-contained picture of a host per poll. Plain data, so
//! the model can be driven by recorded or synthetic samples without a hypervisor.

use super::guest::GuestInfo;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Default,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum VmState {
    Running,
    Paused,
    Shutoff,
    Crashed,
    #[default]
    Other,
}

impl VmState {
    /// Its name as shown, stored and parsed back: the variant in lowercase.
    pub fn label(self) -> &'static str {
        self.into()
    }

    pub fn is_active(self) -> bool {
        matches!(self, VmState::Running | VmState::Paused)
    }
}

/// Facts about a host that change rarely; read once per connection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    pub cpus: u32,
    pub memory_bytes: u64,
    pub cpu_model: String,
    pub mhz: u32,
    pub driver: String,
    pub hypervisor_version: String,
    pub libvirt_version: String,
    /// The host is this machine, so `local` statistics below describe it.
    pub is_local: bool,
}

/// What sysinfo knows when the hypervisor is this machine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LocalStats {
    pub load: [f64; 3],
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
    /// Free space on the filesystem holding libvirt's images folder.
    pub image_free_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiskSource {
    File,
    Block,
    Network {
        protocol: String,
    },
    /// A volume in a storage pool; `pool_type` is what the host says the pool is (netfs, rbd,
    /// logical, dir, ...), when it was asked.
    Volume {
        pool: String,
        pool_type: Option<String>,
    },
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskConfig {
    pub target: String,
    pub device: String,
    /// File or device path, network image name, or volume name.
    pub path: String,
    pub source: DiskSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicConfig {
    pub mac: String,
    pub target: Option<String>,
    pub kind: String,
    pub source: String,
    pub model: String,
}

/// An approval, from the inventory file or from the VM's own fleetwatch metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Approval {
    pub owner: String,
    pub ticket: String,
    pub expires: Option<DateTime<Utc>>,
    pub group: Option<String>,
    pub vcpus: Option<u32>,
    pub memory_mib: Option<u64>,
}

/// What the `urn:fleetwatch:1` metadata element says.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FleetMeta {
    pub approval: Option<Approval>,
    pub backup_last: Option<DateTime<Utc>>,
    /// Attributes that could not be read, said in words for the detail pane.
    pub problems: Vec<String>,
}

/// One snapshot of a domain, as its XML says (read once, when first seen).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub name: String,
    pub created: Option<DateTime<Utc>>,
    /// The domain's state when it was taken (`running`, `shutoff`, ...): a revert returns to it.
    pub state: String,
    pub parent: Option<String>,
    /// The one the domain's current state descends from.
    pub current: bool,
}

/// The parts of a domain's XML fleetwatch uses; read when a domain is new or changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DomainConfig {
    pub title: String,
    pub description: String,
    pub vcpus: u32,
    /// `<currentMemory>` (or `<memory>` without it).
    pub memory_bytes: u64,
    /// `<memory>`: the most the VM may have.
    pub max_memory_bytes: u64,
    pub disks: Vec<DiskConfig>,
    pub nics: Vec<NicConfig>,
    /// The raw `urn:fleetwatch:1` metadata element, when present.
    pub fleet_metadata: Option<String>,
    /// That element, read.
    pub fleet: Option<FleetMeta>,
    /// The newest snapshot's name and creation time (read with the XML, not every poll).
    pub newest_snapshot: Option<(String, DateTime<Utc>)>,
    /// Every snapshot, oldest first (read with the XML).
    #[serde(default)]
    pub snapshots: Vec<SnapshotInfo>,
    /// What it boots from, in order (`network`, `hd`, `cdrom`, `fd`, ...); empty when the XML
    /// does not say (libvirt boots the first disk).
    pub boot: Vec<String>,
}

/// One domain as seen in one poll. Counters are cumulative, as libvirt reports them; `None` is
/// "not known", never zero.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DomainSample {
    pub uuid: String,
    pub name: String,
    pub state: Option<VmState>,
    pub vcpus: Option<u32>,
    pub memory_bytes: Option<u64>,
    pub max_memory_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub cpu_time_ns: Option<u64>,
    pub disk_read_bytes: Option<u64>,
    pub disk_write_bytes: Option<u64>,
    pub net_rx_bytes: Option<u64>,
    pub net_tx_bytes: Option<u64>,
    pub config: Option<Arc<DomainConfig>>,
    /// Addresses, hostname and OS, fetched every minute or so and carried between fetches.
    pub guest: Option<Arc<GuestInfo>>,
}

/// Busy and total CPU time of the whole node, cumulative, for host CPU%.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NodeCpu {
    pub busy_ns: u64,
    pub total_ns: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostSample {
    /// Monotonic time the poll finished; rates are computed from these only.
    pub taken: Instant,
    pub wall: DateTime<Utc>,
    /// How long the poll took end to end (all round trips).
    pub poll_micros: u64,
    /// One cheap round trip to the host (the smallest single call of recent polls), when known.
    pub rtt_micros: Option<u64>,
    /// libvirt round trips this poll made.
    pub calls: u32,
    /// Round trips spent asking guests their addresses after the poll's own, on a slow
    /// cadence (a few guests a poll, each about once a minute).
    pub guest_calls: u32,
    /// Domains whose XML has not been read yet: their config is unknown, not empty.
    pub configs_pending: u32,
    pub info: Arc<HostInfo>,
    pub free_memory_bytes: Option<u64>,
    pub node_cpu: Option<NodeCpu>,
    pub local: Option<LocalStats>,
    pub domains: Vec<DomainSample>,
    /// Domain events libvirt delivered since the previous poll, oldest first.
    pub events: Vec<super::event::DomainEvent>,
}
