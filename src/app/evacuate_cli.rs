//! `fleetwatch evacuate HOST --confirm HOST` and `fleetwatch return HOST --confirm HOST`: the
//! TUI's evacuation and return run from the command line, through the very same path (the
//! plan and its refusals, each VM checked again before it moves, `[evacuation] parallel`,
//! audit records with the operator, maintenance and origins kept in the history store), with
//! a line on stdout each time its progress changes. Ctrl-C aborts the migrations under way
//! and starts no other. Exit 0 when every VM moved, 1 when the run was refused, failed or
//! aborted, 2 for a bad host or confirmation.

use super::acting::{self, Acting};
use super::cli::fail;
use super::evacuate::{Args, stored};
use super::maintenance::Kept;
use crate::ui::state::{Effect, Overlay, UiState};
use fleetwatch_core::config::Config;
use fleetwatch_core::history::reader::Response;
use fleetwatch_core::link::{Mailbox, Update};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::policy::loader::Inputs;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::unbounded_channel;

pub async fn run(config: &Config, args: &Args<'_>, confirm: &str) -> ExitCode {
    let verb = if args.back { "return" } else { "evacuate" };
    let Some(host) = config.hosts.iter().position(|h| h.name == args.host) else {
        return fail(&format!("no host {:?} in the config", args.host), 2);
    };
    if confirm != args.host {
        return fail(
            &format!(
                "{verb} {0} runs live migrations: confirm with --confirm {0} (the host's name, \
                 as the TUI asks), or plan only with --dry-run",
                args.host
            ),
            2,
        );
    }
    let kept = match stored(config) {
        Ok(k) => k,
        Err(e) => return fail(&e, 2),
    };
    let (tx, mut rx) = Mailbox::new(config.hosts.len());
    let collectors = match super::start_collectors(config, tx) {
        Ok(c) => c,
        Err(e) => return fail(&format!("cannot start the collectors: {e}"), 1),
    };
    let (answer_tx, mut answers) = unbounded_channel::<Response>();
    let (audit_err_tx, mut audit_errors) = unbounded_channel::<String>();
    let audit = match acting::spawn_audit(config, audit_err_tx) {
        Ok(a) => a,
        Err(e) => return fail(&format!("cannot open the audit: {e}"), 1),
    };
    let mut acting = Acting::new(audit);
    acting.evac.kept = match Kept::new(super::acks::place(config).ok(), answer_tx) {
        Ok(k) => k,
        Err(e) => return fail(&format!("cannot keep maintenance: {e}"), 1),
    };
    acting.evac.kept.hosts = kept;
    let inputs = Inputs::load(&config.policy);
    let mut fleet = Fleet::new(&config.hosts);
    let mut ui = UiState::default();
    // The plan needs the whole fleet as it is: every host answered once, or failed.
    let deadline = Instant::now() + config.poll.interval * 3 + config.poll.timeout * 2;
    while !fleet.settled() && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), rx.recv_batch()).await {
            Ok(Some(batch)) => batch.into_iter().for_each(|m| super::apply(&mut fleet, m)),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let effect = Effect::Evacuate {
        host,
        back: args.back,
    };
    acting.effect(effect, &fleet, &mut ui, config, &inputs, &collectors);
    let plan = match std::mem::replace(&mut ui.overlay, Overlay::None) {
        Overlay::Confirm(p) => p.plan,
        _ => return fail(&format!("{verb} {}: no plan", args.host), 1),
    };
    if !plan.refusals.is_empty() {
        for r in &plan.refusals {
            crate::errln!("fleetwatch: {verb} {} refused: {r}", args.host);
        }
        return ExitCode::from(1);
    }
    for c in &plan.changes {
        crate::outln!("  {c}");
    }
    let execute = Effect::Execute(Box::new(plan));
    acting.effect(execute, &fleet, &mut ui, config, &inputs, &collectors);
    let mut said = None;
    let mut aborted = false;
    while acting.evac.running() {
        if ui.message != said {
            if let Some(m) = &ui.message {
                crate::outln!("{} {m}", chrono::Local::now().format("%H:%M:%S"));
            }
            said.clone_from(&ui.message);
        }
        tokio::select! {
            Some(batch) = rx.recv_batch() => {
                for m in batch {
                    match m.update {
                        Update::Action(u) => acting.update(u, &mut ui, &collectors),
                        _ => super::apply(&mut fleet, m),
                    }
                }
            }
            Some(Response::Maintenance { generation, list, error }) = answers.recv() => {
                acting.evac.answer(generation, list, error, &mut ui);
            }
            Some(e) = audit_errors.recv() => crate::errln!("fleetwatch: {e}"),
            _ = tokio::signal::ctrl_c(), if !aborted => {
                aborted = true;
                acting.effect(Effect::Abort, &fleet, &mut ui, config, &inputs, &collectors);
            }
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        acting.tick(&fleet, &mut ui, config, &inputs, &collectors);
    }
    if let Some(m) = &ui.message {
        crate::outln!("{m}");
    }
    if !acting.evac.kept.flush(Duration::from_secs(3)) {
        crate::errln!("fleetwatch: maintenance not saved to the history store");
    }
    ExitCode::from(u8::from(acting.evac.outcome.as_deref() != Some("ok")))
}
