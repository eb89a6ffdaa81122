//! The recorder killed mid-write, a second recorder, and readers alongside the writer.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit::reaped::Reaped;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fleetwatch(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
    c.env("XDG_DATA_HOME", data).env("XDG_STATE_HOME", data);
    c
}

fn record(data: &std::path::Path) -> Reaped {
    Reaped::new(
        fleetwatch(data)
            .args(["--demo", "record"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn events(data: &std::path::Path) -> usize {
    let out = fleetwatch(data)
        .args(["--demo", "history", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["events"].as_array().unwrap().len()
}

fn wait_for_db(db: &std::path::Path) {
    let end = Instant::now() + Duration::from_secs(10);
    while !db.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_mid_write_then_a_clean_restart() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("fleetwatch/demo-history.db");
    let mut first = record(data.path());
    wait_for_db(&db);
    // Let it write several polls, reading alongside it the whole time.
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        events(data.path());
    }
    first.kill().unwrap(); // SIGKILL: no chance to release the lease or finish a write
    first.wait().unwrap();
    // The next recorder starts at once (the dead holder is noticed) on a database that opens
    // cleanly.
    let mut second = record(data.path());
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second recorder should be running"
    );
    // A third one is refused while the second lives: one writer at a time.
    let third = fleetwatch(data.path())
        .args(["--demo", "record"])
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&third.stderr).contains("another recorder"));
    Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(second.wait().unwrap().success());
    let c = rusqlite::Connection::open(&db).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let placements: i64 = c
        .query_row("SELECT COUNT(*) FROM placements", [], |r| r.get(0))
        .unwrap();
    assert!(placements >= 49, "{placements}");
    // A clean stop released the lease.
    let lease: i64 = c
        .query_row("SELECT COUNT(*) FROM lease", [], |r| r.get(0))
        .unwrap();
    assert_eq!(lease, 0);
}

/// Several recorders started at the same moment on a store that does not exist yet: one
/// records, every other one is told who does, never "database is locked" or a half migration.
#[test]
fn of_simultaneous_starts_one_records_and_the_others_get_the_lease_message() {
    for round in 0..4 {
        let data = tempfile::tempdir().unwrap();
        let mut all: Vec<Reaped> = (0..4).map(|_| record(data.path())).collect();
        // The losers end by themselves; wait for that (a loaded machine is slow), not a guess.
        let end = std::time::Instant::now() + Duration::from_secs(30);
        while all
            .iter_mut()
            .map(|c| c.try_wait().unwrap().is_none())
            .filter(|&running| running)
            .count()
            > 1
            && std::time::Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        // A winner that is still starting up is given its moment too.
        std::thread::sleep(Duration::from_millis(500));
        let mut winners = 0;
        let mut said = Vec::new();
        for c in &mut all {
            if c.try_wait().unwrap().is_none() {
                winners += 1;
                Command::new("kill")
                    .args(["-TERM", &c.id().to_string()])
                    .status()
                    .unwrap();
            }
        }
        for c in all {
            let out = c.take().wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            if !err.contains("recording") {
                assert_eq!(out.status.code(), Some(1), "round {round}: {err}");
                assert!(
                    err.contains("another recorder (pid"),
                    "round {round}: {err}"
                );
            }
            said.push(err);
        }
        assert_eq!(winners, 1, "round {round}: {said:?}");
    }
}

#[test]
fn a_store_path_that_is_a_directory_is_named_as_such() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("fleetwatch/demo-history.db");
    std::fs::create_dir_all(&db).unwrap();
    for args in [
        &["--demo", "record"][..],
        &["--demo", "history"],
        &["--demo", "at", "-1m"],
    ] {
        let out = fleetwatch(data.path()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&db.display().to_string()) && err.contains("is a directory"),
            "{args:?}: {err}"
        );
    }
}

/// Runs fleetwatch as a user who cannot write `data` (nobody, when the tests run as root).
fn as_reader(data: &std::path::Path) -> Command {
    let bin = env!("CARGO_BIN_EXE_fleetwatch");
    let mut c = if rustix::process::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        Command::new(bin)
    };
    c.env("XDG_DATA_HOME", data).env("XDG_STATE_HOME", data);
    c
}

#[test]
fn a_store_this_user_cannot_write_is_still_read() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("fleetwatch/demo-history.db");
    let mut rec = record(data.path());
    wait_for_db(&db);
    // First connects are spread over the first interval (2 s): time for every host's first
    // polls to be recorded.
    std::thread::sleep(Duration::from_secs(5));
    Command::new("kill")
        .args(["-TERM", &rec.id().to_string()])
        .status()
        .unwrap();
    assert!(rec.wait().unwrap().success());
    let mode = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode(data.path(), 0o555);
    mode(&data.path().join("fleetwatch"), 0o555);
    mode(&db, 0o444);
    let n = {
        let out = as_reader(data.path())
            .args(["--demo", "history", "--json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["events"].as_array().map(Vec::len)
    };
    assert!(n.is_some());
    let out = as_reader(data.path())
        .args(["--demo", "at", "-2s", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Recording is refused with the reason, and says reading still works.
    let out = as_reader(data.path())
        .args(["--demo", "record"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write") && err.contains("still read"),
        "{err}"
    );
    mode(data.path(), 0o755);
    mode(&data.path().join("fleetwatch"), 0o755);
}
