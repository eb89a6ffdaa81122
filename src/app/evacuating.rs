//! The app's side of an evacuation (and of a host's return): its pane from the core's plan,
//! then its migrations one at a time through the same path as `m` (each audited with the
//! operator, each VM checked again before it moves), the host in maintenance from the start
//! and excluded as a target, where its VMs came from kept for `R` / `:return`.

use super::acting::{Acting, PlanInputs};
use crate::ui::state::UiState;
use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::actions::audit::Record;
use fleetwatch_core::actions::confirm::Pane;
use fleetwatch_core::actions::evacuate::{Move, evacuation};
use fleetwatch_core::actions::evacuate_run::{Run, pane_plan, return_plan};
use fleetwatch_core::actions::plan::{Plan, plan};
use fleetwatch_core::config::Config;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_libvirt::supervisor::Collectors;
use std::collections::{BTreeMap, HashMap};

/// Who put a host in maintenance, and when.
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub by: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

#[derive(Default)]
pub struct Evacuations {
    run: Option<Run>,
    audit_id: String,
    /// The action id of the migration under way, and its outcome once it came.
    current: Option<u64>,
    outcome: Option<Result<(), String>>,
    /// Since when the run is over but the fleet does not show every moved VM on its target.
    settling: Option<std::time::Instant>,
    /// Per evacuated host: the moves that took its VMs away.
    origins: HashMap<String, Vec<Move>>,
    pub maintenance: BTreeMap<String, Maintenance>,
}

impl Evacuations {
    /// The migration `id` ended: the next tick goes on.
    pub fn ended(&mut self, id: u64, result: Result<(), String>) {
        if self.current == Some(id) {
            self.current = None;
            self.outcome = Some(result);
        }
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

    fn shown(&self, ui: &mut UiState) {
        ui.maintenance = self
            .maintenance
            .iter()
            .map(|(h, m)| (h.clone(), format!("{} {}", m.by, m.since.format("%H:%M"))))
            .collect();
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
        let judged = PlanInputs::new(config, fleet, inputs);
        let maint: Vec<bool> = fleet
            .hosts
            .iter()
            .map(|h| self.evac.maintenance.contains_key(&h.name))
            .collect();
        let mut cx = judged.context(config);
        cx.maintenance = &maint;
        let name = &fleet.hosts[host].name;
        let ev = if back {
            let origins = self.evac.origins.get(name).map_or(&[][..], Vec::as_slice);
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
            let m = Maintenance {
                by: self.operator.actor(),
                since: chrono::Utc::now(),
            };
            self.evac.maintenance.insert(host.clone(), m);
        }
        self.evac.run = Some(Run::new(host, *back, moves.clone()));
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
        let Some(outcome) = self.evac.outcome.take() else {
            // Nothing ended: a run over but not yet settled may be now.
            if self.evac.current.is_none() {
                self.advance(fleet, ui, config, inputs, collectors);
            }
            return;
        };
        let Some(run) = &mut self.evac.run else {
            return;
        };
        let ok = outcome.is_ok();
        run.ended(outcome);
        let (moved, back) = (run.moved.last().cloned().filter(|_| ok), run.back);
        match moved {
            // Back home: no longer away from its host's evacuation.
            Some(m) if back => {
                if let Some(list) = self.evac.origins.get_mut(&m.to) {
                    list.retain(|o| o.uuid != m.uuid);
                }
            }
            Some(m) => self.evac.origins.entry(m.from.clone()).or_default().push(m),
            None => {}
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
        let Some(next) = self.evac.run.as_mut().map(|r| r.next(fleet)) else {
            return;
        };
        if let Some(m) = next {
            let to = config.hosts.iter().position(|h| h.name == m.to);
            let kind = to.map(|to| ActionKind::Migrate {
                to,
                to_name: m.to.clone(),
                to_uri: config.hosts[to].uri.clone(),
                copy_storage: false,
            });
            let judged = PlanInputs::new(config, fleet, inputs);
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
            match (planned, why) {
                (Some(p), None) => {
                    ui.message = self.evac.run.as_ref().map(Run::progress);
                    self.evac.current = Some(self.peek_id());
                    self.execute(p, ui, config, collectors);
                    return;
                }
                (_, why) => {
                    if let Some(r) = &mut self.evac.run {
                        r.ended(Err(why.unwrap_or_default()));
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
            let limit = config.poll.interval * 3 + config.poll.timeout;
            if run.settled(fleet) || since.elapsed() > limit {
                self.evac.settling = None;
                self.finish(ui);
            }
        }
    }

    fn finish(&mut self, ui: &mut UiState) {
        let Some(run) = self.evac.run.take() else {
            return;
        };
        let summary = run.summary();
        let mut r = Record::new(&self.evac.audit_id, "end", &self.operator, {
            if run.back { "return" } else { "evacuate" }
        });
        r.host = Some(run.host.clone());
        let (outcome, error) = match (&run.failed, run.aborted) {
            (Some(_), _) => ("failed", Some(summary.clone())),
            (None, true) => ("aborted", Some(summary.clone())),
            (None, false) => ("ok", None),
        };
        r.outcome = Some(outcome.into());
        r.error = error;
        r.params = serde_json::json!({ "moved": run.moved, "summary": summary });
        self.record(r);
        let away = self
            .evac
            .origins
            .get(&run.host)
            .is_some_and(|l| !l.is_empty());
        if run.back && run.failed.is_none() && !run.aborted && !away {
            self.evac.maintenance.remove(&run.host);
        }
        self.evac.shown(ui);
        ui.message = Some(summary);
    }
}
