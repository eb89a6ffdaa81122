//! A command in a tmux session of its own, at a given size, as a user would run it; the
//! session is killed when dropped, however the test ends.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Session(String);

impl Session {
    /// `cmd` (a shell command line) in a new detached session `name`-<pid>, `w`x`h`.
    pub fn start(name: &str, w: u16, h: u16, cmd: &str) -> Session {
        let s = Session(format!("fw-{name}-{}", std::process::id()));
        let (w, h) = (w.to_string(), h.to_string());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &s.0, "-x", &w, "-y", &h, cmd])
            .status()
            .expect("tmux is needed for this test");
        assert!(ok.success(), "tmux new-session {} failed", s.0);
        s
    }

    pub fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The screen once `done` holds for it, or as it is after `limit`.
    pub fn screen_when(&self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + limit;
        loop {
            let s = self.screen();
            if done(&s) || Instant::now() > end {
                return s;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}
