//! The recorder: keeps its own fleet model from the collectors' messages and writes what
//! changed: placements (where each VM was, from when to when), events with who caused them,
//! host states, and statistics. One transaction per message, so a killed recorder loses at most
//! the poll it was writing.

mod diff;
mod inputs;

use super::lease::{self, Holder, Lease};
use super::store::{meta_set, Ids};
use crate::collection::{LinkState, Message, Update};
use crate::config::HostConfig;
use crate::history::config::HistoryConfig;
use crate::model::sample::VmState;
use crate::model::{Fleet, Vm};
use rusqlite::{params, Connection};
use std::collections::{HashMap, VecDeque};

/// Who caused a change, when fleetwatch itself did not: seen live, or found after a gap.
pub const EXTERNAL: &str = "external";
pub const UNKNOWN: &str = "unknown";

/// Same kind for the same VM on the same host within this long is one event seen twice.
const DEDUPE_MS: i64 = 30_000;
/// How long a migration's start is remembered waiting for its end.
const MIGRATION_MEMORY_MS: i64 = 30 * 60_000;

#[derive(Debug, Clone, PartialEq)]
struct Placed {
    host: usize,
    state: VmState,
    vcpus: Option<u32>,
    memory: Option<u64>,
    disks: String,
    row: i64,
}

fn placed(vm: &Vm) -> Placed {
    Placed {
        host: vm.host,
        state: vm.state,
        vcpus: vm.vcpus,
        memory: vm.max_memory_bytes.or(vm.memory_bytes),
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
        row: 0,
    }
}

pub struct Recorder {
    conn: Connection,
    me: Holder,
    ids: Ids,
    cfg: HistoryConfig,
    hosts: Vec<HostConfig>,
    fleet: Fleet,
    prev: HashMap<String, Placed>,
    host_rows: Vec<Option<(i64, LinkState)>>,
    /// A host was not answering: what its next sample shows changed at an unknown time.
    gap: Vec<bool>,
    /// A host never recorded before: its first sample is where its history starts, not a
    /// list of VMs that "appeared".
    baseline: Vec<bool>,
    /// Recently written events (at, uuid, kind, host), to drop the same change seen twice.
    recent: VecDeque<(i64, String, &'static str, usize)>,
    /// Live migrations under way: uuid -> (start, destination host).
    migrating: HashMap<String, (i64, usize)>,
    /// Migrations' ends as the source reported them: uuid -> time.
    ended: HashMap<String, i64>,
    last_raw: HashMap<i64, i64>,
    last_renew: i64,
    last_maintenance: i64,
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
    Sql(rusqlite::Error),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RecordError::Busy { pid, hostname } => write!(
                f,
                "another recorder (pid {pid} on {hostname}) writes this history"
            ),
            RecordError::LostLease => f.write_str("another recorder took over this history"),
            RecordError::Sql(e) => write!(f, "{e}"),
        }
    }
}

impl From<rusqlite::Error> for RecordError {
    fn from(e: rusqlite::Error) -> Self {
        RecordError::Sql(e)
    }
}

impl Recorder {
    /// Takes the lease and loads what the store last knew, so a restart continues the record
    /// instead of inventing events.
    pub fn start(
        mut conn: Connection,
        cfg: HistoryConfig,
        hosts: &[HostConfig],
        now_ms: i64,
    ) -> Result<Recorder, RecordError> {
        let me = Holder::me();
        if let Lease::Other { pid, hostname, .. } = lease::acquire(&mut conn, &me, now_ms)? {
            return Err(RecordError::Busy { pid, hostname });
        }
        let mut ids = Ids::default();
        let mut prev = HashMap::new();
        let mut host_rows = vec![None; hosts.len()];
        let mut baseline = vec![false; hosts.len()];
        for (i, h) in hosts.iter().enumerate() {
            let hid = ids.host(&conn, &h.name, &h.uri)?;
            let open: Option<(i64, String)> = conn
                .query_row(
                    "SELECT id, state FROM host_states WHERE host_id = ?1 AND until IS NULL ORDER BY since DESC LIMIT 1",
                    [hid],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            host_rows[i] = open.map(|(row, s)| (row, link_of(&s)));
            baseline[i] = host_rows[i].is_none();
            let mut stmt = conn.prepare(
                "SELECT v.uuid, p.id, p.state, p.vcpus, p.memory_bytes FROM placements p JOIN vms v ON v.id = p.vm_id
                 WHERE p.host_id = ?1 AND p.until IS NULL",
            )?;
            let rows = stmt.query_map([hid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<u32>>(3)?,
                    r.get::<_, Option<u64>>(4)?,
                ))
            })?;
            for row in rows {
                let (uuid, id, state, vcpus, memory) = row?;
                prev.insert(
                    uuid,
                    Placed {
                        host: i,
                        state: state_of(&state),
                        vcpus,
                        memory,
                        disks: String::new(),
                        row: id,
                    },
                );
            }
        }
        Ok(Recorder {
            conn,
            me,
            ids,
            cfg,
            hosts: hosts.to_vec(),
            fleet: Fleet::new(hosts),
            prev,
            host_rows,
            // Whatever changed while no recorder ran happened at a time nobody knows.
            gap: vec![true; hosts.len()],
            baseline,
            recent: VecDeque::new(),
            migrating: HashMap::new(),
            ended: HashMap::new(),
            last_raw: HashMap::new(),
            last_renew: now_ms,
            last_maintenance: now_ms,
        })
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Records one collector message; `now_ms` is the wall clock.
    pub fn record(&mut self, m: &Message, now_ms: i64) -> Result<(), RecordError> {
        if now_ms - self.last_renew >= lease::RENEW_EVERY_MS {
            if !lease::renew(&self.conn, &self.me, now_ms)? {
                return Err(RecordError::LostLease);
            }
            self.last_renew = now_ms;
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match self.write(m, now_ms) {
            Ok(()) => self.conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        }
        if now_ms - self.last_maintenance >= 60_000 {
            self.last_maintenance = now_ms;
            super::rollup::maintain(&self.conn, &self.cfg, now_ms)?;
        }
        Ok(())
    }

    fn write(&mut self, m: &Message, now_ms: i64) -> rusqlite::Result<()> {
        match &m.update {
            Update::Link { state, error, .. } => {
                self.fleet.set_link(m.host, *state, error.clone());
                if *state != LinkState::Connecting {
                    self.host_state(m.host, *state, error.as_deref(), now_ms)?;
                }
                if matches!(state, LinkState::Down | LinkState::Stale) {
                    self.gap[m.host] = true;
                }
            }
            Update::Action(_) => {}
            Update::Sample(s) => {
                let at = s.wall.timestamp_millis();
                self.fleet.apply(m.host, s);
                self.host_state(m.host, LinkState::Up, None, at)?;
                self.libvirt_events(m.host, s)?;
                self.diff(m.host, s, at)?;
                self.stats(m.host, at)?;
                self.gap[m.host] = false;
                self.baseline[m.host] = false;
            }
        }
        meta_set(&self.conn, "last_write", &now_ms.to_string())
    }

    /// Gives the lease up, for a clean exit.
    pub fn stop(self) {
        let _ = lease::release(&self.conn, &self.me);
    }

    /// The operator of a fleetwatch action that caused this event, from the audit in the same
    /// store: a started (not refused or failed) action on the VM shortly before it.
    fn own_action(&self, uuid: &str, kind: &str, at: i64) -> Option<String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.operator, s.action FROM actions s
                 WHERE s.uuid = ?1 AND s.phase = 'start' AND s.at BETWEEN ?2 AND ?3
                   AND NOT EXISTS (SELECT 1 FROM actions e WHERE e.action_id = s.action_id AND e.phase = 'end'
                                   AND e.outcome IN ('refused', 'failed', 'aborted'))
                 ORDER BY s.at DESC LIMIT 5",
            )
            .ok()?;
        let rows = stmt
            .query_map(params![uuid, at - 600_000, at + 5_000], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .ok()?;
        #[allow(clippy::let_and_return)] // the binding ends the borrow of `stmt` first
        let found = rows
            .flatten()
            .find(|(_, action)| causes(action, kind))
            .map(|(op, _)| op);
        found
    }

    fn actor(&self, host: usize, uuid: &str, kind: &str, at: i64) -> String {
        if let Some(a) = self.own_action(uuid, kind, at) {
            return a;
        }
        if self.gap.get(host).copied().unwrap_or(true) {
            UNKNOWN.into()
        } else {
            EXTERNAL.into()
        }
    }

    fn seen(&mut self, at: i64, uuid: &str, kind: &'static str, host: usize) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|(t, ..)| *t < at - 2 * DEDUPE_MS)
        {
            self.recent.pop_front();
        }
        let dup = self.recent.iter().any(|(t, u, k, h)| {
            u == uuid && *k == kind && *h == host && (t - at).abs() <= DEDUPE_MS
        });
        if !dup {
            self.recent.push_back((at, uuid.to_owned(), kind, host));
        }
        dup
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        at: i64,
        kind: &'static str,
        uuid: Option<(&str, &str)>,
        host: usize,
        moved: Option<(usize, usize, Option<i64>)>,
        actor: String,
        detail: String,
    ) -> rusqlite::Result<()> {
        let vm_id = match uuid {
            Some((u, name)) => Some(self.ids.vm(&self.conn, u, name)?),
            None => None,
        };
        let h = &self.hosts[host];
        let host_id = self.ids.host(&self.conn, &h.name, &h.uri)?;
        let (from, to, started) = match moved {
            Some((a, b, s)) => {
                let (ha, hb) = (self.hosts[a].clone(), self.hosts[b].clone());
                (
                    Some(self.ids.host(&self.conn, &ha.name, &ha.uri)?),
                    Some(self.ids.host(&self.conn, &hb.name, &hb.uri)?),
                    s,
                )
            }
            None => (None, None, None),
        };
        self.conn.execute(
            "INSERT INTO events (at, kind, vm_id, host_id, from_host_id, to_host_id, started_at, actor, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![at, kind, vm_id, host_id, from, to, started, actor, detail],
        )?;
        Ok(())
    }

    /// An event about one VM on one host, with the actor found for it.
    fn vm_event(
        &mut self,
        at: i64,
        kind: &'static str,
        uuid: &str,
        name: &str,
        host: usize,
        detail: String,
    ) -> rusqlite::Result<()> {
        let actor = self.actor(host, uuid, kind, at);
        self.event(at, kind, Some((uuid, name)), host, None, actor, detail)
    }

    fn open_row(&mut self, uuid: &str, name: &str, p: &Placed, at: i64) -> rusqlite::Result<i64> {
        let vm = self.ids.vm(&self.conn, uuid, name)?;
        let h = self.hosts[p.host].clone();
        let hid = self.ids.host(&self.conn, &h.name, &h.uri)?;
        self.conn.execute(
            "INSERT INTO placements (vm_id, host_id, state, vcpus, memory_bytes, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![vm, hid, p.state.label(), p.vcpus, p.memory, at],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn close_row(&self, row: i64, at: i64) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE placements SET until = ?2 WHERE id = ?1 AND until IS NULL",
            params![row, at],
        )?;
        Ok(())
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
    if old.memory.is_some() && new.memory.is_some() && old.memory != new.memory {
        d.push(format!(
            "memory {} -> {} MiB",
            old.memory.unwrap_or(0) >> 20,
            new.memory.unwrap_or(0) >> 20
        ));
    }
    if !old.disks.is_empty() && !new.disks.is_empty() && old.disks != new.disks {
        d.push(format!("disks {} -> {}", old.disks, new.disks));
    }
    (!d.is_empty()).then(|| d.join("; "))
}

pub fn state_of(s: &str) -> VmState {
    match s {
        "running" => VmState::Running,
        "paused" => VmState::Paused,
        "shutoff" => VmState::Shutoff,
        "crashed" => VmState::Crashed,
        _ => VmState::Other,
    }
}

fn link_of(s: &str) -> LinkState {
    match s {
        "up" => LinkState::Up,
        "stale" => LinkState::Stale,
        "down" => LinkState::Down,
        _ => LinkState::Connecting,
    }
}
