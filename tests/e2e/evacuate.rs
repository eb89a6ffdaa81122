//! A host evacuated from the TUI and brought back: the plan in its pane, the host's name typed,
//! its guests moved one live migration at a time onto the others, the host in maintenance,
//! the session hung up on and a new one started (maintenance and each VM's origin kept in the
//! history store), then `:return` moving them home; every move in the history with the
//! operator as actor.

use crate::lab::{Lab, Tui, fleetwatch};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The lab's config with room for the evacuated guests' vCPUs on two hosts (the lab packs
/// each host to 3x; the default limit is 4x), and two migrations at once.
fn roomy_config(lab: &Lab) -> String {
    let text = std::fs::read_to_string(lab.config()).unwrap();
    assert!(text.contains("[policy]\n"), "{text}");
    let path = format!("/tmp/fleetwatch-e2e-evacuate-{}.toml", std::process::id());
    std::fs::write(
        &path,
        // Two migrations at once: the evacuation's `[evacuation] parallel` path.
        text.replace("[policy]\n", "[policy]\nmax_vcpu_overcommit = 8.0\n")
            + "\n[evacuation]\nparallel = 2\n",
    )
    .unwrap();
    path
}

/// Confirms the pane open on screen by typing `host` and Enter; waits for `done` on screen.
fn confirm_and_wait(tui: &Tui, verb: &str, host: &str, done: &str) -> Duration {
    tui.wait_for("the confirmation", Duration::from_secs(5), |s| {
        s.contains(&format!("Confirm: {verb}")) && s.contains("Type the host's name")
    });
    tui.keys(&["-l", host]);
    tui.keys(&["Enter"]);
    let t = Instant::now();
    loop {
        let s = tui.screen();
        if s.contains(done) {
            return t.elapsed();
        }
        assert!(!s.contains("STOPPED"), "{s}");
        assert!(t.elapsed() < Duration::from_secs(120), "no end: {s}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn e_a_host_evacuated_and_returned_from_the_tui() {
    let lab = Lab::load();
    let config = roomy_config(&lab);
    let hosts = lab.hosts();
    let tui = Tui::start_with(&config, 200, 50, "all hosts up", move |s| {
        s.contains(&format!("hosts {hosts}/{hosts}")) && s.contains("REC")
    });
    let host = 2;
    let name = lab.name(host);
    let guests = lab.guests(host);
    let _home: Vec<_> = guests.iter().map(|g| lab.keep_home(g, host)).collect();
    for g in &guests {
        assert_eq!(lab.host_of(g), host, "{g} is not home before the test");
    }
    std::thread::sleep(Duration::from_secs(3));
    // E on the host in the hosts pane.
    tui.keys(&["Tab"]);
    for _ in 1..host {
        tui.keys(&["j"]);
    }
    tui.keys(&["E"]);
    let n = guests.len();
    let took = confirm_and_wait(
        &tui,
        "evacuate",
        &name,
        &format!("evacuation of {name}: {n} of {n} moved"),
    );
    eprintln!("evacuated {n} guests off {name} in {took:?}");
    assert!(
        tui.host_line(&name).contains("MAINT"),
        "{}",
        tui.host_line(&name)
    );
    for g in &guests {
        assert_ne!(lab.host_of(g), host, "{g} still on {name}");
    }
    // The host in maintenance takes nothing: a second evacuation elsewhere avoids it.
    tui.keys(&[":"]);
    tui.keys(&["-l", &format!("evacuate {}", lab.name(1))]);
    tui.keys(&["Enter"]);
    tui.wait_for("the second plan", Duration::from_secs(5), |s| {
        s.contains("Confirm: evacuate")
            && s.contains(&format!("not a target: {name} (it is in maintenance)"))
    });
    tui.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(500));
    // The session hung up on: maintenance and where each VM went are in the history store,
    // and the next session brings them back from there.
    drop(tui);
    let data = format!("/tmp/fleetwatch-e2e-data-{}", std::process::id());
    let out = fleetwatch()
        .env("XDG_DATA_HOME", &data)
        .args(["--config", &config, "maintenance", "--json"])
        .output()
        .unwrap();
    let kept: Value = serde_json::from_slice(&out.stdout).unwrap();
    let away = kept
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["host"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not kept in maintenance: {kept}"))["away"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(away.len(), n, "{kept}");
    for a in &away {
        let g = a["vm"].as_str().unwrap();
        assert_eq!(
            lab.name(lab.host_of(g)),
            a["to"].as_str().unwrap(),
            "{kept}"
        );
    }
    let tui = Tui::start_with(&config, 200, 50, "maintenance read back", move |s| {
        s.contains(&format!("hosts {hosts}/{hosts}")) && s.contains("MAINT")
    });
    std::thread::sleep(Duration::from_secs(3));
    // Back: `:return`.
    tui.keys(&[":"]);
    tui.keys(&["-l", &format!("return {name}")]);
    tui.keys(&["Enter"]);
    let took = confirm_and_wait(
        &tui,
        "return",
        &name,
        &format!("return to {name}: {n} of {n} moved"),
    );
    eprintln!("returned {n} guests to {name} in {took:?}");
    for g in &guests {
        assert_eq!(lab.host_of(g), host, "{g} did not come back");
    }
    tui.wait_for("maintenance over", Duration::from_secs(5), |_| {
        !tui.host_line(&name).contains("MAINT")
    });
    std::thread::sleep(Duration::from_secs(3));
    drop(tui);
    let out = fleetwatch()
        .env("XDG_DATA_HOME", &data)
        .args(["--config", &config, "maintenance", "--json"])
        .output()
        .unwrap();
    let kept: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        kept,
        serde_json::json!([]),
        "maintenance not over in the store"
    );
    let operator = fleetwatch_core::actions::Operator::from_env().actor();
    for g in &guests {
        let out = fleetwatch()
            .env("XDG_DATA_HOME", &data)
            .args([
                "--config", &config, "history", "--json", "--kind", "migrated", "--since", "10m",
                "--vm", g,
            ])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let ev = doc["events"].as_array().unwrap();
        let ours: Vec<(&str, &str)> = ev
            .iter()
            .filter(|e| e["actor"] == operator.as_str())
            .map(|e| {
                (
                    e["from_host"].as_str().unwrap_or(""),
                    e["to_host"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert!(
            ours.iter().any(|(f, _)| *f == name) && ours.iter().any(|(_, t)| *t == name),
            "{g}: away and back, by {operator}: {doc}"
        );
    }
    let audit = fleetwatch()
        .env("XDG_DATA_HOME", &data)
        .args(["--config", &config, "audit", "--json"])
        .output()
        .unwrap();
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let ends: Vec<&str> = audit["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["phase"] == "end" && a["host"] == name.as_str())
        .filter_map(|a| {
            a["action"]
                .as_str()
                .filter(|k| *k == "evacuate" || *k == "return")
        })
        .collect();
    assert!(
        ends.contains(&"evacuate") && ends.contains(&"return"),
        "{audit}"
    );
    let _ = std::fs::remove_file(&config);
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn e_a_host_evacuated_and_returned_from_the_command_line() {
    let lab = Lab::load();
    let config = roomy_config(&lab);
    let host = 3;
    let name = lab.name(host);
    let guests = lab.guests(host);
    let _home: Vec<_> = guests.iter().map(|g| lab.keep_home(g, host)).collect();
    let data = format!("/tmp/fleetwatch-e2e-cli-{}", std::process::id());
    let cli = |args: &[&str]| {
        let out = fleetwatch()
            .env("XDG_DATA_HOME", &data)
            .env("XDG_STATE_HOME", &data)
            .args(["--config", &config])
            .args(args)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let t = Instant::now();
    let (code, out, err) = cli(&["evacuate", &name, "--confirm", &name]);
    eprintln!(
        "evacuate from the command line in {:?}:\n{out}",
        t.elapsed()
    );
    let n = guests.len();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("evacuation of {name}: {n} of {n} moved")),
        "{out}"
    );
    for g in &guests {
        assert_ne!(lab.host_of(g), host, "{g} still on {name}");
    }
    let (_, kept, _) = cli(&["maintenance", "--json"]);
    let kept: Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(kept[0]["host"], name.as_str(), "{kept}");
    assert_eq!(kept[0]["away"].as_array().unwrap().len(), n, "{kept}");
    let t = Instant::now();
    let (code, out, err) = cli(&["return", &name, "--confirm", &name]);
    eprintln!("return from the command line in {:?}:\n{out}", t.elapsed());
    assert_eq!(code, Some(0), "{out}{err}");
    for g in &guests {
        assert_eq!(lab.host_of(g), host, "{g} did not come back");
    }
    let (_, kept, _) = cli(&["maintenance", "--json"]);
    assert_eq!(kept.trim(), "[]", "maintenance not over");
    let (_, audit, _) = cli(&["audit", "--json"]);
    let audit: Value = serde_json::from_str(&audit).unwrap();
    let ends: Vec<&str> = audit["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["phase"] == "end" && a["host"] == name.as_str() && a["outcome"] == "ok")
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(
        ends.contains(&"evacuate") && ends.contains(&"return"),
        "{audit}"
    );
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(&config);
}
