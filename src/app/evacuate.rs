//! `fleetwatch evacuate HOST --dry-run`: the plan to move every active VM off HOST, from one
//! poll of the fleet, as text or JSON. Nothing moves. Exit 0 when every VM has a target, 1
//! when some are blocked (named, with why), 2 when there is no such host.

use super::acting::PlanInputs;
use super::cli::fail;
use fleetwatch_core::actions::evacuate::{Evacuation, evacuation};
use fleetwatch_core::config::Config;
use fleetwatch_core::policy::loader::Inputs;
use std::fmt::Write as _;
use std::process::ExitCode;

pub struct Args<'a> {
    pub host: &'a str,
    pub copy_storage: bool,
    pub json: bool,
}

pub async fn dry_run(config: &Config, args: &Args<'_>) -> ExitCode {
    let Some(index) = config.hosts.iter().position(|h| h.name == args.host) else {
        let names: Vec<&str> = config.hosts.iter().map(|h| h.name.as_str()).collect();
        return fail(
            &format!(
                "no host {:?} in the config (its hosts: {})",
                args.host,
                names.join(", ")
            ),
            2,
        );
    };
    let fleet = match super::snapshot::collect(config, 1).await {
        Ok(f) => f,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let judged = PlanInputs::new(config, &fleet, &Inputs::load(&config.policy));
    let plan = evacuation(&fleet, index, &judged.context(config), args.copy_storage);
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        );
    } else {
        crate::out!("{}", text(&plan));
    }
    ExitCode::from(u8::from(!plan.blocked.is_empty()))
}

fn text(p: &Evacuation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Evacuating {}: {} VM(s) to move, {} blocked. A plan only: nothing moves.",
        p.host,
        p.moves.len(),
        p.blocked.len()
    );
    if !p.moves.is_empty() {
        let w = p
            .moves
            .iter()
            .map(|m| m.vm.chars().count())
            .max()
            .unwrap_or(2);
        let _ = writeln!(s, "\n{:<w$}  {:<20}  MEMORY", "VM", "TO");
        for m in &p.moves {
            let _ = writeln!(
                s,
                "{:<w$}  {:<20}  {} MiB",
                m.vm,
                m.to,
                m.memory_bytes >> 20
            );
        }
    }
    if !p.blocked.is_empty() {
        let _ = writeln!(s, "\nBlocked:");
        for b in &p.blocked {
            let _ = writeln!(s, "  {}: {}", b.vm, b.reason);
        }
    }
    if !p.after.is_empty() {
        let _ = writeln!(s, "\nAfterwards:");
        for a in &p.after {
            let _ = writeln!(
                s,
                "  {:<20}  memory {:>3.0}% allocated  vCPU {:.1}x  ({} moved in)",
                a.host, a.memory_used_pct, a.vcpu_ratio, a.moves_in
            );
        }
    }
    for l in &p.not_targets {
        let _ = writeln!(s, "  {:<20}  takes none: {}", l.host, l.reason);
    }
    let _ = writeln!(s, "\nFailover: {}.", p.failover);
    for r in &p.refusals {
        let _ = writeln!(s, "Would not run as planned: {r}.");
    }
    s
}
