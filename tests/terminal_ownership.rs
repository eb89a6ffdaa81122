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

/// A shell in a tmux session of its own, killed when dropped.
struct Shell(String);

impl Shell {
    fn start(name: &str) -> Shell {
        let s = Shell(format!("fw-{name}-{}", std::process::id()));
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &s.0, "-x", "100", "-y", "30"])
            .arg("bash --norc --noprofile")
            .status()
            .unwrap();
        assert!(ok.success(), "tmux is needed for this test");
        s
    }
    fn send(&self, keys: &[&str]) {
        Command::new("tmux")
            .args(["send-keys", "-t", &self.0])
            .args(keys)
            .status()
            .unwrap();
    }
    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if pred(&s) {
                return;
            }
            assert!(Instant::now() < end, "waiting for {what}:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

#[test]
fn ctrl_z_and_sigtstp_give_the_terminal_back_and_fg_takes_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let sh = Shell::start("tstp");
    // The log path names this test's own process among others running in parallel.
    let cmd = format!(
        "XDG_STATE_HOME={0}/s XDG_DATA_HOME={0}/d {1} --log {0}/fw.log --demo",
        dir.path().display(),
        env!("CARGO_BIN_EXE_fleetwatch")
    );
    sh.send(&[&cmd, "Enter"]);
    let up = |s: &str| s.contains("hosts 5/5");
    sh.wait("the demo", up);
    for suspend in ["key", "signal"] {
        if suspend == "key" {
            sh.send(&["C-z"]);
        } else {
            let pid = Command::new("pgrep")
                .args(["-f", &format!("{}/fw.log", dir.path().display())])
                .output()
                .unwrap();
            let pid = String::from_utf8_lossy(&pid.stdout)
                .lines()
                .next()
                .unwrap()
                .to_owned();
            Command::new("kill").args(["-TSTP", &pid]).status().unwrap();
        }
        sh.wait("the shell's job line", |s| s.contains("Stopped"));
        // The shell works as before: cooked mode, echo, the main screen.
        sh.send(&["clear; echo sum-$((40+2))", "Enter"]);
        sh.wait("the shell answering", |s| s.contains("sum-42") && !up(s));
        sh.send(&["fg", "Enter"]);
        sh.wait(&format!("the UI back after {suspend}"), up);
    }
    sh.send(&["q"]);
    sh.wait("the shell after q", |s| !up(s));
}

#[test]
fn sigterm_and_sighup_put_the_terminal_back() {
    for sig in ["-TERM", "-HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let sh = Shell::start(&format!("sig{}", &sig[1..]));
        let cmd = format!(
            "XDG_STATE_HOME={0}/s XDG_DATA_HOME={0}/d {1} --log {0}/fw.log --demo; echo exit-$?",
            dir.path().display(),
            env!("CARGO_BIN_EXE_fleetwatch")
        );
        sh.send(&[&cmd, "Enter"]);
        let up = |s: &str| s.contains("hosts 5/5");
        sh.wait("the demo", up);
        let pid = Command::new("pgrep")
            .args(["-f", &format!("{}/fw.log", dir.path().display())])
            .output()
            .unwrap();
        for p in String::from_utf8_lossy(&pid.stdout).lines() {
            Command::new("kill").args([sig, p]).status().unwrap();
        }
        // The status line, not the command line that also holds the word.
        sh.wait("the shell back", |s| {
            s.lines().any(|l| l.starts_with("exit-")) && !up(s)
        });
        sh.send(&["echo sum-$((40+2))", "Enter"]);
        sh.wait("a shell in cooked mode", |s| s.contains("sum-42"));
    }
}
