//! The rules behind each finding kind. Pure: fleet, policy, the policy files and the time go
//! in; findings come out, each with the sources and values that made it, in words.

use super::age;
pub use super::approval::{Approvals, Source, approval_of, service_groups};
use super::findings::{Finding, Kind};
use super::fleet::Fleet;
use super::sample::{Approval, VmState};
use super::storage::is_shared;
use super::vm::Vm;
use crate::link::LinkState;
use crate::policy::PolicyConfig;
use crate::policy::loader::Inputs;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};

/// All findings for the fleet as it is now.
pub fn evaluate(
    fleet: &Fleet,
    policy: &PolicyConfig,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    evaluate_grouped(fleet, policy, inputs, now).0
}

/// The findings and each VM's service group (UUID -> group), from one pass: the service view
/// groups by what the rules already worked out, not by a second reading of every approval.
pub fn evaluate_grouped(
    fleet: &Fleet,
    policy: &PolicyConfig,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> (Vec<Finding>, HashMap<String, String>) {
    let mut service_of = HashMap::new();
    let mut out = Vec::new();
    let mut push = |kind: Kind, vm: Option<&Vm>, host: Option<&str>, detail: String| {
        out.push(Finding {
            kind,
            severity: policy.severity(kind),
            vm: vm.map(|v| v.name.clone()),
            uuid: vm.map(|v| v.uuid.clone()),
            host: host
                .map(str::to_owned)
                .or_else(|| vm.map(|v| fleet.hosts[v.host].name.clone())),
            detail,
        })
    };
    // An unreadable file means "cannot tell", not "nothing approved": those rules stay silent
    // and the banner says why.
    let inventory_ok = policy.inventory.is_none() || inputs.inventory().is_some();
    let catalog_ok = policy.backup_catalog.is_none() || inputs.catalog().is_some();
    let mut groups: BTreeMap<(usize, String), Vec<&Vm>> = BTreeMap::new();
    let mut vms: Vec<&Vm> = fleet.vms().collect();
    vms.sort_by(|a, b| (a.host, &a.name).cmp(&(b.host, &b.name)));

    for vm in &vms {
        // Until a VM's XML is read its metadata, snapshots and disks are unknown, not absent:
        // the rules that read them say nothing about it rather than guess. (The approval that
        // counts, and so the group, may be in the metadata.)
        let read = vm.config.is_some();
        let approval = approval_of(vm, inputs, now);
        if inventory_ok
            && read
            && let Some(why) = approval.problem(policy)
        {
            push(Kind::Unapproved, Some(vm), None, why);
        }
        let group = approval
            .best()
            .and_then(|(a, _)| a.group.clone())
            .filter(|_| read);
        if catalog_ok && read {
            let max_age = policy.backup_max_age(group.as_deref());
            if let Some(why) = unbacked(vm, inputs, policy, max_age, now) {
                push(Kind::Unbacked, Some(vm), None, why);
            }
        }
        if vm.state.is_active()
            && read
            && let Some((a, src)) = approval.best()
            && let Some(why) = drift(vm, a, &src)
        {
            push(Kind::Drift, Some(vm), None, why);
        }
        if let Some(cfg) = &vm.config {
            let local: Vec<String> = cfg
                .disks
                .iter()
                .filter(|d| d.device == "disk" || d.device == "lun")
                .filter(|d| !is_shared(d, &policy.shared_storage))
                .map(|d| format!("{} {}", d.target, d.path))
                .collect();
            if !local.is_empty() {
                let detail = format!(
                    "cannot move off {}: local disk(s) {}",
                    fleet.hosts[vm.host].name,
                    local.join(", ")
                );
                push(Kind::LocalStorage, Some(vm), None, detail);
            }
        }
        if let Some(cfg) = &vm.config
            && cfg.boot.first().is_some_and(|b| b == "network")
            && !policy.netboot_expected(group.as_deref())
        {
            let detail = format!(
                "boots from the network first (boot order {}): its next boot takes whatever \
                 the network offers, a reinstall included",
                cfg.boot.join(", ")
            );
            push(Kind::NetbootFirst, Some(vm), None, detail);
        }
        if let Some(g) = &group {
            service_of.insert(vm.uuid.clone(), g.clone());
        }
        if let (Some(g), VmState::Running) = (&group, vm.state) {
            groups.entry((vm.host, g.clone())).or_default().push(vm);
        }
    }
    // Rules that compare hosts wait until every host answered once or failed: half a fleet
    // shows false failover and ghost findings (a wall display would show them for a second).
    let settled = fleet.settled();
    for ((host, group), members) in &groups {
        if members.len() >= 2 && settled {
            let names: Vec<&str> = members.iter().map(|v| v.name.as_str()).collect();
            for vm in members {
                let detail = format!(
                    "{} running replicas of group {group:?} on {}: {}",
                    members.len(),
                    fleet.hosts[*host].name,
                    names.join(", ")
                );
                push(Kind::AntiAffinity, Some(vm), None, detail);
            }
        }
    }
    host_rules(fleet, policy, settled, &mut push);
    out.extend(super::fleet_rules::host_down(
        fleet,
        policy,
        std::time::Instant::now(),
    ));
    if settled {
        out.extend(super::fleet_rules::split_brain(fleet, policy));
    }
    if let (true, true, Some(inv)) = (settled, inventory_ok, inputs.inventory()) {
        let down: Vec<&str> = fleet
            .hosts
            .iter()
            .filter(|h| h.link != LinkState::Up)
            .map(|h| h.name.as_str())
            .collect();
        // Sets, not a search of every VM per line: an inventory as large as the fleet was
        // quadratic (10,000 lines x 10,000 VMs a pass).
        let uuids: HashSet<String> = vms.iter().map(|vm| vm.uuid.to_ascii_lowercase()).collect();
        let names: HashSet<&str> = vms.iter().map(|vm| vm.name.as_str()).collect();
        for e in &inv.entries {
            let found = match &e.uuid {
                Some(u) => uuids.contains(&u.to_ascii_lowercase()),
                None => e.name.as_deref().is_some_and(|n| names.contains(n)),
            };
            if !found {
                let who = match (&e.name, &e.uuid) {
                    (Some(n), Some(u)) => format!("{n} (uuid {u}, which decides)"),
                    (Some(n), None) => n.clone(),
                    (None, Some(u)) => format!("uuid {u}"),
                    (None, None) => "?".into(),
                };
                let mut detail = format!(
                    "inventory line {}: {who}, owner {}, ticket {}, matches no VM on any host",
                    e.line,
                    or_dash(&e.approval.owner),
                    or_dash(&e.approval.ticket)
                );
                if !down.is_empty() {
                    detail.push_str(&format!(
                        "; not answering, so not searched: {}",
                        down.join(", ")
                    ));
                }
                out.push(Finding {
                    kind: Kind::Ghost,
                    severity: policy.severity(Kind::Ghost),
                    vm: e.name.clone(),
                    uuid: e.uuid.clone(),
                    host: None,
                    detail,
                });
            }
        }
    }
    // Where a host's group (or the host) sets a kind's severity, its findings take it.
    if !policy.host_severity.is_empty() {
        for f in &mut out {
            f.severity = policy.severity_on(f.kind, f.host.as_deref());
        }
    }
    (out, service_of)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

pub(super) fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn unbacked(
    vm: &Vm,
    inputs: &Inputs,
    policy: &PolicyConfig,
    max_age: std::time::Duration,
    now: DateTime<Utc>,
) -> Option<String> {
    let cfg = vm.config.as_deref();
    let mut evidence: Vec<(DateTime<Utc>, String)> = Vec::new();
    if policy.snapshots_count_as_backup
        && let Some((name, t)) = cfg.and_then(|c| c.newest_snapshot.clone())
    {
        evidence.push((t, format!("snapshot {name:?}")));
    }
    if let Some(b) = inputs.catalog().and_then(|c| c.newest(&vm.uuid, &vm.name)) {
        let at = if b.location.is_empty() {
            String::new()
        } else {
            format!(", {}", b.location)
        };
        evidence.push((b.completed_at, format!("catalog line {}{at}", b.line)));
    }
    if let Some(t) = cfg
        .and_then(|c| c.fleet.as_ref())
        .and_then(|m| m.backup_last)
    {
        evidence.push((t, "backup metadata".into()));
    }
    let max = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let limit = age(max_age);
    match evidence.into_iter().max_by_key(|(t, _)| *t) {
        None if policy.snapshots_count_as_backup => Some(format!(
            "no backup evidence: no snapshot, not in the catalog, no backup metadata (max age {limit})"
        )),
        None => Some(format!(
            "no backup evidence: not in the catalog, no backup metadata (max age {limit}; snapshots do not count: snapshots_count_as_backup = false)"
        )),
        Some((t, _)) if now - t <= max => None,
        Some((t, src)) => {
            let a = (now - t).to_std().map(age).unwrap_or_default();
            Some(format!(
                "newest backup {a} old ({src}, {}), max age {limit}",
                t.format("%Y-%m-%d %H:%M UTC")
            ))
        }
    }
}

fn drift(vm: &Vm, a: &Approval, src: &Source) -> Option<String> {
    let mut diffs = Vec::new();
    if let (Some(want), Some(have)) = (a.vcpus, vm.vcpus)
        && want != have
    {
        diffs.push(format!("vCPUs {have} running, {want} approved"));
    }
    let mem = vm.max_memory_bytes.or(vm.memory_bytes).map(|b| b >> 20);
    if let (Some(want), Some(have)) = (a.memory_mib, mem)
        && want != have
    {
        diffs.push(format!("memory {have} MiB running, {want} MiB approved"));
    }
    (!diffs.is_empty()).then(|| format!("{} ({src})", diffs.join("; ")))
}

fn host_rules(
    fleet: &Fleet,
    policy: &PolicyConfig,
    settled: bool,
    push: &mut impl FnMut(Kind, Option<&Vm>, Option<&str>, String),
) {
    let up: Vec<usize> = (0..fleet.hosts.len())
        .filter(|&i| fleet.hosts[i].link == LinkState::Up)
        .collect();
    for &i in &up {
        let h = &fleet.hosts[i];
        let mut over = Vec::new();
        if let Some(r) = h
            .vcpu_overcommit()
            .filter(|&r| r > policy.max_vcpu_overcommit)
        {
            over.push(format!(
                "vCPUs {} allocated on {} CPUs = {r:.1}x, above {:.1}x",
                h.totals.vcpus_allocated,
                h.cpus(),
                policy.max_vcpu_overcommit
            ));
        }
        if let Some(r) = h.memory_overcommit().filter(|&r| r > 1.0) {
            over.push(format!(
                "memory {} allocated of {} = {:.0}%",
                gib(h.totals.memory_allocated),
                gib(h.memory_bytes()),
                r * 100.0
            ));
        }
        if !over.is_empty() {
            push(Kind::Overcommit, None, Some(&h.name), over.join("; "));
        }
        if let Some(why) = failover(fleet, policy, i, &up).filter(|_| settled) {
            push(Kind::FailoverCapacity, None, Some(&h.name), why);
        }
    }
}

/// Could the other up hosts take host `lost`'s active VMs? First fit, largest memory first,
/// against each host's headroom (memory not allocated; vCPUs up to the overcommit limit).
fn failover(fleet: &Fleet, policy: &PolicyConfig, lost: usize, up: &[usize]) -> Option<String> {
    let mut vms: Vec<&Vm> = fleet.hosts[lost]
        .vms
        .values()
        .filter(|v| v.primary && v.state.is_active())
        .collect();
    if vms.is_empty() {
        return None;
    }
    vms.sort_by_key(|v| std::cmp::Reverse(v.memory_bytes.unwrap_or(0)));
    let mut room: Vec<(i128, f64)> = up
        .iter()
        .filter(|&&o| o != lost)
        .map(|&o| {
            let h = &fleet.hosts[o];
            let mem = h.memory_bytes() as i128 - h.totals.memory_allocated as i128;
            let cpu =
                f64::from(h.cpus()) * policy.max_vcpu_overcommit - h.totals.vcpus_allocated as f64;
            (mem, cpu)
        })
        .collect();
    let mut stranded: Vec<&Vm> = Vec::new();
    for vm in vms {
        let (m, c) = (
            i128::from(vm.memory_bytes.unwrap_or(0)),
            f64::from(vm.vcpus.unwrap_or(0)),
        );
        match room.iter_mut().find(|(rm, rc)| *rm >= m && *rc >= c) {
            Some(slot) => {
                slot.0 -= m;
                slot.1 -= c;
            }
            None => stranded.push(vm),
        }
    }
    if stranded.is_empty() {
        return None;
    }
    let mem: u64 = stranded.iter().map(|v| v.memory_bytes.unwrap_or(0)).sum();
    let cpus: u32 = stranded.iter().map(|v| v.vcpus.unwrap_or(0)).sum();
    let names: Vec<&str> = stranded.iter().map(|v| v.name.as_str()).collect();
    let others = if room.is_empty() {
        " (no other host is up)"
    } else {
        ""
    };
    Some(format!(
        "losing {} strands {} VM(s), {} and {cpus} vCPUs that fit nowhere else{others}: {}",
        fleet.hosts[lost].name,
        stranded.len(),
        gib(mem),
        names.join(", ")
    ))
}
