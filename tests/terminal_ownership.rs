//! The terminal belongs to the UI, and connections leave nothing behind: what libvirt and
//! libxml2 print goes to the log, an ssh started for a connection runs non-interactively and
//! ends with fleetwatch. The ssh here is a stand-in placed first in PATH (libvirt runs `ssh`
//! from PATH): it records how it was started and then hangs like ssh to a host that never
//! answers. The real ssh against real sshd is in the lab e2e suite.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn fleetwatch(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
    c.env("XDG_STATE_HOME", dir.join("state"));
    c
}

fn write_config(dir: &Path, hosts: &[(&str, &str)]) -> PathBuf {
    let mut t = String::from("[poll]\ninterval = \"1s\"\ntimeout = \"2s\"\n");
    for (name, uri) in hosts {
        t.push_str(&format!("[[host]]\nname = \"{name}\"\nuri = \"{uri}\"\n"));
    }
    let p = dir.join("fleet.toml");
    std::fs::write(&p, t).unwrap();
    p
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn libxml_warnings_go_to_the_log_not_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-node.xml");
    let uri = format!("test://{}", missing.display());
    let cfg = write_config(dir.path(), &[("gone", &uri), ("ok", "test:///default")]);
    let log = dir.path().join("fw.log");
    let out = fleetwatch(dir.path())
        .args([
            "--log",
            log.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ])
        .args(["snapshot", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!stderr.contains("I/O warning"), "stderr: {stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["hosts"][0]["state"], "down", "{doc}");
    assert_eq!(doc["hosts"][1]["state"], "up", "{doc}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("I/O warning"),
        "the warning is kept in the log: {logged}"
    );
}

/// A stand-in `ssh` that records its arguments and pid, then hangs.
fn hanging_ssh(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rec = dir.join("ssh-started");
    let script = format!(
        "#!/bin/bash\necho \"$$ $*\" >> {}\nexec -a ssh sleep 600\n",
        rec.display()
    );
    let ssh = bin.join("ssh");
    std::fs::write(&ssh, script).unwrap();
    Command::new("chmod").arg("+x").arg(&ssh).status().unwrap();
    bin
}

fn started(dir: &Path) -> Vec<(u32, String)> {
    std::fs::read_to_string(dir.join("ssh-started"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(p, a)| (p.parse().unwrap(), a.to_owned()))
        .collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn ssh_runs_without_questions_and_ends_with_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let bin = hanging_ssh(dir.path());
    // Nothing listens there; the stand-in never connects anyway.
    let cfg = write_config(dir.path(), &[("far", "qemu+ssh://root@127.0.0.1:1/system")]);
    let cfg = cfg.to_str().unwrap();
    for args in [
        vec!["check", "--json"],
        vec!["snapshot", "--json"],
        vec!["check"],
    ] {
        let t0 = Instant::now();
        let out = fleetwatch(dir.path())
            .env("PATH", path_with(&bin))
            .args(["--config", cfg])
            .args(&args)
            .output()
            .unwrap();
        let (stdout, _) = text(&out);
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{args:?} took {:?}",
            t0.elapsed()
        );
        assert!(stdout.contains("far"), "{args:?} names the host: {stdout}");
    }
    let runs = started(dir.path());
    assert!(runs.len() >= 3, "one ssh per command at least: {runs:?}");
    for (pid, argv) in &runs {
        // libvirt's no_tty=1: ssh may not ask anything, and gets no terminal.
        assert!(argv.contains("BatchMode=yes"), "{argv}");
        assert!(argv.contains("-T"), "{argv}");
        assert!(!argv.contains("StrictHostKeyChecking=no"), "{argv}");
        assert!(!alive(*pid), "ssh {pid} ({argv}) outlived the command");
    }
}

#[test]
fn a_config_that_lets_ssh_prompt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &[("h", "qemu+ssh://h/system?no_tty=0")]);
    let out = fleetwatch(dir.path())
        .args(["--config", cfg.to_str().unwrap(), "snapshot"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no_tty=0") && stderr.contains("line"),
        "{stderr}"
    );
}
