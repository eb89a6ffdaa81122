//! The one table the benchmark prints: every figure beside its target from issue 13. Long
//! messages (why a run failed) go below it as numbered notes, so the columns stay readable.

use super::floor::Floor;
use super::measure::Status;

/// What a TUI run measured over its window.
pub struct Tui {
    pub label: String,
    pub hosts: usize,
    /// How long until the header said every host was up, or what it said at the timeout.
    pub settled: Result<f64, String>,
    pub secs: f64,
    pub cpu_pct: f64,
    pub groups: Vec<(String, usize, f64)>,
    pub draws: usize,
    pub unchanged: usize,
    pub median_draw: usize,
    pub bursts: usize,
    pub median_burst: usize,
    pub bytes: u64,
    pub end: Status,
    pub threads_max: u64,
    pub exit: String,
    pub bench_cpu_pct: f64,
    /// What the test driver costs alone at this fleet size (see `floor`).
    pub floor: Option<Floor>,
}

pub enum Outcome {
    Tui(Tui),
    /// The program did not start, died, or could not be measured.
    Failed {
        label: String,
        why: String,
    },
    Snapshot {
        hosts: usize,
        cpu_s: f64,
        wall_s: f64,
        exit: String,
        floor: Option<Floor>,
    },
    SnapshotFailed {
        hosts: usize,
        why: String,
    },
}

#[derive(Clone, Copy)]
pub enum Target {
    Below(f64),
    AtMost(f64),
    /// No fixed number: today's figure is what the after must not be worse than.
    Baseline,
    None,
}

pub struct Table {
    rows: Vec<[String; 5]>,
    notes: Vec<String>,
}

/// Longer cells than this become a note.
/// The poll interval `fleet_files` writes into every fleet's config.
const INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
const CELL: usize = 36;
/// Thread groups shown one by one; the rest are summed.
const GROUPS: usize = 4;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Table {
    pub fn new() -> Table {
        Table {
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn add(
        &mut self,
        fleet: &str,
        figure: &str,
        shown: String,
        value: f64,
        target: Target,
        unit: &str,
    ) {
        let (t, verdict) = match target {
            Target::Below(x) => (
                format!("< {x}{unit}"),
                if value < x { "ok" } else { "OVER TARGET" },
            ),
            Target::AtMost(x) => (
                format!("<= {x}{unit}"),
                if value <= x { "ok" } else { "OVER TARGET" },
            ),
            Target::Baseline => ("no worse than before".into(), "baseline"),
            Target::None => ("-".into(), "-"),
        };
        self.rows
            .push([fleet.into(), figure.into(), shown, t, verdict.into()]);
    }

    fn note(&mut self, fleet: &str, figure: &str, shown: String) {
        self.add(fleet, figure, shown, 0.0, Target::None, "");
    }

    /// A figure that is not a number: the thing did not happen as it should.
    fn fail(&mut self, fleet: &str, figure: &str, why: &str, target: &str, verdict: &str) {
        let shown = if why.chars().count() <= CELL {
            why.to_owned()
        } else {
            self.notes.push(why.to_owned());
            let head: String = why.chars().take(CELL - 10).collect();
            format!("{head}... [{}]", self.notes.len())
        };
        self.rows.push([
            fleet.into(),
            figure.into(),
            shown,
            target.into(),
            verdict.into(),
        ]);
    }

    pub fn push(&mut self, o: &Outcome) {
        match o {
            Outcome::Tui(t) => self.tui(t),
            Outcome::Failed { label, why } => {
                self.fail(label, "TUI starts and runs", why, "runs", "FAILED")
            }
            Outcome::Snapshot {
                hosts,
                cpu_s,
                wall_s,
                exit,
                floor,
            } => {
                let fleet = format!("snapshot {hosts}x20");
                let target = if *hosts == 500 {
                    Target::Below(2.0)
                } else {
                    Target::None
                };
                self.add(
                    &fleet,
                    "CPU, user+sys",
                    format!("{cpu_s:.2} s"),
                    *cpu_s,
                    target,
                    " s",
                );
                if let Some(fl) = floor {
                    // snapshot opens every host once and polls them twice.
                    let driver = fl.connect_s + 2.0 * fl.round_s;
                    self.note(
                        &fleet,
                        "  of which the test driver alone",
                        format!("{driver:.2} s"),
                    );
                    self.add(
                        &fleet,
                        "  fleetwatch's own (the rest)",
                        format!("{:.2} s", cpu_s - driver),
                        cpu_s - driver,
                        target,
                        " s",
                    );
                }
                self.note(
                    &fleet,
                    "wall time (two polls, one interval apart)",
                    format!("{wall_s:.2} s"),
                );
                if exit != "exit 0" {
                    self.fail(&fleet, "exit", exit, "exit 0", "FAILED");
                }
            }
            Outcome::SnapshotFailed { hosts, why } => {
                self.fail(
                    &format!("snapshot {hosts}x20"),
                    "runs",
                    why,
                    "runs",
                    "FAILED",
                );
            }
        }
    }

    fn tui(&mut self, t: &Tui) {
        let f = t.label.as_str();
        match &t.settled {
            Ok(s) => self.note(f, "every host up after", format!("{s:.1} s")),
            Err(why) => self.fail(f, "every host up", why, "all up", "NOT SETTLED"),
        }
        let cpu_target = match t.hosts {
            500 => Target::Below(5.0),
            2500 => Target::Below(15.0),
            _ => Target::None,
        };
        self.add(
            f,
            "idle CPU, % of one core",
            format!("{:.1}%", t.cpu_pct),
            t.cpu_pct,
            cpu_target,
            "%",
        );
        if let Some(fl) = &t.floor {
            let driver = fl.pct_at(INTERVAL);
            self.note(
                f,
                "  of which the test driver alone",
                format!("{driver:.1}%"),
            );
            let own = t.cpu_pct - driver;
            self.add(
                f,
                "  fleetwatch's own (the rest)",
                format!("{own:.1}%"),
                own,
                cpu_target,
                "%",
            );
        }
        for (name, n, pct) in t.groups.iter().take(GROUPS) {
            let who = if *n > 1 {
                format!("  {name} ({n} threads)")
            } else {
                format!("  {name}")
            };
            self.note(f, &who, format!("{pct:.1}%"));
        }
        let rest = &t.groups[GROUPS.min(t.groups.len())..];
        if !rest.is_empty() {
            let n: usize = rest.iter().map(|g| g.1).sum();
            let pct: f64 = rest.iter().map(|g| g.2).sum();
            self.note(
                f,
                &format!("  {n} more threads in {} groups", rest.len()),
                format!("{pct:.1}%"),
            );
        }
        let per_s = |n: usize| n as f64 / t.secs;
        let (draws, empty) = (per_s(t.draws), per_s(t.unchanged));
        self.add(
            f,
            "draws/s (frames written)",
            format!("{draws:.1}"),
            draws,
            Target::AtMost(10.0),
            "",
        );
        self.add(
            f,
            "draws/s that changed nothing visible",
            format!("{empty:.1}"),
            empty,
            Target::AtMost(0.0),
            "",
        );
        self.note(f, "median draw", format!("{} B", t.median_draw));
        self.note(
            f,
            "output bursts/s (>= 5 ms apart)",
            format!("{:.1}", per_s(t.bursts)),
        );
        self.note(f, "median burst", format!("{} B", t.median_burst));
        let bps = t.bytes as f64 / t.secs;
        // The bytes/s figure is the demo's; for the fleets, today's is the baseline.
        let bps_target = if t.label == "demo" {
            Target::AtMost(177.0)
        } else {
            Target::Baseline
        };
        self.add(
            f,
            "bytes/s at 200x50",
            format!("{bps:.0} B/s"),
            bps,
            bps_target,
            " B/s",
        );
        let mem_target = || {
            if t.hosts == 500 {
                Target::Below(150.0)
            } else {
                Target::None
            }
        };
        let (rss, hwm) = (mib(t.end.rss_kib), mib(t.end.hwm_kib));
        self.add(
            f,
            "RSS at end (VmRSS)",
            format!("{rss:.0} MiB"),
            rss,
            mem_target(),
            " MiB",
        );
        if let Some(fl) = &t.floor {
            let driver = mib(fl.rss_kib);
            self.note(
                f,
                "  of which the test driver's connections",
                format!("{driver:.0} MiB"),
            );
            self.add(
                f,
                "  fleetwatch's own (the rest)",
                format!("{:.0} MiB", rss - driver),
                rss - driver,
                mem_target(),
                " MiB",
            );
        }
        self.add(
            f,
            "peak RSS (VmHWM)",
            format!("{hwm:.0} MiB"),
            hwm,
            mem_target(),
            " MiB",
        );
        let threads = t.threads_max as f64;
        self.add(
            f,
            "threads, max seen",
            t.threads_max.to_string(),
            threads,
            Target::AtMost(64.0),
            "",
        );
        if t.exit == "exit 0" {
            self.note(f, "quit with q", t.exit.clone());
        } else {
            self.fail(f, "quit with q", &t.exit, "exit 0", "FAILED");
        }
        self.note(
            f,
            "the benchmark's own CPU (pty reader, screen)",
            format!("{:.1}%", t.bench_cpu_pct),
        );
    }

    pub fn print(&self) {
        let head = ["fleet", "figure", "measured", "target", "verdict"];
        let mut w = head.map(str::len);
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |r: [&str; 5]| {
            let s = format!(
                "{:<a$}  {:<b$}  {:>c$}  {:<d$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                a = w[0],
                b = w[1],
                c = w[2],
                d = w[3]
            );
            println!("{}", s.trim_end());
        };
        line(head);
        let mut last = "";
        for r in &self.rows {
            if r[0] != last && !last.is_empty() {
                println!();
            }
            last = &r[0];
            line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
        }
        for (i, n) in self.notes.iter().enumerate() {
            println!("[{}] {n}", i + 1);
        }
    }
}
