//! A host in maintenance as the command line meets it, kept in the history store as an
//! evacuation leaves it (who, since when, which VM went where): `check` lists its findings
//! apart and they raise nothing, `maintenance` lists it, and `return HOST --dry-run` plans the
//! moves back from the stored list, after any number of restarts. A spoiled record is an
//! error naming the host, never an empty list.
#![allow(clippy::unwrap_used)]

mod check_fleet;

use check_fleet::{cfg, fleet_dir, fresh_backup, run};
use fleetwatch_core::actions::evacuate::Move;
use fleetwatch_core::actions::maintenance::Maintenance;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::MaintenanceStore;
use serde_json::Value;

const WEB: &str = "0b0b0b0b-1111-4222-8333-444444444444";

/// app-01 on a, unapproved (critical); web-02 on b, approved and backed up, moved there by
/// a's evacuation.
fn fleet() -> tempfile::TempDir {
    let backups = fresh_backup();
    let d = fleet_dir(
        "[[vm]]\nname = \"web-02\"\nowner = \"team\"\n",
        &format!("{backups}{}", backups.replace("app-01", "web-02")),
    );
    let p = d.path();
    let b = std::fs::read_to_string(p.join("a.xml"))
        .unwrap()
        .replace("app-01", "web-02")
        .replace("0a0a0a0a", "0b0b0b0b");
    std::fs::write(p.join("b.xml"), b).unwrap();
    let conf = std::fs::read_to_string(p.join("fw.toml"))
        .unwrap()
        .replace(".xml\"\n", ".xml\"\nactions = true\n");
    std::fs::write(p.join("fw.toml"), conf).unwrap();
    d
}

fn evacuated(dir: &std::path::Path) {
    let mut s = SqliteStore::open_rw(&dir.join("history.db")).unwrap();
    let mut m = Maintenance::new("a", "ann", chrono::Utc::now().timestamp_millis());
    m.left(Move {
        vm: "web-02".into(),
        uuid: WEB.into(),
        from: "a".into(),
        to: "b".into(),
        memory_bytes: 1 << 30,
    });
    s.put_maintenance(&m).unwrap();
}

#[test]
fn a_host_in_maintenance_has_its_findings_apart_and_its_vms_planned_back() {
    let d = fleet();
    let c = cfg(d.path());
    let (code, out) = run(&["--config", &c, "check"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("CRITICAL unapproved app-01@a"), "{out}");
    let (code, out) = run(&["--config", &c, "maintenance"]);
    assert_eq!((code, out.trim()), (0, "No host is in maintenance."));
    let (code, out) = run(&["--config", &c, "return", "a", "--dry-run"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a is not in maintenance"), "{out}");

    evacuated(d.path());
    let (code, out) = run(&["--config", &c, "check"]);
    assert_eq!(
        code, 0,
        "findings of a host in maintenance raise nothing: {out}"
    );
    assert!(
        out.starts_with(
            "FLEETWATCH OK - 0 critical, 0 warning findings (1 on hosts in maintenance)"
        ),
        "{out}"
    );
    assert!(out.contains("maintenance=1"), "{out}");
    let held = out.lines().find(|l| l.starts_with("MAINT ")).unwrap();
    assert!(
        held.starts_with("MAINT CRITICAL unapproved app-01@a") && held.contains("by ann since"),
        "{held}"
    );
    let (_, json) = run(&["--config", &c, "check", "--json"]);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["maintenance"][0]["vm"], "app-01");
    assert_eq!(doc["maintenance"][0]["by"], "ann");

    let (code, out) = run(&["--config", &c, "maintenance", "--json"]);
    assert_eq!(code, 0, "{out}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["host"], "a");
    assert_eq!(list[0]["away"][0]["vm"], "web-02");
    let (code, out) = run(&["--config", &c, "maintenance"]);
    assert_eq!(code, 0);
    assert!(out.contains("a: in maintenance by ann since"), "{out}");
    assert!(
        out.contains("web-02 (0b0b0b0b-") && out.contains("is on b"),
        "{out}"
    );

    // The return comes from the stored list, in a process of its own.
    let (code, out) = run(&["--config", &c, "return", "a", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{out}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let m = &plan["moves"][0];
    assert_eq!(
        (&m["vm"], &m["from"], &m["to"]),
        (&"web-02".into(), &"b".into(), &"a".into())
    );
    assert_eq!(plan["moves"].as_array().unwrap().len(), 1);
    // ... and the evacuation of b takes nothing to a, which is in maintenance.
    let (_, out) = run(&["--config", &c, "evacuate", "b", "--dry-run", "--json"]);
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert!(plan["moves"].as_array().unwrap().is_empty(), "{plan}");
    assert!(
        plan["not_targets"].to_string().contains("maintenance"),
        "{plan}"
    );
    let (code, out) = run(&["--config", &c, "return", "a"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("--dry-run") && out.contains("R on the host"),
        "{out}"
    );
}

#[test]
fn a_spoiled_maintenance_record_is_named_and_counts_for_nothing() {
    let d = fleet();
    evacuated(d.path());
    let db = rusqlite::Connection::open(d.path().join("history.db")).unwrap();
    db.execute("UPDATE maintenance SET away = 'not json'", [])
        .unwrap();
    let c = cfg(d.path());
    let (code, out) = run(&["--config", &c, "maintenance"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("hosts in maintenance unknown") && out.contains("\"a\""),
        "{out}"
    );
    // check does not trust it: the finding counts, and the problem is named.
    let (code, out) = run(&["--config", &c, "check"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("CRITICAL unapproved app-01@a"), "{out}");
    assert!(
        out.contains("PROBLEM hosts in maintenance unknown"),
        "{out}"
    );
}
