//! The headless commands around the history: `record`, `history` and `at`.

use super::start_collectors;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::past::{Refusal, fleet_at, lookup};
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::recorder::{BATCH_MAX, BATCH_WINDOW, RecordError, Recorder};
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::{Mailbox, Message};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::text_table::Table;
use fleetwatch_core::time::{parse_moment, parse_span};
use std::process::ExitCode;

/// No `[history] path` and no XDG data directory to put the store in.
#[derive(Debug, thiserror::Error)]
#[error("no place for the history: set [history] path")]
struct NoPlace;

fn db(config: &Config) -> Result<std::path::PathBuf, NoPlace> {
    config.history.db_path().ok_or(NoPlace)
}

/// Runs the collectors and writes history until SIGTERM or SIGINT. Refuses to start when
/// another recorder holds the store.
pub async fn record(config: &Config) -> ExitCode {
    let path = match db(config) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let store = match SqliteStore::open_rw(&path) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string(), 1),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut rec = match Recorder::start(store, config.history.clone(), &config.hosts, now) {
        Ok(r) => r,
        Err(RecordError::Busy { pid, hostname }) => {
            return fail(
                &format!(
                    "another recorder (pid {pid} on {hostname}) writes {}; not starting a second",
                    path.display()
                ),
                1,
            );
        }
        // A store's error names its file already.
        Err(e) => return fail(&e.to_string(), 1),
    };
    let (tx, mut rx) = Mailbox::new(config.hosts.len());
    let _collectors = match start_collectors(config, tx) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), 1),
    };
    crate::errln!(
        "fleetwatch: recording {} host(s) into {}",
        config.hosts.len(),
        path.display()
    );
    let signal = |k| tokio::signal::unix::signal(k).ok();
    let (Some(mut term), Some(mut int)) = (
        signal(tokio::signal::unix::SignalKind::terminate()),
        signal(tokio::signal::unix::SignalKind::interrupt()),
    ) else {
        return fail("cannot install signal handlers", 1);
    };
    let mut failing = false;
    // The lease is kept while no message comes, so a quiet fleet is not taken for a dead
    // recorder.
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(RecordError::LostLease) = rec.tick(chrono::Utc::now().timestamp_millis()) {
                    return fail("another recorder took over this history; stopping", 1);
                }
            },
            Some(m) = rx.recv() => match rec.record_batch(&gather(m, &mut rx).await, chrono::Utc::now().timestamp_millis()) {
                Ok(()) => {
                    if failing {
                        crate::errln!("fleetwatch: writing history again");
                        failing = false;
                    }
                }
                Err(RecordError::LostLease) => return fail("another recorder took over this history; stopping", 1),
                Err(e) => {
                    if !failing {
                        crate::errln!("fleetwatch: {e}; will retry");
                        failing = true;
                    }
                }
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    rec.stop();
    ExitCode::SUCCESS
}

/// The first message and what else comes within the batch window: one transaction for all.
async fn gather(first: Message, rx: &mut fleetwatch_core::link::MailboxReceiver) -> Vec<Message> {
    let mut batch = vec![first];
    let until = tokio::time::Instant::now() + BATCH_WINDOW;
    while batch.len() < BATCH_MAX {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(m)) => batch.push(m),
            Ok(None) | Err(_) => break,
        }
    }
    batch
}

fn fail(msg: &str, code: u8) -> ExitCode {
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
    let path = match db(config) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let c = match SqliteStore::open_ro(&path) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), 1),
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
    let path = match db(config) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let c = match SqliteStore::open_ro(&path) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), 1),
    };
    let windows = fleetwatch_core::history::moment::windows(&config.history, config.poll.interval);
    let past = match lookup(&c, t.timestamp_millis(), now, &windows) {
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
    let records = match fleetwatch_core::actions::audit::read(&target) {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string(), 1),
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
        crate::errln!(
            "no actions recorded in {}",
            fleetwatch_core::actions::audit::describe(&target).display()
        );
    }
    ExitCode::SUCCESS
}
