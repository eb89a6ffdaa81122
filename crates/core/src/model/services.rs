//! The service view's model: VMs grouped by service group (from the inventory or their
//! metadata), and for each whether the loss of one host takes every running member down, so a
//! triage can start from the service rather than from the host.

use super::fleet::Fleet;
use super::sample::VmState;
use crate::link::LinkState;
use std::collections::{BTreeMap, HashMap};

/// What one host's loss would do to a service, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// No member runs, on hosts that answer.
    Down,
    /// None known to run, but some are on hosts that do not answer: their state is not known.
    Silent,
    /// Every running member on this one host.
    OneHost(usize),
    /// Running members on this many hosts: any one of them can go.
    Spread(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// Member UUIDs, by host then name.
    pub members: Vec<String>,
    /// Members known to run (on a host that answers).
    pub running: usize,
    /// Members on hosts that do not answer: their state is the last one seen, not now.
    pub unknown: usize,
    pub findings: usize,
    pub exposure: Exposure,
}

impl Service {
    /// The exposure in words, for the view's line.
    pub fn risk(&self, fleet: &Fleet) -> String {
        let unknown = if self.unknown > 0 {
            format!(" ({} on hosts not answering)", self.unknown)
        } else {
            String::new()
        };
        match self.exposure {
            Exposure::Down => "DOWN: no member running".into(),
            Exposure::Silent => format!("unknown: none seen running{unknown}"),
            Exposure::OneHost(h) => {
                let host = fleet.hosts.get(h).map_or("?", |x| x.name.as_str());
                if self.running == 1 {
                    format!("one running VM: losing {host} takes it down{unknown}")
                } else {
                    format!(
                        "all {} running on {host}: its loss takes it down{unknown}",
                        self.running
                    )
                }
            }
            Exposure::Spread(n) => format!("on {n} hosts: survives one host's loss{unknown}"),
        }
    }

    /// The same in a few words, for a narrow screen.
    pub fn risk_short(&self, fleet: &Fleet) -> String {
        match self.exposure {
            Exposure::Down => "DOWN".into(),
            Exposure::Silent => "unknown: host silent".into(),
            Exposure::OneHost(h) => {
                let host = fleet.hosts.get(h).map_or("?", |x| x.name.as_str());
                format!("all on {host}")
            }
            Exposure::Spread(n) => format!("{n} hosts"),
        }
    }
}

impl Fleet {
    /// UUID -> service group, as the last evaluation found them.
    pub fn groups(&self) -> &HashMap<String, String> {
        &self.groups
    }

    /// The groups `rules::evaluate_grouped` found; a change is a new judgement for the views.
    pub fn set_groups(&mut self, groups: HashMap<String, String>) {
        if groups != self.groups {
            self.groups = groups;
            self.judged += 1;
        }
    }
}

/// Every service group with members, worst exposure first, then most findings, then name;
/// and how many VMs are in no group.
pub fn services(fleet: &Fleet) -> (Vec<Service>, usize) {
    // The state travels with the member: looking each VM up again costs as much as the walk.
    let mut by_group: BTreeMap<&str, Vec<(usize, &str, &str, VmState)>> = BTreeMap::new();
    let mut ungrouped = 0;
    for vm in fleet.vms() {
        match fleet.groups().get(&vm.uuid) {
            Some(g) => by_group
                .entry(g)
                .or_default()
                .push((vm.host, &vm.name, &vm.uuid, vm.state)),
            None => ungrouped += 1,
        }
    }
    let mut out: Vec<Service> = by_group
        .into_iter()
        .map(|(name, mut members)| {
            members.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
            let mut hosts: Vec<usize> = Vec::new();
            let (mut running, mut unknown, mut findings) = (0, 0, 0);
            for &(h, _, uuid, state) in &members {
                findings += fleet.findings_of(uuid).count();
                let answers = fleet.hosts[h].link == LinkState::Up;
                let runs = state == VmState::Running;
                if !answers {
                    unknown += 1;
                } else if runs {
                    running += 1;
                    if hosts.last() != Some(&h) {
                        hosts.push(h);
                    }
                }
            }
            let exposure = match hosts[..] {
                [] if unknown > 0 => Exposure::Silent,
                [] => Exposure::Down,
                [h] => Exposure::OneHost(h),
                _ => Exposure::Spread(hosts.len()),
            };
            Service {
                name: name.to_owned(),
                members: members
                    .into_iter()
                    .map(|(_, _, u, _)| u.to_owned())
                    .collect(),
                running,
                unknown,
                findings,
                exposure,
            }
        })
        .collect();
    let worst = |e: &Exposure| match e {
        Exposure::Down => 0,
        Exposure::Silent => 1,
        Exposure::OneHost(_) => 2,
        Exposure::Spread(_) => 3,
    };
    out.sort_by(|a, b| {
        (worst(&a.exposure), std::cmp::Reverse(a.findings), &a.name).cmp(&(
            worst(&b.exposure),
            std::cmp::Reverse(b.findings),
            &b.name,
        ))
    });
    (out, ungrouped)
}
