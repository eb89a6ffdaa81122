//! `fleetwatch check`: one poll of every host, the findings, and a Nagios-style exit code, for
//! cron and monitoring systems.

use super::stores::Where;
use fleetwatch_core::actions::maintenance::{self, Maintenance};
use fleetwatch_core::config::Config;
use fleetwatch_core::history::health::stalls;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::Ack;
use fleetwatch_core::model::findings::{Finding, Severity};
use fleetwatch_core::sanitize::clean;
use fleetwatch_core::time::show_ms;
use serde_json::json;
use std::process::ExitCode;

pub const OK: u8 = 0;
pub const WARNING: u8 = 1;
pub const CRITICAL: u8 = 2;
pub const UNKNOWN: u8 = 3;

/// The finding's name for a history whose rollups or retention stopped.
pub const STALLED: &str = "history-stalled";

/// Why the configured history's rollups do not advance, from its marks; nothing when there is
/// no history to read (none recorded yet, or history off): that is not for `check` to judge.
/// A history that cannot be read is the error: not known to be stalled, but not checked.
pub fn history_stalls(config: &Config) -> Result<Vec<String>, String> {
    if !config.history.enabled {
        return Ok(Vec::new());
    }
    let Ok(place) = Where::of(config) else {
        return Ok(Vec::new());
    };
    if let Where::File(p) = &place
        && !p.exists()
    {
        return Ok(Vec::new());
    }
    let reader = place
        .reader()
        .map_err(|e| format!("cannot read the history: {e}"))?;
    let marks = reader
        .rollup_marks(config.history.rollup.len())
        .map_err(|e| format!("cannot read the history's rollup marks: {e}"))?;
    Ok(stalls(&config.history, &marks))
}

/// The exit code and status word for a fleet's findings and its history's stalls.
pub fn status(fleet: &Fleet, stalled: &[String]) -> (u8, &'static str) {
    // A stalled history is known to be wrong whatever the hypervisors answer.
    if !stalled.is_empty() {
        return (CRITICAL, "critical");
    }
    if fleet.hosts_up() == 0 {
        return (UNKNOWN, "unknown");
    }
    if fleet
        .findings
        .iter()
        .any(|f| f.severity == Severity::Critical)
    {
        (CRITICAL, "critical")
    } else if fleet.findings.is_empty() {
        (OK, "ok")
    } else {
        (WARNING, "warning")
    }
}

fn sorted(fleet: &Fleet) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = fleet.findings.iter().collect();
    v.sort_by(|a, b| {
        (b.severity, a.kind, &a.host, &a.vm).cmp(&(a.severity, b.kind, &b.host, &b.vm))
    });
    v
}

fn down_hosts(fleet: &Fleet) -> Vec<String> {
    fleet
        .hosts
        .iter()
        .filter(|h| h.link != LinkState::Up)
        .map(|h| {
            let raw = h.error.as_deref().unwrap_or("not answering");
            match fleetwatch_core::diagnose::explain(&h.uri, raw) {
                Some(x) => format!("{}: {} ({raw}); {}", h.name, x.reason, x.next),
                None => format!("{}: {raw}", h.name),
            }
        })
        .collect()
}

/// Findings set aside: acknowledged ones, each with who acknowledged it, when, why and until
/// when; and those of hosts in maintenance, with who put it there and since when. Neither
/// raises the status.
#[derive(Default)]
pub struct Aside {
    pub acked: Vec<(Finding, Ack)>,
    pub held: Vec<(Finding, Maintenance)>,
}

/// Takes the findings of hosts in maintenance out of the fleet's (an acknowledged one is
/// already out, and stays acknowledged).
fn hold(fleet: &mut Fleet, all: &[Maintenance]) -> Vec<(Finding, Maintenance)> {
    if all.is_empty() {
        return Vec::new();
    }
    let (live, held) = maintenance::split(&fleet.findings, all);
    let live: Vec<Finding> = live.into_iter().cloned().collect();
    let held = held
        .into_iter()
        .map(|(f, m)| (f.clone(), m.clone()))
        .collect();
    let problems = fleet.problems.clone();
    fleet.set_findings(live, problems);
    held
}

fn subject(f: &Finding) -> String {
    match (&f.vm, &f.host) {
        (Some(vm), Some(h)) => format!("{vm}@{h}"),
        (None, Some(h)) => h.clone(),
        (Some(vm), None) => vm.clone(),
        (None, None) => "-".into(),
    }
}

pub fn json(fleet: &Fleet, stalled: &[String], aside: &Aside) -> serde_json::Value {
    let (_, word) = status(fleet, stalled);
    let history = stalled.iter().map(|why| {
        json!({"kind": STALLED, "severity": "critical", "vm": null, "uuid": null, "host": null, "detail": why})
    });
    let findings: Vec<serde_json::Value> = history
        .chain(sorted(fleet).into_iter().map(|f| json!(f)))
        .collect();
    let acknowledged: Vec<serde_json::Value> = aside
        .acked
        .iter()
        .map(|(f, a)| {
            json!({"kind": f.kind, "severity": f.severity, "vm": f.vm, "uuid": f.uuid, "host": f.host,
                   "detail": f.detail, "by": a.by, "at": show_ms(a.at_ms), "reason": a.reason,
                   "expires": show_ms(a.expires_ms)})
        })
        .collect();
    let maintenance: Vec<serde_json::Value> = aside
        .held
        .iter()
        .map(|(f, m)| {
            json!({"kind": f.kind, "severity": f.severity, "vm": f.vm, "uuid": f.uuid, "host": f.host,
                   "detail": f.detail, "by": m.by, "since": show_ms(m.since_ms)})
        })
        .collect();
    json!({
        "status": word,
        "findings": findings,
        "acknowledged": acknowledged,
        "maintenance": maintenance,
        "hosts_down": down_hosts(fleet),
        "problems": fleet.problems,
    })
}

/// Nagios plugin output: a status line with performance data, then one line per finding.
pub fn text(fleet: &Fleet, stalled: &[String], aside: &Aside) -> String {
    let acked = &aside.acked;
    let (_, word) = status(fleet, stalled);
    let (crit, warn) = fleet.finding_counts();
    let crit = crit + stalled.len();
    let up = fleet.hosts_up();
    let mut out = format!(
        "FLEETWATCH {} - {crit} critical, {warn} warning findings{}{}; {up}/{} hosts up, {} VMs | critical={crit} warning={warn} acknowledged={} maintenance={} hosts_up={up} hosts_total={} vms={}\n",
        word.to_uppercase(),
        if acked.is_empty() {
            String::new()
        } else {
            format!(" ({} acknowledged)", acked.len())
        },
        if aside.held.is_empty() {
            String::new()
        } else {
            format!(" ({} on hosts in maintenance)", aside.held.len())
        },
        fleet.hosts.len(),
        fleet.vm_count(),
        acked.len(),
        aside.held.len(),
        fleet.hosts.len(),
        fleet.vm_count()
    );
    for why in stalled {
        out.push_str(&clean(&format!("CRITICAL {STALLED} history: {why}")));
        out.push('\n');
    }
    for f in sorted(fleet) {
        let what = subject(f);
        // One line per finding, nothing raw: inventory keys and catalog text are the files'
        // words, not ours.
        out.push_str(&clean(&format!(
            "{} {} {what}: {}",
            f.severity.name().to_uppercase(),
            f.kind,
            f.detail
        )));
        out.push('\n');
    }
    for (f, a) in acked {
        out.push_str(&clean(&format!(
            "ACKED {} {} {}: {} (by {} at {}, until {}: {})",
            f.severity.name().to_uppercase(),
            f.kind,
            subject(f),
            f.detail,
            a.by,
            show_ms(a.at_ms),
            show_ms(a.expires_ms),
            a.reason
        )));
        out.push('\n');
    }
    for (f, m) in &aside.held {
        out.push_str(&clean(&format!(
            "MAINT {} {} {}: {} (host in maintenance by {} since {})",
            f.severity.name().to_uppercase(),
            f.kind,
            subject(f),
            f.detail,
            m.by,
            show_ms(m.since_ms)
        )));
        out.push('\n');
    }
    for d in down_hosts(fleet) {
        out.push_str(&clean(&format!("DOWN {d}")));
        out.push('\n');
    }
    for p in &fleet.problems {
        out.push_str(&clean(&format!("PROBLEM {p}")));
        out.push('\n');
    }
    out
}

/// `check`: one poll of every host, the findings, and the history's health, as plugin output
/// or JSON; the exit code is the status.
pub async fn run(config: &Config, as_json: bool) -> ExitCode {
    let errors: Vec<String> = fleetwatch_core::policy::loader::Inputs::load(&config.policy)
        .errors()
        .iter()
        .map(|e| e.to_string())
        .collect();
    if !errors.is_empty() {
        if as_json {
            let doc = json!({"status": "unknown", "findings": [], "problems": errors});
            crate::outln!("{doc}");
        } else {
            crate::outln!("FLEETWATCH UNKNOWN - cannot check: {}", errors.join("; "));
        }
        return ExitCode::from(UNKNOWN);
    }
    let mut fleet = match super::snapshot::collect(config, 1).await {
        Ok(f) => f,
        Err(e) => {
            crate::outln!("FLEETWATCH UNKNOWN - cannot start collectors: {e}");
            return ExitCode::from(UNKNOWN);
        }
    };
    let (stalled, unread) = match history_stalls(config) {
        Ok(s) => (s, false),
        Err(e) => {
            fleet.problems.push(e);
            (Vec::new(), true)
        }
    };
    // Unreadable acknowledgements count for nothing: every finding raises the status.
    let acked = super::acks::for_check(config, &mut fleet).unwrap_or_else(|e| {
        fleet.problems.push(e);
        Vec::new()
    });
    // Likewise for hosts in maintenance: unknown, their findings count.
    let held = match super::evacuate::stored(config) {
        Ok(all) => hold(&mut fleet, &all),
        Err(e) => {
            fleet.problems.push(e);
            Vec::new()
        }
    };
    let aside = Aside { acked, held };
    if as_json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&json(&fleet, &stalled, &aside)).unwrap_or_default()
        );
    } else {
        crate::out!("{}", text(&fleet, &stalled, &aside));
    }
    let code = status(&fleet, &stalled).0;
    // An unreadable history is "could not check" unless something is critical anyway.
    ExitCode::from(if unread && code < CRITICAL {
        UNKNOWN
    } else {
        code
    })
}
