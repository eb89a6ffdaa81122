//! The app's side of actions: turning keys into plans and panes, confirmed plans into requests
//! to the hosts' action threads, and their outcomes into the corner pane and the audit.

use crate::ui::state::actions::Running;
use crate::ui::state::{Effect, Overlay, UiState};
use fleetwatch_core::actions::audit::{self, Record};
use fleetwatch_core::actions::confirm::Pane;
use fleetwatch_core::actions::plan::{Plan, PlanContext, plan};
use fleetwatch_core::actions::{ActionFailure, ActionKind, ActionRequest, ActionUpdate, Operator};
use fleetwatch_core::config::Config;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::rules::service_groups;
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_libvirt::supervisor::Collectors;
use std::collections::HashMap;
use std::sync::mpsc::Sender;

/// What a plan (an action pane, an evacuation) is judged against: the config and the fleet
/// as they are now, owned, for a [`PlanContext`] to borrow.
pub struct PlanInputs {
    allowed: Vec<bool>,
    groups: HashMap<String, String>,
    production: Vec<Option<String>>,
    now: chrono::DateTime<chrono::Utc>,
    /// Per host of the fleet: in maintenance.
    maintenance: Vec<bool>,
    group_actions: Vec<Option<(String, Vec<String>)>>,
}

impl PlanInputs {
    pub fn new(
        config: &Config,
        fleet: &Fleet,
        inputs: &Inputs,
        maintenance: &[fleetwatch_core::actions::maintenance::Maintenance],
    ) -> PlanInputs {
        let now = chrono::Utc::now();
        PlanInputs {
            allowed: config.actions_allowed(),
            groups: service_groups(fleet, inputs, now),
            production: config.production(),
            group_actions: config.group_actions(),
            now,
            maintenance: fleet
                .hosts
                .iter()
                .map(|h| fleetwatch_core::actions::maintenance::of(maintenance, &h.name).is_some())
                .collect(),
        }
    }

    pub fn context<'a>(&'a self, config: &'a Config) -> PlanContext<'a> {
        PlanContext {
            read_only: config.read_only,
            actions_allowed: &self.allowed,
            shared_storage: &config.policy.shared_storage,
            groups: &self.groups,
            now: self.now,
            max_vcpu_overcommit: config.policy.max_vcpu_overcommit,
            production: &self.production,
            maintenance: &self.maintenance,
            group_actions: &self.group_actions,
        }
    }
}

pub struct Acting {
    pub operator: Operator,
    audit: Option<Sender<Record>>,
    next_id: u64,
    /// Action id -> (audit id, the request), until it ends.
    pending: HashMap<u64, (String, ActionRequest)>,
    pub(super) evac: super::evacuating::Evacuations,
}

impl Acting {
    pub fn new(audit: Option<Sender<Record>>) -> Acting {
        Acting {
            operator: Operator::from_env(),
            audit,
            next_id: 1,
            pending: HashMap::new(),
            evac: Default::default(),
        }
    }

    /// The id the next action gets.
    pub(super) fn peek_id(&self) -> u64 {
        self.next_id
    }

    pub(super) fn new_audit_id(&mut self) -> String {
        let id = format!("{}-{}", chrono::Utc::now().timestamp_millis(), self.next_id);
        self.next_id += 1;
        id
    }

    pub(super) fn record(&self, r: Record) {
        if let Some(tx) = &self.audit {
            let _ = tx.send(r);
        }
    }

    fn base(
        &self,
        audit_id: &str,
        phase: &str,
        kind: &ActionKind,
        host: &str,
        uuid: &str,
        vm: &str,
    ) -> Record {
        let mut r = Record::new(audit_id, phase, &self.operator, kind.name());
        r.vm = Some(vm.to_owned());
        r.uuid = Some(uuid.to_owned());
        r.host = Some(host.to_owned());
        r.params = serde_json::to_value(kind).unwrap_or_default();
        r
    }

    pub fn plan(
        &self,
        kind: ActionKind,
        fleet: &Fleet,
        ui: &UiState,
        config: &Config,
        inputs: &Inputs,
    ) -> Plan {
        let judged = PlanInputs::new(config, fleet, inputs, &self.evac.kept.hosts);
        let mut p = plan(fleet, &ui.action_targets(), kind, &judged.context(config));
        if ui.historical.is_some() {
            p.refusals.insert(
                0,
                "this is the past (HISTORICAL): press L to return live before acting".into(),
            );
        }
        p
    }

    /// Handles the action effects; others are not ours.
    pub fn effect(
        &mut self,
        e: Effect,
        fleet: &Fleet,
        ui: &mut UiState,
        config: &Config,
        inputs: &Inputs,
        collectors: &Collectors,
    ) {
        match e {
            Effect::ActionKey(c) => {
                if let Some(kind) = ui.open_form(c, fleet) {
                    self.effect(Effect::Plan(kind), fleet, ui, config, inputs, collectors);
                }
            }
            Effect::Plan(kind) => {
                let p = self.plan(kind, fleet, ui, config, inputs);
                ui.open_confirm(Pane::new(p));
            }
            Effect::Rejected => {
                if let Overlay::Confirm(pane) = &ui.overlay {
                    self.confirm_record(&pane.plan, "refused", pane.message.clone());
                }
            }
            Effect::Cancelled(p) => self.confirm_record(&p, "cancelled", None),
            Effect::Execute(p) if matches!(p.kind, ActionKind::Evacuate { .. }) => {
                self.start_evacuation(*p, fleet, ui, config, inputs, collectors);
            }
            Effect::Execute(p) => self.execute(*p, ui, config, collectors),
            Effect::Evacuate { host, back } => {
                self.open_evacuation(host, back, fleet, ui, config, inputs);
            }
            Effect::Abort => {
                let hosts: Vec<usize> = ui
                    .actions_running
                    .iter()
                    .filter(|r| r.result.is_none())
                    .map(|r| r.host)
                    .collect();
                let stopped = self.evac.abort();
                if stopped {
                    ui.message = Some("evacuation: no further move starts".into());
                } else if hosts.is_empty() {
                    ui.message = Some("nothing is running to abort".into());
                }
                for h in hosts {
                    collectors.abort(h);
                }
            }
            _ => {}
        }
    }

    /// How a confirmation pane ended without running anything, for each of its VMs.
    fn confirm_record(&mut self, plan: &Plan, outcome: &str, error: Option<String>) {
        let id = format!("{}-{}", chrono::Utc::now().timestamp_millis(), self.next_id);
        self.next_id += 1;
        for vm in &plan.vms {
            let mut r = self.base(&id, "confirm", &plan.kind, &vm.host, &vm.uuid, &vm.name);
            r.outcome = Some(outcome.into());
            r.error = error.clone();
            self.record(r);
        }
    }

    pub(super) fn execute(
        &mut self,
        p: Plan,
        ui: &mut UiState,
        config: &Config,
        collectors: &Collectors,
    ) {
        for vm in p.vms {
            let id = self.next_id;
            self.next_id += 1;
            let audit_id = format!("{}-{id}", chrono::Utc::now().timestamp_millis());
            // Written before it starts, so a crash mid-action still leaves a trace.
            self.record(self.base(&audit_id, "start", &p.kind, &vm.host, &vm.uuid, &vm.name));
            let host = config
                .hosts
                .iter()
                .position(|h| h.name == vm.host)
                .unwrap_or(usize::MAX);
            let title = format!("{} {}", p.kind.name(), vm.name);
            let req = ActionRequest {
                id,
                kind: p.kind.clone(),
                expect: vm,
            };
            ui.actions_running.push(Running {
                id,
                title,
                host,
                progress: None,
                result: None,
            });
            self.pending.insert(id, (audit_id, req.clone()));
            if let Err(e) = collectors.act(host, req) {
                self.update(
                    ActionUpdate::Done {
                        id,
                        result: Err(ActionFailure::Failed(e.to_string())),
                    },
                    ui,
                    collectors,
                );
            }
        }
    }

    /// An update from a host's action thread.
    pub fn update(&mut self, u: ActionUpdate, ui: &mut UiState, collectors: &Collectors) {
        let id = match &u {
            ActionUpdate::Running { id }
            | ActionUpdate::Progress { id, .. }
            | ActionUpdate::Done { id, .. } => *id,
        };
        let Some(run) = ui.actions_running.iter_mut().find(|r| r.id == id) else {
            return;
        };
        match u {
            ActionUpdate::Running { .. } => {}
            ActionUpdate::Progress { progress, .. } => run.progress = Some(progress),
            ActionUpdate::Done { result, .. } => {
                ui.message = Some(match &result {
                    Ok(m) => m.clone(),
                    Err(e) => format!("{} failed: {e}", run.title),
                });
                run.result = Some(result.clone());
                let end = result.as_ref().map(|_| ()).map_err(ToString::to_string);
                self.evac.ended(id, end);
                let host = run.host;
                let kind = self.pending.get(&id).map(|(_, req)| req.kind.clone());
                if let Some((audit_id, req)) = self.pending.remove(&id) {
                    let e = &req.expect;
                    let mut r = self.base(&audit_id, "end", &req.kind, &e.host, &e.uuid, &e.name);
                    let (outcome, error) = match result {
                        Ok(_) => ("ok", None),
                        Err(e) => (e.outcome(), Some(e.to_string())),
                    };
                    r.outcome = Some(outcome.into());
                    r.error = error;
                    self.record(r);
                }
                // Show the result within one poll, not at the next scheduled one: both ends
                // of a migration (the next move of an evacuation, a return, are planned from
                // where the fleet shows the VM).
                collectors.poll_now_host(host);
                if let Some(ActionKind::Migrate { to, .. }) = &kind {
                    collectors.poll_now_host(*to);
                }
            }
        }
    }
}

/// The audit thread for this session: into the shared database when the history is one (all
/// operators' actions in one place, whichever machine they act from), else [`audit_target`].
pub fn spawn_audit(
    config: &Config,
    errors: tokio::sync::mpsc::UnboundedSender<String>,
) -> std::io::Result<Option<Sender<Record>>> {
    use fleetwatch_core::history::store::RecordStore;
    match (config.history.enabled, &config.history.url) {
        (true, Some(url)) => {
            let (url, pw) = (url.clone(), config.history.password_file.clone());
            // Opened at the first record, and again after a failure: a TUI that never acts
            // never connects for its audit.
            let mut store: Option<fleetwatch_pg::PgStore> = None;
            let write = move |r: &Record| {
                let s = match &mut store {
                    Some(s) => s,
                    None => store.insert(
                        fleetwatch_pg::PgStore::open_rw(&url, pw.as_deref())
                            .map_err(|e| e.to_string())?,
                    ),
                };
                s.append_audit(r).map_err(|e| {
                    store = None;
                    e.to_string()
                })
            };
            audit::spawn_into(write, errors).map(Some)
        }
        _ => audit_target(config)
            .map(|t| audit::spawn(t, errors))
            .transpose(),
    }
}

pub fn audit_target(config: &Config) -> Option<audit::Target> {
    let db = if config.history.enabled {
        config.history.db_path()
    } else {
        None
    };
    audit::Target::choose(db)
}
