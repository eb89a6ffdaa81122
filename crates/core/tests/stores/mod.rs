//! A SQLite store the test can watch and break: it counts commits, fails its row writes on
//! demand (after a given number succeeded, so a batch fails in its middle), and can "die" at the
//! first row dated at or after a moment (nothing more reaches SQLite, and the transaction under
//! way is left open for the connection's close to roll back, as a kill -9 leaves it).
#![allow(dead_code)]

use fleetwatch_core::actions::record::Record;
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::health::RollupMarks;
use fleetwatch_core::history::lease::{Holder, Lease};
use fleetwatch_core::history::moment::Stat;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::rows::{
    HostStateRow, NewEvent, NewPending, NewPlacement, OpenPlacement, OwnAction, PendingRow, RowId,
    Series, Whereabouts,
};
use fleetwatch_core::history::store::{RecordStore, StoreError};
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::sample::VmState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

#[derive(Default)]
pub struct Knobs {
    pub commits: AtomicUsize,
    /// Row writes still allowed before they fail; negative: never fail.
    pub writes_left: AtomicI64,
    /// The first row write dated at or after this (ms) kills the store; `i64::MAX`: never.
    pub die_from_ms: AtomicI64,
    dead: AtomicBool,
}

impl Knobs {
    pub fn new() -> Arc<Knobs> {
        let k = Knobs::default();
        k.writes_left.store(-1, Ordering::SeqCst);
        k.die_from_ms.store(i64::MAX, Ordering::SeqCst);
        Arc::new(k)
    }
    pub fn commits(&self) -> usize {
        self.commits.load(Ordering::SeqCst)
    }
    pub fn fail_after(&self, writes: i64) {
        self.writes_left.store(writes, Ordering::SeqCst);
    }
    pub fn die_from(&self, at_ms: i64) {
        self.die_from_ms.store(at_ms, Ordering::SeqCst);
    }
}

pub struct Probe {
    inner: SqliteStore,
    knobs: Arc<Knobs>,
}

impl Probe {
    pub fn new(path: &std::path::Path, knobs: Arc<Knobs>) -> Probe {
        Probe {
            inner: SqliteStore::open_rw(path).expect("store"),
            knobs,
        }
    }

    fn broken(what: &'static str) -> StoreError {
        StoreError::Failed {
            path: "probe".into(),
            what,
            source: "broken on purpose".into(),
        }
    }

    fn alive(&self) -> Result<(), StoreError> {
        if self.knobs.dead.load(Ordering::SeqCst) {
            return Err(Probe::broken("reach the dead store"));
        }
        Ok(())
    }

    /// One row write, dated `at` when it has a date: counts down, fails at zero.
    fn row(&self, at: Option<i64>) -> Result<(), StoreError> {
        self.alive()?;
        if at.is_some_and(|t| t >= self.knobs.die_from_ms.load(Ordering::SeqCst)) {
            self.knobs.dead.store(true, Ordering::SeqCst);
            return Err(Probe::broken("write (killed)"));
        }
        let left = self.knobs.writes_left.load(Ordering::SeqCst);
        if left == 0 {
            return Err(Probe::broken("write a row"));
        }
        if left > 0 {
            self.knobs.writes_left.store(left - 1, Ordering::SeqCst);
        }
        Ok(())
    }
}

impl RecordStore for Probe {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.begin()
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.commit()?;
        self.knobs.commits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn rollback(&mut self) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.rollback()
    }
    fn acquire_lease(&mut self, me: &Holder, h: &[&str], now: i64) -> Result<Lease, StoreError> {
        self.alive()?;
        self.inner.acquire_lease(me, h, now)
    }
    fn holds_lease(&mut self, me: &Holder) -> Result<bool, StoreError> {
        self.alive()?;
        self.inner.holds_lease(me)
    }
    fn renew_lease(&mut self, me: &Holder, now_ms: i64) -> Result<bool, StoreError> {
        self.alive()?;
        self.inner.renew_lease(me, now_ms)
    }
    fn release_lease(&mut self, me: &Holder) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.release_lease(me)
    }
    fn start_recording(&mut self, now_ms: i64) -> Result<RowId, StoreError> {
        self.alive()?;
        self.inner.start_recording(now_ms)
    }
    fn extend_recording(&mut self, recording: RowId, now_ms: i64) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.extend_recording(recording, now_ms)
    }
    fn host_id(&mut self, name: &str, uri: &str) -> Result<RowId, StoreError> {
        self.alive()?;
        self.inner.host_id(name, uri)
    }
    fn vm_id(&mut self, uuid: &str, name: &str) -> Result<RowId, StoreError> {
        self.alive()?;
        self.inner.vm_id(uuid, name)
    }
    fn vm_name(&mut self, uuid: &str) -> Result<Option<String>, StoreError> {
        self.alive()?;
        self.inner.vm_name(uuid)
    }
    fn insert_event(&mut self, e: &NewEvent) -> Result<(), StoreError> {
        self.row(Some(e.at))?;
        self.inner.insert_event(e)
    }
    fn open_placement(&mut self, p: &NewPlacement) -> Result<RowId, StoreError> {
        self.row(Some(p.since))?;
        self.inner.open_placement(p)
    }
    fn close_placement(&mut self, row: RowId, at: i64) -> Result<(), StoreError> {
        self.row(Some(at))?;
        self.inner.close_placement(row, at)
    }
    fn open_host_state(
        &mut self,
        host: RowId,
        state: LinkState,
        error: Option<&str>,
        at: i64,
    ) -> Result<RowId, StoreError> {
        self.row(Some(at))?;
        self.inner.open_host_state(host, state, error, at)
    }
    fn close_host_state(&mut self, row: RowId, at: i64) -> Result<(), StoreError> {
        self.row(Some(at))?;
        self.inner.close_host_state(row, at)
    }
    fn set_host_size(&mut self, host: RowId, cpus: u32, memory: u64) -> Result<(), StoreError> {
        self.row(None)?;
        self.inner.set_host_size(host, cpus, memory)
    }
    fn insert_stats(&mut self, series: Series, at: i64, s: &Stat) -> Result<(), StoreError> {
        self.row(Some(at))?;
        self.inner.insert_stats(series, at, s)
    }
    fn actions_near(&mut self, u: &str, f: i64, t: i64) -> Result<Vec<OwnAction>, StoreError> {
        self.alive()?;
        self.inner.actions_near(u, f, t)
    }
    fn current_host_state(&mut self, host: RowId) -> Result<Option<HostStateRow>, StoreError> {
        self.alive()?;
        self.inner.current_host_state(host)
    }
    fn open_placements(&mut self, host: RowId) -> Result<Vec<OpenPlacement>, StoreError> {
        self.alive()?;
        self.inner.open_placements(host)
    }
    fn moved_onto(&mut self, u: &str, h: RowId, s: i64) -> Result<Option<VmState>, StoreError> {
        self.alive()?;
        self.inner.moved_onto(u, h, s)
    }
    fn pending(&mut self) -> Result<Vec<PendingRow>, StoreError> {
        self.alive()?;
        self.inner.pending()
    }
    fn insert_pending(&mut self, p: &NewPending) -> Result<RowId, StoreError> {
        self.row(Some(p.at))?;
        self.inner.insert_pending(p)
    }
    fn confirm_pending(&mut self, id: RowId) -> Result<(), StoreError> {
        self.row(None)?;
        self.inner.confirm_pending(id)
    }
    fn whereabouts(&mut self, uuid: &str) -> Result<Whereabouts, StoreError> {
        self.alive()?;
        self.inner.whereabouts(uuid)
    }
    fn delete_pending(&mut self, id: RowId) -> Result<bool, StoreError> {
        self.row(None)?;
        self.inner.delete_pending(id)
    }
    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.alive()?;
        self.inner.meta_get(key)
    }
    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.meta_set(key, value)
    }
    fn maintain(&mut self, cfg: &HistoryConfig, now_ms: i64) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.maintain(cfg, now_ms)
    }
    fn rollup_marks(&mut self, levels: usize) -> Result<RollupMarks, StoreError> {
        self.alive()?;
        self.inner.rollup_marks(levels)
    }
    fn append_audit(&mut self, r: &Record) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.append_audit(r)
    }
}
