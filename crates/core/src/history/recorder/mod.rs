//! The recorder: keeps its own fleet model from the collectors' messages and writes what
//! changed: placements (where each copy of a VM was, from when to when), events with who caused
//! them, host states, and statistics. One transaction per batch of messages (what queued up
//! while the last one was written, see [`BATCH_MAX`]), so a killed recorder loses at most the
//! batch it was writing; everything it needs to go on (copies, states, what it has not judged
//! yet) is in the store, so a restarted one goes on where the killed one stopped. A batch that
//! fails is rolled back whole and the recorder reloads what the store holds.

mod across;
mod copies;
mod diff;
mod inputs;
mod judgments;
mod live;
mod load;
mod transaction;
mod write;

pub use transaction::{BATCH_MAX, BATCH_WINDOW, Queued};

use super::lease::{Holder, Lease, Role};
use super::store::rows::{HostStateRow, RowId};
use super::store::{RecordStore, StoreError};
use crate::config::HostConfig;
use crate::history::config::HistoryConfig;
use crate::link::{LinkState, Message, Update};
use crate::model::sample::{DomainConfig, VmState};
use crate::model::{Fleet, Vm};
use judgments::Pending;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Who caused a change, when fleetwatch itself did not: seen live, or found after a gap.
pub const EXTERNAL: &str = "external";
pub const UNKNOWN: &str = "unknown";

/// Same kind for the same VM on the same host within this long is one event seen twice.
const DEDUPE_MS: i64 = 30_000;
/// How long a migration's start is remembered waiting for its end.
const MIGRATION_MEMORY_MS: i64 = 30 * 60_000;

/// One host's copy of a VM, as last written.
#[derive(Debug, Clone, PartialEq)]
struct Placed {
    host: usize,
    state: VmState,
    vcpus: Option<u32>,
    /// The current allocation, as the live view shows it.
    memory: Option<u64>,
    max_memory: Option<u64>,
    disks: String,
    /// The domain XML `disks` was read from: the same one again has the same disks, so a poll
    /// that changed nothing is told apart without formatting them anew.
    disks_from: Option<Arc<DomainConfig>>,
    row: RowId,
    /// When its placement row opened: the older of two running copies is the one that was
    /// there first (the source of a migration under way).
    since: i64,
}

fn placed(vm: &Vm) -> Placed {
    Placed {
        host: vm.host,
        state: vm.state,
        vcpus: vm.vcpus,
        memory: vm.memory_bytes,
        max_memory: vm.max_memory_bytes,
        disks: vm
            .config
            .as_ref()
            .map(|c| {
                c.disks
                    .iter()
                    .map(|d| format!("{}={}", d.target, d.path))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        disks_from: vm.config.clone(),
        row: 0,
        since: 0,
    }
}

impl Placed {
    /// The VM's copy is what was written, and nothing about it is left to learn.
    fn unchanged(&self, vm: &Vm) -> bool {
        let same_xml = match (&self.disks_from, &vm.config) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same_xml
            && self.state == vm.state
            && self.vcpus == vm.vcpus
            && self.memory == vm.memory_bytes
            && self.max_memory == vm.max_memory_bytes
    }
}

pub struct Recorder {
    store: Box<dyn RecordStore + Send>,
    me: Holder,
    cfg: HistoryConfig,
    hosts: Vec<HostConfig>,
    /// Sharing a database: the config's hosts other recorders hold. A VM moving between one
    /// of theirs and one of ours is seen in halves, which meet in the store (`across`).
    others: Vec<HostConfig>,
    fleet: Fleet,
    /// UUID -> host -> that host's copy. A UUID defined on several hosts is one VM.
    copies: HashMap<String, BTreeMap<usize, Placed>>,
    /// Host -> the UUIDs it holds a copy of in `copies`: a host's poll is compared with its own
    /// copies, not with every copy in the fleet.
    on_host: Vec<HashSet<String>>,
    /// UUID -> the host the VM runs on (its active copy), for VMs active anywhere. It stays
    /// where it is while that copy is active, so a second running copy (the destination of a
    /// migration under way) is no move until the first one lets go.
    home: HashMap<String, usize>,
    /// A VM's last active copy gone inactive or away, waiting for the other hosts' polls to
    /// say whether it went on elsewhere (a migration) or really stopped.
    pending: HashMap<String, Pending>,
    /// VMs moved, running, onto a copy still paused: that copy running next is the move's
    /// end, not a "resumed".
    arriving: HashSet<String>,
    host_rows: Vec<Option<HostStateRow>>,
    /// A host was not answering: what its next sample shows changed at an unknown time.
    gap: Vec<bool>,
    /// A host never recorded before: its first sample is where its history starts, not a
    /// list of VMs that "appeared".
    baseline: Vec<bool>,
    /// Recently written events (at, uuid, kind, host), to drop the same change seen twice.
    recent: VecDeque<(i64, String, &'static str, usize)>,
    /// Of `recent`, how many the transaction under way added: a rollback takes them back.
    recent_added: usize,
    /// Live migrations under way: uuid -> (start, destination host).
    migrating: HashMap<String, (i64, usize)>,
    /// Migrations' ends as the source reported them: uuid -> time.
    ended: HashMap<String, i64>,
    /// When each VM's (by UUID) and each host's raw statistics were last written: a poll
    /// within `sample_every` of that writes none, and costs no more than this lookup.
    last_raw: HashMap<String, i64>,
    host_last_raw: Vec<Option<i64>>,
    /// Each host's CPUs and memory as last written.
    sizes: Vec<Option<(u32, u64)>>,
    /// This recorder's row in `recordings`.
    recording: RowId,
    last_renew: i64,
    last_maintenance: i64,
    /// When the rollups last committed, as the store says, and why they do not advance.
    maintained_at: Option<i64>,
    stalls: Vec<String>,
    /// UUID -> the config last published live (its address: the collectors keep one `Arc`
    /// while the XML is unchanged), so a config is written when it is read anew, not per poll.
    published: HashMap<(usize, String), usize>,
    /// Per host taken over from another recorder: when it last wrote the host, until this
    /// recorder's first word of it (the time between is shown as not recorded).
    unrecorded_since: Vec<Option<i64>>,
}

#[derive(Debug)]
pub enum RecordError {
    /// Another recorder holds the lease.
    Busy {
        pid: i64,
        hostname: String,
    },
    /// We were presumed dead and another recorder took over.
    LostLease,
    Store(StoreError),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RecordError::Busy { pid, hostname } => write!(
                f,
                "another recorder (pid {pid} on {hostname}) writes this history"
            ),
            RecordError::LostLease => f.write_str("another recorder took over this history"),
            RecordError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RecordError {}

impl From<StoreError> for RecordError {
    fn from(e: StoreError) -> Self {
        RecordError::Store(e)
    }
}

impl Recorder {
    /// Takes the lease as the dedicated recorder (the service) and loads what the store last
    /// knew, so a restart continues the record instead of inventing events.
    pub fn start(
        store: impl RecordStore + Send + 'static,
        cfg: HistoryConfig,
        hosts: &[HostConfig],
        now_ms: i64,
    ) -> Result<Recorder, RecordError> {
        Recorder::start_as(Role::Service, store, cfg, hosts, now_ms)
    }

    /// As [`Recorder::start`], in the given role: a TUI's recorder gives way to the service.
    pub fn start_as(
        role: Role,
        store: impl RecordStore + Send + 'static,
        cfg: HistoryConfig,
        hosts: &[HostConfig],
        now_ms: i64,
    ) -> Result<Recorder, RecordError> {
        let me = Holder::renewing(role, store.lease_renewal_ms());
        Recorder::start_holding(me, store, cfg, (hosts, &[]), now_ms)
    }

    /// As [`Recorder::start`], as `me`: a recorder sharing a config starts over as the same
    /// holder when its share changes, so the leases it keeps stay its own throughout and the
    /// others never see them free.
    /// `hosts`: those it records, and those of the config other recorders hold.
    pub fn start_holding(
        me: Holder,
        store: impl RecordStore + Send + 'static,
        cfg: HistoryConfig,
        (hosts, others): (&[HostConfig], &[HostConfig]),
        now_ms: i64,
    ) -> Result<Recorder, RecordError> {
        let mut store: Box<dyn RecordStore + Send> = Box::new(store);
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        if let Lease::Other { pid, hostname, .. } = store.acquire_lease(&me, &names, now_ms)? {
            return Err(RecordError::Busy { pid, hostname });
        }
        let mut rec = Recorder {
            store,
            me,
            cfg,
            hosts: hosts.to_vec(),
            others: others.to_vec(),
            // What the recorder writes is the sample's, not the sparklines'.
            fleet: Fleet::without_series(hosts),
            copies: HashMap::new(),
            on_host: vec![HashSet::new(); hosts.len()],
            home: HashMap::new(),
            pending: HashMap::new(),
            arriving: HashSet::new(),
            host_rows: vec![None; hosts.len()],
            // Whatever changed while no recorder ran happened at a time nobody knows.
            gap: vec![true; hosts.len()],
            baseline: vec![false; hosts.len()],
            recent: VecDeque::new(),
            recent_added: 0,
            migrating: HashMap::new(),
            ended: HashMap::new(),
            last_raw: HashMap::new(),
            host_last_raw: vec![None; hosts.len()],
            sizes: vec![None; hosts.len()],
            recording: 0,
            last_renew: now_ms,
            // The first run with the first write: a history that stalled before a restart says
            // so at once, and one that was merely stopped is not read as stalled meanwhile.
            last_maintenance: now_ms - transaction::MAINTAIN_EVERY_MS,
            maintained_at: None,
            stalls: Vec::new(),
            published: HashMap::new(),
            unrecorded_since: vec![None; hosts.len()],
        };
        rec.load()?;
        rec.recording = rec.store.start_recording(now_ms)?;
        Ok(rec)
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Findings for the recorder's fleet, for a metrics export; the history does not read them.
    pub fn set_findings(
        &mut self,
        list: Vec<crate::model::findings::Finding>,
        problems: Vec<String>,
    ) {
        self.fleet.set_findings(list, problems);
    }

    fn write(&mut self, m: &Message, now_ms: i64) -> Result<(), StoreError> {
        // Host indices are the config's; one from elsewhere is nothing this recorder knows.
        if m.host >= self.hosts.len() {
            return Ok(());
        }
        // The time not recorded ends with the first word written of the host, not when its
        // connection is first tried.
        let written = !matches!(
            &m.update,
            Update::Link {
                state: LinkState::Connecting,
                ..
            } | Update::Action(_)
        );
        if written && let Some(since) = self.unrecorded_since[m.host].take() {
            self.not_recorded(m.host, since, now_ms)?;
        }
        match &m.update {
            Update::Link { state, error, .. } => {
                // Dated when the collector said it, not when its batch was written.
                let waited = i64::try_from(m.at.elapsed().as_millis()).unwrap_or(i64::MAX);
                let at = now_ms.saturating_sub(waited);
                self.fleet.set_link(m.host, *state, error.clone());
                if *state != LinkState::Connecting {
                    self.host_state(m.host, *state, error.as_deref(), at)?;
                }
                if matches!(state, LinkState::Down | LinkState::Stale) {
                    self.gap[m.host] = true;
                    self.settle(m.host, at, true)?;
                }
            }
            Update::Action(_) => {}
            Update::Sample(s) => {
                let at = s.wall.timestamp_millis();
                self.fleet.apply(m.host, s);
                self.host_state(m.host, LinkState::Up, None, at)?;
                self.libvirt_events(m.host, s)?;
                self.diff(m.host, s, at)?;
                self.settle(m.host, at, false)?;
                self.stats(m.host, at)?;
                self.gap[m.host] = false;
                self.baseline[m.host] = false;
            }
        }
        Ok(())
    }

    /// Who this recorder is in the leases.
    pub fn holder(&self) -> &Holder {
        &self.me
    }

    /// Gives the lease up, for a clean exit.
    pub fn stop(mut self) {
        let _ = self.store.release_lease(&self.me);
    }

    /// Ends this recorder for a new share: gives up the hosts it holds that `keep` does not
    /// name, keeping the rest (and its presence) for the holder's next start.
    pub fn hand_over(mut self, keep: &[&str]) {
        let give: Vec<&str> = self
            .hosts
            .iter()
            .map(|h| h.name.as_str())
            .filter(|h| !keep.contains(h))
            .collect();
        let _ = self.store.release_hosts(&self.me, &give);
    }
}

/// Whether a fleetwatch action of this name causes a history event of this kind.
fn causes(action: &str, kind: &str) -> bool {
    matches!(
        (action, kind),
        ("start", "started")
            | ("shutdown" | "force-off", "stopped")
            | ("reboot", "stopped" | "started")
            | ("pause", "paused")
            | ("resume", "resumed")
            | ("migrate", "migrated")
            | ("snapshot", "snapshot-taken")
            | ("revert-snapshot", "snapshot-reverted")
            | ("delete-snapshot", "snapshot-deleted")
    )
}

fn config_change(old: &Placed, new: &Placed) -> Option<String> {
    let mut d = Vec::new();
    if old.vcpus.is_some() && new.vcpus.is_some() && old.vcpus != new.vcpus {
        d.push(format!(
            "vCPUs {} -> {}",
            old.vcpus.unwrap_or(0),
            new.vcpus.unwrap_or(0)
        ));
    }
    // The configured size: the maximum where known (the current allocation moves with the
    // balloon, which is no change of configuration).
    let (a, b) = (old.max_memory.or(old.memory), new.max_memory.or(new.memory));
    if a.is_some() && b.is_some() && a != b {
        d.push(format!(
            "memory {} -> {} MiB",
            a.unwrap_or(0) >> 20,
            b.unwrap_or(0) >> 20
        ));
    }
    if !old.disks.is_empty() && !new.disks.is_empty() && old.disks != new.disks {
        d.push(format!("disks {} -> {}", old.disks, new.disks));
    }
    (!d.is_empty()).then(|| d.join("; "))
}
