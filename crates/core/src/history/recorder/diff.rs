//! Placements and statistics from each sample: the difference between what was recorded for
//! each copy and the host now (what it means for the VM is `copies`'s business).

use super::copies::Change;
use super::{Placed, Recorder, config_change, placed};
use crate::history::events::snapshot_changes;
use crate::history::moment::Stat;
use crate::history::store::StoreError;
use crate::history::store::rows::Series;
use crate::model::sample::HostSample;
use crate::model::series::sum;

impl Recorder {
    /// Each copy on this host compared with what was written for it, and judged for its VM.
    pub(super) fn diff(&mut self, host: usize, s: &HostSample, at: i64) -> Result<(), StoreError> {
        let mut touched: Vec<String> = self.on_host[host].iter().cloned().collect();
        touched.extend(s.domains.iter().map(|d| d.uuid.clone()));
        touched.sort_unstable();
        touched.dedup();
        for uuid in touched {
            let vm = self.fleet.hosts.get(host).and_then(|h| h.vms.get(&uuid));
            let old = self.copies.get(&uuid).and_then(|c| c.get(&host));
            // Most copies, most polls: nothing to write, nothing to copy.
            if let (Some(o), Some(vm)) = (old, vm)
                && o.unchanged(vm)
            {
                continue;
            }
            let now = self
                .fleet
                .hosts
                .get(host)
                .and_then(|h| h.vms.get(&uuid))
                .map(|vm| (placed(vm), vm.name.clone()));
            let old = self.copies.get(&uuid).and_then(|c| c.get(&host)).cloned();
            // Snapshots taken, reverted to or deleted since the config last read: never on a
            // first sighting (a restart learns the list, it does not invent its history).
            let snaps = match (
                old.as_ref().and_then(|o| o.disks_from.as_ref()),
                now.as_ref().and_then(|(p, _)| p.disks_from.as_ref()),
            ) {
                (Some(a), Some(b)) if !std::sync::Arc::ptr_eq(a, b) => {
                    snapshot_changes(&a.snapshots, &b.snapshots)
                }
                _ => Vec::new(),
            };
            if let Some((_, name)) = now.as_ref().filter(|_| !snaps.is_empty()) {
                let name = name.clone();
                for (kind, snap) in snaps {
                    self.snapshot_event(at, kind, (&uuid, &name), host, &snap)?;
                }
            }
            match (&old, &now) {
                (None, None) => continue,
                (Some(o), Some((p, _))) if o.state == p.state && config_change(o, p).is_none() => {
                    // The same copy. What the store does not keep (disks), or did not know, is
                    // learnt here, so a later change of it is seen.
                    if let Some(c) = self.copies.get_mut(&uuid).and_then(|c| c.get_mut(&host)) {
                        c.disks.clone_from(&p.disks);
                        c.disks_from.clone_from(&p.disks_from);
                        c.vcpus = c.vcpus.or(p.vcpus);
                        c.memory = c.memory.or(p.memory);
                        c.max_memory = c.max_memory.or(p.max_memory);
                    }
                    continue;
                }
                _ => {}
            }
            let name = match &now {
                Some((_, n)) => n.clone(),
                None => self.name_of(&uuid),
            };

            let before = self.home.get(&uuid).copied();
            if let Some(o) = &old {
                self.close_row(o.row, at)?;
            }
            let new = match now {
                Some((p, _)) => {
                    let row = self.open_row(&uuid, &name, &p, at)?;
                    let p = Placed {
                        row,
                        since: at,
                        ..p
                    };
                    self.put_copy(&uuid, p.clone());
                    Some(p)
                }
                None => {
                    self.drop_copy(&uuid, host);
                    None
                }
            };
            let after = self.rehome(&uuid);
            tracing::debug!(
                host = %self.hosts[host].name,
                vm = %name,
                at,
                old = ?old.as_ref().map(|o| o.state),
                new = ?new.as_ref().map(|p| p.state),
                before = ?before.map(|h| &self.hosts[h].name),
                after = ?after.map(|h| &self.hosts[h].name),
                pending = self.pending.contains_key(&uuid),
                "copy changed"
            );
            let change = Change {
                uuid: &uuid,
                name: &name,
                host,
                old,
                new,
                before,
                after,
                at,
            };
            self.judge(&change)?;
        }
        Ok(())
    }

    /// A copy as written, in both maps.
    pub(super) fn put_copy(&mut self, uuid: &str, p: Placed) {
        self.on_host[p.host].insert(uuid.to_owned());
        self.copies
            .entry(uuid.to_owned())
            .or_default()
            .insert(p.host, p);
    }

    fn drop_copy(&mut self, uuid: &str, host: usize) {
        self.on_host[host].remove(uuid);
        if let Some(c) = self.copies.get_mut(uuid) {
            c.remove(&host);
            if c.is_empty() {
                self.copies.remove(uuid);
            }
        }
    }

    pub(super) fn stats(&mut self, host: usize, at: i64) -> Result<(), StoreError> {
        let every = self.cfg.sample_every.as_millis() as i64;
        let due = |last: Option<&i64>| last.is_none_or(|&t| at - t >= every);
        let h = &self.fleet.hosts[host];
        // cpu, mem, disk, net (the sums the graphs show), then each direction of the I/O.
        let rows: Vec<(String, String, [Option<f64>; 8])> = h
            .vms
            .values()
            .filter(|v| v.primary && due(self.last_raw.get(&v.uuid)))
            .map(|v| {
                let mem = v.rss_bytes.or(v.memory_bytes).map(|m| m as f64);
                (
                    v.uuid.clone(),
                    v.name.clone(),
                    [
                        v.cpu_percent,
                        mem,
                        sum(v.disk_read_bps, v.disk_write_bps),
                        sum(v.net_rx_bps, v.net_tx_bps),
                        v.disk_read_bps,
                        v.disk_write_bps,
                        v.net_rx_bps,
                        v.net_tx_bps,
                    ],
                )
            })
            .collect();
        let t = &h.totals;
        let host_vals = [
            t.cpu_percent,
            t.memory_used.map(|m| m as f64),
            t.disk_bps,
            t.net_bps,
            None,
            None,
            None,
            None,
        ];
        let size = h.info.as_ref().map(|i| (i.cpus, i.memory_bytes));
        let host_id = self.host_id(host)?;
        if size.is_some() && size != self.sizes[host] {
            if let Some((cpus, mem)) = size {
                self.store.set_host_size(host_id, cpus, mem)?;
            }
            self.sizes[host] = size;
        }
        if due(self.host_last_raw[host].as_ref())
            && self.stat(Series::Host(host_id), at, host_vals)?
        {
            self.host_last_raw[host] = Some(at);
        }
        for (uuid, name, v) in rows {
            let series = Series::Vm(self.store.vm_id(&uuid, &name)?);
            if self.stat(series, at, v)? {
                self.last_raw.insert(uuid, at);
            }
        }
        Ok(())
    }

    /// One raw statistics row, unless nothing of it is known; whether it was written.
    fn stat(&mut self, series: Series, at: i64, v: [Option<f64>; 8]) -> Result<bool, StoreError> {
        if v.iter().all(Option::is_none) {
            return Ok(false);
        }
        let stat = Stat {
            cpu: v[0],
            mem: v[1],
            disk: v[2],
            net: v[3],
            disk_read: v[4],
            disk_write: v[5],
            net_rx: v[6],
            net_tx: v[7],
        };
        self.store.insert_stats(series, at, &stat)?;
        Ok(true)
    }
}
