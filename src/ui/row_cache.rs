//! The table's rows kept in order as hosts report. At fleet scale hundreds of hosts report each
//! second, each touching its own twenty rows: re-filtering and re-sorting 50,000 rows for each
//! report was most of the UI's time. Only the rows of hosts that changed are taken out, sorted
//! and put back in place by binary search; the whole sort runs when the query or the shown fleet
//! changed, or when most hosts changed at once.

use super::rows::{self, Query, RowRef, Rows};
use fleetwatch_core::model::{Fleet, Vm};
use std::cmp::Ordering;
use std::ops::Bound;

#[derive(Debug, Clone, Default)]
pub struct RowCache {
    pub refs: Vec<RowRef>,
    rank: Vec<usize>,
    /// Each host's `changed` as of the rows held.
    seen: Vec<u64>,
    /// Each host's VMs counted as running fleet-wide.
    running: Vec<usize>,
}

/// What a refresh did, for the selection.
pub struct Refreshed {
    /// Where the followed VM is now (`None`: not shown, or nothing was asked).
    pub followed: Option<usize>,
    /// Whether any row changed.
    pub changed: bool,
}

impl RowCache {
    /// VMs running fleet-wide.
    pub fn running(&self) -> usize {
        self.running.iter().sum()
    }

    /// All rows again, from nothing.
    pub fn rebuild(&mut self, f: &Fleet, q: &Query) -> Refreshed {
        let Rows {
            refs,
            followed,
            running_by_host,
            ..
        } = rows::compute(f, q);
        self.refs = refs;
        self.rank = rows::host_ranks(f);
        self.seen = f.hosts.iter().map(|h| h.changed).collect();
        // Counted per host, so a host's next report replaces only its own count.
        self.running = running_by_host;
        Refreshed {
            followed,
            changed: true,
        }
    }

    /// Brings the rows up to date with the hosts that changed since the last refresh, for the
    /// same query over the same fleet.
    pub fn update(&mut self, f: &Fleet, q: &Query) -> Refreshed {
        if self.seen.len() != f.hosts.len() {
            return self.rebuild(f, q);
        }
        let dirty: Vec<bool> = f
            .hosts
            .iter()
            .zip(&self.seen)
            .map(|(h, &seen)| h.changed != seen)
            .collect();
        let n = dirty.iter().filter(|&&d| d).count();
        if n == 0 {
            return Refreshed {
                followed: None,
                changed: false,
            };
        }
        // Past a quarter of the hosts, one sort of everything is cheaper than many insertions.
        if n * 4 > f.hosts.len() {
            return self.rebuild(f, q);
        }
        self.refs.retain(|&(h, _)| !dirty[h as usize]);
        let mut fresh: Vec<(&Vm, RowRef)> = Vec::new();
        for (hi, _) in dirty.iter().enumerate().filter(|(_, d)| **d) {
            self.running[hi] = rows::host_rows(f, hi, q, &mut fresh);
            self.seen[hi] = f.hosts[hi].changed;
        }
        fresh.sort_unstable_by(|(a, _), (b, _)| rows::order(&self.rank, a, b, q));
        self.insert(f, q, &fresh);
        Refreshed {
            followed: q.follow.and_then(|u| self.position_of(f, q, u)),
            changed: true,
        }
    }

    /// Puts sorted new rows into the sorted rows held, each where the order says.
    fn insert(&mut self, f: &Fleet, q: &Query, fresh: &[(&Vm, RowRef)]) {
        let old = std::mem::take(&mut self.refs);
        let mut out = Vec::with_capacity(old.len() + fresh.len());
        let mut from = 0;
        for &(vm, r) in fresh {
            // Rows of the old list that sort before this one; the rest of `old` after `from`
            // is still sorted, so the search starts there.
            let at = from + old[from..].partition_point(|&o| self.before(f, q, o, vm));
            out.extend_from_slice(&old[from..at]);
            out.push(r);
            from = at;
        }
        out.extend_from_slice(&old[from..]);
        self.refs = out;
    }

    fn before(&self, f: &Fleet, q: &Query, row: RowRef, vm: &Vm) -> bool {
        f.vm_at(row)
            .is_some_and(|o| rows::order(&self.rank, o, vm, q) == Ordering::Less)
    }

    /// The row of a VM's primary copy, found by binary search.
    fn position_of(&self, f: &Fleet, q: &Query, uuid: &str) -> Option<usize> {
        let vm = f.vm(uuid)?;
        let host = f.hosts.get(vm.host)?;
        let pos = host
            .vms
            .range::<str, _>((Bound::Unbounded, Bound::Excluded(uuid)))
            .count();
        let target: RowRef = (vm.host as u32, pos as u32);
        let at = self.refs.partition_point(|&o| self.before(f, q, o, vm));
        (self.refs.get(at) == Some(&target)).then_some(at)
    }
}

/// The rows, in order, as the table reads them.
impl std::ops::Deref for RowCache {
    type Target = [RowRef];

    fn deref(&self) -> &[RowRef] {
        &self.refs
    }
}
