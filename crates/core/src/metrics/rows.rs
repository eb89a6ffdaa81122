//! The rows an exposition is written from, copied out of the model.

use super::{Health, label};
use crate::actions::maintenance::Maintenance;
use crate::link::LinkState;
use crate::model::Fleet;
use crate::model::acks::{Ack, in_force};
use crate::model::findings::{Finding, Kind, Severity};
use crate::model::sample::VmState;

pub(super) const LINK_STATES: [LinkState; 4] = [
    LinkState::Connecting,
    LinkState::Up,
    LinkState::Stale,
    LinkState::Down,
];

#[derive(Debug)]
pub(super) struct HostRow {
    pub(super) name: String,
    pub(super) link: LinkState,
    pub(super) cpus: Option<u32>,
    pub(super) memory_bytes: Option<u64>,
    pub(super) vms: usize,
    pub(super) last_sample_s: Option<f64>,
    /// Evacuated and not yet returned: someone works on it, its being down pages no one.
    pub(super) maintenance: bool,
}

#[derive(Debug)]
pub(super) struct VmRow {
    /// host, vm, uuid
    pub(super) labels: [String; 3],
    pub(super) state: VmState,
    pub(super) vcpus: Option<u32>,
    pub(super) memory_bytes: Option<u64>,
    pub(super) rss_bytes: Option<u64>,
    pub(super) cpu_s: Option<f64>,
    pub(super) bytes: [Option<u64>; 4],
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FindingRow {
    pub(super) kind: &'static str,
    pub(super) severity: &'static str,
    /// host, vm, uuid; empty where the finding has none.
    pub(super) place: [String; 3],
}

/// Everything one scrape shows, owned.
#[derive(Debug)]
pub struct Exposition {
    /// Whether the fleet's families are written (all but [`Exposition::health`]).
    pub(super) fleet: bool,
    pub(super) hosts: Vec<HostRow>,
    pub(super) vms: Vec<VmRow>,
    /// Per kind: its severity under the policy, how many findings it has now that nobody
    /// acknowledged, how many are acknowledged, and how many are held by hosts in maintenance.
    pub(super) kinds: Vec<(Kind, Severity, usize, usize, usize)>,
    /// Active findings per kind and severity: the policy's severity always (0 when none), a
    /// host group's other one (`[group.NAME.severity]`) when some finding has it.
    pub(super) by_severity: Vec<(Kind, Severity, usize)>,
    /// One series each, however many findings share them (sorted, no two alike).
    pub(super) findings: Vec<FindingRow>,
    pub(super) health: Option<Health>,
}

impl Exposition {
    pub fn of(
        fleet: &Fleet,
        health: Option<Health>,
        acks: &[Ack],
        maintenance: &[Maintenance],
    ) -> Exposition {
        let now = chrono::Utc::now().timestamp_millis();
        let acked = |f: &Finding| !acks.is_empty() && in_force(acks, f, now).is_some();
        // Someone is working on the host: its findings alert no one until it leaves maintenance.
        let held = |f: &Finding| {
            !maintenance.is_empty()
                && f.host
                    .as_deref()
                    .is_some_and(|h| crate::actions::maintenance::of(maintenance, h).is_some())
        };
        let hosts = fleet
            .hosts
            .iter()
            .map(|h| HostRow {
                name: label(&h.name),
                link: h.link,
                cpus: h.info.as_ref().map(|i| i.cpus),
                memory_bytes: h.info.as_ref().map(|i| i.memory_bytes),
                vms: h.vms.len(),
                last_sample_s: h
                    .last_sample_wall
                    .map(|t| t.timestamp_millis() as f64 / 1e3),
                maintenance: crate::actions::maintenance::of(maintenance, &h.name).is_some(),
            })
            .collect();
        // Every copy, not only the shown one: a VM running on two hosts is two series, which
        // is what the split-brain alert counts.
        let vms = fleet
            .hosts
            .iter()
            .flat_map(|h| h.vms.values().map(move |v| (h, v)))
            .map(|(h, v)| VmRow {
                labels: [label(&h.name), label(&v.name), label(&v.uuid)],
                state: v.state,
                vcpus: v.vcpus,
                memory_bytes: v.memory_bytes,
                rss_bytes: v.rss_bytes,
                cpu_s: v.cpu_time_ns().map(|ns| ns as f64 / 1e9),
                bytes: v.byte_counters(),
            })
            .collect();
        let severity = |k: Kind| {
            fleet
                .severities
                .get(&k)
                .copied()
                .unwrap_or(k.default_severity())
        };
        let mut by_severity = Vec::new();
        let kinds = Kind::ALL
            .into_iter()
            .map(|k| {
                let of_kind = fleet.findings.iter().filter(|f| f.kind == k);
                let (mut n, mut a, mut m) = (0, 0, 0);
                // Active ones by severity: [warning, critical].
                let mut active = [0, 0];
                for f in of_kind {
                    if held(f) {
                        m += 1;
                    } else if acked(f) {
                        a += 1;
                    } else {
                        n += 1;
                        active[usize::from(f.severity == Severity::Critical)] += 1;
                    }
                }
                let policy = severity(k);
                for s in [Severity::Warning, Severity::Critical] {
                    let c = active[usize::from(s == Severity::Critical)];
                    if s == policy || c > 0 {
                        by_severity.push((k, s, c));
                    }
                }
                (k, policy, n, a, m)
            })
            .collect();
        let opt = |s: &Option<String>| s.as_deref().map(label).unwrap_or_default();
        let mut findings: Vec<FindingRow> = fleet
            .findings
            .iter()
            .filter(|f| !acked(f) && !held(f))
            .map(|f| FindingRow {
                kind: f.kind.name(),
                severity: f.severity.name(),
                place: [opt(&f.host), opt(&f.vm), opt(&f.uuid)],
            })
            .collect();
        findings.sort_unstable();
        findings.dedup();
        Exposition {
            fleet: true,
            hosts,
            vms,
            kinds,
            by_severity,
            findings,
            health,
        }
    }

    /// Only the health figures: a scrape's own, computed as it comes, after the fleet's text
    /// rendered earlier.
    pub fn health(h: Health) -> Exposition {
        Exposition {
            fleet: false,
            hosts: Vec::new(),
            vms: Vec::new(),
            kinds: Vec::new(),
            by_severity: Vec::new(),
            findings: Vec::new(),
            health: Some(h),
        }
    }
}
