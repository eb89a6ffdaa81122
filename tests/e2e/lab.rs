//! The lab as the tests see it: hosts.env, the binary, and a TUI under tmux.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Lab {
    env: HashMap<String, String>,
}

impl Lab {
    pub fn load() -> Lab {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/run/hosts.env");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `make lab-up` first", path.display()));
        let env = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("\\ ", " ")))
            .collect();
        Lab { env }
    }
    pub fn get(&self, k: &str) -> &str {
        self.env
            .get(k)
            .unwrap_or_else(|| panic!("hosts.env lacks {k}"))
    }
    pub fn hosts(&self) -> usize {
        self.get("LAB_HOSTS").parse().unwrap()
    }
    pub fn name(&self, n: usize) -> String {
        self.get(&format!("LAB_NAME_{n}")).to_owned()
    }
    /// Host n's URI as fleetwatch is given it (run/fleetwatch.toml): through the host's relay,
    /// 200 ms of round trip, unless the lab was brought up with LAB_RELAY_NEAR=0.
    pub fn uri(&self, n: usize) -> String {
        self.get(&format!("LAB_URI_{n}")).to_owned()
    }
    /// Host n's libvirtd without the relay: for the test's own virsh, which sets up and checks
    /// the lab's state and need not pay the delay.
    pub fn direct_uri(&self, n: usize) -> String {
        self.get(&format!("LAB_DIRECT_URI_{n}")).to_owned()
    }
    pub fn guests(&self, n: usize) -> Vec<String> {
        self.get(&format!("LAB_GUESTS_{n}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
    pub fn config(&self) -> String {
        self.get("LAB_CONFIG").to_owned()
    }
    pub fn pid(&self, n: usize) -> String {
        let out = self.script(&["pid", &n.to_string()]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
    pub fn script(&self, args: &[&str]) -> Output {
        let out = Command::new(self.get("LAB_SCRIPT"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lab.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
    pub fn virsh(&self, n: usize, args: &[&str]) -> Output {
        let out = Command::new("timeout")
            .args(["60", "virsh", "-c", &self.direct_uri(n)])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "virsh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
    /// Where a guest is now: guests may have moved in an earlier test.
    pub fn host_of(&self, guest: &str) -> usize {
        (1..=self.hosts())
            .find(|&n| {
                let out = self.virsh(n, &["list", "--name"]);
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .any(|l| l.trim() == guest)
            })
            .unwrap_or_else(|| panic!("{guest} runs nowhere"))
    }
}

/// Runs its closure when dropped, so a failing test still puts the lab back as it found it
/// (a stopped daemon continued, a killed one restarted, a migrated guest home, a child ended).
pub struct Restore<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for Restore<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

impl Lab {
    /// lab.sh without asserting: for guards, which must not panic while a test unwinds.
    pub fn try_script(&self, args: &[&str]) -> bool {
        Command::new(self.get("LAB_SCRIPT"))
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }
    /// Where a guest runs now, without asserting.
    pub fn try_host_of(&self, guest: &str) -> Option<usize> {
        (1..=self.hosts()).find(|&n| {
            Command::new("timeout")
                .args(["20", "virsh", "-c", &self.direct_uri(n), "list", "--name"])
                .output()
                .is_ok_and(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .any(|l| l.trim() == guest)
                })
        })
    }
    /// Waits until `uri` answers `virsh list` within a few seconds: a host that just started 20
    /// guests (the far host right after `lab.sh up`) is busy booting them for a while.
    pub fn settled(&self, uri: &str) {
        // Three quick answers in a row: one quick answer came while guests were still starting,
        // and fleetwatch's connect right after it waited 8 s (CI, stop 17). Through the far
        // relay `virsh list` takes about 2.1 s when the host is idle.
        let end = Instant::now() + Duration::from_secs(120);
        let mut quick = 0;
        while Instant::now() < end {
            let t = Instant::now();
            let ok = Command::new("timeout")
                .args(["20", "virsh", "-c", uri, "list", "--name"])
                .output()
                .is_ok_and(|o| o.status.success());
            quick = if ok && t.elapsed() < Duration::from_secs(4) {
                quick + 1
            } else {
                0
            };
            if quick == 3 {
                return;
            }
            if quick == 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        panic!("{uri} did not settle within 120 s");
    }
    /// Waits until the history that `fw` reads (`at now --json`) places every lab guest and
    /// `guest` on host `home`: a recorder that just started has recorded its first samples of
    /// every host, the baseline that later events are told from. Returns how long that took.
    pub fn wait_baseline(
        &self,
        fw: impl Fn() -> Command,
        guest: &str,
        home: usize,
        limit: Duration,
    ) -> Duration {
        let names: Vec<String> = (1..=self.hosts()).flat_map(|n| self.guests(n)).collect();
        let start = Instant::now();
        loop {
            let out = fw()
                .args(["--config", &self.config(), "at", "now", "--json"])
                .output()
                .unwrap();
            let doc: Option<Value> = serde_json::from_slice(&out.stdout).ok();
            let vms = doc
                .as_ref()
                .and_then(|d| d["vms"].as_array().cloned())
                .unwrap_or_default();
            let placed = |name: &str| vms.iter().find(|v| v["name"] == name);
            if names.iter().all(|g| placed(g).is_some())
                && placed(guest).is_some_and(|v| v["host"] == self.name(home).as_str())
            {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "after {limit:?} the history still lacks the baseline: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    /// A guard that migrates `guest` back to host `home` if it runs elsewhere when dropped.
    pub fn keep_home<'a>(&'a self, guest: &'a str, home: usize) -> Restore<impl FnMut() + 'a> {
        Restore(move || {
            if let Some(now) = self.try_host_of(guest).filter(|&h| h != home) {
                self.try_script(&["migrate", guest, &now.to_string(), &home.to_string()]);
            }
        })
    }
}

pub fn fleetwatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
    c.env(
        "XDG_STATE_HOME",
        std::env::temp_dir().join("fleetwatch-e2e"),
    );
    c
}

pub fn snapshot(lab: &Lab) -> Value {
    snapshot_of(&lab.config())
}

/// `snapshot --json` on any config.
pub fn snapshot_of(config: &str) -> Value {
    let out = fleetwatch()
        .args(["--config", config, "snapshot", "--json"])
        .output()
        .unwrap();
    // The JSON names each host's error; stderr holds fleetwatch's own messages.
    assert!(
        out.status.success(),
        "snapshot exited {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The TUI in a tmux session of its own, killed when dropped.
pub struct Tui {
    session: String,
}

impl Tui {
    pub fn start(lab: &Lab, w: u16, h: u16) -> Tui {
        let hosts = lab.hosts();
        Tui::start_with(&lab.config(), w, h, "all hosts up", move |s| {
            s.contains(&format!("hosts {hosts}/{hosts}"))
        })
    }
    /// The TUI on any config, started once `ready` holds for its screen.
    pub fn start_with(
        config: &str,
        w: u16,
        h: u16,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> Tui {
        // Several at once in one test (two operators): each its own session.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let session = format!("fw-e2e-{}-{n}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_fleetwatch");
        // A history store of the test's own, not the machine's.
        let data = format!("/tmp/fleetwatch-e2e-data-{}", std::process::id());
        // FLEETWATCH_LOG reaches the program (tmux's server would not pass it on).
        let log = std::env::var("FLEETWATCH_LOG").unwrap_or_else(|_| "info".into());
        let cmd = format!(
            "FLEETWATCH_LOG={log} XDG_STATE_HOME=/tmp/fleetwatch-e2e XDG_DATA_HOME={data} {bin} --config {config}"
        );
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
                &cmd,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux did not start");
        let t = Tui { session };
        t.wait_for(what, Duration::from_secs(30), ready);
        t
    }
    /// Whether the program still runs (its tmux session ends when it exits).
    pub fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.session])
            .output()
            .is_ok_and(|o| o.status.success())
    }
    /// The pid of the fleetwatch the session runs.
    pub fn pid(&self) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, "#{pane_pid}"])
            .output()
            .unwrap();
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        // The pane runs fleetwatch itself, or a shell whose one child it is.
        let comm = std::fs::read_to_string(format!("/proc/{shell}/comm")).unwrap_or_default();
        if comm.trim() == "fleetwatch" {
            return shell;
        }
        let kids = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        String::from_utf8_lossy(&kids.stdout)
            .lines()
            .next()
            .unwrap_or(&shell)
            .trim()
            .to_owned()
    }
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    pub fn keys(&self, keys: &[&str]) {
        Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
    }
    /// Waits until `pred` holds for the screen; returns how long that took.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "after {limit:?} still waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    /// The line of the hosts pane for a host.
    pub fn host_line(&self, name: &str) -> String {
        self.screen()
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Tui {
    /// Ends the session and waits for fleetwatch to be gone (it releases its history lease on
    /// the way out), so the next test starts clean.
    fn drop(&mut self) {
        let pid = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, "#{pane_pid}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        while !pid.is_empty()
            && std::path::Path::new(&format!("/proc/{pid}")).exists()
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn vm<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["vms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {doc}"))
}
