//! The headless readers of the history: `history` and `at` (`record` is in `record`).

use super::stores::Where;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::past::{Refusal, fleet_at, lookup};
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::text_table::Table;
use fleetwatch_core::time::{parse_moment, parse_span};
use std::process::ExitCode;

pub(super) fn fail(msg: &str, code: u8) -> ExitCode {
    crate::errln!("fleetwatch: {msg}");
    ExitCode::from(code)
}

pub struct HistoryArgs {
    pub vm: Option<String>,
    pub host: Option<String>,
    pub since: Option<String>,
    pub kinds: Vec<String>,
    pub limit: usize,
    pub json: bool,
}

pub fn history(config: &Config, a: &HistoryArgs) -> ExitCode {
    let now = chrono::Utc::now();
    let since_ms = match a.since.as_deref().map(parse_span) {
        Some(Ok(d)) => {
            Some((now - chrono::Duration::from_std(d).unwrap_or_default()).timestamp_millis())
        }
        Some(Err(e)) => return fail(&e.to_string(), 2),
        None => None,
    };
    for k in &a.kinds {
        if !fleetwatch_core::history::events::KINDS.contains(&k.as_str()) {
            return fail(
                &format!(
                    "--kind {k:?}: one of {}",
                    fleetwatch_core::history::events::KINDS.join(",")
                ),
                2,
            );
        }
    }
    let c = match Where::of(config) {
        Ok(p) => match p.reader() {
            Ok(c) => c,
            Err(e) => return fail(&e.to_string(), 1),
        },
        Err(e) => return fail(&e.to_string(), 2),
    };
    let q = EventQuery {
        vm: a.vm.clone(),
        host: a.host.clone(),
        since_ms,
        until_ms: None,
        kinds: a.kinds.clone(),
        limit: a.limit,
    };
    let mut events = match c.events(&q) {
        Ok(e) => e,
        Err(e) => return fail(&e.to_string(), 1),
    };
    events.reverse();
    if a.json {
        crate::outln!("{}", serde_json::json!({ "events": events }));
    } else {
        let mut t = Table::new(&["WHEN", "EVENT", "VM", "WHERE", "ACTOR", "DETAIL"]);
        for e in &events {
            let place = match (&e.from_host, &e.to_host) {
                (Some(f), Some(t)) => format!("{f} -> {t}"),
                _ => e.host.clone().unwrap_or_default(),
            };
            let took = e
                .duration_s
                .map(|d| format!(" ({d:.1}s)"))
                .unwrap_or_default();
            t.row(vec![
                e.at.clone(),
                e.kind.clone(),
                e.vm.clone().unwrap_or_else(|| "-".into()),
                place,
                e.actor.clone(),
                format!("{}{took}", e.detail),
            ]);
        }
        crate::out!("{}", t.render());
    }
    ExitCode::SUCCESS
}

/// The fleet at a past moment, as `snapshot` prints the present.
pub fn at(config: &Config, when: &str, json: bool) -> ExitCode {
    let t = match parse_moment(when, chrono::Utc::now()) {
        Ok(t) => t,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let now = chrono::Utc::now().timestamp_millis();
    // Refused before the store is opened: no store makes the future any more knowable.
    if let Err(e) = fleetwatch_core::history::past::not_future(t.timestamp_millis(), now) {
        return fail(&e.to_string(), 2);
    }
    let c = match Where::of(config) {
        Ok(p) => match p.reader() {
            Ok(c) => c,
            Err(e) => return fail(&e.to_string(), 1),
        },
        Err(e) => return fail(&e.to_string(), 2),
    };
    let windows = fleetwatch_core::history::moment::windows(&config.history, config.poll.interval);
    let past = match lookup(&*c, t.timestamp_millis(), now, &windows) {
        Ok(p) => p,
        Err(e @ Refusal::Future(_)) => return fail(&e.to_string(), 2),
        Err(e @ Refusal::NotRecorded(_)) => return fail(&e.to_string(), 1),
        Err(Refusal::Store(e)) => return fail(&e, 1),
    };
    let fleet: Fleet = fleet_at(&config.hosts, &past);
    if json {
        let mut doc = crate::report::json(
            &fleet,
            &config.policy.shared_storage,
            t,
            std::time::Instant::now(),
        );
        doc["historical"] = serde_json::Value::Bool(true);
        for h in doc["hosts"].as_array_mut().into_iter().flatten() {
            h["sample_age_s"] = serde_json::Value::Null;
        }
        crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        crate::outln!(
            "fleet as of {} (historical)\n",
            fleetwatch_core::time::show(t)
        );
        crate::out!("{}", crate::report::table(&fleet));
    }
    ExitCode::SUCCESS
}

/// `fleetwatch audit`: every action record, oldest first.
pub fn audit(config: &Config, json: bool) -> ExitCode {
    let Some(target) = super::acting::audit_target(config) else {
        return fail("no place for the audit: set HOME or XDG_DATA_HOME", 2);
    };
    let shared = match Where::of(config) {
        Ok(place @ Where::Database { .. }) => Some(place),
        _ => None,
    };
    let read = match &shared {
        Some(place) => place
            .reader()
            .and_then(|r| r.audit())
            .map_err(|e| e.to_string()),
        None => fleetwatch_core::actions::audit::read(&target).map_err(|e| e.to_string()),
    };
    let records = match read {
        Ok(r) => r,
        Err(e) => return fail(&e, 1),
    };
    if json {
        crate::outln!("{}", serde_json::json!({ "actions": records }));
        return ExitCode::SUCCESS;
    }
    let mut t = Table::new(&[
        "WHEN", "PHASE", "ACTION", "VM", "HOST", "OPERATOR", "OUTCOME",
    ]);
    for r in &records {
        t.row(vec![
            r.at.clone(),
            r.phase.clone(),
            r.action.clone(),
            r.vm.clone().unwrap_or_else(|| "-".into()),
            r.host.clone().unwrap_or_else(|| "-".into()),
            r.operator.clone(),
            format!(
                "{}{}",
                r.outcome.as_deref().unwrap_or(""),
                r.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        ]);
    }
    if !records.is_empty() {
        crate::out!("{}", t.render());
    }
    if records.is_empty() {
        let place = match &shared {
            Some(p) => p.describe(),
            None => fleetwatch_core::actions::audit::describe(&target)
                .display()
                .to_string(),
        };
        crate::errln!("no actions recorded in {place}");
    }
    ExitCode::SUCCESS
}
