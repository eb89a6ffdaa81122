//! The history store as two traits: [`RecordStore`], what the recorder writes and what a
//! starting recorder loads, and [`HistoryRead`], what the TUI, `history`, `at` and the graphs
//! ask. The recorder's logic (copies, migrations, pending judgments, dedupe, actors, the
//! transaction per batch of messages with the lease checked inside it) holds no SQL: it calls
//! these methods, so a second backend is one more implementation, not a second recorder.
//!
//! The SQLite store ([`crate::history::sqlite`]) is the embedded one: one file, one recorder
//! under one lease, readers beside it (WAL).
//!
//! A PostgreSQL store (the team tier: several recorders write one database, each for its own
//! hosts; the TUI reads the fleet from it as a client) would implement both traits over the
//! same tables. What stays shared: all of the recorder, the row types here, the lease's rule
//! of who may take over ([`super::lease::may_take`]), how a moment's coverage is judged from
//! recordings, and the queries' shapes (the same joins, filters and orderings). What differs:
//! - placeholders (`$1` for `?1`), `ON CONFLICT` spelled the same, `INSERT .. RETURNING id`
//!   instead of `last_insert_rowid`, ids from sequences (`BIGSERIAL`) rather than rowids;
//! - [`RecordStore::begin`] is a plain `BEGIN` and `holds_lease` reads our lease rows
//!   `FOR UPDATE`, so nobody takes them before our commit; SQLite's `BEGIN IMMEDIATE` locks
//!   the whole file instead;
//! - leases per host instead of one per store: `acquire_lease` is given the names of the
//!   hosts this recorder writes and takes a lease row for each (`may_take` per row), and
//!   `holds_lease` asks that all of them are still ours, so two recorders with disjoint hosts
//!   write side by side and a third for the same hosts is refused;
//! - `maintain` under a transaction-scoped advisory lock, so of several recorders one rolls
//!   up at a time, and meta keys such as `last_write` per recorder;
//! - statistics series as (kind, id) columns instead of SQLite's signed id, and the rollups
//!   with `date_bin`/integer division instead of `at - (at % w)`;
//! - [`HistoryRead`] takes `&self` so a reader can be shared: a server client that needs
//!   `&mut` for a query holds a pool or a mutex around its connection;
//! - errors name the database (its connection name) where SQLite's name the file.

mod error;
pub mod rows;

/// Acknowledged findings, kept beside the history (shared through PostgreSQL when that is the
/// store), each change written with its audit record in one transaction.
/// (They are read through [`HistoryRead::acks`].)
pub trait AckStore {
    /// Writes the acknowledgement, replacing one of the same kind and subject.
    fn put_ack(&mut self, a: &crate::model::acks::Ack, audit: &Record) -> Result<(), StoreError>;
    /// Ends the acknowledgement of this kind and subject; false when there was none (and then
    /// no audit record is written).
    fn end_ack(
        &mut self,
        kind: crate::model::findings::Kind,
        subject: &str,
        audit: &Record,
    ) -> Result<bool, StoreError>;
}

/// Hosts in maintenance and the VMs their evacuation moved away, kept beside the history
/// (shared through PostgreSQL when that is the store), so a return knows where they came from
/// after a restart and from another operator's TUI. (Read through [`HistoryRead::maintenance`].)
pub trait MaintenanceStore {
    /// Writes the host's maintenance, replacing what it had (who, since, the VMs away).
    fn put_maintenance(
        &mut self,
        m: &crate::actions::maintenance::Maintenance,
    ) -> Result<(), StoreError>;
    /// The host leaves maintenance; false when it was not in it.
    fn end_maintenance(&mut self, host: &str) -> Result<bool, StoreError>;
}

pub use error::{Cause, StoreError};

use super::config::HistoryConfig;
use super::health::RollupMarks;
use super::lease::{Holder, Lease, LeaseRow};
use super::moment::{Coverage, Recordings, SLACK_MS, Stat};
use super::query::{EventQuery, EventRow, Past, Point};
use crate::actions::record::Record;
use crate::link::LinkState;
use crate::model::sample::VmState;
use rows::{
    HostStateRow, NewEvent, NewPending, NewPlacement, OpenPlacement, OwnAction, PendingRow, RowId,
    Series, Whereabouts,
};
use std::collections::HashMap;

/// What the recorder writes, and what a starting recorder loads. Every write happens between
/// [`begin`](RecordStore::begin) and [`commit`](RecordStore::commit) (or
/// [`rollback`](RecordStore::rollback)): one batch of collector messages is one transaction.
pub trait RecordStore {
    /// Starts one batch's write. Takes the store's write lock, so that the lease asked
    /// about next cannot change hands before the commit.
    fn begin(&mut self) -> Result<(), StoreError>;
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Undoes the write; ids handed out inside it may name no row any more, so a store that
    /// caches them forgets them.
    fn rollback(&mut self) -> Result<(), StoreError>;

    /// Takes the lease if [`super::lease::may_take`] allows it, atomically: two starting
    /// recorders cannot both win. Runs its own transaction. `hosts`: the names of the hosts
    /// this recorder writes (a store with one lease for all of them need not look).
    fn acquire_lease(
        &mut self,
        me: &Holder,
        hosts: &[&str],
        now_ms: i64,
    ) -> Result<Lease, StoreError>;
    /// Whether we still hold the lease; asked inside each write.
    fn holds_lease(&mut self, me: &Holder) -> Result<bool, StoreError>;
    /// `false` when someone else holds it now.
    fn renew_lease(&mut self, me: &Holder, now_ms: i64) -> Result<bool, StoreError>;
    fn release_lease(&mut self, me: &Holder) -> Result<(), StoreError>;
    /// Gives up these hosts' leases only (a store of one lease for all: the whole of it).
    fn release_hosts(&mut self, me: &Holder, _hosts: &[&str]) -> Result<(), StoreError> {
        self.release_lease(me)
    }
    /// Whether it keeps the live fleet for TUIs that watch through it ([`publish_live`]).
    ///
    /// [`publish_live`]: RecordStore::publish_live
    fn keeps_live(&self) -> bool {
        false
    }
    /// Replaces these hosts' live rows (inside the write under way).
    fn publish_live(&mut self, _hosts: &[super::live::LiveHost]) -> Result<(), StoreError> {
        Ok(())
    }
    /// When this host was last written (this machine's clock), where the store keeps it per
    /// host (a shared database), unless it was this holder's already before its leases were
    /// last taken: a recorder taking a host over shows the time between as not recorded.
    fn host_written_until(&mut self, _host: &str) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
    /// How often a recorder of this store renews its leases.
    fn lease_renewal_ms(&self) -> i64 {
        super::lease::RENEW_EVERY_MS
    }

    /// A new span of recording, from and until `now_ms`.
    fn start_recording(&mut self, now_ms: i64) -> Result<RowId, StoreError>;
    /// The span goes on until `now_ms` (never shortened).
    fn extend_recording(&mut self, recording: RowId, now_ms: i64) -> Result<(), StoreError>;

    /// The host's id, made if need be; its URI as given.
    fn host_id(&mut self, name: &str, uri: &str) -> Result<RowId, StoreError>;
    /// The VM's id, made if need be; a renamed VM keeps its id and gets its new name.
    fn vm_id(&mut self, uuid: &str, name: &str) -> Result<RowId, StoreError>;
    fn vm_name(&mut self, uuid: &str) -> Result<Option<String>, StoreError>;

    fn insert_event(&mut self, e: &NewEvent) -> Result<(), StoreError>;
    fn open_placement(&mut self, p: &NewPlacement) -> Result<RowId, StoreError>;
    /// Closes the placement at `at`, unless it is closed already.
    fn close_placement(&mut self, row: RowId, at: i64) -> Result<(), StoreError>;
    fn open_host_state(
        &mut self,
        host: RowId,
        state: LinkState,
        error: Option<&str>,
        at: i64,
    ) -> Result<RowId, StoreError>;
    fn close_host_state(&mut self, row: RowId, at: i64) -> Result<(), StoreError>;
    /// The host's CPUs and memory as last seen, so a past fleet has percentages.
    fn set_host_size(&mut self, host: RowId, cpus: u32, memory: u64) -> Result<(), StoreError>;
    /// A raw statistics row; one at the same time for the same series replaces it.
    fn insert_stats(&mut self, series: Series, at: i64, s: &Stat) -> Result<(), StoreError>;
    /// Fleetwatch's own actions on the VM that started between `from_ms` and `to_ms` and did
    /// not end refused, failed or aborted; newest first, at most a few.
    fn actions_near(
        &mut self,
        uuid: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<OwnAction>, StoreError>;

    /// The host's state row still open, if any.
    fn current_host_state(&mut self, host: RowId) -> Result<Option<HostStateRow>, StoreError>;
    /// Every placement still open on the host.
    fn open_placements(&mut self, host: RowId) -> Result<Vec<OpenPlacement>, StoreError>;
    /// When the VM's last event is a migration onto `host` at or after `since`: the state the
    /// source copy had then (a running VM moved onto a paused copy has not arrived yet).
    fn moved_onto(
        &mut self,
        uuid: &str,
        host: RowId,
        since: i64,
    ) -> Result<Option<VmState>, StoreError>;
    /// The judgments still waiting, oldest first.
    fn pending(&mut self) -> Result<Vec<PendingRow>, StoreError>;
    fn insert_pending(&mut self, p: &NewPending) -> Result<RowId, StoreError>;
    /// The waiting judgment becomes the event it looked like, unless another recorder took
    /// it first (deleted it, as part of a migration it saw the other half of).
    fn confirm_pending(&mut self, id: RowId) -> Result<(), StoreError>;
    /// The waiting judgment turned out to be part of another event (a migration): whether it
    /// was still there to take (two recorders sharing a database may both try).
    fn delete_pending(&mut self, id: RowId) -> Result<bool, StoreError>;
    /// The VM's open copies and waiting judgments on every host.
    fn whereabouts(&mut self, uuid: &str) -> Result<Whereabouts, StoreError>;

    fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Rollups of complete buckets, then retention; in a transaction of its own. Safe to run
    /// at any time and more than once.
    fn maintain(&mut self, cfg: &HistoryConfig, now_ms: i64) -> Result<(), StoreError>;
    /// What the rollups left behind, to see that they advance.
    fn rollup_marks(&mut self, levels: usize) -> Result<RollupMarks, StoreError>;

    /// One audit record, on its own (the audit thread writes outside the recorder's
    /// transactions, before an action starts and when it ends).
    fn append_audit(&mut self, r: &Record) -> Result<(), StoreError>;
}

/// What readers ask: never a write, so any number of them run beside a recorder.
pub trait HistoryRead {
    /// Events, newest first.
    fn events(&self, q: &EventQuery) -> Result<Vec<EventRow>, StoreError>;
    /// Every placement and host state that covered `t`, without statistics.
    fn at(&self, t: i64) -> Result<Past, StoreError>;
    /// What the recordings say of `t`, a recording counting until `slack_ms` after its last
    /// write.
    fn recordings(&self, t: i64, slack_ms: i64) -> Result<Recordings, StoreError>;
    /// Each series' row that describes `t`, from the finest level that has one: VMs by UUID,
    /// hosts by name. `windows[level]`: how far back a row of that level still describes it.
    #[allow(clippy::type_complexity)]
    fn stats_at(
        &self,
        t: i64,
        windows: &[i64],
    ) -> Result<(HashMap<String, Stat>, HashMap<String, Stat>), StoreError>;
    /// A VM's statistics (by UUID) at one level, oldest first.
    fn series(&self, uuid: &str, level: i64, since_ms: i64) -> Result<Vec<Point>, StoreError>;
    /// The lease as last written, stale or not.
    fn lease(&self) -> Result<Option<LeaseRow>, StoreError>;
    /// Every audit record, oldest first.
    fn audit(&self) -> Result<Vec<Record>, StoreError>;
    /// Every acknowledged finding, expired ones too, oldest first.
    fn acks(&self) -> Result<Vec<crate::model::acks::Ack>, StoreError>;
    /// Every host in maintenance, oldest first.
    fn maintenance(&self) -> Result<Vec<crate::actions::maintenance::Maintenance>, StoreError>;
    /// What the rollups left behind, to see that they advance (`check`, the TUI's banner).
    fn rollup_marks(&self, levels: usize) -> Result<RollupMarks, StoreError>;

    /// Whether any recorder ran at `t`, and if not, since and until when none did.
    fn coverage(&self, t: i64) -> Result<Coverage, StoreError> {
        let rec = self.recordings(t, SLACK_MS)?;
        if rec.inside {
            return Ok(Coverage::Recorded);
        }
        let Some(first_ms) = rec.first_ms else {
            return Ok(Coverage::Never);
        };
        if t < first_ms {
            return Ok(Coverage::Before { first_ms });
        }
        Ok(Coverage::Gap {
            from_ms: rec.ended_before_ms.unwrap_or(first_ms),
            to_ms: rec.began_after_ms,
        })
    }

    /// Who records into this store now, if anyone: (pid, hostname, heartbeat age ms).
    /// Every lease with the host it is for; `None` for a lease over the whole store (SQLite
    /// has one). For `record --status`.
    fn leases(&self) -> Result<Vec<(Option<String>, LeaseRow)>, StoreError> {
        Ok(self.lease()?.into_iter().map(|l| (None, l)).collect())
    }

    fn recorder(&self, now_ms: i64) -> Result<Option<(i64, String, i64)>, StoreError> {
        Ok(self
            .lease()?
            .filter(|l| now_ms - l.heartbeat < l.stale_after_ms())
            .map(|l| (l.pid, l.hostname, now_ms - l.heartbeat)))
    }
}
