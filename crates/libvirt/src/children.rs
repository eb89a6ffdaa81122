//! The ssh processes libvirt starts for `qemu+ssh` connections are children of fleetwatch. A
//! connection that hangs is abandoned (its thread stays stuck in libvirt), and a process that
//! exits leaves its children to init: either way the ssh would live on, one more per cron
//! `check`. So fleetwatch ends them itself: those to a host whose connection it gives up, and
//! all of them when it exits.

use rustix::process::{Pid, Signal, kill_process};
use std::time::{Duration, Instant};

/// A child process of this one, as /proc shows it.
#[derive(Debug, Clone)]
pub struct Child {
    pub pid: i32,
    pub argv: Vec<String>,
}

/// The parent pid and state from /proc/PID/stat (the command name may hold spaces and
/// parentheses, so fields are counted after its last ')').
fn stat_fields(stat: &str) -> Option<(char, i32)> {
    let after = stat.rsplit_once(')')?.1;
    let mut f = after.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Living (not zombie) ssh children of this process.
pub fn ssh_children() -> Vec<Child> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        match stat_fields(&stat) {
            Some((state, ppid)) if ppid == me && state != 'Z' => {}
            _ => continue,
        }
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_ssh = argv
            .first()
            .is_some_and(|a| a.rsplit('/').next() == Some("ssh"));
        if is_ssh {
            out.push(Child { pid, argv });
        }
    }
    out
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| stat_fields(&s))
        .is_some_and(|(state, _)| state != 'Z')
}

/// Ends the given children: TERM, then KILL for any still there after `grace`.
fn end(children: &[Child], grace: Duration) -> usize {
    let pids: Vec<Pid> = children
        .iter()
        .filter_map(|c| Pid::from_raw(c.pid))
        .collect();
    for p in &pids {
        let _ = kill_process(*p, Signal::TERM);
    }
    let until = Instant::now() + grace;
    while Instant::now() < until && pids.iter().any(|p| alive(p.as_raw_nonzero().get())) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in &pids {
        if alive(p.as_raw_nonzero().get()) {
            let _ = kill_process(*p, Signal::KILL);
        }
    }
    pids.len()
}

/// Whether an ssh command line goes to `host` (libvirt passes it as one argument, possibly
/// with the user: `root@hv1`).
fn goes_to(c: &Child, host: &str) -> bool {
    !host.is_empty()
        && c.argv
            .iter()
            .skip(1)
            .any(|a| a == host || a.rsplit_once('@').is_some_and(|(_, h)| h == host))
}

/// Ends the ssh children connected to `host` (a connection to it was just given up).
pub fn end_for_host(host: &str) -> usize {
    let mine: Vec<Child> = ssh_children()
        .into_iter()
        .filter(|c| goes_to(c, host))
        .collect();
    if mine.is_empty() {
        return 0;
    }
    tracing::info!(
        host,
        n = mine.len(),
        "ending ssh processes of an abandoned connection"
    );
    end(&mine, Duration::from_millis(300))
}

/// Ends every ssh child; called on the way out of every command.
pub fn end_all() -> usize {
    let all = ssh_children();
    if all.is_empty() {
        return 0;
    }
    end(&all, Duration::from_millis(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        assert_eq!(stat_fields("123 (ssh) S 99 123 123 0"), Some(('S', 99)));
        assert_eq!(stat_fields("123 (a b) c)) Z 7 1 1"), Some(('Z', 7)));
        assert_eq!(stat_fields("garbage"), None);
    }

    #[test]
    fn destinations() {
        let c = Child {
            pid: 1,
            argv: [
                "ssh",
                "-p",
                "22",
                "-l",
                "root",
                "-T",
                "--",
                "127.0.0.11",
                "sh",
                "-c",
                "x",
            ]
            .map(String::from)
            .to_vec(),
        };
        assert!(goes_to(&c, "127.0.0.11"));
        assert!(!goes_to(&c, "127.0.0.1"));
        assert!(!goes_to(&c, ""));
        let d = Child {
            pid: 1,
            argv: ["ssh", "root@hv1", "nc"].map(String::from).to_vec(),
        };
        assert!(goes_to(&d, "hv1"));
    }

    #[test]
    fn real_children_are_found_and_ended() {
        // A child named ssh: a copy of `sleep` under that name, so nothing connects anywhere.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("ssh");
        std::fs::copy("/bin/sleep", &fake).unwrap();
        let mut child = std::process::Command::new(&fake).arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ssh_children().iter().any(|c| c.pid == pid) {
            assert!(Instant::now() < deadline, "the child never showed up");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(end_for_host("no-such-host"), 0);
        assert!(end_all() >= 1);
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(!ssh_children().iter().any(|c| c.pid == pid));
    }
}
