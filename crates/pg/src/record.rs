//! The recorder's side of the PostgreSQL store: each method one statement or a few, its
//! failure named with the database.

use crate::store::PgStore;
use crate::{audit, leases, live, loads, rollups, writes};
use fleetwatch_core::actions::record::Record;
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::health::RollupMarks;
use fleetwatch_core::history::lease::{Holder, Lease};
use fleetwatch_core::history::live::LiveHost;
use fleetwatch_core::history::moment::Stat;
use fleetwatch_core::history::store::rows::{
    HostStateRow, NewEvent, NewPending, NewPlacement, OpenPlacement, OwnAction, PendingRow, RowId,
    Series, Whereabouts,
};
use fleetwatch_core::history::store::{RecordStore, StoreError};
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::sample::VmState;

/// `$store.$call` with the store's connection, its error named `$what`.
macro_rules! on {
    ($s:ident, $what:literal, |$c:ident| $body:expr) => {{
        let r = {
            let ($c, _) = $s.parts();
            $body
        };
        r.map_err($s.fail($what))
    }};
}

impl RecordStore for PgStore {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.reconnect_if_closed()?;
        // A plain BEGIN: `holds_lease` next locks our lease rows until the commit.
        on!(self, "begin a write", |c| c.batch_execute("BEGIN"))
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let mut batch = std::mem::take(&mut self.stats);
        let flushed = on!(self, "insert statistics", |c| batch.flush(c));
        self.stats = batch;
        flushed?;
        on!(self, "commit a write", |c| c.batch_execute("COMMIT"))
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.ids.clear();
        self.stats.clear();
        on!(self, "roll a write back", |c| c.batch_execute("ROLLBACK"))
    }

    fn acquire_lease(
        &mut self,
        me: &Holder,
        hosts: &[&str],
        // Leases keep the server's time (`leases::SERVER_NOW_MS`), not ours.
        _now_ms: i64,
    ) -> Result<Lease, StoreError> {
        // Our presence row beside the hosts' rows: a recorder whose share is no host yet is
        // still counted when the others divide the hosts.
        let presence = leases::presence(me);
        let mut all: Vec<&str> = hosts.to_vec();
        all.push(&presence);
        let (got, kept) = on!(self, "take the leases", |c| leases::acquire(c, me, &all))?;
        if got == Lease::Held {
            self.kept = kept;
            let mut names: Vec<String> = all.iter().map(|h| (*h).to_owned()).collect();
            names.sort_unstable();
            names.dedup();
            self.leased = names;
            self.holder.clone_from(&me.id);
        }
        Ok(got)
    }

    fn holds_lease(&mut self, me: &Holder) -> Result<bool, StoreError> {
        let hosts = self.leased.clone();
        on!(self, "read the leases", |c| leases::holds(c, me, &hosts))
    }

    fn renew_lease(&mut self, me: &Holder, _now_ms: i64) -> Result<bool, StoreError> {
        self.reconnect_if_closed()?;
        let hosts = self.leased.clone();
        on!(self, "renew the leases", |c| leases::renew(c, me, &hosts))
    }

    fn keeps_live(&self) -> bool {
        true
    }

    fn publish_live(&mut self, hosts: &[LiveHost]) -> Result<(), StoreError> {
        let holder = self.holder.clone();
        on!(self, "write the live fleet", |c| live::publish(
            c, &holder, hosts
        ))
    }

    fn host_written_until(&mut self, host: &str) -> Result<Option<i64>, StoreError> {
        // Ours since before this take (kept across a change of share): never left unrecorded.
        if self.kept.iter().any(|k| k == host) {
            return Ok(None);
        }
        on!(self, "read the live fleet", |c| live::written_until(
            c, host
        ))
    }

    fn lease_renewal_ms(&self) -> i64 {
        self.renew_ms
    }

    fn release_lease(&mut self, me: &Holder) -> Result<(), StoreError> {
        on!(self, "release the leases", |c| leases::release(c, me))
    }

    fn release_hosts(&mut self, me: &Holder, hosts: &[&str]) -> Result<(), StoreError> {
        self.leased.retain(|h| !hosts.contains(&h.as_str()));
        on!(self, "release the leases", |c| leases::release_hosts(
            c, me, hosts
        ))
    }

    fn start_recording(&mut self, now_ms: i64) -> Result<RowId, StoreError> {
        let holder = self.holder.clone();
        on!(self, "start a recording", |c| writes::start_recording(
            c, &holder, now_ms
        ))
    }

    fn extend_recording(&mut self, recording: RowId, now_ms: i64) -> Result<(), StoreError> {
        on!(self, "extend the recording", |c| writes::extend_recording(
            c, recording, now_ms
        ))
    }

    fn host_id(&mut self, name: &str, uri: &str) -> Result<RowId, StoreError> {
        let (c, ids) = self.parts();
        let r = ids.host(c, name, uri);
        r.map_err(self.fail("write a host"))
    }

    fn vm_id(&mut self, uuid: &str, name: &str) -> Result<RowId, StoreError> {
        let (c, ids) = self.parts();
        let r = ids.vm(c, uuid, name);
        r.map_err(self.fail("write a VM"))
    }

    fn vm_name(&mut self, uuid: &str) -> Result<Option<String>, StoreError> {
        on!(self, "read a VM's name", |c| loads::vm_name(c, uuid))
    }

    fn insert_event(&mut self, e: &NewEvent) -> Result<(), StoreError> {
        on!(self, "insert an event", |c| writes::event(c, e))
    }

    fn open_placement(&mut self, p: &NewPlacement) -> Result<RowId, StoreError> {
        on!(self, "open a placement", |c| writes::open_placement(c, p))
    }

    fn close_placement(&mut self, row: RowId, at: i64) -> Result<(), StoreError> {
        on!(self, "close a placement", |c| writes::close_placement(
            c, row, at
        ))
    }

    fn open_host_state(
        &mut self,
        host: RowId,
        state: LinkState,
        error: Option<&str>,
        at: i64,
    ) -> Result<RowId, StoreError> {
        on!(self, "open a host state", |c| writes::open_host_state(
            c, host, state, error, at
        ))
    }

    fn close_host_state(&mut self, row: RowId, at: i64) -> Result<(), StoreError> {
        on!(self, "close a host state", |c| writes::close_host_state(
            c, row, at
        ))
    }

    fn set_host_size(&mut self, host: RowId, cpus: u32, memory: u64) -> Result<(), StoreError> {
        on!(self, "write a host's size", |c| writes::host_size(
            c, host, cpus, memory
        ))
    }

    fn insert_stats(&mut self, series: Series, at: i64, s: &Stat) -> Result<(), StoreError> {
        self.stats.push(series, at, s);
        Ok(())
    }

    fn actions_near(
        &mut self,
        uuid: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<OwnAction>, StoreError> {
        on!(self, "read the audit", |c| loads::actions_near(
            c, uuid, from_ms, to_ms
        ))
    }

    fn current_host_state(&mut self, host: RowId) -> Result<Option<HostStateRow>, StoreError> {
        on!(self, "read a host's state", |c| loads::current_host_state(
            c, host
        ))
    }

    fn open_placements(&mut self, host: RowId) -> Result<Vec<OpenPlacement>, StoreError> {
        on!(self, "read open placements", |c| loads::open_placements(
            c, host
        ))
    }

    fn moved_onto(
        &mut self,
        uuid: &str,
        host: RowId,
        since: i64,
    ) -> Result<Option<VmState>, StoreError> {
        on!(self, "read a VM's last migration", |c| loads::moved_onto(
            c, uuid, host, since
        ))
    }

    fn pending(&mut self) -> Result<Vec<PendingRow>, StoreError> {
        on!(self, "read waiting judgments", |c| loads::pending(c))
    }

    fn insert_pending(&mut self, p: &NewPending) -> Result<RowId, StoreError> {
        on!(self, "insert a waiting judgment", |c| {
            writes::insert_pending(c, p)
        })
    }

    fn confirm_pending(&mut self, id: RowId) -> Result<(), StoreError> {
        on!(self, "confirm a waiting judgment", |c| {
            writes::confirm_pending(c, id)
        })
    }

    fn delete_pending(&mut self, id: RowId) -> Result<bool, StoreError> {
        on!(self, "delete a waiting judgment", |c| {
            writes::delete_pending(c, id)
        })
    }

    fn whereabouts(&mut self, uuid: &str) -> Result<Whereabouts, StoreError> {
        on!(self, "read where a VM is", |c| loads::whereabouts(c, uuid))
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        on!(self, "read a meta value", |c| writes::meta_get(c, key))
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        on!(self, "write a meta value", |c| writes::meta_set(
            c, key, value
        ))
    }

    fn maintain(&mut self, cfg: &HistoryConfig, now_ms: i64) -> Result<(), StoreError> {
        on!(self, "roll statistics up", |c| rollups::maintain(
            c, cfg, now_ms
        ))
    }

    fn rollup_marks(&mut self, levels: usize) -> Result<RollupMarks, StoreError> {
        on!(self, "read the rollups' marks", |c| rollups::marks(
            c, levels
        ))
    }

    fn append_audit(&mut self, r: &Record) -> Result<(), StoreError> {
        on!(self, "write the audit", |c| audit::append(c, r))
    }
}
