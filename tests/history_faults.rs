//! The recorder killed mid-write, a second recorder, and readers alongside the writer.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn fleetwatch(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
    c.env("XDG_DATA_HOME", data).env("XDG_STATE_HOME", data);
    c
}

fn record(data: &std::path::Path) -> Child {
    fleetwatch(data)
        .args(["--demo", "record"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
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
