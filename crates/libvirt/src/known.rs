//! What a source remembers about each domain between polls: its config (XML and snapshots) and
//! the last live values a poll measured. XML is re-read for changes (events, actions, a state or
//! vCPU change), for new domains and, in a trickle, to catch edits made behind our back, all
//! within a per-poll budget: a reconnect never re-reads every domain at once. Until a domain's
//! XML is read its config is `None`, which the rules take as "unknown".

use super::domxml;
use super::error::LibvirtError;
use super::meter::Meter;
use super::snapshots::SnapshotCache;
use fleetwatch_core::model::sample::{DiskSource, DomainConfig, DomainSample, VmState};
use fleetwatch_core::sanitize::clean;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use virt::connect::Connect;
use virt::domain::Domain;

/// Re-read every domain's XML at least this often, to catch changes made behind our back.
pub const XML_REFRESH: Duration = Duration::from_secs(60);
/// A domain whose XML could not be read is tried again after this, behind the others.
const XML_RETRY: Duration = Duration::from_secs(10);
/// A trickle reads at least this many domains a poll...
const MIN_READS: usize = 8;
/// ...and enough that every domain is read within this many polls, however many there are.
const SPREAD_POLLS: usize = 8;

/// How XML reads are spread over polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// A few reads a poll, in at most half the poll interval: long-running sessions, whose
    /// polls must stay shorter than the interval however far the host is. (A quarter allowed
    /// one read a poll at 200 ms RTT, each read being two round trips: a far host's VMs were
    /// unjudged for a poll each, the twentieth for 40 s.)
    Trickle,
    /// Every due read in the poll: one-shot commands (snapshot, check), which connect once and
    /// report the whole picture.
    Eager,
}

/// What one poll may spend on XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub reads: usize,
    pub time: Duration,
}

pub fn budget(pace: Pace, domains: usize, interval: Duration) -> Budget {
    match pace {
        Pace::Eager => Budget {
            reads: usize::MAX,
            time: Duration::MAX,
        },
        Pace::Trickle => Budget {
            reads: domains.div_ceil(SPREAD_POLLS).max(MIN_READS),
            time: interval / 2,
        },
    }
}

impl Budget {
    /// Whether another read fits after `done` reads that took `spent`. The first always does,
    /// so a host whose every read takes longer than the budget still gets read; after it,
    /// another if one more read of the average length still fits the time.
    pub fn allows(&self, done: usize, spent: Duration) -> bool {
        if done == 0 {
            return true;
        }
        if done >= self.reads {
            return false;
        }
        let avg = spent / u32::try_from(done).unwrap_or(u32::MAX);
        spent.saturating_add(avg) <= self.time
    }
}

/// Live values a poll measured (GetInfo, balloon or vCPU groups), kept for the polls that do
/// not measure them: a bulk-CPU poll reads memory only with the balloon group, on slow polls.
#[derive(Debug, Default, Clone, Copy)]
struct Live {
    vcpus: Option<u32>,
    memory: Option<u64>,
    max_memory: Option<u64>,
}

#[derive(Debug, Default)]
struct Entry {
    config: Option<Arc<DomainConfig>>,
    snapshots: SnapshotCache,
    /// The last read, or failed attempt.
    read_at: Option<Instant>,
    /// An event, an action, or a state or vCPU change since the last read.
    dirty: bool,
    state: Option<VmState>,
    live: Live,
}

#[derive(Debug, Default)]
pub struct Known {
    domains: HashMap<String, Entry>,
    /// Storage pool types, asked once per connection.
    pools: HashMap<String, Option<String>>,
}

impl Known {
    /// Takes in one domain's measured values: remembers them, and marks the XML for reading
    /// when the state or the vCPU count changed.
    pub fn observe(&mut self, d: &DomainSample) {
        let k = self.domains.entry(d.uuid.clone()).or_default();
        let vcpus_changed = d.vcpus.is_some() && k.live.vcpus.is_some() && d.vcpus != k.live.vcpus;
        if (k.state.is_some() && d.state != k.state) || vcpus_changed {
            k.dirty = true;
        }
        k.state = d.state;
        let l = &mut k.live;
        l.vcpus = d.vcpus.or(l.vcpus);
        l.memory = d.memory_bytes.or(l.memory);
        l.max_memory = d.max_memory_bytes.or(l.max_memory);
    }

    /// An event or an action named this domain.
    pub fn mark(&mut self, uuid: &str) {
        if let Some(k) = self.domains.get_mut(uuid) {
            k.dirty = true;
        }
    }

    /// Fills what this poll did not measure from earlier polls, then from the config.
    pub fn fill(&self, d: &mut DomainSample) {
        let Some(k) = self.domains.get(&d.uuid) else {
            return;
        };
        let cfg = k.config.as_deref();
        if d.state.is_some_and(VmState::is_active) {
            d.vcpus = d.vcpus.or(k.live.vcpus);
            d.memory_bytes = d.memory_bytes.or(k.live.memory);
            d.max_memory_bytes = d.max_memory_bytes.or(k.live.max_memory);
        }
        d.vcpus = d.vcpus.or(cfg.map(|c| c.vcpus));
        d.memory_bytes = d.memory_bytes.or(cfg.map(|c| c.memory_bytes));
        d.max_memory_bytes = d.max_memory_bytes.or(cfg.map(|c| c.max_memory_bytes));
        d.config.clone_from(&k.config);
    }

    pub fn config(&self, uuid: &str) -> Option<Arc<DomainConfig>> {
        self.domains.get(uuid).and_then(|k| k.config.clone())
    }

    /// Domains whose XML is due, the most urgent first: changed ones, then never tried, then
    /// by the age of the last read.
    pub fn due(&self, now: Instant) -> Vec<String> {
        let mut due: Vec<(&String, &Entry)> = self
            .domains
            .iter()
            .filter(|(_, k)| {
                let every = if k.config.is_some() {
                    XML_REFRESH
                } else {
                    XML_RETRY
                };
                k.dirty
                    || k.read_at
                        .is_none_or(|t| now.saturating_duration_since(t) >= every)
            })
            .collect();
        due.sort_by(|(a, ka), (b, kb)| {
            (!ka.dirty, ka.read_at, a.as_str()).cmp(&(!kb.dirty, kb.read_at, b.as_str()))
        });
        due.into_iter().map(|(u, _)| u.clone()).collect()
    }

    /// Domains whose XML has not been read on this connection.
    pub fn pending(&self) -> usize {
        self.domains.values().filter(|k| k.config.is_none()).count()
    }

    /// Forgets domains that are gone.
    pub fn retain(&mut self, present: &std::collections::HashSet<&str>) {
        self.domains.retain(|u, _| present.contains(u.as_str()));
    }

    /// Reads one domain's XML and snapshot list.
    pub fn read(&mut self, uuid: &str, dom: &Domain, conn: &Connect, meter: &mut Meter) {
        let now = Instant::now();
        let xml = match meter.rpc(|| dom.xml_desc(0)) {
            Ok(x) => x,
            Err(e) => {
                let e = LibvirtError::new("virDomainGetXMLDesc", &e);
                return self.unread(uuid, now, &e);
            }
        };
        let mut cfg = match domxml::parse(&xml) {
            Ok(c) => c,
            Err(e) => return self.unread(uuid, now, &e),
        };
        for disk in &mut cfg.disks {
            if let DiskSource::Volume { pool, pool_type } = &mut disk.source {
                *pool_type = self.pool_type(conn, pool, meter);
            }
        }
        let k = self.domains.entry(uuid.to_owned()).or_default();
        // A list that cannot be read keeps what the last one said.
        match k.snapshots.list(dom, meter) {
            Some(list) => {
                cfg.newest_snapshot = super::snapshots::newest(&list);
                cfg.snapshots = list;
            }
            None => {
                if let Some(c) = &k.config {
                    cfg.newest_snapshot.clone_from(&c.newest_snapshot);
                    cfg.snapshots.clone_from(&c.snapshots);
                }
            }
        }
        k.config = Some(Arc::new(cfg));
        k.read_at = Some(now);
        k.dirty = false;
    }

    /// A read that failed counts as an attempt: the domain waits its turn to be tried again.
    fn unread(&mut self, uuid: &str, now: Instant, e: &dyn std::fmt::Display) {
        tracing::warn!(uuid, "domain XML not read: {e}");
        if let Some(k) = self.domains.get_mut(uuid) {
            k.read_at = Some(now);
            k.dirty = false;
        }
    }

    fn pool_type(&mut self, conn: &Connect, pool: &str, meter: &mut Meter) -> Option<String> {
        if let Some(t) = self.pools.get(pool) {
            return t.clone();
        }
        let t = meter
            .rpc(|| conn.lookup_storage_pool_by_name(pool))
            .ok()
            .and_then(|p| meter.rpc(|| p.xml_desc(0)).ok())
            .and_then(|x| {
                roxmltree::Document::parse(&x)
                    .ok()
                    .and_then(|d| d.root_element().attribute("type").map(clean))
            });
        self.pools.insert(pool.to_owned(), t.clone());
        t
    }

    #[cfg(test)]
    fn set_read(&mut self, uuid: &str, at: Instant) {
        let k = self.domains.entry(uuid.to_owned()).or_default();
        k.config = Some(Arc::default());
        k.read_at = Some(at);
        k.dirty = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_trickle_reads_a_few_a_poll_and_everything_within_a_few_polls() {
        let two = Duration::from_secs(2);
        assert_eq!(budget(Pace::Trickle, 20, two).reads, MIN_READS);
        assert_eq!(budget(Pace::Trickle, 1000, two).reads, 125);
        assert_eq!(budget(Pace::Trickle, 20, two).time, 1000 * MS);
        assert_eq!(budget(Pace::Trickle, 20, 8 * two).time, 8000 * MS);
        let eager = budget(Pace::Eager, 20, two);
        assert!(eager.allows(1000, Duration::from_secs(3600)));
    }

    #[test]
    fn the_budget_stops_on_count_or_time_but_never_before_the_first_read() {
        let b = budget(Pace::Trickle, 20, Duration::from_secs(2));
        // Near: 0.4 ms a read, stopped by the count.
        assert!(b.allows(7, 7 * 400 * Duration::from_micros(1)));
        assert!(!b.allows(8, 8 * 400 * Duration::from_micros(1)));
        // 200 ms away, XML and snapshot list 400 ms: two reads a poll in 1 s, not a third.
        assert!(b.allows(0, Duration::ZERO));
        assert!(b.allows(1, 400 * MS));
        assert!(!b.allows(2, 800 * MS));
        // 100 ms away: 200 ms a read, five fit in 1 s, the sixth would not.
        assert!(b.allows(4, 800 * MS));
        assert!(!b.allows(5, 1000 * MS));
        // A read slower than the whole budget still happens, alone.
        assert!(b.allows(0, Duration::ZERO) && !b.allows(1, 3 * b.time));
    }

    fn sample(uuid: &str, state: VmState, vcpus: Option<u32>) -> DomainSample {
        DomainSample {
            uuid: uuid.into(),
            state: Some(state),
            vcpus,
            ..DomainSample::default()
        }
    }

    #[test]
    fn changed_domains_come_first_then_new_ones_then_the_oldest_reads() {
        let t0 = Instant::now();
        let later = t0 + XML_REFRESH + Duration::from_secs(5);
        let mut k = Known::default();
        for u in ["a", "b", "c", "d", "e"] {
            k.observe(&sample(u, VmState::Running, Some(2)));
        }
        assert_eq!(k.pending(), 5);
        assert_eq!(k.due(t0), ["a", "b", "c", "d", "e"]);
        k.set_read("a", t0 + Duration::from_secs(2));
        k.set_read("b", t0 + Duration::from_secs(1));
        k.set_read("c", t0 + Duration::from_secs(3));
        assert_eq!(k.pending(), 2);
        assert_eq!(k.due(t0 + Duration::from_secs(4)), ["d", "e"]);
        // c shut off, a got a vCPU, e was named by an event; b and d nothing.
        k.observe(&sample("c", VmState::Shutoff, None));
        k.observe(&sample("a", VmState::Running, Some(3)));
        k.observe(&sample("b", VmState::Running, Some(2)));
        k.mark("e");
        assert_eq!(k.due(later), ["e", "a", "c", "d", "b"]);
        assert_eq!(k.due(t0 + Duration::from_secs(4)), ["e", "a", "c", "d"]);
    }

    #[test]
    fn unmeasured_values_come_from_earlier_polls_then_the_config() {
        let mut k = Known::default();
        let mut first = sample("a", VmState::Running, Some(4));
        first.memory_bytes = Some(1 << 30);
        k.observe(&first);
        let mut d = sample("a", VmState::Running, None);
        k.observe(&d);
        k.fill(&mut d);
        assert_eq!(
            (d.vcpus, d.memory_bytes, d.max_memory_bytes),
            (Some(4), Some(1 << 30), None)
        );
        assert!(d.config.is_none(), "not read yet stays unknown");
        k.set_read("a", Instant::now());
        let mut d = sample("a", VmState::Running, None);
        k.fill(&mut d);
        assert_eq!(d.max_memory_bytes, Some(0), "from the (empty) config");
        assert!(d.config.is_some());
        let gone = std::collections::HashSet::new();
        k.retain(&gone);
        assert_eq!(k.pending(), 0);
        assert!(k.due(Instant::now()).is_empty());
    }
}
