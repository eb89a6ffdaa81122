//! Which VMs the table shows and in what order: the filter, the host choice and the sort.
//! Recomputed only when the fleet or one of those changes, not on every frame.

use fleetwatch_core::model::findings::Kind;
use fleetwatch_core::model::{Fleet, Vm};
use regex::{Regex, RegexBuilder};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    Name,
    Host,
    State,
    Vcpus,
    Cpu,
    Memory,
    DiskRead,
    DiskWrite,
    NetRx,
    NetTx,
    Ip,
    Flags,
}

impl SortKey {
    pub const ALL: [SortKey; 12] = [
        SortKey::Name,
        SortKey::Host,
        SortKey::State,
        SortKey::Vcpus,
        SortKey::Cpu,
        SortKey::Memory,
        SortKey::DiskRead,
        SortKey::DiskWrite,
        SortKey::NetRx,
        SortKey::NetTx,
        SortKey::Ip,
        SortKey::Flags,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Host => "host",
            SortKey::State => "state",
            SortKey::Vcpus => "vcpu",
            SortKey::Cpu => "cpu",
            SortKey::Memory => "mem",
            SortKey::DiskRead => "disk-r",
            SortKey::DiskWrite => "disk-w",
            SortKey::NetRx => "net-rx",
            SortKey::NetTx => "net-tx",
            SortKey::Ip => "ip",
            SortKey::Flags => "flags",
        }
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        let s = s.to_ascii_lowercase();
        SortKey::ALL
            .into_iter()
            .find(|k| k.name() == s || (s == "memory" && *k == SortKey::Memory))
    }

    pub fn step(self, forward: bool) -> SortKey {
        let i = SortKey::ALL.iter().position(|&k| k == self).unwrap_or(0);
        let n = SortKey::ALL.len();
        SortKey::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// Numbers read best largest first; names alphabetically.
    pub fn natural_descending(self) -> bool {
        !matches!(
            self,
            SortKey::Name | SortKey::Host | SortKey::State | SortKey::Ip | SortKey::Flags
        )
    }
}

/// A `~` filter that does not compile, with regex's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad regex: {0}")]
pub struct BadRegex(pub String);

/// A compiled `/` filter: plain text is a case-insensitive substring, `~text` a regex.
#[derive(Debug, Clone)]
pub enum Filter {
    All,
    Substring(String),
    Regex(Regex),
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, BadRegex> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Filter::All);
        }
        match t.strip_prefix('~') {
            Some(re) => RegexBuilder::new(re)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map(Filter::Regex)
                .map_err(|e| {
                    let text = e.to_string();
                    let last = text.lines().last().unwrap_or("");
                    // regex's last line reads "error: unclosed group": one "error" is enough.
                    BadRegex(last.trim_start_matches("error: ").to_owned())
                }),
            None => Ok(Filter::Substring(t.to_lowercase())),
        }
    }

    pub fn matches(&self, name: &str, host: &str, state: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Substring(s) => [name, host, state]
                .iter()
                .any(|f| f.to_lowercase().contains(s.as_str())),
            Filter::Regex(r) => [name, host, state].iter().any(|f| r.is_match(f)),
        }
    }
}

fn main_address(vm: &Vm) -> Option<std::net::IpAddr> {
    vm.guest.as_deref().and_then(|g| g.main_address())
}

impl Filter {
    /// A VM passes on its name, host or state, or on what its guest said: a whole address
    /// matches only that address (`10.1.2.3` is not `10.1.2.30`), other text any part of an
    /// address or the guest's hostname.
    pub fn matches_vm(&self, vm: &Vm, host: &str) -> bool {
        if self.matches(&vm.name, host, vm.state.label()) {
            return true;
        }
        let Some(g) = vm.guest.as_deref() else {
            return false;
        };
        match self {
            Filter::All => true,
            Filter::Substring(s) => match s.parse::<std::net::IpAddr>() {
                Ok(ip) => g.has_address(&ip),
                Err(_) => {
                    g.addresses
                        .iter()
                        .any(|a| a.ip.to_string().contains(s.as_str()))
                        || g.hostname
                            .as_ref()
                            .is_some_and(|h| h.to_lowercase().contains(s.as_str()))
                }
            },
            Filter::Regex(r) => {
                g.addresses.iter().any(|a| r.is_match(&a.ip.to_string()))
                    || g.hostname.as_ref().is_some_and(|h| r.is_match(h))
            }
        }
    }
}

fn cmp_opt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Ordering {
    // Unknown sorts below every known value.
    match (a, b) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

fn compare(rank: &[usize], a: &Vm, b: &Vm, key: SortKey) -> Ordering {
    match key {
        SortKey::Name => a.name.cmp(&b.name),
        SortKey::Host => rank[a.host].cmp(&rank[b.host]),
        SortKey::State => a.state.cmp(&b.state),
        SortKey::Vcpus => a.vcpus.cmp(&b.vcpus),
        SortKey::Cpu => cmp_opt(a.cpu_percent, b.cpu_percent),
        SortKey::Memory => a.memory_bytes.cmp(&b.memory_bytes),
        SortKey::DiskRead => cmp_opt(a.disk_read_bps, b.disk_read_bps),
        SortKey::DiskWrite => cmp_opt(a.disk_write_bps, b.disk_write_bps),
        SortKey::NetRx => cmp_opt(a.net_rx_bps, b.net_rx_bps),
        SortKey::NetTx => cmp_opt(a.net_tx_bps, b.net_tx_bps),
        SortKey::Ip => cmp_opt(main_address(a), main_address(b)),
        SortKey::Flags => a.flags.len().cmp(&b.flags.len()),
    }
}

/// A row: host index and the VM's position in that host's map. Valid for one fleet generation
/// only, which is all rows live for; cheaper than cloning 10,000 UUIDs on every poll.
pub type RowRef = (u32, u32);

/// The rows to show, in order; how many VMs in the whole fleet run (for the header, which
/// would otherwise walk the fleet on every frame); and where the followed VM ended up.
pub struct Rows {
    pub refs: Vec<RowRef>,
    pub running: usize,
    /// `running`, host by host: a later refresh replaces one host's count.
    pub running_by_host: Vec<usize>,
    pub followed: Option<usize>,
}

/// What the table is asked to show.
pub struct Query<'a> {
    pub filter: &'a Filter,
    pub host: Option<usize>,
    pub kind: Option<Kind>,
    pub key: SortKey,
    pub descending: bool,
    /// The VM whose new row number to report, to keep it selected.
    pub follow: Option<&'a str>,
}

/// Host names ranked, so sorting by host compares integers rather than strings.
pub fn host_ranks(f: &Fleet) -> Vec<usize> {
    let mut by_name: Vec<usize> = (0..f.hosts.len()).collect();
    by_name.sort_by(|&a, &b| f.hosts[a].name.cmp(&f.hosts[b].name));
    let mut rank = vec![0; f.hosts.len()];
    for (r, &h) in by_name.iter().enumerate() {
        rank[h] = r;
    }
    rank
}

/// The table's order: the key, then name, then UUID, then host (the two rows of a split
/// brain), so rows never jump between polls and every row has one place, which lets a row be
/// found by binary search.
pub fn order(rank: &[usize], a: &Vm, b: &Vm, q: &Query) -> Ordering {
    let o = compare(rank, a, b, q.key);
    let o = if q.descending { o.reverse() } else { o };
    o.then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.uuid.cmp(&b.uuid))
        .then_with(|| a.host.cmp(&b.host))
}

/// One host's rows that pass the query, pushed unordered; returns how many of the host's VMs
/// count as running fleet-wide.
pub fn host_rows<'f>(f: &'f Fleet, hi: usize, q: &Query, out: &mut Vec<(&'f Vm, RowRef)>) -> usize {
    let Some(h) = f.hosts.get(hi) else { return 0 };
    let mut running = 0;
    for (oi, vm) in h.vms.values().enumerate() {
        if !vm.primary {
            continue;
        }
        // A VM is counted once, even when a split brain shows two running rows of it.
        let counted = vm.state == fleetwatch_core::model::sample::VmState::Running
            && f.vm(&vm.uuid).is_some_and(|p| p.host == hi);
        running += usize::from(counted);
        if q.host.is_none_or(|x| x == hi)
            && q.kind.is_none_or(|k| vm.flags.contains(&k))
            && q.filter.matches_vm(vm, &h.name)
        {
            out.push((vm, (hi as u32, oi as u32)));
        }
    }
    running
}

/// Every row, sorted: the whole fleet's work, for when the query or the shown fleet changed.
pub fn compute(f: &Fleet, q: &Query) -> Rows {
    let rank = host_ranks(f);
    let mut vms: Vec<(&Vm, RowRef)> = Vec::with_capacity(f.vm_count());
    let running_by_host: Vec<usize> = (0..f.hosts.len())
        .map(|hi| host_rows(f, hi, q, &mut vms))
        .collect();
    vms.sort_unstable_by(|(a, _), (b, _)| order(&rank, a, b, q));
    let followed = q
        .follow
        .and_then(|u| vms.iter().position(|(vm, _)| vm.uuid == u));
    Rows {
        refs: vms.into_iter().map(|(_, r)| r).collect(),
        running: running_by_host.iter().sum(),
        running_by_host,
        followed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_kinds() {
        let f = Filter::parse("WEB").unwrap();
        assert!(f.matches("web-01", "hv1", "running"));
        assert!(!f.matches("db-01", "hv1", "running"));
        assert!(Filter::parse("paused").unwrap().matches("x", "h", "paused"));
        let r = Filter::parse("~^db-\\d+$").unwrap();
        assert!(r.matches("db-01", "h", "s") && !r.matches("xdb-01", "h", "s"));
        assert!(
            Filter::parse("~(")
                .unwrap_err()
                .to_string()
                .starts_with("bad regex")
        );
        assert!(Filter::parse("  ").unwrap().matches("", "", ""));
    }

    #[test]
    fn sort_keys_cycle_and_parse() {
        assert_eq!(SortKey::Name.step(false), SortKey::Flags);
        assert_eq!(SortKey::Flags.step(true), SortKey::Name);
        assert_eq!(SortKey::parse("CPU"), Some(SortKey::Cpu));
        assert_eq!(SortKey::parse("memory"), Some(SortKey::Memory));
        assert_eq!(SortKey::parse("bogus"), None);
    }
}
