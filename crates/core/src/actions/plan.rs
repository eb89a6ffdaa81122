//! The plan an action pane shows: exactly what will change, on which VM and host, the risks
//! known now, and why it cannot run (if it cannot). Pure: fleet and context in, plan out.

use super::{ActionKind, Expect};
use crate::link::LinkState;
use crate::model::findings::Kind;
use crate::model::storage::local_disk_paths;
use crate::model::{Fleet, Vm};
use std::collections::HashMap;

pub struct PlanContext<'a> {
    /// The whole session is read-only (`--read-only`, `--wall`).
    pub read_only: bool,
    /// Per host (config order): `actions = true`.
    pub actions_allowed: &'a [bool],
    pub shared_storage: &'a [String],
    /// Service group of each VM (from its approval), for anti-affinity.
    pub groups: &'a HashMap<String, String>,
    pub now: chrono::DateTime<chrono::Utc>,
    pub max_vcpu_overcommit: f64,
    /// Per host (config order): the production group it is in (`[group.NAME] production`).
    pub production: &'a [Option<String>],
    /// Per host (config order): evacuated and not yet returned, so no target.
    pub maintenance: &'a [bool],
    /// Per host (config order): its group's name and the only actions it allows, if limited.
    pub group_actions: &'a [Option<(String, Vec<String>)>],
}

impl PlanContext<'_> {
    /// Why host `h`'s group does not allow `verb` (a `[group.NAME] actions` name), if it does not.
    pub fn group_forbids(&self, h: usize, verb: &str) -> Option<String> {
        let (g, list) = self.group_actions.get(h)?.as_ref()?;
        (!list.iter().any(|a| a == verb)).then(|| {
            let only = if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            };
            format!("its group {g} allows only: {only} ([group.{g}] actions)")
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub kind: ActionKind,
    pub vms: Vec<Expect>,
    pub changes: Vec<String>,
    pub risks: Vec<String>,
    /// Why it cannot run; the pane refuses while any is left.
    pub refusals: Vec<String>,
    /// What must be typed to confirm (the VM's name, or the number of VMs), if anything.
    pub typed: Option<String>,
    /// Also accepted: the UUID's first 8 characters, for a name that held characters shown
    /// replaced (nobody can type a U+FFFD from a keyboard).
    pub typed_alt: Option<String>,
    /// The production groups its VMs' hosts are in: the pane's first line says so.
    pub production: Vec<String>,
}

fn change(kind: &ActionKind, vm: &Vm, host: &str) -> String {
    let n = &vm.name;
    match kind {
        ActionKind::Start => format!("{n} on {host}: {} → running (boots)", vm.state.label()),
        ActionKind::Shutdown => {
            format!("{n} on {host}: running → shut off, asking the guest OS (ACPI)")
        }
        ActionKind::Reboot => {
            format!("{n} on {host}: guest OS restarts; its services go down meanwhile")
        }
        ActionKind::Pause => format!("{n} on {host}: running → paused; vCPUs stop, memory stays"),
        ActionKind::Resume => format!("{n} on {host}: paused → running"),
        ActionKind::Snapshot { name, .. } => {
            format!("{n} on {host}: new snapshot {name:?}; nothing else changes")
        }
        ActionKind::Migrate {
            to_name,
            copy_storage,
            ..
        } => format!(
            "{n}: {host} → {to_name}, live (brief pause at the end){}",
            if *copy_storage {
                ", copying its local disks"
            } else {
                ""
            }
        ),
        ActionKind::ForceOff => {
            format!("{n} on {host}: power cut NOW, no guest shutdown; unsaved data is lost")
        }
        ActionKind::RevertSnapshot { name } => {
            let snap = snapshot(vm, name);
            let since = snap.and_then(|s| s.created).map_or_else(
                || "it was taken".to_owned(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
            let after = match snap.map(|s| s.state.as_str()) {
                Some("running") => "it will be running, as it was then".to_owned(),
                Some("paused") => "it will be paused, as it was then".to_owned(),
                Some(s) if !s.is_empty() => format!("it will be {s}, as it was then"),
                _ => "its state will be the snapshot's".to_owned(),
            };
            format!(
                "{n} on {host}: back to snapshot {name:?}; everything since {since} is lost (disks and memory); {after}"
            )
        }
        ActionKind::DeleteSnapshot { name } => {
            format!("deletes snapshot {name:?} of {n}; the VM and its disks stay")
        }
        ActionKind::Evacuate { moves, .. } => match moves.iter().find(|m| m.uuid == vm.uuid) {
            Some(m) => format!("{n}: {} → {} (live)", m.from, m.to),
            None => format!("{n} on {host}: not in the evacuation"),
        },
    }
}

fn snapshot<'a>(vm: &'a Vm, name: &str) -> Option<&'a crate::model::sample::SnapshotInfo> {
    vm.config
        .as_ref()
        .and_then(|c| c.snapshots.iter().find(|s| s.name == name))
}

pub fn plan(fleet: &Fleet, uuids: &[String], kind: ActionKind, cx: &PlanContext) -> Plan {
    let mut p = Plan {
        kind: kind.clone(),
        vms: Vec::new(),
        changes: Vec::new(),
        risks: Vec::new(),
        refusals: Vec::new(),
        typed: None,
        typed_alt: None,
        production: Vec::new(),
    };
    if cx.read_only {
        p.refusals
            .push("this session is read-only (--read-only or --wall): no action can run".into());
    }
    let vms: Vec<&Vm> = uuids.iter().filter_map(|u| fleet.vm(u)).collect();
    if vms.is_empty() {
        p.refusals.push("no VM selected".into());
        return p;
    }
    for vm in &vms {
        let host = &fleet.hosts[vm.host];
        p.vms.push(Expect {
            uuid: vm.uuid.clone(),
            name: vm.name.clone(),
            host: host.name.clone(),
            state: vm.state,
        });
        p.changes.push(change(&kind, vm, &host.name));
        if let Some(Some(g)) = cx.production.get(vm.host)
            && !p.production.contains(g)
        {
            p.production.push(g.clone());
        }
        if !cx.read_only && !cx.actions_allowed.get(vm.host).copied().unwrap_or(false) {
            p.refusals.push(format!(
                "host {} does not allow actions (actions = true in its [[host]] entry)",
                host.name
            ));
        }
        if host.link != LinkState::Up {
            p.refusals.push(format!(
                "host {} is {}: its VMs' state is not current",
                host.name,
                host.link.label()
            ));
        }
        if !cx.read_only
            && let Some(why) = cx.group_forbids(vm.host, kind.group_verb())
        {
            p.refusals
                .push(format!("no {} on {}: {why}", kind.name(), host.name));
        }
        if !kind.allowed(vm.state) {
            p.refusals.push(format!(
                "{} is {}: cannot {}",
                vm.name,
                vm.state.label(),
                kind.name()
            ));
        }
        risks(&mut p, vm, cx);
    }
    if let ActionKind::Migrate {
        to, copy_storage, ..
    } = &kind
    {
        migration_checks(&mut p, fleet, &vms, *to, *copy_storage, cx);
    }
    if let ActionKind::RevertSnapshot { name } | ActionKind::DeleteSnapshot { name } = &kind {
        if vms.len() > 1 {
            p.refusals
                .push("a snapshot belongs to one VM: unmark the others (space)".into());
        } else if vms[0].config.is_some() && snapshot(vms[0], name).is_none() {
            p.refusals.push(format!(
                "{} has no snapshot {name:?} (any more)",
                vms[0].name
            ));
        }
    }
    // Several VMs on one stale host give one refusal each: say it once.
    let mut seen = std::collections::HashSet::new();
    p.refusals.retain(|r| seen.insert(r.clone()));
    p.typed = if vms.len() > 1 {
        Some(vms.len().to_string())
    } else if let ActionKind::DeleteSnapshot { name } = &kind {
        // The snapshot's name, not the VM's: what goes is the snapshot.
        Some(name.clone())
    } else if kind.disruptive() {
        Some(vms[0].name.clone())
    } else {
        None
    };
    if vms.len() == 1 && kind.disruptive() && crate::sanitize::was_altered(&vms[0].name) {
        p.typed_alt = Some(vms[0].uuid.chars().take(8).collect());
    }
    p
}

fn risks(p: &mut Plan, vm: &Vm, cx: &PlanContext) {
    let n = &vm.name;
    let boot = vm
        .config
        .as_ref()
        .map(|c| c.boot.as_slice())
        .unwrap_or_default();
    if boot.first().is_some_and(|b| b == "network")
        && matches!(
            p.kind,
            ActionKind::Reboot | ActionKind::ForceOff | ActionKind::Start
        )
    {
        p.risks.push(format!(
            "{n} boots from the network first ({}): its next boot takes whatever the network \
             offers, a reinstall included",
            boot.join(", ")
        ));
    }
    if vm.flags.contains(&Kind::Unbacked) {
        p.risks
            .push(format!("{n} is not backed up (see its findings)"));
    }
    if vm.flags.contains(&Kind::Unapproved) {
        p.risks.push(format!(
            "{n} is not approved: nobody may know what it is for"
        ));
    }
    let snap = vm.config.as_ref().and_then(|c| c.newest_snapshot.as_ref());
    let recent = snap.is_some_and(|(_, t)| cx.now - *t < chrono::Duration::hours(24));
    if !recent
        && matches!(
            p.kind,
            ActionKind::ForceOff
                | ActionKind::Reboot
                | ActionKind::Migrate { .. }
                | ActionKind::Shutdown
        )
    {
        p.risks.push(match snap {
            Some((s, t)) => format!(
                "{n}'s newest snapshot {s:?} is from {}",
                t.format("%Y-%m-%d %H:%M UTC")
            ),
            None => format!("{n} has no snapshot"),
        });
    }
}

fn migration_checks(
    p: &mut Plan,
    fleet: &Fleet,
    vms: &[&Vm],
    to: usize,
    copy_storage: bool,
    cx: &PlanContext,
) {
    let Some(target) = fleet.hosts.get(to) else {
        p.refusals.push("no such target host".into());
        return;
    };
    if let Some(why) = cx.group_forbids(to, "migrate") {
        p.refusals
            .push(format!("no migration onto {}: {why}", target.name));
    }
    if !cx.actions_allowed.get(to).copied().unwrap_or(false) {
        p.refusals
            .push(format!("target {} does not allow actions", target.name));
    }
    if target.link != LinkState::Up {
        p.refusals
            .push(format!("target {} is {}", target.name, target.link.label()));
    }
    // A return moves VMs onto a host still in maintenance on purpose; anyone else is told.
    if cx.maintenance.get(to).copied().unwrap_or(false) {
        p.risks.push(format!(
            "target {} is in maintenance: someone is working on it, and its return (R) is \
             what brings VMs back to it",
            target.name
        ));
    }
    // libvirt's test driver (the demo) has no migration: say so before anyone confirms, rather
    // than fail after the typed name.
    let test_driver = |h: usize| fleet.hosts.get(h).is_some_and(|x| x.is_test_driver());
    if test_driver(to) || vms.iter().any(|vm| test_driver(vm.host)) {
        p.refusals.push(
            "libvirt's test driver (the demo) cannot migrate; on real hosts this pane runs a \
             live migration"
                .into(),
        );
    }
    let mut need_mem = 0u64;
    let mut need_cpu = 0u64;
    for vm in vms {
        if vm.host == to {
            p.refusals
                .push(format!("{} already runs on {}", vm.name, target.name));
        }
        need_mem += vm.memory_bytes.unwrap_or(0);
        need_cpu += u64::from(vm.vcpus.unwrap_or(0));
        let local = local_disk_paths(vm, cx.shared_storage);
        if !local.is_empty() {
            if copy_storage {
                p.risks.push(format!(
                    "{}: copies local disk(s) {} over the network: slow, and heavy I/O",
                    vm.name,
                    local.join(", ")
                ));
            } else {
                p.refusals.push(format!(
                    "{} has local disk(s) {}: to move them too, Esc, m, and choose storage copy (c)",
                    vm.name,
                    local.join(", ")
                ));
            }
        }
        if let Some(g) = cx.groups.get(&vm.uuid) {
            let peers: Vec<&str> = target
                .vms
                .values()
                .filter(|o| o.primary && o.state.is_active() && cx.groups.get(&o.uuid) == Some(g))
                .map(|o| o.name.as_str())
                .collect();
            if !peers.is_empty() {
                p.risks.push(format!(
                    "{} would join {} of group {g:?} on {}: anti-affinity",
                    vm.name,
                    peers.join(", "),
                    target.name
                ));
            }
        }
    }
    let cap = target.memory_bytes();
    if let Some(free) = target
        .free_memory_bytes
        .or_else(|| cap.checked_sub(target.totals.memory_allocated))
        && need_mem > free
    {
        p.refusals.push(format!(
            "{} has {} MiB free, the VM(s) need {} MiB",
            target.name,
            free >> 20,
            need_mem >> 20
        ));
    }
    if cap > 0 {
        let mem = (target.totals.memory_allocated + need_mem) as f64 / cap as f64 * 100.0;
        let cpu =
            (target.totals.vcpus_allocated + need_cpu) as f64 / f64::from(target.cpus().max(1));
        p.risks.push(format!(
            "{} after: memory {mem:.0}% allocated, vCPU {cpu:.1}x",
            target.name
        ));
        if cpu > cx.max_vcpu_overcommit {
            p.risks.push(format!(
                "{} would be above the {:.1}x vCPU overcommit limit",
                target.name, cx.max_vcpu_overcommit
            ));
        }
    }
    p.risks
        .push("CPU compatibility: libvirt checks it when the migration starts".into());
}
