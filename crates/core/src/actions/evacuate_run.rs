//! An evacuation (or a return) as the operator confirms it and as it runs: a pane's plan from
//! the [`Evacuation`], then its moves one live migration at a time (or a few at once), each VM checked again just
//! before it moves (skipped, named, when it is no longer where the plan saw it). The first
//! failure or an abort stops it; what it says at the end is where every VM of it is. Pure: the
//! app feeds it the fleet and each migration's outcome.

use super::ActionKind;
use super::Expect;
use super::evacuate::{Evacuation, Move, mib, need};
use super::plan::{Plan, PlanContext};
use crate::link::LinkState;
use crate::model::{Fleet, Vm};
use std::collections::VecDeque;

/// The VM's copy it is judged by, and the name of the host it is on.
fn find<'f>(fleet: &'f Fleet, uuid: &str) -> Option<(&'f str, &'f Vm)> {
    fleet
        .vm(uuid)
        .map(|v| (fleet.hosts[v.host].name.as_str(), v))
}

/// The confirmation pane's plan: every move with its target, each target's load after, what
/// blocks it; the host's name typed to confirm.
pub fn pane_plan(ev: &Evacuation, fleet: &Fleet, back: bool, cx: &PlanContext) -> Plan {
    let mut p = Plan {
        kind: ActionKind::Evacuate {
            host: ev.host.clone(),
            back,
            moves: ev.moves.clone(),
        },
        vms: Vec::new(),
        changes: Vec::new(),
        risks: Vec::new(),
        refusals: ev.refusals.clone(),
        typed: Some(ev.host.clone()),
        typed_alt: None,
        production: Vec::new(),
    };
    for m in &ev.moves {
        if let Some((host, vm)) = find(fleet, &m.uuid) {
            p.vms.push(Expect {
                uuid: vm.uuid.clone(),
                name: vm.name.clone(),
                host: host.to_owned(),
                state: vm.state,
            });
        }
        p.changes.push(format!(
            "{}: {} → {} ({} MiB, live)",
            m.vm,
            m.from,
            m.to,
            mib(m.memory_bytes)
        ));
    }
    for b in &ev.blocked {
        p.refusals
            .push(format!("{} cannot move: {}", b.vm, b.reason));
    }
    // Nothing to move is no reason to refuse: the host still enters (or leaves) maintenance.
    if ev.moves.is_empty() && ev.blocked.is_empty() && p.refusals.is_empty() {
        p.changes.push(if back {
            format!("no VM to bring back: {} leaves maintenance", ev.host)
        } else {
            format!("no running VM on {}: it only enters maintenance", ev.host)
        });
    }
    for a in ev.after.iter().filter(|a| a.moves_in > 0) {
        let before = fleet.hosts.iter().find(|h| h.name == a.host).map(|h| {
            let t = &h.totals;
            let mem = t.memory_allocated as f64 / h.memory_bytes().max(1) as f64 * 100.0;
            let cpu = t.vcpus_allocated as f64 / f64::from(h.cpus().max(1));
            format!("memory {mem:.0}% · vCPU {cpu:.1}x → ")
        });
        p.risks.push(format!(
            "{}: {}memory {:.0}% · vCPU {:.1}x ({} in)",
            a.host,
            before.unwrap_or_default(),
            a.memory_used_pct,
            a.vcpu_ratio,
            a.moves_in
        ));
    }
    for n in &ev.not_targets {
        p.risks
            .push(format!("not a target: {} ({})", n.host, n.reason));
    }
    if !back {
        p.risks.push(format!("afterwards: {}", ev.failover));
    }
    if let Some(i) = fleet.hosts.iter().position(|h| h.name == ev.host)
        && let Some(Some(g)) = cx.production.get(i)
    {
        p.production.push(g.clone());
    }
    p
}

/// The moves back to host number `host` of the VMs its evacuation moved away (`origins`), as
/// far as its memory allows; a VM stopped, gone or already back is left out.
pub fn return_plan(fleet: &Fleet, host: usize, origins: &[Move], cx: &PlanContext) -> Evacuation {
    let home = &fleet.hosts[host];
    let mut ev = Evacuation {
        host: home.name.clone(),
        moves: Vec::new(),
        blocked: Vec::new(),
        after: Vec::new(),
        not_targets: Vec::new(),
        failover: String::new(),
        refusals: Vec::new(),
    };
    if cx.read_only {
        ev.refusals.push("this session is read-only".into());
    }
    if !cx.actions_allowed.get(host).copied().unwrap_or(false) {
        ev.refusals
            .push(format!("{} does not allow actions", home.name));
    } else if let Some(why) = cx.group_forbids(host, "migrate") {
        ev.refusals
            .push(format!("no migration onto {}: {why}", home.name));
    }
    if home.link != LinkState::Up {
        ev.refusals
            .push(format!("{} is {}", home.name, home.link.label()));
    }
    if !cx.maintenance.get(host).copied().unwrap_or(false) {
        ev.refusals.push(format!(
            "{} is not in maintenance: nothing to bring back",
            home.name
        ));
    }
    let cap = home.memory_bytes();
    let mut used = home.totals.memory_allocated;
    let mut vcpus = home.totals.vcpus_allocated;
    for o in origins.iter().filter(|o| o.from == home.name) {
        let Some((now_on, vm)) = find(fleet, &o.uuid) else {
            continue;
        };
        if now_on == home.name || !vm.state.is_active() {
            continue;
        }
        let (mem, cpus) = need(vm);
        if cap > 0 && used + mem > cap {
            ev.blocked.push(super::evacuate::Blocked {
                vm: vm.name.clone(),
                uuid: vm.uuid.clone(),
                reason: format!(
                    "{} has {} MiB left, it needs {}",
                    home.name,
                    mib(cap.saturating_sub(used)),
                    mib(mem)
                ),
            });
            continue;
        }
        used += mem;
        vcpus += cpus;
        ev.moves.push(Move {
            vm: vm.name.clone(),
            uuid: vm.uuid.clone(),
            from: now_on.to_owned(),
            to: home.name.clone(),
            memory_bytes: mem,
        });
    }
    ev.after.push(super::evacuate::After {
        host: home.name.clone(),
        memory_used_pct: used as f64 / cap.max(1) as f64 * 100.0,
        vcpu_ratio: vcpus as f64 / f64::from(home.cpus().max(1)),
        moves_in: ev.moves.len(),
    });
    ev
}

/// A confirmed evacuation (or return) while it runs: one move at a time, or up to
/// [`Run::parallel`] at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub host: String,
    pub back: bool,
    queue: VecDeque<Move>,
    /// The moves under way.
    pub current: Vec<Move>,
    pub moved: Vec<Move>,
    pub skipped: Vec<(Move, String)>,
    /// The moves that failed, the first of which stopped the run.
    pub failed: Vec<(Move, String)>,
    pub aborted: bool,
    total: usize,
    at_once: usize,
}

impl Run {
    pub fn new(host: &str, back: bool, moves: Vec<Move>) -> Run {
        Run {
            host: host.to_owned(),
            back,
            total: moves.len(),
            queue: moves.into(),
            current: Vec::new(),
            moved: Vec::new(),
            skipped: Vec::new(),
            failed: Vec::new(),
            aborted: false,
            at_once: 1,
        }
    }

    /// Up to `n` migrations at once (at least one).
    pub fn parallel(mut self, n: usize) -> Run {
        self.at_once = n.max(1);
        self
    }

    fn verb(&self) -> &'static str {
        if self.back {
            "return to"
        } else {
            "evacuation of"
        }
    }

    /// The next move whose VM is still active on its source, as the migration must find it,
    /// while fewer than `parallel` run; none once stopped, aborted or done.
    pub fn next(&mut self, fleet: &Fleet) -> Option<Move> {
        if self.current.len() >= self.at_once || self.aborted || !self.failed.is_empty() {
            return None;
        }
        while let Some(m) = self.queue.pop_front() {
            match find(fleet, &m.uuid) {
                Some((h, vm)) if h == m.from && vm.state.is_active() => {
                    self.current.push(m.clone());
                    return Some(m);
                }
                Some((h, vm)) => {
                    let why = format!("now {} on {h}", vm.state.label());
                    self.skipped.push((m, why));
                }
                None => self.skipped.push((m, "no longer in the fleet".into())),
            }
        }
        None
    }

    /// The outcome of the move of VM `uuid`, one of those under way.
    pub fn ended(&mut self, uuid: &str, result: Result<(), String>) {
        let Some(i) = self.current.iter().position(|m| m.uuid == uuid) else {
            return;
        };
        let m = self.current.remove(i);
        match result {
            Ok(()) => self.moved.push(m),
            Err(e) => self.failed.push((m, e)),
        }
    }

    /// The move of `m`, just handed out by [`Run::next`], waits: first again next time.
    pub fn wait(&mut self, m: Move) {
        self.current.retain(|c| c.uuid != m.uuid);
        self.queue.push_front(m);
    }

    /// No further move starts; those under way are the app's to abort.
    pub fn abort(&mut self) {
        self.aborted = true;
    }

    /// Whether the fleet shows every moved VM on its target yet: a return, or the summary's
    /// "where every VM is", planned before the destination's next poll would miss it.
    pub fn settled(&self, fleet: &Fleet) -> bool {
        self.moved
            .iter()
            .all(|m| find(fleet, &m.uuid).is_some_and(|(h, _)| h == m.to))
    }

    pub fn finished(&self) -> bool {
        self.current.is_empty()
            && (self.aborted || !self.failed.is_empty() || self.queue.is_empty())
    }

    /// One line while it runs: "evacuation of hv-1: 2/5 moved · web-01 → hv-2".
    pub fn progress(&self) -> String {
        let now: Vec<String> = self
            .current
            .iter()
            .map(|m| format!("{} → {}", m.vm, m.to))
            .collect();
        let now = if now.is_empty() {
            String::new()
        } else {
            format!(" · {}", now.join(", "))
        };
        format!(
            "{} {}: {}/{} moved{now}",
            self.verb(),
            self.host,
            self.moved.len(),
            self.total
        )
    }

    /// Where every VM of it is once it ended.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {}: {} of {} moved",
            self.verb(),
            self.host,
            self.moved.len(),
            self.total
        );
        if let Some((m, e)) = self.failed.first() {
            s.push_str(&format!(
                "; STOPPED: {} failed ({e}) and stays on {}",
                m.vm, m.from
            ));
            for (m, e) in &self.failed[1..] {
                s.push_str(&format!(
                    "; {} failed too ({e}) and stays on {}",
                    m.vm, m.from
                ));
            }
        } else if self.aborted {
            s.push_str("; aborted by the operator");
        }
        let left: Vec<String> = self
            .queue
            .iter()
            .chain(self.current.iter())
            .map(|m| format!("{} (on {})", m.vm, m.from))
            .collect();
        if !left.is_empty() {
            s.push_str(&format!("; not moved: {}", left.join(", ")));
        }
        for (m, why) in &self.skipped {
            s.push_str(&format!("; skipped {}: {why}", m.vm));
        }
        if !self.moved.is_empty() {
            let to: Vec<String> = self
                .moved
                .iter()
                .map(|m| format!("{} → {}", m.vm, m.to))
                .collect();
            s.push_str(&format!("; moved: {}", to.join(", ")));
        }
        s
    }
}
