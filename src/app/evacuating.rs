//! The app's side of an evacuation (and of a host's return): its pane from the core's plan,
//! then its migrations one at a time (or `[evacuation] parallel` at once) through the same
//! path as `m` (each audited with the operator, each VM checked again before it moves), the
//! host in maintenance from the start and excluded as a target, where its VMs went kept in
//! the history store for `R` / `:return`.

use super::acting::{Acting, PlanInputs};
use super::maintenance::Kept;
use crate::ui::state::UiState;
use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::actions::audit::Record;
use fleetwatch_core::actions::confirm::Pane;
use fleetwatch_core::actions::evacuate::evacuation;
use fleetwatch_core::actions::evacuate_run::{Run, pane_plan, return_plan};
use fleetwatch_core::actions::maintenance::Maintenance;
use fleetwatch_core::actions::plan::{Plan, plan};
use fleetwatch_core::config::Config;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_libvirt::supervisor::Collectors;

#[derive(Default)]
pub struct Evacuations {
    run: Option<Run>,
    audit_id: String,
    /// The action ids of the migrations under way with their VMs' UUIDs, and the outcomes
    /// that came since the last tick.
    current: Vec<(u64, String)>,
    outcomes: Vec<(String, Result<(), String>)>,
    /// Since when the run is over but the fleet does not show every moved VM on its target.
    settling: Option<std::time::Instant>,
    /// Since when the next move waits for a host that is late with its poll.
    waiting: Option<std::time::Instant>,
    /// Hosts in maintenance, and where their VMs went, as the store keeps them.
    pub kept: Kept,
    /// How the last run ended: ok, failed or aborted.
    pub outcome: Option<String>,
}

impl Evacuations {
    /// The migration `id` ended: the next tick goes on.
    pub fn ended(&mut self, id: u64, result: Result<(), String>) {
        if let Some(i) = self.current.iter().position(|(x, _)| *x == id) {
            let (_, uuid) = self.current.remove(i);
            self.outcomes.push((uuid, result));
        }
    }

    pub fn running(&self) -> bool {
        self.run.is_some()
    }

    pub fn abort(&mut self) -> bool {
        match &mut self.run {
            Some(r) => {
                r.abort();
                true
            }
            None => false,
        }
    }

    /// The hosts pane and the findings show what is in maintenance.
    pub fn shown(&self, ui: &mut UiState) {
        ui.maintenance = self
            .kept
            .hosts
            .iter()
            .map(|m| (m.host.clone(), m.describe()))
            .collect();
    }

    /// The store's answer about hosts in maintenance.
    pub fn answer(
        &mut self,
        generation: u64,
        list: Option<Vec<Maintenance>>,
        error: Option<String>,
        ui: &mut UiState,
    ) {
        if let Some(said) = self.kept.answer(generation, list, error) {
            ui.message = Some(said);
        }
        self.shown(ui);
    }
}

impl Acting {
    /// `E` / `R`: the plan, in a confirmation pane where the host's name is typed.
    pub fn open_evacuation(
        &mut self,
        host: usize,
        back: bool,
        fleet: &Fleet,
        ui: &mut UiState,
        config: &Config,
        inputs: &Inputs,
    ) {
        let judged = PlanInputs::new(config, fleet, inputs, &self.evac.kept.hosts);
        let cx = judged.context(config);
        let name = &fleet.hosts[host].name;
        let ev = if back {
            let origins = self.evac.kept.of(name).map_or(&[][..], |m| &m.away[..]);
            return_plan(fleet, host, origins, &cx)
        } else {
            evacuation(fleet, host, &cx, false)
        };
        let mut p = pane_plan(&ev, fleet, back, &cx);
        if self.evac.run.is_some() {
            p.refusals.insert(
                0,
                "an evacuation is running: let it end, or abort it (A)".into(),
            );
        }
        if ui.historical.is_some() {
            p.refusals.insert(
                0,
                "this is the past (HISTORICAL): press L to return live before acting".into(),
            );
        }
        ui.open_confirm(Pane::new(p));
    }

    /// The pane confirmed: the host in maintenance, then the first move.
    pub(super) fn start_evacuation(
        &mut self,
        p: Plan,
        fleet: &Fleet,
        ui: &mut UiState,
        config: &Config,
        inputs: &Inputs,
        collectors: &Collectors,
    ) {
        let ActionKind::Evacuate { host, back, moves } = &p.kind else {
            return;
        };
        self.evac.audit_id = self.new_audit_id();
        let mut r = Record::new(&self.evac.audit_id, "start", &self.operator, p.kind.name());
        r.host = Some(host.clone());
        r.params = serde_json::to_value(&p.kind).unwrap_or_default();
        self.record(r);
        if !back {
            let now = chrono::Utc::now().timestamp_millis();
            self.evac.kept.start(host, &self.operator.actor(), now);
        }
        self.evac.run =
            Some(Run::new(host, *back, moves.clone()).parallel(config.evacuation.parallel));
        self.evac.shown(ui);
        self.advance(fleet, ui, config, inputs, collectors);
    }

    /// After each batch of updates: the migration under way ended, so the next one starts.
    pub fn tick(
        &mut self,
        fleet: &Fleet,
        ui: &mut UiState,
        config: &Config,
        inputs: &Inputs,
        collectors: &Collectors,
    ) {
        if self.evac.run.is_none() {
            return;
        }
        // Nothing ended: a run over but not yet settled may be now, and one with room for
        // another migration starts it.
        for (uuid, outcome) in std::mem::take(&mut self.evac.outcomes) {
            let Some(run) = &mut self.evac.run else {
                return;
            };
            let ok = outcome.is_ok();
            run.ended(&uuid, outcome);
            let moved = run.moved.last().filter(|m| ok && m.uuid == uuid).cloned();
            match moved {
                // Back home: no longer away from its host's evacuation.
                Some(m) if run.back => self.evac.kept.back(&m.to, &m.uuid),
                Some(m) => self.evac.kept.left(&m),
                None => {}
            }
            self.evac.shown(ui);
        }
        self.advance(fleet, ui, config, inputs, collectors);
    }

    fn advance(
        &mut self,
        fleet: &Fleet,
        ui: &mut UiState,
        config: &Config,
        inputs: &Inputs,
        collectors: &Collectors,
    ) {
        // The fleet and maintenance stay as they are while this runs: judged once for every
        // move it starts, and not at all on the ticks that start none.
        let mut judged: Option<PlanInputs> = None;
        let limit = few_polls(config);
        while let Some(m) = self.evac.run.as_mut().and_then(|r| r.next(fleet)) {
            let to = config.hosts.iter().position(|h| h.name == m.to);
            let kind = to.map(|to| ActionKind::Migrate {
                to,
                to_name: m.to.clone(),
                to_uri: config.hosts[to].uri.clone(),
                copy_storage: false,
            });
            let judged = judged.get_or_insert_with(|| {
                PlanInputs::new(config, fleet, inputs, &self.evac.kept.hosts)
            });
            let planned = kind.map(|k| {
                plan(
                    fleet,
                    std::slice::from_ref(&m.uuid),
                    k,
                    &judged.context(config),
                )
            });
            let why = match &planned {
                None => Some(format!("{} is not in the config any more", m.to)),
                Some(p) => p.refusals.first().cloned(),
            };
            // A host of the move only late with a poll (busy migrating, say) is no reason to
            // stop the run: the move waits for its next poll, a few polls at most.
            let late = [Some(&m.from), Some(&m.to)]
                .into_iter()
                .flatten()
                .filter_map(|n| fleet.hosts.iter().find(|h| h.name == *n))
                .any(|h| h.link == LinkState::Stale);
            match (planned, why) {
                (Some(p), None) => {
                    self.evac.waiting = None;
                    ui.message = self.evac.run.as_ref().map(Run::progress);
                    self.evac.current.push((self.peek_id(), m.uuid.clone()));
                    self.execute(p, ui, config, collectors);
                }
                (_, Some(_))
                    if late
                        && self
                            .evac
                            .waiting
                            .get_or_insert_with(std::time::Instant::now)
                            .elapsed()
                            < limit =>
                {
                    if let Some(r) = &mut self.evac.run {
                        r.wait(m);
                    }
                    return;
                }
                (_, why) => {
                    self.evac.waiting = None;
                    if let Some(r) = &mut self.evac.run {
                        r.ended(&m.uuid, Err(why.unwrap_or_default()));
                    }
                }
            }
        }
        if let Some(run) = self.evac.run.as_ref().filter(|r| r.finished()) {
            // Waited for at most a few polls: a target that went down says so in the summary.
            let since = *self
                .evac
                .settling
                .get_or_insert_with(std::time::Instant::now);
            if run.settled(fleet) || since.elapsed() > limit {
                self.evac.settling = None;
                self.finish(fleet, ui);
            }
        }
    }

    fn finish(&mut self, fleet: &Fleet, ui: &mut UiState) {
        let Some(run) = self.evac.run.take() else {
            return;
        };
        let summary = run.summary();
        let mut r = Record::new(&self.evac.audit_id, "end", &self.operator, {
            if run.back { "return" } else { "evacuate" }
        });
        r.host = Some(run.host.clone());
        let (outcome, error) = match (run.failed.is_empty(), run.aborted) {
            (false, _) => ("failed", Some(summary.clone())),
            (true, true) => ("aborted", Some(summary.clone())),
            (true, false) => ("ok", None),
        };
        r.outcome = Some(outcome.into());
        self.evac.outcome = Some(outcome.into());
        r.error = error;
        r.params = serde_json::json!({ "moved": run.moved, "summary": summary });
        self.record(r);
        if run.back && run.failed.is_empty() && !run.aborted {
            // What went away for good (deleted, stopped, or home by other means) keeps no
            // host in maintenance; what could not come back yet does.
            let home = &run.host;
            self.evac.kept.prune(home, |a| {
                fleet
                    .vm(&a.uuid)
                    .is_some_and(|vm| fleet.hosts[vm.host].name != *home && vm.state.is_active())
            });
            if self.evac.kept.of(home).is_some_and(|m| m.away.is_empty()) {
                self.evac.kept.end(home);
            }
        }
        self.evac.shown(ui);
        ui.message = Some(summary);
    }
}

/// How long a run waits for the fleet to catch up (a host late with its poll, a destination
/// not polled since a move): a few polls.
fn few_polls(config: &Config) -> std::time::Duration {
    config.poll.interval * 3 + config.poll.timeout
}
