//! A TUI as a client of the store (issue 14): one recorder writes the fleet into a real
//! PostgreSQL the bench starts, and the TUI (`[history] client = true`) shows it from there with
//! no libvirt connection. Measured as the direct TUI is, at the same size, so the two rows of
//! the table compare; the recorder's own CPU over the same time is printed beside.

use super::fleet_files;
use super::measure;
use super::report::Outcome;
use fleetwatch_testkit::postgres::Postgres;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The recorder, killed (and reaped) whatever happens to the bench.
struct Recorder(Child);

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn failed(label: &str, why: String) -> Vec<Outcome> {
    vec![Outcome::Failed {
        label: label.into(),
        why,
    }]
}

/// Whether one live recorder holds every host (`record --status --json`).
fn all_recorded(bin: &Path, cfg: &Path, home: &super::Home) -> bool {
    let mut c = Command::new(bin);
    for (k, v) in home.env() {
        c.env(k, v);
    }
    let out = c
        .arg("--config")
        .arg(cfg)
        .args(["record", "--status", "--json"])
        .output();
    let doc: serde_json::Value = out
        .ok()
        .and_then(|o| serde_json::from_slice(&o.stdout).ok())
        .unwrap_or_default();
    let live = doc["recorders"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r["live"] == true));
    live && doc["unrecorded"].as_array().is_some_and(Vec::is_empty)
}

pub fn run(
    bin: &Path,
    root: &Path,
    home: &super::Home,
    hosts: usize,
    window: Duration,
) -> Vec<Outcome> {
    let label = format!("{hosts}x20 client");
    let pg = match Postgres::start() {
        Ok(pg) => pg,
        Err(e) => return failed(&label, format!("no PostgreSQL: {e}")),
    };
    let url = match pg.create_db("client") {
        Ok(u) => u,
        Err(e) => return failed(&label, format!("no database: {e}")),
    };
    let dir = root.join(format!("client-{hosts}"));
    let history = dir.join("unused.db");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|_| fleet_files::write(&dir, hosts, &history))
        .and_then(|w| Ok((std::fs::read_to_string(&w.config)?, w)));
    let (text, _) = match written {
        Ok(t) => t,
        Err(e) => return failed(&label, format!("cannot write the fleet: {e}")),
    };
    let old = format!(
        "enabled = true\npath = {:?}\n",
        history.display().to_string()
    );
    if !text.contains(&old) {
        return failed(&label, "the bench config's [history] changed".into());
    }
    let (rec_cfg, client_cfg) = (dir.join("record.toml"), dir.join("client.toml"));
    let shared = |extra: &str| text.replace(&old, &format!("url = {url:?}\n{extra}"));
    let wrote = std::fs::write(&rec_cfg, shared(""))
        .and_then(|_| std::fs::write(&client_cfg, shared("client = true\n")));
    if let Err(e) = wrote {
        return failed(&label, format!("cannot write the configs: {e}"));
    }

    let mut c = Command::new(bin);
    for (k, v) in home.env() {
        c.env(k, v);
    }
    let log = std::fs::File::create(dir.join("record.err")).map_or(Stdio::null(), Stdio::from);
    let spawned = c
        .arg("--config")
        .arg(&rec_cfg)
        .arg("record")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn();
    let rec = match spawned {
        Ok(child) => Recorder(child),
        Err(e) => return failed(&label, format!("cannot start the recorder: {e}")),
    };
    let started = Instant::now();
    let limit = Duration::from_secs(60) + Duration::from_millis(60) * hosts as u32;
    while !all_recorded(bin, &rec_cfg, home) {
        if started.elapsed() > limit {
            return failed(
                &label,
                format!("the recorder took no hosts within {limit:?}"),
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!(
        "fleetwatch bench: a recorder holds all {hosts} hosts after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let pid = rec.0.id();
    let ticks0 = measure::cpu_ticks(pid);
    let t0 = Instant::now();
    let client_log = dir.join("client.log");
    let args = [
        std::ffi::OsStr::new("--config"),
        client_cfg.as_os_str(),
        std::ffi::OsStr::new("--log"),
        client_log.as_os_str(),
    ];
    let outcome = super::tui(&label, &args, home, hosts, window);
    if let (Some(a), Some(b)) = (ticks0, measure::cpu_ticks(pid)) {
        let secs = t0.elapsed().as_secs_f64();
        eprintln!(
            "fleetwatch bench: the recorder beside the client TUI: {:.1}% of a core over {secs:.0} s",
            b.saturating_sub(a) as f64 / measure::ticks_per_second() / secs * 100.0
        );
    }
    drop(rec);
    drop(pg);
    vec![outcome]
}
