//! The fleet on the lab's tcp hosts: placement, migration, failures, findings, history, actions.

use crate::lab::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn a_every_guest_on_its_host_with_real_numbers() {
    let lab = Lab::load();
    // One guest paused: its CPU% must drop to zero while the others stay above it.
    let paused = lab.guests(1)[1].clone();
    let home = lab.host_of(&paused);
    lab.virsh(home, &["suspend", &paused]);
    let doc = snapshot(&lab);
    lab.virsh(home, &["resume", &paused]);
    for n in 1..=lab.hosts() {
        let h = doc["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == lab.name(n))
            .unwrap();
        assert_eq!(h["state"], "up", "{h}");
        assert!(
            h["cpus"].as_u64().unwrap() >= 1 && h["memory_bytes"].as_u64().unwrap() > 1 << 30,
            "{h}"
        );
        assert!(h["poll_ms"].as_f64().unwrap() > 0.0);
        let listed = lab.virsh(n, &["list", "--name"]);
        let names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        assert!(!names.is_empty());
        for g in &names {
            let v = vm(&doc, g);
            assert_eq!(v["host"], lab.name(n).as_str(), "{g}");
            assert!(v["cpu_time_ns"].as_u64().unwrap() > 0, "{v}");
            assert!(v["memory_bytes"].as_u64().unwrap() >= 32 << 20, "{v}");
            let cpu = v["cpu_percent"].as_f64().unwrap();
            if g == &paused {
                assert_eq!(v["state"], "paused");
                // libvirt's cpu.time counts the whole QEMU process: a paused guest's emulator
                // thread still runs a little (0.51% seen in CI), its vCPUs not at all.
                assert!(cpu < 2.0, "paused guest at {cpu}%");
            } else {
                assert_eq!(v["state"], "running");
                assert!(cpu > 0.0, "running guest {g} at {cpu}%");
            }
        }
    }
    assert_eq!(
        doc["vms"].as_array().unwrap().len(),
        (1..=lab.hosts())
            .map(|n| lab.guests(n).len())
            .sum::<usize>()
    );
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn b_a_live_migration_outside_fleetwatch_shows_within_two_polls() {
    let lab = Lab::load();
    let guest = lab.guests(1)[0].clone();
    let from = lab.host_of(&guest);
    let to = from % lab.hosts() + 1;
    let _home = lab.keep_home(&guest, from);
    let tui = Tui::start(&lab, 200, 50);
    tui.keys(&["/"]);
    tui.keys(&["-l", &guest]);
    tui.keys(&["Enter"]);
    let row = |s: &str, host: &str| {
        s.lines()
            .any(|l| table_row(l, &guest).is_some_and(|t| t.contains(host)))
    };
    tui.wait_for(
        "the guest on its first host",
        Duration::from_secs(10),
        |s| row(s, &lab.name(from)),
    );
    let t = Instant::now();
    lab.script(&["migrate", &guest, &from.to_string(), &to.to_string()]);
    let migration = t.elapsed();
    let seen = tui.wait_for(
        "the guest on the new host",
        Duration::from_secs(4) + Duration::from_millis(500),
        |s| row(s, &lab.name(to)),
    );
    eprintln!(
        "migration took {migration:?}; fleetwatch showed the new host {seen:?} after it ended"
    );
    drop(tui);
    lab.script(&["migrate", &guest, &to.to_string(), &from.to_string()]);
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn c_a_killed_daemon_is_down_within_the_timeout_and_comes_back() {
    let lab = Lab::load();
    let n = lab.hosts();
    let tui = Tui::start(&lab, 200, 50);
    let pid = lab.pid(n);
    let t = Instant::now();
    let restart = n.to_string();
    let _restart = Restore(|| {
        lab.try_script(&["restart", &restart]);
    });
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let down = tui.wait_for("host down", Duration::from_secs(8), |s| {
        s.lines()
            .any(|l| l.contains(&lab.name(n)) && l.contains("DOWN"))
    });
    eprintln!(
        "killed libvirtd shown DOWN after {down:?}: {}",
        tui.host_line(&lab.name(n)).trim()
    );
    // The others keep updating: their data stays fresh while this one is down.
    std::thread::sleep(Duration::from_secs(3));
    for other in 1..n {
        assert!(
            tui.host_line(&lab.name(other)).contains(" UP "),
            "{}",
            tui.screen()
        );
    }
    assert!(
        tui.screen().lines().next().unwrap().contains("data 0s ago")
            || tui.screen().lines().next().unwrap().contains("data 1s ago")
            || tui.screen().lines().next().unwrap().contains("data 2s ago"),
        "{}",
        tui.screen()
    );
    lab.script(&["restart", &n.to_string()]);
    let back = tui.wait_for("host back up", Duration::from_secs(40), |s| {
        s.lines()
            .any(|l| l.contains(&lab.name(n)) && l.contains(" UP "))
    });
    eprintln!(
        "restarted libvirtd UP again after {back:?} (total {:?})",
        t.elapsed()
    );
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn d_a_hung_daemon_never_freezes_the_ui() {
    let lab = Lab::load();
    let n = 1;
    let tui = Tui::start(&lab, 200, 50);
    let pid = lab.pid(n);
    let stop = Instant::now();
    let _cont = Restore(|| {
        let _ = Command::new("kill").args(["-CONT", &pid]).status();
    });
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let cont = || {
        let _ = Command::new("kill").args(["-CONT", &pid]).status();
    };
    let line_has = |s: &str, what: &str| {
        s.lines()
            .any(|l| l.contains(&lab.name(n)) && l.contains(what))
    };
    // At most one interval (2 s) until the next poll starts, then one and a half intervals of
    // it running late: 5 s, plus a margin for a loaded machine; DOWN comes only at 8 s.
    let stale = tui.wait_for("host stale", Duration::from_secs(7), |s| {
        line_has(s, "STALE")
    });
    // Keys answer while the host hangs: the help opens and closes at once.
    let t = Instant::now();
    tui.keys(&["?"]);
    tui.wait_for("help", Duration::from_secs(1), |s| {
        s.contains("Help · Esc closes")
    });
    tui.keys(&["Escape"]);
    tui.wait_for("help closed", Duration::from_secs(1), |s| {
        !s.contains("Help · Esc closes")
    });
    let keys = t.elapsed();
    let down = tui.wait_for(
        "host down after the timeout",
        Duration::from_secs(12),
        |s| line_has(s, "DOWN"),
    );
    let down_at = stop.elapsed();
    cont();
    let back = tui.wait_for("host back up", Duration::from_secs(40), |s| {
        line_has(s, " UP ")
    });
    eprintln!(
        "hung: STALE after {stale:?}, keys answered in {keys:?}, DOWN {down_at:?} after SIGSTOP, UP {back:?} after SIGCONT"
    );
    assert!(
        down_at < Duration::from_secs(8 + 3),
        "down only after {down_at:?}"
    );
    let _ = down;
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn e_guests_defined_while_watching_appear_and_undefined_ones_vanish() {
    let lab = Lab::load();
    let n = 2;
    let tui = Tui::start(&lab, 200, 50);
    let name = format!("lab-e2e-new-{}", std::process::id() % 1000);
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("g.xml");
    let kind = lab.get("LAB_DOMAIN_TYPE");
    std::fs::write(
        &xml,
        format!(
            "<domain type='{kind}'><name>{name}</name><memory unit='MiB'>48</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64'>hvm</type><boot dev='network'/></os>\
             <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"
        ),
    )
    .unwrap();
    lab.virsh(n, &["define", xml.to_str().unwrap()]);
    lab.virsh(n, &["start", &name]);
    let row = |s: &str| {
        s.lines()
            .any(|l| table_row(l, &name).is_some_and(|t| t.contains(&lab.name(n))))
    };
    let appeared = tui.wait_for("new guest", Duration::from_secs(6), row);
    lab.virsh(n, &["destroy", &name]);
    lab.virsh(n, &["undefine", &name]);
    let vanished = tui.wait_for("guest gone", Duration::from_secs(6), |s| !s.contains(&name));
    eprintln!(
        "defined guest appeared after {appeared:?}; undefined one vanished after {vanished:?}"
    );
}

/// The table part of a screen line when it is this VM's row (the detail pane beside the table
/// can show the same name on another line).
fn table_row<'a>(line: &'a str, vm: &str) -> Option<&'a str> {
    line.starts_with(&format!("│{vm} "))
        .then(|| line.trim_start_matches('│').split('│').next())
        .flatten()
}

/// The flags badges in a guest's table row, as the TUI shows them ("" when none).
fn row_flags(screen: &str, guest: &str) -> Option<String> {
    let table = screen.lines().find_map(|l| table_row(l, guest))?;
    // On a wide screen the guest's address (or "-") follows the flags.
    let mut words = table.split_whitespace().rev().peekable();
    if words
        .peek()
        .is_some_and(|w| *w == "-" || w.parse::<std::net::IpAddr>().is_ok())
    {
        words.next();
    }
    let last = words.next()?;
    let badges: String = fleetwatch_core::model::findings::Kind::ALL
        .iter()
        .map(|k| k.badge())
        .collect();
    Some(if last.chars().all(|c| badges.contains(c)) {
        last.to_owned()
    } else {
        String::new()
    })
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn f_findings_from_metadata_set_with_virsh() {
    let lab = Lab::load();
    let n = 1;
    let guests: Vec<String> = {
        let out = lab.virsh(n, &["list", "--name"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert!(guests.len() >= 3, "host {n} runs {guests:?}");
    let (fresh, stale, bare) = (&guests[0], &guests[1], &guests[2]);
    let _clean = Restore(|| {
        for g in [fresh, stale] {
            let _ = Command::new("timeout")
                .args(["20", "virsh", "-c", &lab.direct_uri(n), "metadata", g])
                .args(["--uri", "urn:fleetwatch:1", "--remove"])
                .output();
        }
    });
    let at = |h: i64| {
        (chrono::Utc::now() - chrono::Duration::hours(h))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let set = |g: &str, backup: String| {
        let xml = format!(
            "<fleet><approval owner=\"e2e\" ticket=\"E2E-1\" group=\"e2e-pair\"/><backup last=\"{backup}\"/></fleet>"
        );
        lab.virsh(
            n,
            &[
                "metadata",
                g,
                "--uri",
                "urn:fleetwatch:1",
                "--key",
                "fleetwatch",
                "--set",
                &xml,
            ],
        );
    };
    let tui = Tui::start(&lab, 200, 50);
    // Every VM's XML read before the metadata changes (until then a VM has no U or B to lose):
    // all three start unapproved and unbacked. Near hosts' first poll reads every XML; through
    // the 200 ms RTT relays a read is two round trips (XML, snapshot list), 400 ms, and a poll's
    // XML budget a quarter of the interval (500 ms) fits one, so 4 guests a host take ~4 polls.
    let xml = tui.wait_for("every VM's XML read", Duration::from_secs(30), |s| {
        [fresh, stale, bare]
            .iter()
            .all(|g| row_flags(s, g).is_some_and(|f| f.contains('U') && f.contains('B')))
    });
    eprintln!("every VM's XML read {xml:?} after all hosts were up");
    let t = Instant::now();
    set(fresh, at(1));
    set(stale, at(72));
    // Findings follow within a poll (a metadata event marks the XML for reading) and a second.
    // The lab's guests boot from the network first (lab.sh): netboot-first (N) stays on all.
    let seen = tui.wait_for("badges", Duration::from_secs(6), |s| {
        row_flags(s, fresh).as_deref() == Some("AN")
            && row_flags(s, stale).as_deref() == Some("BAN")
            && row_flags(s, bare).is_some_and(|f| f.contains('U') && f.contains('B'))
    });
    eprintln!(
        "metadata set with virsh showed as badges after {:?} ({seen:?} of waiting)",
        t.elapsed()
    );
    drop(tui);
    let out = fleetwatch()
        .args(["--config", &lab.config(), "check", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let has = |kind: &str, vm: &str| {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == kind && f["vm"] == vm)
    };
    assert!(has("unapproved", bare) && !has("unapproved", fresh) && !has("unapproved", stale));
    // The boot order as the real libvirtd writes it into the XML.
    assert!(has("netboot-first", fresh) && has("netboot-first", bare));
    assert!(has("unbacked", stale) && !has("unbacked", fresh));
    assert!(
        has("anti-affinity", fresh) && has("anti-affinity", stale) && !has("anti-affinity", bare)
    );
    for g in [fresh, stale] {
        lab.virsh(n, &["metadata", g, "--uri", "urn:fleetwatch:1", "--remove"]);
    }
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn g_a_recorded_live_migration_and_the_fleet_before_it() {
    let lab = Lab::load();
    let data = tempfile::tempdir().unwrap();
    let fw = || {
        let mut c = fleetwatch();
        c.env("XDG_DATA_HOME", data.path());
        c
    };
    let mut child = fw()
        .args(["--config", &lab.config(), "record"])
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    // Ended and reaped (it releases its lease on the way out) whatever happens.
    let mut recorder = Restore(move || {
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = child.wait();
    });
    let guest = lab.guests(1)[0].clone();
    let from = lab.host_of(&guest);
    let to = from % lab.hosts() + 1;
    let _home = lab.keep_home(&guest, from);
    // The recorder's first samples are the history's baseline, and `before` must come after
    // them. A fixed 4 s was ample for near hosts (every guest in `at now` 0.7 s after the
    // recorder starts); through the 200 ms RTT relays a connect is about ten round trips and a
    // poll three plus two per XML read, and the baseline took 4.4-4.8 s: wait until the history
    // has it, then a second more.
    let baseline = lab.wait_baseline(fw, &guest, from, Duration::from_secs(30));
    eprintln!("recorder's baseline in the history after {baseline:?}");
    std::thread::sleep(Duration::from_secs(1));
    let before = chrono::Utc::now();
    std::thread::sleep(Duration::from_millis(500));
    lab.script(&["migrate", &guest, &from.to_string(), &to.to_string()]);
    let moved = chrono::Utc::now();
    std::thread::sleep(Duration::from_secs(4));
    let out = fw()
        .args([
            "--config",
            &lab.config(),
            "history",
            "--json",
            "--since",
            "10m",
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "migrated" && e["vm"] == guest.as_str())
        .unwrap_or_else(|| panic!("no migration recorded: {doc}"))
        .clone();
    assert_eq!(m["from_host"], lab.name(from).as_str());
    assert_eq!(m["to_host"], lab.name(to).as_str());
    assert_eq!(m["actor"], "external");
    let at = chrono::DateTime::parse_from_rfc3339(m["at"].as_str().unwrap()).unwrap();
    assert!(
        at >= before - chrono::Duration::seconds(1) && at <= moved + chrono::Duration::seconds(3),
        "{m}"
    );
    eprintln!("recorded: {m}");
    let place = |when: &str| {
        let out = fw()
            .args(["--config", &lab.config(), "at", when, "--json"])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(doc["historical"], true);
        doc["vms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == guest.as_str())
            .map(|v| v["host"].clone())
    };
    assert_eq!(
        place(&before.to_rfc3339()),
        Some(Value::from(lab.name(from)))
    );
    assert_eq!(place("now"), Some(Value::from(lab.name(to))));
    (recorder.0)();
    lab.script(&["migrate", &guest, &to.to_string(), &from.to_string()]);
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn h_the_tui_shows_the_migration_in_history_and_the_fleet_before_it() {
    let lab = Lab::load();
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let tui = Tui::start(&lab, w, h);
        tui.wait_for("recording", Duration::from_secs(5), |s| {
            s.lines().next().is_some_and(|l| l.contains("REC"))
        });
        std::thread::sleep(Duration::from_secs(3));
        let guest = lab.guests(2)[1].clone();
        let from = lab.host_of(&guest);
        let to = from % lab.hosts() + 1;
        let _home = lab.keep_home(&guest, from);
        let before = chrono::Utc::now();
        lab.script(&["migrate", &guest, &from.to_string(), &to.to_string()]);
        std::thread::sleep(Duration::from_secs(3));
        tui.keys(&["H"]);
        tui.keys(&["Tab"]);
        let arrow = format!("{}→{}", lab.name(from), lab.name(to));
        let t = tui.wait_for(
            "the migration in the History view",
            Duration::from_secs(8),
            |s| {
                s.contains("[migrations]")
                    && s.lines()
                        .any(|l| l.contains("migrated") && l.contains(&guest) && l.contains(&arrow))
            },
        );
        eprintln!("{w}x{h}: migration listed {t:?} after opening the view");
        tui.keys(&["Escape"]);
        // The fleet as it was a moment before the migration.
        let ago = (chrono::Utc::now() - before).num_seconds() + 1;
        tui.keys(&[":"]);
        tui.keys(&["-l", &format!("at -{ago}s")]);
        tui.keys(&["Enter"]);
        tui.keys(&["/"]);
        tui.keys(&["-l", &guest]);
        tui.keys(&["Enter"]);
        tui.wait_for(
            "the guest on its old host, marked historical",
            Duration::from_secs(5),
            |s| {
                s.lines().next().is_some_and(|l| l.contains("HISTORICAL"))
                    && s.lines()
                        .any(|l| table_row(l, &guest).is_some_and(|r| r.contains(&lab.name(from))))
            },
        );
        tui.keys(&["L"]);
        tui.wait_for("live again, on the new host", Duration::from_secs(5), |s| {
            !s.lines().next().is_some_and(|l| l.contains("HISTORICAL"))
                && s.lines()
                    .any(|l| table_row(l, &guest).is_some_and(|r| r.contains(&lab.name(to))))
        });
        drop(tui);
        lab.script(&["migrate", &guest, &to.to_string(), &from.to_string()]);
    }
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn i_a_live_migration_started_with_m_shows_progress_and_is_recorded_with_its_operator() {
    let lab = Lab::load();
    let tui = Tui::start(&lab, 200, 50);
    tui.wait_for("recording", Duration::from_secs(5), |s| {
        s.lines().next().is_some_and(|l| l.contains("REC"))
    });
    std::thread::sleep(Duration::from_secs(3));
    let guest = lab.guests(3)[0].clone();
    let from = lab.host_of(&guest);
    let to = from % lab.hosts() + 1;
    let _home = lab.keep_home(&guest, from);
    tui.keys(&["/"]);
    tui.keys(&["-l", &format!("~^{guest}$")]);
    tui.keys(&["Enter"]);
    tui.wait_for("the guest selected", Duration::from_secs(3), |s| {
        s.lines().any(|l| table_row(l, &guest).is_some())
    });
    tui.keys(&["m"]);
    tui.wait_for("the target form", Duration::from_secs(3), |s| {
        s.contains(" Migrate ")
    });
    for _ in 0..lab.hosts() {
        tui.keys(&["Up"]);
    }
    for _ in 1..to {
        tui.keys(&["Down"]);
    }
    tui.keys(&["Enter"]);
    tui.wait_for("the confirmation", Duration::from_secs(3), |s| {
        s.contains("Confirm: migrate")
    });
    let pane = tui.screen();
    assert!(
        pane.contains(&format!("{} → {}", lab.name(from), lab.name(to))),
        "{pane}"
    );
    assert!(
        pane.contains("after: memory"),
        "the target's load after the move: {pane}"
    );
    tui.keys(&["-l", &guest]);
    tui.keys(&["Enter"]);
    let t = Instant::now();
    let mut progress_seen = None;
    loop {
        let s = tui.screen();
        if progress_seen.is_none()
            && s.lines().any(|l| {
                l.contains(&format!("migrate {guest}"))
                    && (l.contains("% ·") || l.contains("running..."))
            })
        {
            progress_seen = Some(t.elapsed());
        }
        if s.contains(&format!("{guest} moved to {}", lab.name(to))) {
            break;
        }
        assert!(!s.contains("FAILED"), "{s}");
        assert!(t.elapsed() < Duration::from_secs(60), "no outcome: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let done = t.elapsed();
    tui.wait_for("the guest on the new host", Duration::from_secs(5), |s| {
        s.lines()
            .any(|l| table_row(l, &guest).is_some_and(|r| r.contains(&lab.name(to))))
    });
    eprintln!("migration with m: progress shown after {progress_seen:?}, done after {done:?}");
    assert!(progress_seen.is_some(), "progress was never shown");
    std::thread::sleep(Duration::from_secs(3));
    drop(tui);
    // Recorded by the TUI itself, with the operator as actor.
    let data = format!("/tmp/fleetwatch-e2e-data-{}", std::process::id());
    let out = fleetwatch()
        .env("XDG_DATA_HOME", &data)
        .args([
            "--config",
            &lab.config(),
            "history",
            "--json",
            "--kind",
            "migrated",
            "--vm",
            &guest,
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let last = doc["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap_or_else(|| panic!("not recorded: {doc}"))
        .clone();
    assert_eq!(last["to_host"], lab.name(to).as_str(), "{last}");
    let operator = fleetwatch_core::actions::Operator::from_env().actor();
    assert_eq!(last["actor"], operator.as_str(), "{last}");
    let audit = fleetwatch()
        .env("XDG_DATA_HOME", &data)
        .args(["--config", &lab.config(), "audit", "--json"])
        .output()
        .unwrap();
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let phases: Vec<(String, Value)> = audit["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["vm"] == guest.as_str())
        .map(|a| {
            (
                a["phase"].as_str().unwrap().to_owned(),
                a["outcome"].clone(),
            )
        })
        .collect();
    assert!(
        phases.contains(&("start".into(), Value::Null))
            && phases.contains(&("end".into(), Value::from("ok"))),
        "{phases:?}"
    );
    lab.script(&["migrate", &guest, &to.to_string(), &from.to_string()]);
}
