//! The real binary in a pseudo-terminal, and what it writes there: a screen model (to read the
//! header like an operator would) and the output cut into frames.
//!
//! No `unsafe`: rustix opens the pty, and the child gets the slave as its standard streams.
//! crossterm asks `/dev/tty` for the window size before it looks at stdout, so the child must
//! not keep the benchmark's own controlling terminal (when run from a shell it would measure a
//! screen of the wrong size): `setsid -c` gives it a session of its own with the pty as its
//! controlling terminal, and execs in place, so its pid is fleetwatch's.

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const ROWS: u16 = 50;
pub const COLS: u16 = 200;
/// Output separated by at least this much silence is another burst. Bursts are what a
/// terminal sees; draws closer together than this fall into one.
pub const FRAME_GAP: Duration = Duration::from_millis(5);
/// ratatui's crossterm backend ends the cells of every frame it draws with an attribute reset
/// (`CSI 0 m`, after the colour resets), and writes it nowhere else, so counting these counts
/// the frames written, however close together. (The cursor hide that follows is not a count:
/// fleetwatch sends it only when the cursor was shown.)
const DRAW_END: &[u8] = b"\x1b[0m";

/// One burst of output.
#[derive(Clone, Copy)]
pub struct Burst {
    pub start: Instant,
    pub bytes: usize,
}

/// One frame the program drew.
#[derive(Clone, Copy)]
pub struct Draw {
    pub at: Instant,
    pub bytes: usize,
    /// Whether the screen looked any different after it (text or attributes; not the cursor).
    pub changed: bool,
}

/// What the reader thread has seen so far.
pub struct Output {
    parser: vt100::Parser,
    bursts: Vec<Burst>,
    open: Option<(Instant, Instant, usize)>,
    draws: Vec<Draw>,
    /// Bytes since the last draw ended, and how much of DRAW_END the last chunk ended with.
    pending: usize,
    matched: usize,
    shown: u64,
}

impl Output {
    fn new() -> Output {
        Output {
            parser: vt100::Parser::new(nonzero(ROWS), nonzero(COLS), 0),
            bursts: Vec::new(),
            open: None,
            draws: Vec::new(),
            pending: 0,
            matched: 0,
            shown: 0,
        }
    }

    fn screen_hash(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for row in self.parser.screen().rows_formatted(0, COLS) {
            row.hash(&mut h);
        }
        h.finish()
    }

    fn feed(&mut self, at: Instant, bytes: &[u8]) {
        self.open = match self.open {
            Some((start, last, n)) if at.duration_since(last) >= FRAME_GAP => {
                self.bursts.push(Burst { start, bytes: n });
                Some((at, at, bytes.len()))
            }
            Some((start, _, n)) => Some((start, at, n + bytes.len())),
            None => Some((at, at, bytes.len())),
        };
        let mut from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            // ESC occurs in DRAW_END only first, so a mismatch restarts at 0 or 1.
            self.matched = match b {
                _ if b == DRAW_END[self.matched] => self.matched + 1,
                0x1b => 1,
                _ => 0,
            };
            if self.matched == DRAW_END.len() {
                self.matched = 0;
                self.parser.process(&bytes[from..=i]);
                let bytes = self.pending + i + 1 - from;
                from = i + 1;
                let now = self.screen_hash();
                self.draws.push(Draw {
                    at,
                    bytes,
                    changed: now != self.shown,
                });
                self.shown = now;
                self.pending = 0;
            }
        }
        self.parser.process(&bytes[from..]);
        self.pending += bytes.len() - from;
    }

    /// Bursts that began in `[from, to)`; one still being written at `to` is left out.
    pub fn bursts(&mut self, from: Instant, to: Instant) -> Vec<Burst> {
        if let Some((start, last, bytes)) = self.open
            && to.duration_since(last) >= FRAME_GAP
        {
            self.bursts.push(Burst { start, bytes });
            self.open = None;
        }
        self.bursts
            .iter()
            .filter(|f| f.start >= from && f.start < to)
            .copied()
            .collect()
    }

    /// Draws that ended in `[from, to)`.
    pub fn draws(&self, from: Instant, to: Instant) -> Vec<Draw> {
        self.draws
            .iter()
            .filter(|d| d.at >= from && d.at < to)
            .copied()
            .collect()
    }

    /// The screen as text, one line per row, trailing blanks trimmed.
    pub fn text(&self) -> String {
        self.parser.screen().contents()
    }

    pub fn row(&self, n: u16) -> String {
        self.parser
            .screen()
            .rows(0, COLS)
            .nth(n.into())
            .unwrap_or_default()
    }
}

/// A running child on the pty. Dropping it kills the child if it still runs.
pub struct Session {
    child: Option<Child>,
    pub pid: u32,
    writer: std::fs::File,
    output: Arc<Mutex<Output>>,
    reader_done: Receiver<()>,
}

fn setsid() -> Option<&'static Path> {
    ["/usr/bin/setsid", "/bin/setsid"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
}

fn other(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

impl Session {
    /// Starts `bin args` on a fresh pty of ROWS x COLS with `env` added to the environment.
    pub fn start(
        bin: &Path,
        args: &[&std::ffi::OsStr],
        env: &[(&str, &Path)],
    ) -> std::io::Result<Session> {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(other)?;
        grantpt(&master).map_err(other)?;
        unlockpt(&master).map_err(other)?;
        let name = ptsname(&master, Vec::new()).map_err(other)?;
        let size = Winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&master, size).map_err(other)?;
        let flags =
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC;
        let slave: OwnedFd =
            rustix::fs::open(name.as_c_str(), flags, rustix::fs::Mode::empty()).map_err(other)?;

        let mut cmd = match setsid() {
            Some(s) => {
                let mut c = Command::new(s);
                c.arg("-c").arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(args)
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .env_remove("FLEETWATCH_LOG")
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn()?;
        // `cmd` holds the last copies of the slave: without dropping it the reader would never
        // see the hang-up when the child exits.
        drop(cmd);
        let pid = child.id();

        let output = Arc::new(Mutex::new(Output::new()));
        let writer = std::fs::File::from(master.try_clone()?);
        let (done_tx, reader_done) = channel();
        let shared = Arc::clone(&output);
        let mut reader = std::fs::File::from(master);
        // Read all the time, so the program never blocks on a full pty; parsing is cheap next
        // to what it costs the program to write.
        std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => lock(&shared).feed(Instant::now(), &buf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        // EIO: every slave is closed, the child has gone.
                        Err(_) => break,
                    }
                }
                let _ = done_tx.send(());
            })?;
        Ok(Session {
            child: Some(child),
            pid,
            writer,
            output,
            reader_done,
        })
    }

    pub fn output(&self) -> MutexGuard<'_, Output> {
        lock(&self.output)
    }

    /// The exit status if the child has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn send(&mut self, keys: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(keys)
    }

    /// Waits up to `grace` for an exit; then kills. Says how it ended.
    pub fn finish(&mut self, grace: Duration) -> String {
        let Some(mut child) = self.child.take() else {
            return "already reaped".into();
        };
        let deadline = Instant::now() + grace;
        let ended = loop {
            match child.try_wait() {
                Ok(Some(s)) => break describe(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    let _ = child.kill();
                    break match child.wait() {
                        Ok(s) => format!("did not exit within {grace:?}; killed ({})", describe(s)),
                        Err(e) => format!("did not exit within {grace:?}; kill: {e}"),
                    };
                }
                Err(e) => break format!("wait: {e}"),
            }
        };
        // Whatever the child wrote last is in the model once the reader saw the hang-up.
        let _ = self.reader_done.recv_timeout(Duration::from_secs(2));
        ended
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn describe(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(0), _) => "exit 0".into(),
        (Some(c), _) => format!("exit {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{s}"),
    }
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::MIN.saturating_add(n.saturating_sub(1))
}

fn lock(m: &Mutex<Output>) -> MutexGuard<'_, Output> {
    // A panic in the reader is the benchmark's bug, not a reason to lose the figures.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
