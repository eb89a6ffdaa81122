//! The fleet as it was: a recorded moment turned back into the same model the live view uses,
//! so every pane can show it. Hosts no longer configured still appear, by name. Rates come from
//! the statistics recorded then, or are unknown: a past fleet never shows a made-up 0%.

use super::moment::Coverage;
use super::query::Past;
use super::store::rows::vm_state as state_of;
use super::store::{HistoryRead, StoreError};
use crate::config::HostConfig;
use crate::link::LinkState;
use crate::model::Fleet;
use crate::model::sample::{DomainSample, HostInfo, HostSample};
use crate::time::show;
use std::sync::Arc;
use std::time::Instant;

/// Why a moment has no past fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Time travel goes back only.
    Future(String),
    /// No recorder ran then.
    NotRecorded(String),
    Store(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Refusal::Future(m) | Refusal::NotRecorded(m) | Refusal::Store(m) => f.write_str(m),
        }
    }
}

fn dt(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub fn not_future(t: i64, now_ms: i64) -> Result<(), Refusal> {
    // A second of grace: "now" typed a moment ago is not the future.
    if t > now_ms + 1_000 {
        return Err(Refusal::Future(format!(
            "{} is in the future: time travel only goes back",
            show(dt(t))
        )));
    }
    Ok(())
}

/// The recorded moment `t` (placements, host states, statistics), or why there is none.
/// `windows` as [`super::moment::windows`] gives them.
pub fn lookup(c: &dyn HistoryRead, t: i64, now_ms: i64, windows: &[i64]) -> Result<Past, Refusal> {
    let sql = |e: StoreError| Refusal::Store(e.to_string());
    not_future(t, now_ms)?;
    let not = |why: String| {
        Err(Refusal::NotRecorded(format!(
            "{} was not recorded: {why}",
            show(dt(t))
        )))
    };
    match c.coverage(t).map_err(sql)? {
        Coverage::Recorded => {}
        Coverage::Never => return not("nothing has been recorded yet".into()),
        Coverage::Before { first_ms } => {
            return not(format!("the history begins {}", show(dt(first_ms))));
        }
        Coverage::Gap {
            from_ms,
            to_ms: Some(to),
        } => {
            return not(format!(
                "no recorder ran from {} to {}",
                show(dt(from_ms)),
                show(dt(to))
            ));
        }
        Coverage::Gap {
            from_ms,
            to_ms: None,
        } => return not(format!("no recorder has run since {}", show(dt(from_ms)))),
    }
    let mut past = c.at(t).map_err(sql)?;
    let (vms, hosts) = c.stats_at(t, windows).map_err(sql)?;
    past.vm_stats = vms;
    past.host_stats = hosts;
    Ok(past)
}

pub fn fleet_at(configured: &[HostConfig], past: &Past) -> Fleet {
    let mut hosts: Vec<HostConfig> = configured.to_vec();
    for h in &past.hosts {
        if !hosts.iter().any(|c| c.name == h.name)
            && (h.state != "unknown" || past.vms.iter().any(|v| v.host == h.name))
        {
            hosts.push(HostConfig {
                name: h.name.clone(),
                uri: h.uri.clone(),
                tags: Vec::new(),
                actions: false,
                host_down: None,
                group: None,
            });
        }
    }
    let mut fleet = Fleet::new(&hosts);
    let taken = Instant::now();
    let wall = chrono::DateTime::from_timestamp_millis(past.at_ms).unwrap_or_default();
    for (i, h) in hosts.iter().enumerate() {
        let domains: Vec<DomainSample> = past
            .vms
            .iter()
            .filter(|v| v.host == h.name)
            .map(|v| DomainSample {
                uuid: v.uuid.clone(),
                name: v.name.clone(),
                state: Some(state_of(&v.state)),
                vcpus: v.vcpus,
                memory_bytes: v.memory_bytes,
                max_memory_bytes: v.max_memory_bytes,
                ..DomainSample::default()
            })
            .collect();
        let state = past.hosts.iter().find(|p| p.name == h.name);
        if state.is_none_or(|s| s.state == "unknown") && domains.is_empty() {
            fleet.set_link(
                i,
                LinkState::Down,
                Some("not recorded at that moment".into()),
            );
            continue;
        }
        let info = HostInfo {
            cpus: state.and_then(|s| s.cpus).unwrap_or(0),
            memory_bytes: state.and_then(|s| s.memory_bytes).unwrap_or(0),
            ..HostInfo::default()
        };
        fleet.apply(
            i,
            &HostSample {
                taken,
                wall,
                poll_micros: 0,
                rtt_micros: None,
                calls: 0,
                guest_calls: 0,
                configs_pending: 0,
                info: Arc::new(info),
                free_memory_bytes: None,
                node_cpu: None,
                local: None,
                domains,
                events: Vec::new(),
            },
        );
        if let Some(s) = state.filter(|s| s.state != "up") {
            let link = match s.state.as_str() {
                "stale" => LinkState::Stale,
                "down" => LinkState::Down,
                _ => LinkState::Connecting,
            };
            fleet.set_link(i, link, s.error.clone());
        }
    }
    // After every host: which copy is the one shown (and measured) is known only then.
    for i in 0..fleet.hosts.len() {
        rates(&mut fleet, i, past);
    }
    fleet
}

/// The statistics recorded then in place of rates computed from counters (a past sample has
/// none): each where it was measured, unknown elsewhere.
fn rates(fleet: &mut Fleet, host: usize, past: &Past) {
    let Some(h) = fleet.hosts.get_mut(host) else {
        return;
    };
    // As live: a host down or stale then has no current rates.
    if h.link != LinkState::Up {
        return;
    }
    let s = past.host_stats.get(&h.name).copied().unwrap_or_default();
    h.totals.cpu_percent = s.cpu;
    h.totals.memory_used = s.mem.map(|m| m as u64);
    h.totals.disk_bps = s.disk;
    h.totals.net_bps = s.net;
    for vm in h.vms.values_mut().filter(|v| v.primary) {
        let s = past.vm_stats.get(&vm.uuid).copied().unwrap_or_default();
        vm.cpu_percent = s.cpu;
        vm.disk_read_bps = s.disk_read;
        vm.disk_write_bps = s.disk_write;
        vm.net_rx_bps = s.net_rx;
        vm.net_tx_bps = s.net_tx;
    }
}
