//! `fleetwatch evacuate HOST --dry-run`: the plan to move every active VM off HOST, from one
//! poll of the fleet, as text or JSON; `fleetwatch return HOST --dry-run`: the plan to bring
//! back what its evacuation moved away, as the history store keeps it (the TUI's `E` and `R`
//! run them, as does `--confirm HOST`: see `evacuate_cli`). Nothing moves. Exit 0 when every VM
//! has a target, 1 when some are blocked (named, with why) or the plan would be refused, 2 when
//! there is no such host or no store to ask.

use super::acting::PlanInputs;
use super::cli::fail;
use super::stores::Where;
use fleetwatch_core::actions::evacuate::{Evacuation, evacuation};
use fleetwatch_core::actions::evacuate_run::return_plan;
use fleetwatch_core::actions::maintenance::{self, Maintenance};
use fleetwatch_core::config::Config;
use fleetwatch_core::policy::loader::Inputs;
use std::fmt::Write as _;
use std::process::ExitCode;

pub struct Args<'a> {
    pub host: &'a str,
    pub copy_storage: bool,
    pub json: bool,
    /// `return`: back onto the host, from where its evacuation took its VMs.
    pub back: bool,
}

/// `--dry-run`: the plan; `--confirm HOST`: the run (see `evacuate_cli`); neither: refused.
pub async fn plan_or_run(
    config: &Config,
    args: &Args<'_>,
    dry_run: bool,
    confirm: Option<String>,
) -> ExitCode {
    match (dry_run, confirm) {
        (true, _) => self::dry_run(config, args).await,
        (false, Some(c)) => super::evacuate_cli::run(config, args, &c).await,
        (false, None) => {
            let verb = if args.back { "return" } else { "evacuate" };
            fail(
                &format!(
                    "{verb} {0}: --dry-run plans it, --confirm {0} runs it (its live \
                     migrations; the TUI's {1} on the host does the same)",
                    args.host,
                    if args.back { "R" } else { "E" }
                ),
                2,
            )
        }
    }
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
    let kept = match stored(config) {
        Ok(k) => k,
        // Without the store an evacuation plan is still worth having, but a return has none.
        Err(e) if !args.back => {
            crate::errln!("fleetwatch: {e}: planned as if no host were in maintenance");
            Vec::new()
        }
        Err(e) => return fail(&e, 2),
    };
    let judged = PlanInputs::new(config, &fleet, &Inputs::load(&config.policy), &kept);
    let cx = judged.context(config);
    let plan = if args.back {
        let away = maintenance::of(&kept, args.host).map_or(&[][..], |m| &m.away[..]);
        return_plan(&fleet, index, away, &cx)
    } else {
        evacuation(&fleet, index, &cx, args.copy_storage)
    };
    if args.json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        );
    } else {
        crate::out!("{}", text(&plan, args.back));
    }
    // A return refused (no maintenance, host down) has nothing to run; an evacuation's
    // refusals (this session's read-only) say so but leave the plan worth having.
    let refused = args.back && !plan.refusals.is_empty();
    ExitCode::from(u8::from(!plan.blocked.is_empty() || refused))
}

/// `fleetwatch maintenance`: the hosts in maintenance, by whom, since when, what is away.
pub fn list(config: &Config, json: bool) -> ExitCode {
    let kept = match stored(config) {
        Ok(k) => k,
        Err(e) => return fail(&e, 2),
    };
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&kept).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if kept.is_empty() {
        crate::outln!("No host is in maintenance.");
    }
    for m in &kept {
        crate::outln!("{}: in maintenance {}", m.host, m.describe());
        for a in &m.away {
            crate::outln!("  {} ({}) is on {}", a.vm, a.uuid, a.to);
        }
    }
    ExitCode::SUCCESS
}

/// Hosts in maintenance as the history store has them; none when history is off.
pub fn stored(config: &Config) -> Result<Vec<Maintenance>, String> {
    if !config.history.enabled {
        return Ok(Vec::new());
    }
    let place = Where::of(config).map_err(|e| e.to_string())?;
    if let Where::File(f) = &place
        && !f.exists()
    {
        return Ok(Vec::new());
    }
    place
        .reader()
        .and_then(|r| r.maintenance())
        .map_err(|e| format!("hosts in maintenance unknown ({}: {e})", place.describe()))
}

fn text(p: &Evacuation, back: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {}: {} VM(s) to move, {} blocked. A plan only: nothing moves.",
        if back { "Returning to" } else { "Evacuating" },
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
        let _ = writeln!(s, "\n{:<w$}  {:<20}  {:<20}  MEMORY", "VM", "FROM", "TO");
        for m in &p.moves {
            let _ = writeln!(
                s,
                "{:<w$}  {:<20}  {:<20}  {} MiB",
                m.vm,
                m.from,
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
    // Nothing moving leaves every host as it is: no "afterwards" to tell.
    if !p.moves.is_empty() && !p.after.is_empty() {
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
    if !back {
        let _ = writeln!(s, "\nFailover: {}.", p.failover);
    }
    for r in &p.refusals {
        let _ = writeln!(s, "Would not run as planned: {r}.");
    }
    s
}
