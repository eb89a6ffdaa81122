//! Each running guest's addresses, hostname and OS, asked about once a minute per domain, a few
//! domains a poll, after the poll's counters were read (so the asking never ages them) and
//! within a time budget of their own (so a far host's polls stay short). There is no bulk call
//! for any of it: a domain costs one round trip once the source that answers is known, up to
//! four while it is looked for.
//!
//! Sources, most trustworthy first: the guest agent (which libvirt only asks on a writable
//! connection), the DHCP leases of the domain's libvirt network, the host's ARP table.

use super::codes::unsupported;
use super::ffi::{self, ParamValue};
use super::known::Budget;
use super::meter::Meter;
use fleetwatch_core::model::guest::{AddressSource, GuestInfo, RawAddress, guest_text};
use fleetwatch_core::model::sample::DomainSample;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use virt::domain::Domain;
use virt_sys as sys;

/// Ask each running domain again after this.
pub const GUEST_REFRESH: Duration = Duration::from_secs(60);
/// A domain no source knew anything of is asked again after this.
const GUEST_RETRY: Duration = Duration::from_secs(300);
/// A poll asks at least this many domains...
const MIN_ASKS: usize = 2;
/// ...and enough that a newly connected host's every guest is asked within this many polls.
const SPREAD_POLLS: usize = 15;

fn raw_source(s: AddressSource) -> u32 {
    match s {
        AddressSource::Agent => sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
        AddressSource::Lease => sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
        AddressSource::Arp => sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
    }
}

#[derive(Debug, Default)]
struct Entry {
    info: Option<Arc<GuestInfo>>,
    asked_at: Option<Instant>,
    /// The source that answered last time, asked first next time.
    answered: Option<AddressSource>,
    running: bool,
}

#[derive(Debug)]
pub struct Guests {
    domains: HashMap<String, Entry>,
    /// Sources this connection may ask, in order; one the driver does not offer is dropped.
    sources: Vec<AddressSource>,
    /// The agent's guest info (OS, hostname) and the hostname call, while the driver offers them.
    guest_info_ok: bool,
    hostname_ok: bool,
}

impl Guests {
    /// On a read-only connection libvirt refuses the agent, its guest info and the hostname.
    pub fn new(writable: bool) -> Guests {
        let mut sources = vec![AddressSource::Lease, AddressSource::Arp];
        if writable {
            sources.insert(0, AddressSource::Agent);
        }
        Guests {
            domains: HashMap::new(),
            sources,
            guest_info_ok: writable,
            hostname_ok: writable,
        }
    }

    /// What this poll may spend, having spent `spent` already: a trickle (a quarter of the
    /// interval), or for one-shot commands every guest due; either way only what keeps the
    /// poll within three quarters of the interval, so the next poll's counters come a whole
    /// interval later (a rate over a few milliseconds says nothing). A far host's guests may
    /// stay unknown for it; with no time left, none is asked.
    pub fn budget(eager: bool, running: usize, interval: Duration, spent: Duration) -> Budget {
        let left = (interval * 3 / 4).saturating_sub(spent);
        if eager {
            return Budget {
                reads: usize::MAX,
                time: left,
            };
        }
        Budget {
            reads: running.div_ceil(SPREAD_POLLS).max(MIN_ASKS),
            time: (interval / 4).min(left),
        }
    }

    /// Takes in which domains run now (only those are asked: a paused guest's agent cannot
    /// answer, though its addresses stand) and which are active at all (a stopped one has no
    /// addresses), and forgets the gone ones. A domain that (re)started is asked again at once:
    /// a boot takes new leases.
    pub fn observe(
        &mut self,
        running: &HashSet<&str>,
        active: &HashSet<&str>,
        present: &HashSet<&str>,
    ) {
        self.domains.retain(|u, _| present.contains(u.as_str()));
        for (u, e) in &mut self.domains {
            let now_running = running.contains(u.as_str());
            if !active.contains(u.as_str()) {
                e.info = None;
                e.asked_at = None;
            }
            e.running = now_running;
        }
        for u in running {
            self.domains.entry((*u).to_owned()).or_insert(Entry {
                running: true,
                ..Entry::default()
            });
        }
    }

    /// Running domains due to be asked: never asked first, then the longest ago.
    pub fn due(&self, now: Instant) -> Vec<String> {
        let mut due: Vec<(&String, Option<Instant>)> = self
            .domains
            .iter()
            .filter(|(_, e)| e.running)
            .filter(|(_, e)| {
                let every = if e.info.is_some() {
                    GUEST_REFRESH
                } else {
                    GUEST_RETRY
                };
                e.asked_at
                    .is_none_or(|t| now.saturating_duration_since(t) >= every)
            })
            .map(|(u, e)| (u, e.asked_at))
            .collect();
        due.sort_by(|(a, ta), (b, tb)| (ta, a).cmp(&(tb, b)));
        due.into_iter().map(|(u, _)| u.clone()).collect()
    }

    /// Asks one domain: the source that answered last, then the others, until one gives an
    /// address; then the agent's hostname and OS, where it can be asked.
    pub fn ask(&mut self, uuid: &str, dom: &Domain, meter: &mut Meter) {
        let last = self.domains.get(uuid).and_then(|e| e.answered);
        let mut order = self.sources.clone();
        if let Some(l) = last.filter(|l| order.contains(l)) {
            order.retain(|s| *s != l);
            order.insert(0, l);
        }
        let mut info = GuestInfo::default();
        for src in order {
            match meter.rpc(|| ffi::interface_addresses(dom, raw_source(src))) {
                Ok(ifaces) => {
                    let raw = ifaces.iter().flat_map(|i| {
                        i.addresses.iter().map(|(a, p)| RawAddress {
                            interface: &i.name,
                            addr: a,
                            prefix: *p,
                        })
                    });
                    info = GuestInfo::from_raw(raw, src);
                    if !info.addresses.is_empty() {
                        break;
                    }
                }
                Err(e) if unsupported(&e) => self.sources.retain(|s| *s != src),
                // An agent that is not installed or not answering is this guest's matter.
                Err(e) => {
                    tracing::debug!(uuid, source = src.label(), "no addresses: {}", e.message())
                }
            }
        }
        self.agent_facts(dom, &mut info, meter);
        let e = self.domains.entry(uuid.to_owned()).or_default();
        e.answered = info.source;
        e.asked_at = Some(Instant::now());
        e.info = (!info.is_empty()).then(|| Arc::new(info));
    }

    fn agent_facts(&mut self, dom: &Domain, info: &mut GuestInfo, meter: &mut Meter) {
        if self.guest_info_ok {
            match meter.rpc(|| ffi::guest_info(dom)) {
                Ok(params) => read_guest_info(&params, info),
                Err(e) => self.guest_info_ok = !unsupported(&e),
            }
        }
        if info.hostname.is_none() && self.hostname_ok {
            match meter.rpc(|| dom.hostname(0)) {
                Ok(h) => info.hostname = guest_text(&h),
                Err(e) => self.hostname_ok = !unsupported(&e),
            }
        }
    }

    /// Puts what is known of the domain's guest into its sample.
    pub fn fill(&self, d: &mut DomainSample) {
        d.guest = self.domains.get(&d.uuid).and_then(|e| e.info.clone());
    }
}

/// The agent's `hostname` and `os.*` parameters: the pretty name when it gives one, else the
/// name and version.
pub fn read_guest_info(params: &[(String, ParamValue)], info: &mut GuestInfo) {
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.as_str())
            .and_then(guest_text)
    };
    if let Some(h) = get("hostname") {
        info.hostname = Some(h);
    }
    info.os = get("os.pretty-name").or_else(|| {
        let name = get("os.name")?;
        Some(match get("os.version") {
            Some(v) => guest_text(&format!("{name} {v}")).unwrap_or(name),
            None => name,
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(k: &str, v: &str) -> (String, ParamValue) {
        (k.into(), ParamValue::Str(v.into()))
    }

    #[test]
    fn the_agents_os_and_hostname_are_read_and_cleaned() {
        let mut g = GuestInfo::default();
        read_guest_info(
            &[
                s("hostname", "db\u{1b}[2J-01"),
                s("os.name", "Debian GNU/Linux"),
                s("os.version", "12"),
            ],
            &mut g,
        );
        assert_eq!(g.hostname.as_deref(), Some("db\u{FFFD}[2J-01"));
        assert_eq!(g.os.as_deref(), Some("Debian GNU/Linux 12"));
        read_guest_info(&[s("os.pretty-name", "Ubuntu 24.04 LTS")], &mut g);
        assert_eq!(g.os.as_deref(), Some("Ubuntu 24.04 LTS"));
        assert_eq!(
            g.hostname.as_deref(),
            Some("db\u{FFFD}[2J-01"),
            "kept when not given"
        );
    }

    #[test]
    fn new_and_restarted_domains_are_due_first_and_stopped_ones_never() {
        let mut g = Guests::new(false);
        let t0 = Instant::now();
        let all: HashSet<&str> = ["a", "b", "c"].into();
        g.observe(&["a", "b"].into(), &["a", "b"].into(), &all);
        assert_eq!(g.due(t0), ["a", "b"]);
        for u in ["a", "b"] {
            let e = g.domains.get_mut(u).unwrap();
            e.asked_at = Some(t0);
            e.info = Some(Arc::default());
        }
        assert!(g.due(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(g.due(t0 + GUEST_REFRESH), ["a", "b"]);
        // a pauses (its addresses stand, it is not asked), b stops (its addresses go), c
        // starts, then b starts again: b and c are due at once.
        g.observe(&["c"].into(), &["a", "c"].into(), &all);
        assert!(g.domains["b"].info.is_none() && g.domains["a"].info.is_some());
        assert_eq!(g.due(t0 + GUEST_REFRESH), ["c"]);
        g.observe(&["a", "b", "c"].into(), &all, &all);
        assert_eq!(g.due(t0 + Duration::from_secs(5)), ["b", "c"]);
        let one: HashSet<&str> = ["a"].into();
        g.observe(&one, &one, &one);
        assert_eq!(g.domains.len(), 1, "gone domains are forgotten");
    }

    #[test]
    fn a_trickle_asks_a_few_a_poll() {
        let two = Duration::from_secs(2);
        let none = Duration::ZERO;
        assert_eq!(Guests::budget(false, 20, two, none).reads, MIN_ASKS);
        assert_eq!(Guests::budget(false, 300, two, none).reads, 20);
        assert_eq!(
            Guests::budget(false, 20, two, none).time,
            Duration::from_millis(500)
        );
        assert_eq!(Guests::budget(true, 20, two, none).reads, usize::MAX);
        assert_eq!(
            Guests::budget(true, 20, two, none).time,
            Duration::from_millis(1500)
        );
        // A poll that spent most of its interval on XML leaves the guests what is left, or none.
        let late = Duration::from_millis(1200);
        assert_eq!(
            Guests::budget(false, 20, two, late).time,
            Duration::from_millis(300)
        );
        assert_eq!(Guests::budget(true, 20, two, two).time, Duration::ZERO);
    }

    #[test]
    fn the_test_driver_answers_with_addresses_and_a_hostname() {
        crate::libvirt_init();
        let conn = virt::connect::Connect::open(Some("test:///default")).unwrap();
        let dom = conn.lookup_domain_by_name("test").unwrap();
        let beat = crate::Heartbeat::new();
        let mut meter = Meter::new(&beat);
        let mut g = Guests::new(true);
        let u: HashSet<&str> = ["u"].into();
        g.observe(&u, &u, &u);
        g.ask("u", &dom, &mut meter);
        let info = g.domains["u"].info.clone().unwrap();
        assert_eq!(info.source, Some(AddressSource::Agent));
        assert_eq!(info.main_address().unwrap().to_string(), "192.168.122.3");
        assert_eq!(info.hostname.as_deref(), Some("testhost"));
        assert!(
            !g.guest_info_ok,
            "the test driver has no guest info: not asked again"
        );
        // A read-only connection never asks the agent, and the leases answer.
        let ro = virt::connect::Connect::open_read_only(Some("test:///default")).unwrap();
        let dom = ro.lookup_domain_by_name("test").unwrap();
        let mut g = Guests::new(false);
        g.observe(&u, &u, &u);
        g.ask("u", &dom, &mut meter);
        let info = g.domains["u"].info.clone().unwrap();
        assert_eq!(info.source, Some(AddressSource::Lease));
        assert_eq!(info.hostname, None);
    }
}
