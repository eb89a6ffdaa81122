//! The team tier on the lab: three recorders share the lab's hosts through one real
//! PostgreSQL; the one recording a guest's host is killed with -9 while that guest migrates
//! live; the others take its host, the migration is in the history exactly once, and two TUIs
//! watching through the store (`[history] client`) show the same fleet and the same history
//! without a libvirt connection of their own.

use crate::lab::*;
use fleetwatch_testkit::postgres::Postgres;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `record --status --json`: live recorders' (pid, hosts) and the hosts none records.
fn status(cfg: &Path, data: &Path) -> (Vec<(i64, Vec<String>)>, Vec<String>) {
    let out = fleetwatch()
        .env("XDG_DATA_HOME", data)
        .arg("--config")
        .arg(cfg)
        .args(["record", "--status", "--json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect()
    };
    let live = doc["recorders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["live"] == true)
        .map(|r| (r["pid"].as_i64().unwrap_or(0), names(&r["hosts"])))
        .collect();
    (live, names(&doc["unrecorded"]))
}

fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    start.elapsed()
}

/// The history's migrations of `guest`, as (from, to).
fn migrations(cfg: &Path, data: &Path, guest: &str) -> Vec<(String, String)> {
    let out = fleetwatch()
        .env("XDG_DATA_HOME", data)
        .arg("--config")
        .arg(cfg)
        .args(["history", "--json", "--since", "10m", "--kind", "migrated"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    doc["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["vm"] == guest)
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("from_host"), s("to_host"))
        })
        .collect()
}

/// The TCP peers of process `pid` (from `ss`), as "address:port".
fn tcp_peers(pid: &str) -> Vec<String> {
    let out = Command::new("ss").args(["-tnpH"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("pid={pid},")))
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_owned))
        .collect()
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn s_three_recorders_on_postgresql_lose_one_during_a_migration_and_two_client_tuis_agree() {
    let lab = Lab::load();
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("lab").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let text = std::fs::read_to_string(lab.config()).unwrap();
    let cfg = data.join("shared.toml");
    std::fs::write(&cfg, format!("{text}\n[history]\nurl = {url:?}\n")).unwrap();
    let client_cfg = data.join("client.toml");
    std::fs::write(
        &client_cfg,
        format!("{text}\n[history]\nurl = {url:?}\nclient = true\n"),
    )
    .unwrap();

    // Each recorder's log, shown when the test fails: which shares it took, what it lost.
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let spawned = std::cell::Cell::new(0);
    let record = |elsewhere: bool| -> Child {
        let fw = fleetwatch();
        let mut c = if elsewhere {
            // A recorder on "another machine": a host name of its own (a UTS namespace), so
            // the others cannot see its process die and must wait for its leases to go stale.
            fleetwatch_testkit::elsewhere::on_another_machine(fw.get_program(), "mgmt-far")
        } else {
            fw
        };
        c.env("XDG_DATA_HOME", data)
            .env(
                "XDG_STATE_HOME",
                std::env::temp_dir().join("fleetwatch-e2e"),
            )
            .arg("--config")
            .arg(&cfg)
            .arg("record")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let (n, logs) = (spawned.replace(spawned.get() + 1), logs.clone());
        let err = std::io::BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(err).map_while(Result::ok) {
                let at = chrono::Utc::now().format("%H:%M:%S%.3f");
                logs.lock()
                    .unwrap()
                    .push(format!("{at} recorder {n}: {line}"));
            }
        });
        child
    };
    let recorders = std::cell::RefCell::new(
        [true, false, false]
            .map(record)
            .into_iter()
            .collect::<Vec<Child>>(),
    );
    let far_pid = i64::from(recorders.borrow()[0].id());
    let _stop = Restore(|| {
        if std::thread::panicking() {
            eprintln!(
                "--- the recorders said:\n{}",
                logs.lock().unwrap().join("\n")
            );
            if let Ok(out) = fleetwatch()
                .env("XDG_DATA_HOME", data)
                .arg("--config")
                .arg(&cfg)
                .args(["history", "--since", "10m"])
                .output()
            {
                eprintln!("--- history:\n{}", String::from_utf8_lossy(&out.stdout));
            }
        }
        for r in recorders.borrow_mut().iter_mut() {
            let _ = Command::new("kill")
                .args(["-TERM", &r.id().to_string()])
                .status();
            let _ = r.wait();
        }
    });
    let hosts = lab.hosts();
    let t = wait(
        "three recorders, one host each",
        Duration::from_secs(60),
        || {
            let (live, unrecorded) = status(&cfg, data);
            live.len() == 3 && unrecorded.is_empty() && live.iter().all(|(_, h)| !h.is_empty())
        },
    );
    eprintln!("three recorders share {hosts} hosts {t:?} after they started");

    // A guest of the far recorder's host (the persistent one, if it is home).
    let (live, _) = status(&cfg, data);
    let far_host = live
        .iter()
        .find(|(pid, _)| *pid == far_pid)
        .and_then(|(_, h)| h.first().cloned())
        .expect("the far recorder holds a host");
    let from = (1..=hosts).find(|&n| lab.name(n) == far_host).unwrap();
    let guest = (1..=hosts)
        .flat_map(|n| lab.guests(n))
        .find(|g| lab.host_of(g) == from)
        .expect("a guest on the far recorder's host");
    let to = from % hosts + 1;
    let _home = lab.keep_home(&guest, from);
    // Its first samples recorded: the migration below is told from them.
    let at_now = || {
        let out = fleetwatch()
            .env("XDG_DATA_HOME", data)
            .arg("--config")
            .arg(&cfg)
            .args(["at", "now", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or_default()
    };
    wait("the guest in the history", Duration::from_secs(60), || {
        at_now()["vms"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["name"] == guest.as_str() && v["host"] == lab.name(from).as_str())
    });
    std::thread::sleep(Duration::from_secs(3));

    // Kill -9 the far recorder, and migrate the guest off its host at once.
    {
        let mut killed = recorders.borrow_mut().remove(0);
        killed.kill().unwrap();
        killed.wait().unwrap();
    }
    let killed_at = Instant::now();
    eprintln!("killed at {}", chrono::Utc::now().format("%H:%M:%S%.3f"));
    let migration = Command::new(lab.get("LAB_SCRIPT"))
        .args(["migrate", &guest, &from.to_string(), &to.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let took = wait(
        "the killed one's host taken",
        Duration::from_secs(60),
        || {
            let (live, unrecorded) = status(&cfg, data);
            live.len() == 2 && unrecorded.is_empty()
        },
    );
    eprintln!(
        "its host taken by another {took:?} after kill -9 (poll interval 2 s: {:.1} intervals)",
        took.as_secs_f64() / 2.0
    );
    let out = migration.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "migration: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{} ({:?} after the kill)",
        String::from_utf8_lossy(&out.stdout).trim(),
        killed_at.elapsed()
    );
    wait(
        "the migration in the history",
        Duration::from_secs(60),
        || !migrations(&cfg, data, &guest).is_empty(),
    );
    // Two more intervals: a second copy of the event would be written by now.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        migrations(&cfg, data, &guest),
        vec![(lab.name(from), lab.name(to))],
        "the migration during the takeover, exactly once"
    );
    // Its halves were seen by different recorders (the source's host changed hands): neither
    // is an event of its own.
    let out = fleetwatch()
        .env("XDG_DATA_HOME", data)
        .arg("--config")
        .arg(&cfg)
        .args(["history", "--json", "--since", "10m", "--vm", &guest])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let kinds: Vec<&str> = doc["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["migrated"], "the guest's history: {doc}");

    // The takeover window is in the host's state history, and only that host's.
    let out = fleetwatch()
        .env("XDG_DATA_HOME", data)
        .arg("--config")
        .arg(&cfg)
        .args([
            "history",
            "--json",
            "--since",
            "10m",
            "--kind",
            "host-stale",
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let gaps: Vec<(String, String)> = doc["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let d = e["detail"].as_str()?;
            d.starts_with("not recorded for").then(|| {
                (
                    e["host"].as_str().unwrap_or_default().to_owned(),
                    d.to_owned(),
                )
            })
        })
        .collect();
    eprintln!("takeover window in the host-state history: {gaps:?}");
    assert!(
        !gaps.is_empty() && gaps.iter().all(|(h, _)| *h == far_host),
        "the takeover window of {far_host} only: {doc}"
    );

    // Two operators watching through the store, at both screen sizes.
    let c = client_cfg.display().to_string();
    let ready = |s: &str| s.contains(&format!("hosts {hosts}/{hosts}")) && s.contains("via store");
    let wide = Tui::start_with(&c, 200, 50, "the fleet through the store", ready);
    let small = Tui::start_with(&c, 80, 24, "the fleet through the store", ready);
    let on_target = |s: &str| {
        s.lines()
            .any(|l| l.contains(&guest) && l.contains(&lab.name(to)))
    };
    wide.wait_for(
        "the guest on its new host",
        Duration::from_secs(20),
        on_target,
    );
    small.keys(&["/", &guest, "Enter"]);
    small.wait_for(
        "the guest on its new host",
        Duration::from_secs(20),
        on_target,
    );
    for t in [&wide, &small] {
        let pid = t.pid();
        let peers = tcp_peers(&pid);
        assert!(
            peers
                .iter()
                .all(|p| p.ends_with(&format!(":{}", pg.port()))),
            "a client TUI connected elsewhere than the store: {peers:?}"
        );
        let children = Command::new("pgrep").args(["-P", &pid]).output().unwrap();
        assert!(
            children.stdout.is_empty(),
            "a client TUI started processes (ssh?): {}",
            String::from_utf8_lossy(&children.stdout)
        );
    }
    // The same history on both: the History view lists the migration.
    let moved = |s: &str| {
        s.lines()
            .any(|l| l.contains("migrated") && l.contains(&guest))
    };
    for t in [&wide, &small] {
        t.keys(&["Escape", "H"]);
        t.wait_for(
            "the migration in the History view",
            Duration::from_secs(20),
            moved,
        );
    }
    eprintln!(
        "both client TUIs show {guest} on {} and its migration in History",
        lab.name(to)
    );
}
