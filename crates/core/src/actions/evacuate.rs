//! A host's evacuation, planned before anything moves (Proxmox's node maintenance, Watcher's
//! host-maintenance audit): each active VM on the host, biggest first, to the target with the
//! most memory left that can take it within its memory, the vCPU overcommit limit and the
//! VM's anti-affinity group; a VM on local storage is a blocker unless its disks are copied.
//! Pure: the fleet and the context in, the plan out, for `evacuate --dry-run` and the pane.

use super::plan::PlanContext;
use crate::link::LinkState;
use crate::model::host::Host;
use crate::model::storage::local_disk_paths;
use crate::model::{Fleet, Vm};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Move {
    pub vm: String,
    pub uuid: String,
    pub from: String,
    pub to: String,
    pub memory_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Blocked {
    pub vm: String,
    pub uuid: String,
    pub reason: String,
}

/// A host that takes none of the VMs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeftOut {
    pub host: String,
    pub reason: String,
}

/// A target's load once the moves are done (the allocation: what the VMs were given).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct After {
    pub host: String,
    pub memory_used_pct: f64,
    pub vcpu_ratio: f64,
    /// How many of the moves land on it.
    pub moves_in: usize,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evacuation {
    pub host: String,
    pub moves: Vec<Move>,
    pub blocked: Vec<Blocked>,
    pub after: Vec<After>,
    /// Hosts that take none of the VMs, and why.
    pub not_targets: Vec<LeftOut>,
    /// Once evacuated: whether the hosts left could still take any one of them failing.
    pub failover: String,
    /// Why the moves cannot run from here as planned (the plan itself still holds).
    pub refusals: Vec<String>,
}

/// A target as the plan fills it.
struct Target<'a> {
    index: usize,
    host: &'a Host,
    mem_alloc: u64,
    vcpus: u64,
    groups: BTreeSet<String>,
    moves_in: usize,
}

impl Target<'_> {
    fn cap(&self) -> u64 {
        self.host.memory_bytes()
    }
    /// Free memory: what the host reports, less what the plan already put on it.
    fn free(&self) -> u64 {
        let planned = self.mem_alloc - self.host.totals.memory_allocated;
        let now = self
            .host
            .free_memory_bytes
            .unwrap_or_else(|| self.cap().saturating_sub(self.host.totals.memory_allocated));
        now.saturating_sub(planned)
    }
    fn ratio_with(&self, vcpus: u64) -> f64 {
        (self.vcpus + vcpus) as f64 / f64::from(self.host.cpus().max(1))
    }
}

/// What a VM takes on its target: memory (its allocation, else its maximum) and vCPUs.
pub(super) fn need(vm: &Vm) -> (u64, u64) {
    let mem = vm.memory_bytes.or(vm.max_memory_bytes).unwrap_or(0);
    (mem, u64::from(vm.vcpus.unwrap_or(0)))
}

pub(super) fn mib(b: u64) -> u64 {
    b >> 20
}

/// Why a target cannot take `vm`, if it cannot.
fn unfit(t: &Target, vm: &Vm, group: Option<&String>, cx: &PlanContext) -> Option<String> {
    let (mem, vcpus) = need(vm);
    let name = &t.host.name;
    if t.free() < mem {
        return Some(format!(
            "{name} has {} MiB free, {} needs {}",
            mib(t.free()),
            vm.name,
            mib(mem)
        ));
    }
    let ratio = t.ratio_with(vcpus);
    if ratio > cx.max_vcpu_overcommit {
        return Some(format!(
            "{name} would be at {ratio:.1}x vCPU (limit {:.1}x)",
            cx.max_vcpu_overcommit
        ));
    }
    match group {
        Some(g) if t.groups.contains(g) => Some(format!(
            "{name} already runs one of group {g:?} (anti-affinity)"
        )),
        _ => None,
    }
}

/// The plan to move every active VM off host number `host`. `copy_storage`: VMs on local
/// disks move with them (slow, heavy I/O) instead of blocking.
pub fn evacuation(fleet: &Fleet, host: usize, cx: &PlanContext, copy_storage: bool) -> Evacuation {
    let source = &fleet.hosts[host];
    let mut refusals = Vec::new();
    if cx.read_only {
        refusals.push("this session is read-only".to_owned());
    }
    if !cx.actions_allowed.get(host).copied().unwrap_or(false) {
        refusals.push(format!("{} does not allow actions", source.name));
    } else if let Some(why) = cx.group_forbids(host, "migrate") {
        refusals.push(format!("no migration off {}: {why}", source.name));
    }
    if source.link != LinkState::Up {
        refusals.push(format!("{} is {}", source.name, source.link.label()));
    }
    if source.is_test_driver() {
        refusals.push(
            "libvirt's test driver (the demo) cannot migrate: the plan holds, the moves \
             would not run"
                .into(),
        );
    }
    let group_of = |vm: &Vm| cx.groups.get(&vm.uuid);
    let mut not_targets = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    for (i, h) in fleet.hosts.iter().enumerate() {
        let why = if i == host {
            continue;
        } else if h.link != LinkState::Up {
            format!("it is {}", h.link.label())
        } else if !cx.actions_allowed.get(i).copied().unwrap_or(false) {
            "it does not allow actions".to_owned()
        } else if let Some(why) = cx.group_forbids(i, "migrate") {
            why
        } else if cx.maintenance.get(i).copied().unwrap_or(false) {
            "it is in maintenance".to_owned()
        } else if h.memory_bytes() == 0 {
            "its size is not known yet".to_owned()
        } else {
            let groups = h
                .vms
                .values()
                .filter(|v| v.primary && v.state.is_active())
                .filter_map(|v| group_of(v).cloned())
                .collect();
            targets.push(Target {
                index: i,
                host: h,
                mem_alloc: h.totals.memory_allocated,
                vcpus: h.totals.vcpus_allocated,
                groups,
                moves_in: 0,
            });
            continue;
        };
        not_targets.push(LeftOut {
            host: h.name.clone(),
            reason: why,
        });
    }
    let mut vms: Vec<&Vm> = source
        .vms
        .values()
        .filter(|v| v.primary && v.state.is_active())
        .collect();
    vms.sort_by(|a, b| need(b).0.cmp(&need(a).0).then(a.name.cmp(&b.name)));
    let (mut moves, mut blocked) = (Vec::new(), Vec::new());
    for vm in vms {
        let block = |reason: String| Blocked {
            vm: vm.name.clone(),
            uuid: vm.uuid.clone(),
            reason,
        };
        let local = local_disk_paths(vm, cx.shared_storage);
        if !local.is_empty() && !copy_storage {
            blocked.push(block(format!(
                "local disk(s) {}: moves only with a storage copy",
                local.join(", ")
            )));
            continue;
        }
        let group = group_of(vm);
        let fits = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| unfit(t, vm, group, cx).is_none())
            .max_by(|(_, a), (_, b)| {
                let (_, v) = need(vm);
                a.free()
                    .cmp(&b.free())
                    .then(b.ratio_with(v).total_cmp(&a.ratio_with(v)))
                    .then(b.host.name.cmp(&a.host.name))
            })
            .map(|(i, _)| i);
        let Some(t) = fits else {
            let why: Vec<String> = targets
                .iter()
                .filter_map(|t| unfit(t, vm, group, cx))
                .collect();
            blocked.push(block(match why.is_empty() {
                true => "no host can take VMs".into(),
                false => format!("no target: {}", why.join("; ")),
            }));
            continue;
        };
        let (mem, vcpus) = need(vm);
        let target = &mut targets[t];
        target.mem_alloc += mem;
        target.vcpus += vcpus;
        target.moves_in += 1;
        if let Some(g) = group {
            target.groups.insert(g.clone());
        }
        moves.push(Move {
            vm: vm.name.clone(),
            uuid: vm.uuid.clone(),
            from: source.name.clone(),
            to: target.host.name.clone(),
            memory_bytes: mem,
        });
    }
    let after = targets
        .iter()
        .map(|t| After {
            host: t.host.name.clone(),
            memory_used_pct: t.mem_alloc as f64 / t.cap().max(1) as f64 * 100.0,
            vcpu_ratio: t.ratio_with(0),
            moves_in: t.moves_in,
        })
        .collect();
    Evacuation {
        host: source.name.clone(),
        moves,
        blocked,
        after,
        not_targets,
        failover: failover(&targets),
        refusals,
    }
}

/// With the source empty: the worst single failure among the hosts left, as memory that would
/// find no room on the others.
fn failover(targets: &[Target]) -> String {
    let worst = targets
        .iter()
        .map(|lost| {
            let room: u64 = targets
                .iter()
                .filter(|t| t.index != lost.index)
                .map(|t| t.cap().saturating_sub(t.mem_alloc))
                .sum();
            (lost.mem_alloc.saturating_sub(room), lost)
        })
        .max_by_key(|(short, lost)| (*short, lost.mem_alloc));
    match worst {
        None => "no host is left to take VMs".into(),
        Some((0, _)) => "the hosts left could still take any one of them failing".into(),
        Some((short, lost)) => format!(
            "losing {} afterwards would leave {} MiB of its VMs without room",
            lost.host.name,
            mib(short)
        ),
    }
}
