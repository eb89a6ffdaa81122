//! Every command with its reader gone (`fleetwatch history | head -1`) or given absurd times
//! ends with a message or quietly, never with a panic.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

fn run_closed(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(args)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader leaves before the first line.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_survives_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &["--demo", "snapshot"],
        &["--demo", "snapshot", "--json"],
        &["--demo", "check"],
        &["--demo", "check", "--json"],
        &["--demo", "history"],
        &["--demo", "history", "--json"],
        &["--demo", "at", "now"],
        &["--demo", "at", "-1h", "--json"],
        &["--demo", "audit"],
        &["--demo", "audit", "--json"],
        &["--help"],
    ];
    for args in commands {
        let (code, stderr) = run_closed(dir.path(), args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !matches!(code, Some(101 | 134) | None),
            "{args:?} ended with {code:?}: {stderr}"
        );
    }
}

#[test]
fn absurd_moments_and_spans_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--demo", "at", "-300000y"][..],
        &["--demo", "history", "--since", "300000y"][..],
        &["--demo", "history", "--since", "500000000000y"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
            .args(args)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("100 years") || stderr.contains("before any"),
            "{args:?}: {stderr}"
        );
    }
}
