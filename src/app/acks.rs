//! `fleetwatch ack`, `unack` and `ack --list`, and what `check` makes of acknowledgements: they
//! live in the history store (shared through PostgreSQL when that is the store), each change
//! audited in the same transaction.

use super::cli::fail;
use super::stores::Where;
use fleetwatch_core::actions::Operator;
use fleetwatch_core::actions::record::Record;
use fleetwatch_core::config::Config;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::{self, Ack, DEFAULT_FOR};
use fleetwatch_core::model::findings::{Finding, Kind};
use fleetwatch_core::text_table::Table;
use fleetwatch_core::time::show_ms;
use serde_json::json;
use std::process::ExitCode;

pub struct AckArgs<'a> {
    pub kind: &'a str,
    pub subject: &'a str,
    pub reason: &'a str,
    /// How long, e.g. 24h, 3d; default a day.
    pub lasts: Option<&'a str>,
}

fn kind(name: &str) -> Result<Kind, String> {
    Kind::parse(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        format!("no finding kind {name:?}; one of: {}", names.join(", "))
    })
}

pub(super) fn place(config: &Config) -> Result<Where, String> {
    if !config.history.enabled {
        return Err("acknowledgements live in the history store, and history is off ([history] enabled = false)".into());
    }
    Where::of(config).map_err(|e| e.to_string())
}

pub(super) fn writer(config: &Config) -> Result<Box<dyn super::stores::Changes + Send>, String> {
    let p = place(config)?;
    p.writer()
        .map_err(|e| format!("cannot open the history at {}: {e}", p.describe()))
}

/// The audit record of an acknowledgement's change: a finished action of its own (never a
/// "start", which the recorder would take for the actor of the VM's next event).
fn record(
    op: &Operator,
    action: &str,
    kind: Kind,
    subject: &str,
    params: serde_json::Value,
) -> Record {
    let id = format!("{action}-{}", chrono::Utc::now().timestamp_millis());
    let mut r = Record::new(&id, "done", op, action);
    r.vm = Some(subject.to_owned());
    r.params = json!({"kind": kind.name(), "subject": subject, "more": params});
    r.outcome = Some("ok".into());
    r
}

/// The audit record of an acknowledgement made.
pub(super) fn ack_record(op: &Operator, a: &Ack) -> Record {
    let more = json!({"reason": a.reason, "expires": show_ms(a.expires_ms)});
    record(op, "ack", a.kind, &a.subject, more)
}

/// The audit record of an acknowledgement ended, and why ("by hand", "cleared").
pub(super) fn unack_record(op: &Operator, kind: Kind, subject: &str, why: &str) -> Record {
    record(op, "unack", kind, subject, json!({ "why": why }))
}

pub fn ack(config: &Config, a: &AckArgs) -> ExitCode {
    let k = match kind(a.kind) {
        Ok(k) => k,
        Err(e) => return fail(&e, 2),
    };
    let lasts = match a.lasts.map(fleetwatch_core::time::parse_span) {
        None => DEFAULT_FOR,
        Some(Ok(d)) => d,
        Some(Err(e)) => return fail(&format!("--for: {e}"), 2),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let op = Operator::from_env();
    let by = op.actor();
    let ack = match Ack::new(k, a.subject, &by, a.reason, now, lasts) {
        Ok(x) => x,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let mut store = match writer(config) {
        Ok(s) => s,
        Err(e) => return fail(&e, 1),
    };
    if let Err(e) = store.put_ack(&ack, &ack_record(&op, &ack)) {
        return fail(&e.to_string(), 1);
    }
    crate::outln!(
        "acknowledged {k} of {} until {} (by {by}): it no longer raises check's status; it fires again if it clears and returns",
        ack.subject,
        show_ms(ack.expires_ms)
    );
    ExitCode::SUCCESS
}

pub fn unack(config: &Config, kind_name: &str, subject: &str) -> ExitCode {
    let k = match kind(kind_name) {
        Ok(k) => k,
        Err(e) => return fail(&e, 2),
    };
    let mut store = match writer(config) {
        Ok(s) => s,
        Err(e) => return fail(&e, 1),
    };
    let subject = subject.trim();
    match store.end_ack(
        k,
        subject,
        &unack_record(&Operator::from_env(), k, subject, "by hand"),
    ) {
        Ok(true) => {
            crate::outln!("{k} of {subject} is no longer acknowledged");
            ExitCode::SUCCESS
        }
        Ok(false) => fail(
            &format!(
                "no acknowledgement of {k} for {subject:?} (`fleetwatch ack --list` shows them)"
            ),
            1,
        ),
        Err(e) => fail(&e.to_string(), 1),
    }
}

pub fn list(config: &Config, as_json: bool) -> ExitCode {
    let read = place(config).and_then(|p| {
        p.reader()
            .and_then(|s| s.acks())
            .map_err(|e| format!("cannot read the history at {}: {e}", p.describe()))
    });
    let all = match read {
        Ok(a) => a,
        Err(e) => return fail(&e, 1),
    };
    let now = chrono::Utc::now().timestamp_millis();
    if as_json {
        let v: Vec<_> = all
            .iter()
            .map(|a| json!({"kind": a.kind, "subject": a.subject, "by": a.by, "at": show_ms(a.at_ms),
                            "reason": a.reason, "expires": show_ms(a.expires_ms), "expired": a.expired(now)}))
            .collect();
        crate::outln!("{}", json!({ "acknowledged": v }));
        return ExitCode::SUCCESS;
    }
    let mut t = Table::new(&["KIND", "SUBJECT", "BY", "SINCE", "UNTIL", "REASON"]);
    for a in &all {
        let until = if a.expired(now) {
            format!("{} (expired)", show_ms(a.expires_ms))
        } else {
            show_ms(a.expires_ms)
        };
        t.row(vec![
            a.kind.to_string(),
            a.subject.clone(),
            a.by.clone(),
            show_ms(a.at_ms),
            until,
            a.reason.clone(),
        ]);
    }
    crate::out!("{}", t.render());
    ExitCode::SUCCESS
}

/// For `check`: takes the acknowledged findings out of the fleet's findings and returns them
/// with their acknowledgements; ends those whose finding cleared (every host answered, and it
/// is not there). No history, or none recorded yet: nothing is acknowledged.
pub fn for_check(config: &Config, fleet: &mut Fleet) -> Result<Vec<(Finding, Ack)>, String> {
    let Ok(p) = place(config) else {
        return Ok(Vec::new());
    };
    if let Where::File(f) = &p
        && !f.exists()
    {
        return Ok(Vec::new());
    }
    let all = p
        .reader()
        .and_then(|s| s.acks())
        .map_err(|e| format!("cannot read the acknowledgements: {e}"))?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let now = chrono::Utc::now().timestamp_millis();
    let complete = fleet.hosts.iter().all(|h| h.link == LinkState::Up);
    let gone: Vec<&Ack> = acks::cleared(&all, &fleet.findings, |_| complete);
    if !gone.is_empty() {
        let mut w = writer(config)?;
        for a in gone {
            let r = unack_record(&Operator::from_env(), a.kind, &a.subject, "cleared");
            w.end_ack(a.kind, &a.subject, &r)
                .map_err(|e| format!("cannot end a cleared acknowledgement: {e}"))?;
        }
    }
    let mut live = Vec::new();
    let mut acked = Vec::new();
    for f in &fleet.findings {
        match acks::in_force(&all, f, now) {
            Some(a) => acked.push((f.clone(), a.clone())),
            None => live.push(f.clone()),
        }
    }
    // Through the fleet's own setter, so its counts and indexes follow.
    let problems = fleet.problems.clone();
    fleet.set_findings(live, problems);
    Ok(acked)
}
