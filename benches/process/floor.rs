//! The simulated hypervisors' share of the figures. libvirt's test driver runs inside the process
//! that opens it: parsing a host file at connect (every running domain's definition is parsed,
//! then copied by formatting and parsing it again) and answering each call are counted as
//! fleetwatch's CPU. A real hypervisor does that work on its own machine. So the benchmark
//! replays, alone in its own process and before fleetwatch starts, the libvirt calls a poll makes
//! of each host (the bulk stats call, then GetInfo and every NIC's counters for each running
//! domain, and every disk's on one poll in `SLOW_EVERY`), and reports what they cost. What
//! fleetwatch spends on its own is the whole figure less this floor.

use crate::measure;
use fleetwatch_libvirt::codes::state_of;
use fleetwatch_libvirt::ffi::{all_domain_stats, node_cpu_stats};
use fleetwatch_libvirt::libvirt::{FAST_GROUPS, SLOW_GROUPS};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use virt::connect::Connect;
use virt::domain::Domain;

/// `[poll] slow_stats_every`'s default: the disks' round trips come once in so many polls.
const SLOW_EVERY: usize = 5;
/// Replay at least this many rounds, and for at least `MIN_TIME`, so 10 ms clock ticks average.
const MIN_ROUNDS: usize = SLOW_EVERY;
const MIN_TIME: Duration = Duration::from_secs(3);

/// What the test driver costs with no fleetwatch around it.
#[derive(Clone, Copy)]
pub struct Floor {
    /// CPU seconds to open every host once.
    pub connect_s: f64,
    /// CPU seconds for one poll of every host, averaged over fast and slow polls.
    pub round_s: f64,
    /// Memory the open connections hold after polls (each keeps its own parsed copy of its
    /// host file): resident growth of this process, in KiB.
    pub rss_kib: u64,
}

impl Floor {
    /// The share of one core a poll every `interval` costs.
    pub fn pct_at(&self, interval: Duration) -> f64 {
        self.round_s / interval.as_secs_f64() * 100.0
    }
}

/// Device names of one domain, read once from its XML (not part of the replayed rounds: the
/// collector reads a domain's XML once and again only when it changes).
struct Devices {
    disks: Vec<String>,
    nics: Vec<String>,
}

fn devices(dom: &Domain) -> Devices {
    let xml = dom.xml_desc(0).unwrap_or_default();
    let doc = roxmltree::Document::parse(&xml);
    let targets = |kind: &str| -> Vec<String> {
        let Ok(doc) = &doc else { return Vec::new() };
        doc.descendants()
            .filter(|n| n.has_tag_name(kind))
            .filter_map(|n| n.children().find(|c| c.has_tag_name("target")))
            .filter_map(|t| t.attribute("dev").map(str::to_owned))
            .collect()
    };
    Devices {
        disks: targets("disk"),
        nics: targets("interface"),
    }
}

struct Host {
    conn: Connect,
    devices: std::collections::HashMap<String, Devices>,
}

fn cpu_s() -> f64 {
    measure::cpu_ticks(std::process::id()).unwrap_or(0) as f64 / measure::ticks_per_second()
}

/// One poll of one host: the calls `LibvirtSource::poll` makes of the test driver.
fn poll(h: &mut Host, slow: bool) -> Result<(), String> {
    let groups = if slow {
        FAST_GROUPS | SLOW_GROUPS
    } else {
        FAST_GROUPS
    };
    let records = all_domain_stats(&h.conn, groups, 0).map_err(|e| e.to_string())?;
    for rec in &records {
        let Some(dom) = &rec.dom else { continue };
        let Ok(info) = dom.info() else { continue };
        if !state_of(info.state).is_active() {
            continue;
        }
        let d = h
            .devices
            .entry(rec.uuid.clone())
            .or_insert_with(|| devices(dom));
        for nic in &d.nics {
            let _ = dom.interface_stats(nic);
        }
        if slow {
            for disk in &d.disks {
                let _ = dom.block_stats(disk);
            }
        }
    }
    node_cpu_stats(&h.conn, None).map_err(|e| e.to_string())?;
    Ok(())
}

/// Opens every host file read-only, replays polls of them all, and closes them.
pub fn measure(files: &[PathBuf]) -> Result<Floor, String> {
    // libvirt's default error printer would write into the benchmark's table.
    virt::error::clear_error_callback();
    let rss = || measure::status(std::process::id()).map_or(0, |s| s.rss_kib);
    let rss_before = rss();
    let before = cpu_s();
    let mut hosts = Vec::with_capacity(files.len());
    for f in files {
        let uri = format!("test://{}", f.display());
        let conn = Connect::open_read_only(Some(&uri)).map_err(|e| format!("{uri}: {e}"))?;
        hosts.push(Host {
            conn,
            devices: Default::default(),
        });
    }
    let connect_s = cpu_s() - before;
    // Device names first, outside the measured rounds.
    for h in &mut hosts {
        poll(h, false)?;
    }
    let (t, start) = (Instant::now(), cpu_s());
    let mut rounds = 0;
    while rounds < MIN_ROUNDS || t.elapsed() < MIN_TIME {
        for h in &mut hosts {
            poll(h, rounds % SLOW_EVERY == 0)?;
        }
        rounds += 1;
    }
    let round_s = (cpu_s() - start) / rounds as f64;
    let rss_kib = rss().saturating_sub(rss_before);
    // Connect's Drop closes each connection.
    drop(hosts);
    Ok(Floor {
        connect_s,
        round_s,
        rss_kib,
    })
}
