//! `fleetwatch check` as cron and monitoring run it: findings, Nagios exit codes, and bad
//! policy files reported with file and line (exit 3, "could not check").
#![allow(clippy::unwrap_used)]

mod check_fleet;

use check_fleet::{cfg, fleet_dir, fresh_backup, run};
use serde_json::Value;

fn has(doc: &Value, kind: &str, vm: Option<&str>, host: Option<&str>) -> bool {
    doc["findings"].as_array().unwrap().iter().any(|f| {
        f["kind"] == kind && vm.is_none_or(|v| f["vm"] == v) && host.is_none_or(|h| f["host"] == h)
    })
}

#[test]
fn demo_check_lists_every_kind_on_the_right_vms() {
    let (code, out) = run(&["--demo", "check", "--json"]);
    assert_eq!(code, 2, "critical findings exit 2: {out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["status"], "critical");
    for kind in [
        "unapproved",
        "unbacked",
        "drift",
        "local-storage",
        "anti-affinity",
        "failover-capacity",
        "overcommit",
        "ghost",
    ] {
        assert!(has(&doc, kind, None, None), "no {kind} finding");
    }
    // No source approves it.
    assert!(has(
        &doc,
        "unapproved",
        Some("web-03-clone"),
        Some("hv-ams-01")
    ));
    // Approved once, expired: by the inventory (by name) and by its own metadata.
    assert!(has(&doc, "unapproved", Some("test-jdoe"), None));
    assert!(has(&doc, "unapproved", Some("gitlab-01"), None));
    // Approved by UUID in the inventory; its only evidence is a test-driver snapshot, which
    // is not a backup unless snapshots_count_as_backup says so.
    assert!(!has(&doc, "unapproved", Some("dev-kmueller"), None));
    assert!(has(&doc, "unbacked", Some("dev-kmueller"), None));
    // Backed by the catalog; another only by failed runs since an old good one.
    assert!(!has(&doc, "unbacked", Some("cache-redis-01"), None));
    assert!(has(&doc, "unbacked", Some("cache-redis-02"), None));
    assert!(has(&doc, "drift", Some("api-02"), None));
    assert!(has(
        &doc,
        "anti-affinity",
        Some("web-01"),
        Some("hv-ams-01")
    ));
    assert!(has(
        &doc,
        "anti-affinity",
        Some("web-02"),
        Some("hv-ams-01")
    ));
    assert!(has(&doc, "overcommit", None, Some("hv-fra-02")));
    assert!(has(&doc, "ghost", Some("web-09"), None));
    for f in doc["findings"].as_array().unwrap() {
        for k in ["kind", "severity", "vm", "uuid", "host", "detail"] {
            assert!(f.get(k).is_some(), "finding lacks {k}: {f}");
        }
        assert!(["warning", "critical"].contains(&f["severity"].as_str().unwrap()));
    }
    // The same kinds reach the flags of `snapshot --json`.
    let (_, snap) = run(&["--demo", "snapshot", "--json"]);
    let snap: Value = serde_json::from_str(&snap).unwrap();
    let flags = |name: &str| {
        snap["vms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap()["flags"]
            .clone()
    };
    assert_eq!(
        flags("web-03-clone"),
        serde_json::json!(["unapproved", "unbacked", "local-storage"])
    );
    assert_eq!(flags("web-05"), serde_json::json!([]));
}

#[test]
fn demo_check_text_is_a_nagios_plugin_output() {
    let (code, out) = run(&["--demo", "check"]);
    assert_eq!(code, 2);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("FLEETWATCH CRITICAL - "), "{first}");
    assert!(first.contains("| critical="), "performance data: {first}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("CRITICAL unapproved web-03-clone@hv-ams-01: "))
    );
}

#[test]
fn a_clean_fleet_exits_0_and_warnings_only_exit_1() {
    let d = fleet_dir(
        "[[vm]]\nname = \"app-01\"\nowner = \"team\"\n",
        &fresh_backup(),
    );
    let (code, out) = run(&["--config", &cfg(d.path()), "check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("FLEETWATCH OK - 0 critical, 0 warning"),
        "{out}"
    );

    let d = fleet_dir("[[vm]]\nname = \"app-01\"\nvcpus = 4\n", &fresh_backup());
    let (code, out) = run(&["--config", &cfg(d.path()), "check", "--json"]);
    assert_eq!(code, 1, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["status"], "warning");
    assert!(has(&doc, "drift", Some("app-01"), Some("a")));
}

#[test]
fn a_malformed_inventory_cannot_be_checked_and_says_where() {
    let d = fleet_dir("[[vm]]\nname = \"app-01\"\nowner = team\n", &fresh_backup());
    let (code, out) = run(&["--config", &cfg(d.path()), "check"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("FLEETWATCH UNKNOWN - cannot check: "),
        "{out}"
    );
    assert!(out.contains("inventory.toml, line 3"), "{out}");
    let (code, out) = run(&["--config", &cfg(d.path()), "check", "--json"]);
    assert_eq!(code, 3);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["status"], "unknown");
    assert!(
        doc["problems"][0]
            .as_str()
            .unwrap()
            .contains("inventory.toml, line 3")
    );
}

#[test]
fn a_missing_catalog_cannot_be_checked() {
    let d = fleet_dir("[[vm]]\nname = \"app-01\"\n", "");
    std::fs::remove_file(d.path().join("backups.jsonl")).unwrap();
    let (code, out) = run(&["--config", &cfg(d.path()), "check"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("backups.jsonl: cannot read"), "{out}");
}

#[test]
fn unreadable_catalog_lines_are_counted_and_reported_not_fatal() {
    let catalog = format!("{}not json\n{{\"vm\": \"x\"}}\n", fresh_backup());
    let d = fleet_dir("[[vm]]\nname = \"app-01\"\n", &catalog);
    let (code, out) = run(&["--config", &cfg(d.path()), "check", "--json"]);
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let p = doc["problems"][0].as_str().unwrap();
    assert!(
        p.contains("2 unreadable line(s) skipped")
            && p.contains("line 2:")
            && p.contains("line 3:"),
        "{p}"
    );
}

#[test]
fn a_broken_config_is_unknown_to_monitoring() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[[host]]\nname = \"a\"\n").unwrap();
    let (code, out) = run(&["--config", p.to_str().unwrap(), "check"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("bad.toml"));
}

#[test]
fn nothing_raw_from_the_policy_files_or_the_config_reaches_the_output() {
    // A ghost named with escape sequences (OSC 0 retitles the terminal, OSC 52 writes the
    // clipboard), and an old backup whose location carries ESC[2J.
    let old = chrono::Utc::now() - chrono::Duration::days(9);
    let d = fleet_dir(
        "[[vm]]\nname = \"app-01\"\nowner = \"team\"\n[[vm]]\nname = \"gh\\u001b]0;pwned\\u0007\\u001b]52;c;AAAA\\u0007\"\nowner = \"x\"\n",
        &format!(
            "{{\"vm\": \"app-01\", \"completed_at\": \"{}\", \"status\": \"ok\", \"location\": \"s3://\\u001b[2Jb\"}}\n",
            old.to_rfc3339()
        ),
    );
    let (code, out) = run(&["--config", &cfg(d.path()), "check"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ghost") && out.contains("unbacked"), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    // A config line with a raw escape, quoted back in the parse error.
    std::fs::write(
        d.path().join("bad.toml"),
        "[poll]\ninterval = \u{1b}]0;pwned\u{7}\n",
    )
    .unwrap();
    let bad = d.path().join("bad.toml");
    let (code, out) = run(&["--config", bad.to_str().unwrap(), "check"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("bad.toml"), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
}

#[test]
fn a_down_host_makes_check_critical_and_none_up_is_unknown() {
    let d = fleet_dir(
        "[[vm]]\nname = \"app-01\"\nowner = \"team\"\n",
        &fresh_backup(),
    );
    let p = d.path();
    let two = "[poll]\ninterval = \"500ms\"\ntimeout = \"1s\"\n[[host]]\nname = \"a\"\nuri = \"test:a.xml\"\n\
         [[host]]\nname = \"gone\"\nuri = \"test:no-such.xml\"\n\
         [policy]\ninventory = \"inventory.toml\"\nbackup_catalog = \"backups.jsonl\"\n";
    std::fs::write(p.join("two.toml"), two).unwrap();
    let (code, out) = run(&["--config", p.join("two.toml").to_str().unwrap(), "check"]);
    assert_eq!(code, 2, "a host down is critical: {out}");
    assert!(out.contains("hosts_up=1 hosts_total=2"), "{out}");
    assert!(
        out.contains("CRITICAL host-down gone"),
        "names the host: {out}"
    );
    let none = "[poll]\ninterval = \"500ms\"\ntimeout = \"1s\"\n[[host]]\nname = \"gone\"\nuri = \"test:no-such.xml\"\n";
    std::fs::write(p.join("none.toml"), none).unwrap();
    let (code, out) = run(&["--config", p.join("none.toml").to_str().unwrap(), "check"]);
    assert_eq!(code, 3, "no host answers: cannot check: {out}");
}
