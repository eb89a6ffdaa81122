#![allow(clippy::unwrap_used)]
//! `evacuate HOST --dry-run` on the demo as a user runs it, checked against what `snapshot`
//! says of the same fleet: every running VM of the host is moved or blocked, exactly once; no
//! target ends above its memory or the vCPU limit; VMs on local disks are blockers naming the
//! disk; a wrong host name is refused naming the hosts there are.

use serde_json::Value;
use std::collections::HashMap;

fn run(args: &[&str]) -> (i32, String, String) {
    fleetwatch_testkit::run_cli(env!("CARGO_BIN_EXE_fleetwatch"), args)
}

#[test]
fn a_demo_hosts_plan_moves_or_blocks_each_running_vm_within_capacity() {
    let (_, snap, _) = run(&["--demo", "snapshot", "--json"]);
    let snap: Value = serde_json::from_str(&snap).unwrap();
    let host = "hv-ams-01";
    let vms = snap["vms"].as_array().unwrap();
    let running: Vec<&Value> = vms
        .iter()
        .filter(|v| v["host"] == host && v["state"] == "running")
        .collect();
    assert!(running.len() >= 5, "the demo host runs VMs");

    let (code, out, err) = run(&["--demo", "evacuate", host, "--dry-run", "--json"]);
    let plan: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(plan["host"], host);
    let moves = plan["moves"].as_array().unwrap();
    let blocked = plan["blocked"].as_array().unwrap();
    assert_eq!(code, i32::from(!blocked.is_empty()), "{err}");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in moves.iter().chain(blocked) {
        *seen.entry(m["uuid"].as_str().unwrap()).or_default() += 1;
    }
    for v in &running {
        let uuid = v["uuid"].as_str().unwrap();
        assert_eq!(
            seen.get(uuid),
            Some(&1),
            "{} moved or blocked once",
            v["name"]
        );
    }
    assert_eq!(seen.len(), running.len(), "only the host's running VMs");
    assert!(!moves.is_empty(), "some VM has a target");
    for m in moves {
        assert_eq!(m["from"], host);
        assert_ne!(m["to"], host);
    }
    // Each VM on a local disk is a blocker naming that disk.
    for v in &running {
        let local: Vec<&str> = v["disks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["shared"] == false)
            .filter_map(|d| d["path"].as_str())
            .collect();
        if local.is_empty() {
            continue;
        }
        let b = blocked.iter().find(|b| b["uuid"] == v["uuid"]).unwrap();
        let why = b["reason"].as_str().unwrap();
        assert!(local.iter().all(|p| why.contains(p)), "{why}");
    }
    // A target that takes a VM stays within its memory and the demo's 4.0x vCPU limit.
    for a in plan["after"].as_array().unwrap() {
        if a["moves_in"].as_u64().unwrap() > 0 {
            assert!(a["memory_used_pct"].as_f64().unwrap() <= 100.0, "{a}");
            assert!(a["vcpu_ratio"].as_f64().unwrap() <= 4.0, "{a}");
        }
    }
    // The demo cannot migrate, and the plan says so.
    let refusals = plan["refusals"].to_string();
    assert!(refusals.contains("test driver"), "{refusals}");

    let (_, text, _) = run(&["--demo", "evacuate", host, "--dry-run"]);
    assert!(text.contains("A plan only: nothing moves."), "{text}");
    let first = &moves[0];
    assert!(
        text.lines()
            .any(|l| l.contains(first["vm"].as_str().unwrap())
                && l.contains(first["to"].as_str().unwrap())),
        "{text}"
    );
}

#[test]
fn an_unknown_host_or_no_dry_run_is_refused_and_nothing_is_polled() {
    let (code, out, err) = run(&["--demo", "evacuate", "hv-nowhere", "--dry-run"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("\"hv-nowhere\""), "{err}");
    assert!(err.contains("hv-ams-01, hv-ams-02"), "{err}");
    let (code, _, err) = run(&["--demo", "evacuate", "hv-ams-01"]);
    assert_eq!(code, 2);
    assert!(err.contains("--dry-run plans it"), "{err}");
}

#[test]
fn running_it_wants_the_hosts_name_and_the_demo_refuses_before_anything_moves() {
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_STATE_HOME", dir.path())
            .args(args)
            .output()
            .unwrap();
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            out.status.code().unwrap_or(-1),
            s(&out.stdout),
            s(&out.stderr),
        )
    };
    let (code, _, err) = cli(&["--demo", "evacuate", "hv-ams-01"]);
    assert_eq!(code, 2);
    assert!(err.contains("--confirm hv-ams-01 runs it"), "{err}");
    let (code, _, err) = cli(&["--demo", "return", "hv-ams-01", "--confirm", "hv-ams-1"]);
    assert_eq!(code, 2, "a name typed wrong: {err}");
    assert!(err.contains("confirm with --confirm hv-ams-01"), "{err}");
    // Confirmed: the plan's refusals, as the pane has them, and nothing runs.
    let (code, _, err) = cli(&["--demo", "evacuate", "hv-ams-01", "--confirm", "hv-ams-01"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refused: libvirt's test driver (the demo) cannot migrate"),
        "{err}"
    );
    let (_, out, _) = cli(&["--demo", "maintenance", "--json"]);
    assert_eq!(out.trim(), "[]", "not in maintenance: {out}");
    let (_, out, _) = cli(&["--demo", "audit", "--json"]);
    assert!(!out.contains("\"evacuate\""), "nothing started: {out}");
}
