//! Acknowledged findings as an operator and cron meet them: `ack`, `unack`, `ack --list`, and
//! `check`, whose status an acknowledged finding no longer raises until it expires or clears.
#![allow(clippy::unwrap_used)]

mod check_fleet;

use check_fleet::{cfg, fleet_dir, fresh_backup, run};
use fleetwatch_core::actions::{Operator, record::Record};
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::AckStore;
use fleetwatch_core::model::acks::Ack;
use fleetwatch_core::model::findings::Kind;
use serde_json::Value;
use std::time::Duration;

/// app-01 approved by nobody (critical), backed up an hour ago: one finding.
fn unapproved() -> tempfile::TempDir {
    fleet_dir("", &fresh_backup())
}

fn check(dir: &std::path::Path) -> (i32, String) {
    run(&["--config", &cfg(dir), "check"])
}

#[test]
fn an_acknowledged_finding_stops_raising_checks_status_and_unack_brings_it_back() {
    let d = unapproved();
    let (code, out) = check(d.path());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("CRITICAL unapproved app-01@a"), "{out}");

    let (code, out) = run(&[
        "--config",
        &cfg(d.path()),
        "ack",
        "unapproved",
        "app-01",
        "--reason",
        "CHG-88 approval in review",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("acknowledged unapproved of app-01 until"),
        "{out}"
    );
    let (code, out) = check(d.path());
    assert_eq!(code, 0, "an acknowledged critical raises nothing: {out}");
    assert!(
        out.starts_with("FLEETWATCH OK - 0 critical, 0 warning findings (1 acknowledged)"),
        "{out}"
    );
    assert!(out.contains("acknowledged=1"), "{out}");
    let acked = out
        .lines()
        .find(|l| l.starts_with("ACKED CRITICAL unapproved app-01@a"))
        .unwrap();
    assert!(
        acked.contains("CHG-88 approval in review") && acked.contains("until"),
        "{acked}"
    );

    let (_, json) = run(&["--config", &cfg(d.path()), "check", "--json"]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["status"], "ok");
    assert!(doc["findings"].as_array().unwrap().is_empty(), "{doc}");
    let a = &doc["acknowledged"][0];
    assert_eq!(
        (a["kind"].as_str(), a["vm"].as_str()),
        (Some("unapproved"), Some("app-01"))
    );
    assert_eq!(a["reason"], "CHG-88 approval in review");
    assert_eq!(a["by"], Operator::from_env().actor());

    // Listed, and audited with who did it.
    let (code, list) = run(&["--config", &cfg(d.path()), "ack", "--list", "--json"]);
    assert_eq!(code, 0, "{list}");
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["acknowledged"][0]["subject"], "app-01");
    let (_, audit) = run(&["--config", &cfg(d.path()), "audit", "--json"]);
    assert!(audit.contains("\"action\":\"ack\""), "{audit}");

    let (code, out) = run(&["--config", &cfg(d.path()), "unack", "unapproved", "app-01"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(check(d.path()).0, 2, "counts again at once");
    let (code, out) = run(&["--config", &cfg(d.path()), "unack", "unapproved", "app-01"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no acknowledgement of unapproved for \"app-01\""),
        "{out}"
    );
}

#[test]
fn an_expired_acknowledgement_counts_for_nothing() {
    let d = unapproved();
    // Written as `ack --for 1h` would have two hours ago.
    let mut store = SqliteStore::open_rw(&d.path().join("history.db")).unwrap();
    let two_hours_ago = chrono::Utc::now().timestamp_millis() - 2 * 3_600_000;
    let a = Ack::new(
        Kind::Unapproved,
        "app-01",
        "ann",
        "old news",
        two_hours_ago,
        Duration::from_secs(3600),
    )
    .unwrap();
    let r = Record::new("t", "done", &Operator::from_env(), "ack");
    store.put_ack(&a, &r).unwrap();
    drop(store);
    let (code, out) = check(d.path());
    assert_eq!(code, 2, "{out}");
    assert!(!out.contains("ACKED"), "{out}");
    let (_, list) = run(&["--config", &cfg(d.path()), "ack", "--list"]);
    assert!(list.contains("(expired)"), "{list}");
}

#[test]
fn a_finding_that_clears_ends_its_acknowledgement_and_fires_again_when_it_returns() {
    let d = unapproved();
    let (code, out) = run(&[
        "--config",
        &cfg(d.path()),
        "ack",
        "unapproved",
        "app-01",
        "--reason",
        "approval on its way",
        "--for",
        "3d",
    ]);
    assert_eq!(code, 0, "{out}");
    // Approved: the finding clears, and the acknowledgement with it.
    std::fs::write(
        d.path().join("inventory.toml"),
        "[[vm]]\nname = \"app-01\"\nowner = \"team\"\n",
    )
    .unwrap();
    assert_eq!(check(d.path()).0, 0);
    let (_, list) = run(&["--config", &cfg(d.path()), "ack", "--list", "--json"]);
    assert!(
        list.contains("\"acknowledged\":[]"),
        "ended when it cleared: {list}"
    );
    let (_, audit) = run(&["--config", &cfg(d.path()), "audit", "--json"]);
    assert!(audit.contains("cleared"), "{audit}");
    // The approval goes again: the finding is new, and fires.
    std::fs::write(d.path().join("inventory.toml"), "").unwrap();
    let (code, out) = check(d.path());
    assert_eq!(code, 2, "{out}");
}

#[test]
fn bad_acknowledgements_are_refused_with_the_reason() {
    let d = unapproved();
    let c = cfg(d.path());
    let (code, out) = run(&[
        "--config",
        &c,
        "ack",
        "unaproved",
        "app-01",
        "--reason",
        "x",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("no finding kind \"unaproved\"; one of: split-brain, host-down"),
        "{out}"
    );
    let (code, out) = run(&[
        "--config",
        &c,
        "ack",
        "unapproved",
        "app-01",
        "--reason",
        "   ",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("a reason is needed"), "{out}");
    let (code, out) = run(&[
        "--config",
        &c,
        "ack",
        "unapproved",
        "app-01",
        "--reason",
        "x",
        "--for",
        "120d",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("at most 90 days"), "{out}");
    let (code, out) = run(&[
        "--config",
        &c,
        "ack",
        "unapproved",
        "app-01",
        "--reason",
        "x",
        "--for",
        "soon",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--for"), "{out}");
    let (code, out) = run(&["--config", &c, "ack", "unapproved", "app-01"]);
    assert_eq!(code, 2, "clap wants the reason: {out}");
    assert!(out.contains("--reason"), "{out}");
    // Nothing was written by any of them.
    assert_eq!(check(d.path()).0, 2);
}
