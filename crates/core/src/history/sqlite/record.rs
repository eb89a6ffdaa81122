//! The recorder's side of the SQLite store: each method one statement or a few, from the
//! files that hold them, and its failure named.

use super::{SqliteStore, audit, leases, loads, rollups, writes};
use crate::actions::record::Record;
use crate::history::config::HistoryConfig;
use crate::history::health::RollupMarks;
use crate::history::lease::{Holder, Lease};
use crate::history::moment::Stat;
use crate::history::store::rows::{
    HostStateRow, NewEvent, NewPending, NewPlacement, OpenPlacement, OwnAction, PendingRow, RowId,
    Series, Whereabouts,
};
use crate::history::store::{RecordStore, StoreError};
use crate::link::LinkState;
use crate::model::sample::VmState;

impl RecordStore for SqliteStore {
    fn begin(&mut self) -> Result<(), StoreError> {
        // Immediate: the write lock now, before the lease is asked about, so no other
        // recorder can take the lease between that question and our commit.
        let r = self.conn.execute_batch("BEGIN IMMEDIATE");
        r.map_err(self.fail("begin a write"))
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let r = self.conn.execute_batch("COMMIT");
        r.map_err(self.fail("commit a write"))
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        // A rolled-back insert may have left an id that is no row.
        self.ids = writes::Ids::default();
        let r = self.conn.execute_batch("ROLLBACK");
        r.map_err(self.fail("roll a write back"))
    }

    fn acquire_lease(
        &mut self,
        me: &Holder,
        _hosts: &[&str],
        now_ms: i64,
    ) -> Result<Lease, StoreError> {
        // One lease for the whole file: whoever holds it writes every host.
        let r = leases::acquire(&mut self.conn, me, now_ms);
        r.map_err(self.fail("take the lease"))
    }

    fn holds_lease(&mut self, me: &Holder) -> Result<bool, StoreError> {
        leases::holds(&self.conn, me).map_err(self.fail("read the lease"))
    }

    fn renew_lease(&mut self, me: &Holder, now_ms: i64) -> Result<bool, StoreError> {
        leases::renew(&self.conn, me, now_ms).map_err(self.fail("renew the lease"))
    }

    fn release_lease(&mut self, me: &Holder) -> Result<(), StoreError> {
        leases::release(&self.conn, me).map_err(self.fail("release the lease"))
    }

    fn start_recording(&mut self, now_ms: i64) -> Result<RowId, StoreError> {
        writes::start_recording(&self.conn, now_ms).map_err(self.fail("start a recording"))
    }

    fn extend_recording(&mut self, recording: RowId, now_ms: i64) -> Result<(), StoreError> {
        let r = writes::extend_recording(&self.conn, recording, now_ms);
        r.map_err(self.fail("extend the recording"))
    }

    fn host_id(&mut self, name: &str, uri: &str) -> Result<RowId, StoreError> {
        let r = self.ids.host(&self.conn, name, uri);
        r.map_err(self.fail("write a host"))
    }

    fn vm_id(&mut self, uuid: &str, name: &str) -> Result<RowId, StoreError> {
        let r = self.ids.vm(&self.conn, uuid, name);
        r.map_err(self.fail("write a VM"))
    }

    fn vm_name(&mut self, uuid: &str) -> Result<Option<String>, StoreError> {
        loads::vm_name(&self.conn, uuid).map_err(self.fail("read a VM's name"))
    }

    fn insert_event(&mut self, e: &NewEvent) -> Result<(), StoreError> {
        writes::event(&self.conn, e).map_err(self.fail("insert an event"))
    }

    fn open_placement(&mut self, p: &NewPlacement) -> Result<RowId, StoreError> {
        writes::open_placement(&self.conn, p).map_err(self.fail("open a placement"))
    }

    fn close_placement(&mut self, row: RowId, at: i64) -> Result<(), StoreError> {
        writes::close_placement(&self.conn, row, at).map_err(self.fail("close a placement"))
    }

    fn open_host_state(
        &mut self,
        host: RowId,
        state: LinkState,
        error: Option<&str>,
        at: i64,
    ) -> Result<RowId, StoreError> {
        let r = writes::open_host_state(&self.conn, host, state, error, at);
        r.map_err(self.fail("open a host state"))
    }

    fn close_host_state(&mut self, row: RowId, at: i64) -> Result<(), StoreError> {
        let r = writes::close_host_state(&self.conn, row, at);
        r.map_err(self.fail("close a host state"))
    }

    fn set_host_size(&mut self, host: RowId, cpus: u32, memory: u64) -> Result<(), StoreError> {
        let r = writes::host_size(&self.conn, host, cpus, memory);
        r.map_err(self.fail("write a host's size"))
    }

    fn insert_stats(&mut self, series: Series, at: i64, s: &Stat) -> Result<(), StoreError> {
        writes::stats(&self.conn, series, at, s).map_err(self.fail("insert statistics"))
    }

    fn actions_near(
        &mut self,
        uuid: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<OwnAction>, StoreError> {
        let r = loads::actions_near(&self.conn, uuid, from_ms, to_ms);
        r.map_err(self.fail("read the audit"))
    }

    fn current_host_state(&mut self, host: RowId) -> Result<Option<HostStateRow>, StoreError> {
        let r = loads::current_host_state(&self.conn, host);
        r.map_err(self.fail("read a host's state"))
    }

    fn open_placements(&mut self, host: RowId) -> Result<Vec<OpenPlacement>, StoreError> {
        let r = loads::open_placements(&self.conn, host);
        r.map_err(self.fail("read open placements"))
    }

    fn moved_onto(
        &mut self,
        uuid: &str,
        host: RowId,
        since: i64,
    ) -> Result<Option<VmState>, StoreError> {
        let r = loads::moved_onto(&self.conn, uuid, host, since);
        r.map_err(self.fail("read a VM's last migration"))
    }

    fn pending(&mut self) -> Result<Vec<PendingRow>, StoreError> {
        loads::pending(&self.conn).map_err(self.fail("read waiting judgments"))
    }

    fn insert_pending(&mut self, p: &NewPending) -> Result<RowId, StoreError> {
        writes::insert_pending(&self.conn, p).map_err(self.fail("insert a waiting judgment"))
    }

    fn confirm_pending(&mut self, id: RowId) -> Result<(), StoreError> {
        let r = writes::confirm_pending(&self.conn, id);
        r.map_err(self.fail("confirm a waiting judgment"))
    }

    fn delete_pending(&mut self, id: RowId) -> Result<bool, StoreError> {
        let r = writes::delete_pending(&self.conn, id);
        r.map_err(self.fail("delete a waiting judgment"))
    }

    fn whereabouts(&mut self, uuid: &str) -> Result<Whereabouts, StoreError> {
        let r = loads::whereabouts(&self.conn, uuid);
        r.map_err(self.fail("read where a VM is"))
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        writes::meta_get(&self.conn, key).map_err(self.fail("read a meta value"))
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        writes::meta_set(&self.conn, key, value).map_err(self.fail("write a meta value"))
    }

    fn maintain(&mut self, cfg: &HistoryConfig, now_ms: i64) -> Result<(), StoreError> {
        let r = rollups::maintain(&self.conn, cfg, now_ms);
        r.map_err(self.fail("roll statistics up"))
    }

    fn rollup_marks(&mut self, levels: usize) -> Result<RollupMarks, StoreError> {
        rollups::marks(&self.conn, levels).map_err(self.fail("read the rollups' marks"))
    }

    fn append_audit(&mut self, r: &Record) -> Result<(), StoreError> {
        audit::append(&self.conn, r).map_err(self.fail("write the audit"))
    }
}
