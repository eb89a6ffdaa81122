//! What 30 days of recording 1,000 VMs on 20 hosts leave in a history store, row by row, the
//! same on every run: raw samples every 10 s for the last hour, then the configured rollups,
//! and about three changes a VM a day (mostly stops and starts, a migration every few days).
//! The store benchmarks of both backends fill from it, so their figures compare.

pub const VMS: i64 = 1_000;
pub const HOSTS: i64 = 20;
pub const DAY: i64 = 86_400_000;

/// A small deterministic generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn draw(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: i64) -> i64 {
        (self.draw() % n as u64) as i64
    }
}

/// One row for the store; ids are the generator's, from 1.
pub enum Row<'a> {
    Host {
        id: i64,
        name: &'a str,
        uri: &'a str,
    },
    Vm {
        id: i64,
        uuid: &'a str,
        name: &'a str,
    },
    /// A VM's statistics point: (level, at, n, cpu, cpu_max); mem 2e9, disk 5e5, net 1e5.
    Stat {
        vm: i64,
        level: i64,
        at: i64,
        n: i64,
        cpu: f64,
    },
    /// A migration has `moved`: (from, to, when it started, 3 s before `at`).
    Event {
        at: i64,
        kind: &'a str,
        vm: i64,
        host: i64,
        moved: Option<(i64, i64, i64)>,
    },
    Placement {
        vm: i64,
        host: i64,
        state: &'a str,
        since: i64,
        until: Option<i64>,
    },
}

/// (level, step, span): raw 10 s for 1 h, 5 min for 1 day, 30 min for 1 week, 2 h and 1 day
/// for 30 days.
const LEVELS: [(i64, i64, i64); 5] = [
    (0, 10_000, 3_600_000),
    (1, 300_000, DAY),
    (2, 1_800_000, 7 * DAY),
    (3, 7_200_000, 30 * DAY),
    (4, DAY, 30 * DAY),
];

/// Every row of the month ending at `now`, in an order a store can insert them (hosts and VMs
/// before what names them).
pub fn generate(now: i64, mut row: impl FnMut(Row)) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = now - 30 * DAY;
    for h in 1..=HOSTS {
        let (name, uri) = (format!("hv-{h:02}"), format!("qemu+tcp://hv-{h:02}/system"));
        row(Row::Host {
            id: h,
            name: &name,
            uri: &uri,
        });
    }
    for vm in 1..=VMS {
        for (level, step, span) in LEVELS {
            let mut t = now - span;
            t -= t % step;
            while t < now {
                let cpu = (rng.below(1000) as f64) / 10.0;
                row(Row::Stat {
                    vm,
                    level,
                    at: t,
                    n: step / 10_000,
                    cpu,
                });
                t += step;
            }
        }
    }
    for vm in 1..=VMS {
        let (uuid, name) = (
            format!("{vm:08}-0000-4000-8000-000000000000"),
            format!("vm-{vm:04}"),
        );
        row(Row::Vm {
            id: vm,
            uuid: &uuid,
            name: &name,
        });
        let mut host = 1 + vm % HOSTS;
        let mut state = "running";
        let mut since = start;
        let mut t = start + rng.below(DAY / 3);
        while t < now {
            let kind;
            let mut from = None;
            if rng.below(10) == 0 {
                from = Some(host);
                host = 1 + rng.below(HOSTS);
                kind = "migrated";
            } else {
                state = if state == "running" {
                    "shutoff"
                } else {
                    "running"
                };
                kind = if state == "running" {
                    "started"
                } else {
                    "stopped"
                };
            }
            row(Row::Placement {
                vm,
                host: from.unwrap_or(host),
                state: if kind == "started" {
                    "shutoff"
                } else {
                    "running"
                },
                since,
                until: Some(t),
            });
            row(Row::Event {
                at: t,
                kind,
                vm,
                host,
                moved: from.map(|f| (f, host, t - 3_000)),
            });
            since = t;
            t += 1 + rng.below(DAY * 2 / 3);
        }
        row(Row::Placement {
            vm,
            host,
            state,
            since,
            until: None,
        });
    }
}

/// The queries of an incident on a store filled with the month: `at` a random moment (30
/// times) and the last 30 days of migrations (10 times), each printed with its median and
/// maximum beside issue 13's target (100 ms).
pub fn incident_queries(r: &dyn fleetwatch_core::history::store::HistoryRead, now: i64) {
    use fleetwatch_core::history::query::EventQuery;
    use std::time::{Duration, Instant};
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut rng = Rng(7);
    let mut at_times = Vec::new();
    for _ in 0..30 {
        let moment = now - rng.below(30 * DAY);
        let t = Instant::now();
        let past = r.at(moment).expect("at");
        at_times.push(t.elapsed());
        assert!(past.vms.len() > VMS as usize / 2, "{}", past.vms.len());
    }
    at_times.sort();
    println!(
        "{:<52} median {:>7.1} ms  max {:>7.1} ms (target < 100 ms)",
        "at: the fleet at a random moment of 30 days",
        ms(at_times[15]),
        ms(at_times[29])
    );
    let mut mig = Vec::new();
    let mut n = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let ev = r
            .events(&EventQuery {
                kinds: vec!["migrated".into()],
                since_ms: Some(now - 30 * DAY),
                limit: 100_000,
                ..EventQuery::default()
            })
            .expect("events");
        mig.push(t.elapsed());
        n = ev.len();
    }
    mig.sort();
    println!(
        "{:<52} median {:>7.1} ms  max {:>7.1} ms (target < 100 ms; {n} migrations)",
        "migration history of the last 30 days",
        ms(mig[5]),
        ms(mig[9])
    );
}
