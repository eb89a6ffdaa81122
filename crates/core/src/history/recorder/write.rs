//! The rows the recorder writes: events with their actor, and placements opened and closed.

use super::{DEDUPE_MS, EXTERNAL, Placed, Recorder, UNKNOWN, causes};
use crate::history::store::StoreError;
use crate::history::store::rows::{Move, NewEvent, NewPlacement, RowId};

impl Recorder {
    /// The operator of a fleetwatch action that caused this event, from the audit in the same
    /// store: a started (not refused or failed) action on the VM shortly before it.
    pub(super) fn own_action(
        &mut self,
        uuid: &str,
        kind: &str,
        at: i64,
        snapshot: Option<&str>,
    ) -> Option<String> {
        let found = self
            .store
            .actions_near(uuid, at - 600_000, at + 5_000)
            .ok()?;
        found
            .into_iter()
            .find(|a| causes(&a.action, kind) && snapshot.is_none_or(|s| names(&a.params, s)))
            .map(|a| a.operator)
    }

    /// A snapshot's event, credited only to the action on that very snapshot: one operator's
    /// snapshot is not another's taken a minute later.
    pub(super) fn snapshot_event(
        &mut self,
        at: i64,
        kind: &'static str,
        (uuid, name): (&str, &str),
        host: usize,
        snapshot: &str,
    ) -> Result<(), StoreError> {
        let actor = match self.own_action(uuid, kind, at, Some(snapshot)) {
            Some(a) => a,
            None => self.outside(host),
        };
        let detail = format!("snapshot {snapshot:?}");
        self.event(at, kind, Some((uuid, name)), host, None, actor, detail)
    }

    fn outside(&self, host: usize) -> String {
        if self.gap.get(host).copied().unwrap_or(true) {
            UNKNOWN.into()
        } else {
            EXTERNAL.into()
        }
    }

    pub(super) fn actor(&mut self, host: usize, uuid: &str, kind: &str, at: i64) -> String {
        if let Some(a) = self.own_action(uuid, kind, at, None) {
            return a;
        }
        self.outside(host)
    }

    pub(super) fn seen(&mut self, at: i64, uuid: &str, kind: &'static str, host: usize) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|(t, ..)| *t < at - 2 * DEDUPE_MS)
        {
            self.recent.pop_front();
        }
        let dup = self.recent.iter().any(|(t, u, k, h)| {
            u == uuid && *k == kind && *h == host && (t - at).abs() <= DEDUPE_MS
        });
        if !dup {
            self.recent.push_back((at, uuid.to_owned(), kind, host));
            self.recent_added += 1;
        }
        dup
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn event(
        &mut self,
        at: i64,
        kind: &str,
        uuid: Option<(&str, &str)>,
        host: usize,
        moved: Option<(usize, usize, Option<i64>)>,
        actor: String,
        detail: String,
    ) -> Result<(), StoreError> {
        let vm = match uuid {
            Some((u, name)) => Some(self.store.vm_id(u, name)?),
            None => None,
        };
        let host = self.host_id(host)?;
        let moved = match moved {
            Some((a, b, started_at)) => Some(Move {
                from: self.host_id(a)?,
                to: self.host_id(b)?,
                started_at,
            }),
            None => None,
        };
        self.store.insert_event(&NewEvent {
            at,
            kind,
            vm,
            host,
            moved,
            actor: &actor,
            detail: &detail,
        })
    }

    /// An event about one VM on one host, with the actor found for it.
    pub(super) fn vm_event(
        &mut self,
        at: i64,
        kind: &'static str,
        uuid: &str,
        name: &str,
        host: usize,
        detail: String,
    ) -> Result<(), StoreError> {
        let actor = self.actor(host, uuid, kind, at);
        self.event(at, kind, Some((uuid, name)), host, None, actor, detail)
    }

    pub(super) fn open_row(
        &mut self,
        uuid: &str,
        name: &str,
        p: &Placed,
        at: i64,
    ) -> Result<RowId, StoreError> {
        let vm = self.store.vm_id(uuid, name)?;
        let host = self.host_id(p.host)?;
        self.store.open_placement(&NewPlacement {
            vm,
            host,
            state: p.state,
            vcpus: p.vcpus,
            memory: p.memory,
            max_memory: p.max_memory,
            since: at,
        })
    }

    pub(super) fn close_row(&mut self, row: RowId, at: i64) -> Result<(), StoreError> {
        self.store.close_placement(row, at)
    }

    pub(super) fn host_id(&mut self, host: usize) -> Result<RowId, StoreError> {
        let h = &self.hosts[host];
        self.store.host_id(&h.name, &h.uri)
    }

    pub(super) fn name_of(&mut self, uuid: &str) -> String {
        match self.store.vm_name(uuid) {
            Ok(Some(name)) => name,
            _ => uuid.to_owned(),
        }
    }
}

/// Whether an audited action (`{"action": "snapshot", "name": ...}`) is about this snapshot.
fn names(params: &str, snapshot: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(params)
        .ok()
        .is_some_and(|v| v.get("name").and_then(|n| n.as_str()) == Some(snapshot))
}
