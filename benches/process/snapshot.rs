//! `fleetwatch snapshot` at fleet size: one-shot, so what matters is the CPU it burns in all
//! and how long it takes.

use crate::floor::Floor;
use crate::report::Outcome;
use crate::{BIN, Home, measure, pty};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `fleetwatch snapshot`: the CPU it used (as this process's reaped-children time) and wall.
pub fn run(
    config: &Path,
    log: &Path,
    dir: &Path,
    home: &Home,
    hosts: usize,
    floor: Option<Floor>,
) -> Outcome {
    let fail = |why: String| Outcome::SnapshotFailed { hosts, why };
    let (out, err) = (dir.join("snapshot.out"), dir.join("snapshot.err"));
    let files = std::fs::File::create(&out).and_then(|o| Ok((o, std::fs::File::create(&err)?)));
    let Ok((o, e)) = files else {
        return fail("cannot create its output files".into());
    };
    let before = measure::reaped_children_ticks();
    let t = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .arg("--log")
        .arg(log)
        .arg("snapshot");
    cmd.stdin(Stdio::null()).stdout(o).stderr(e);
    for (k, v) in home.env() {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot start: {e}")),
    };
    let limit = Duration::from_secs(30) + Duration::from_millis(100) * hosts as u32;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break pty::describe(s),
            Ok(None) if t.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return fail(format!(
                    "did not finish in {:.0} s; killed",
                    limit.as_secs_f64()
                ));
            }
            Err(e) => return fail(format!("wait: {e}")),
        }
    };
    let wall_s = t.elapsed().as_secs_f64();
    let (Some(a), Some(b)) = (before, measure::reaped_children_ticks()) else {
        return fail("cannot read /proc/self/stat".into());
    };
    let exit = if status == "exit 0" {
        status
    } else {
        let said = std::fs::read_to_string(&err).unwrap_or_default();
        format!("{status}: {}", said.lines().last().unwrap_or("").trim())
    };
    Outcome::Snapshot {
        hosts,
        cpu_s: b.saturating_sub(a) as f64 / measure::ticks_per_second(),
        wall_s,
        exit,
        floor,
    }
}
