//! Placements, events and statistics from each sample: the difference between what was
//! recorded and the fleet now.

use super::{config_change, placed, Placed, Recorder};
use crate::history::events::transition;
use crate::model::sample::HostSample;
use crate::model::series::sum;
use rusqlite::params;

impl Recorder {
    /// Placements and events from the difference between what was recorded and the fleet now.
    pub(super) fn diff(&mut self, host: usize, s: &HostSample, at: i64) -> rusqlite::Result<()> {
        let mut touched: Vec<String> = self
            .prev
            .iter()
            .filter(|(_, p)| p.host == host)
            .map(|(u, _)| u.clone())
            .collect();
        touched.extend(s.domains.iter().map(|d| d.uuid.clone()));
        touched.sort_unstable();
        touched.dedup();
        for uuid in touched {
            let now = self.fleet.vm(&uuid).map(|vm| (placed(vm), vm.name.clone()));
            let before = self.prev.get(&uuid).cloned();
            match (before, now) {
                (None, None) => {}
                (None, Some((p, name))) => {
                    if p.host != host {
                        continue; // its own host's sample records it
                    }
                    let row = self.open_row(&uuid, &name, &p, at)?;
                    if !self.baseline[host] {
                        self.vm_event(
                            at,
                            "defined",
                            &uuid,
                            &name,
                            host,
                            format!("appeared {}", p.state.label()),
                        )?;
                    }
                    self.prev.insert(uuid.clone(), Placed { row, ..p });
                }
                (Some(old), None) => {
                    self.close_row(old.row, at)?;
                    let name = self.name_of(&uuid);
                    let actor = self.actor(old.host, &uuid, "undefined", at);
                    self.event(
                        at,
                        "undefined",
                        Some((&uuid, &name)),
                        old.host,
                        None,
                        actor,
                        format!("was {}", old.state.label()),
                    )?;
                    self.prev.remove(&uuid);
                }
                (Some(old), Some((p, name))) if old.host != p.host => {
                    self.close_row(old.row, at)?;
                    let row = self.open_row(&uuid, &name, &p, at)?;
                    if p.state.is_active() {
                        let started = self
                            .migrating
                            .remove(&uuid)
                            .filter(|(_, to)| *to == p.host)
                            .map(|(t, _)| t);
                        let end = self.ended.remove(&uuid).unwrap_or(at);
                        let actor = self.actor(p.host, &uuid, "migrated", end);
                        let detail = match started {
                            Some(t) => format!("took {:.1}s", (end - t) as f64 / 1000.0),
                            None => "start not seen".into(),
                        };
                        self.event(
                            end,
                            "migrated",
                            Some((&uuid, &name)),
                            p.host,
                            Some((old.host, p.host, started)),
                            actor,
                            detail,
                        )?;
                    } else {
                        self.vm_event(
                            at,
                            "undefined",
                            &uuid,
                            &name,
                            old.host,
                            format!(
                                "still defined on {} ({})",
                                self.hosts[p.host].name,
                                p.state.label()
                            ),
                        )?;
                    }
                    self.prev.insert(uuid.clone(), Placed { row, ..p });
                }
                (Some(old), Some((p, name))) => {
                    let config = config_change(&old, &p);
                    if old.state == p.state && config.is_none() {
                        continue;
                    }
                    self.close_row(old.row, at)?;
                    let row = self.open_row(&uuid, &name, &p, at)?;
                    if let Some(kind) = transition(old.state, p.state) {
                        if !self.seen(at, &uuid, kind, host) {
                            let actor = self.actor(host, &uuid, kind, at);
                            self.event(
                                at,
                                kind,
                                Some((&uuid, &name)),
                                host,
                                None,
                                actor,
                                String::new(),
                            )?;
                        }
                    }
                    if let Some(detail) = config {
                        self.vm_event(at, "config-changed", &uuid, &name, host, detail)?;
                    }
                    self.prev.insert(uuid.clone(), Placed { row, ..p });
                }
            }
        }
        Ok(())
    }

    pub(super) fn name_of(&mut self, uuid: &str) -> String {
        self.conn
            .query_row("SELECT name FROM vms WHERE uuid = ?1", [uuid], |r| r.get(0))
            .unwrap_or_else(|_| uuid.to_owned())
    }

    pub(super) fn stats(&mut self, host: usize, at: i64) -> rusqlite::Result<()> {
        let every = self.cfg.sample_every.as_millis() as i64;
        let h = &self.fleet.hosts[host];
        let mut rows: Vec<(String, String, [Option<f64>; 4])> = h
            .vms
            .values()
            .filter(|v| v.primary)
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
        ];
        let hc = self.hosts[host].clone();
        let host_series = -self.ids.host(&self.conn, &hc.name, &hc.uri)?;
        rows.push((String::new(), String::new(), host_vals));
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO stats (series, level, at, n, cpu, cpu_max, mem, mem_max, disk, disk_max, net, net_max)
             VALUES (?1, 0, ?2, 1, ?3, ?3, ?4, ?4, ?5, ?5, ?6, ?6)",
        )?;
        for (uuid, name, v) in rows {
            let series = if uuid.is_empty() {
                host_series
            } else {
                self.ids.vm(&self.conn, &uuid, &name)?
            };
            if self.last_raw.get(&series).is_some_and(|&t| at - t < every) {
                continue;
            }
            if v.iter().all(Option::is_none) {
                continue;
            }
            stmt.execute(params![series, at, v[0], v[1], v[2], v[3]])?;
            self.last_raw.insert(series, at);
        }
        Ok(())
    }
}
