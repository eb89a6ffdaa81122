//! Host states and libvirt's own lifecycle events, as the recorder writes them.

use super::{EXTERNAL, MIGRATION_MEMORY_MS, Recorder, UNKNOWN};
use crate::history::store::StoreError;
use crate::history::store::rows::HostStateRow;
use crate::link::LinkState;
use crate::model::event::{EventKind, Lifecycle};
use crate::model::sample::HostSample;

impl Recorder {
    /// A host taken over from a recorder that stopped writing it at `since`: when that was
    /// longer ago than a lease's stale time (a takeover after a death, not a share handed on
    /// between two polls), the host's state history says it was not recorded meanwhile.
    pub(super) fn not_recorded(
        &mut self,
        host: usize,
        since: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let stale = crate::history::lease::STALE_RENEWALS * self.me.renew_ms;
        if now_ms - since <= stale {
            return Ok(());
        }
        let why = format!(
            "not recorded for {:.1} s: its recorder stopped writing it and another took over",
            (now_ms - since) as f64 / 1000.0
        );
        self.host_state(host, LinkState::Stale, Some(&why), since)?;
        self.gap[host] = true;
        Ok(())
    }

    pub(super) fn host_state(
        &mut self,
        host: usize,
        state: LinkState,
        error: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        let before = self.host_rows[host].map(|r| r.state);
        if before == Some(state) {
            return Ok(());
        }
        let hid = self.host_id(host)?;
        if let Some(open) = self.host_rows[host] {
            self.store.close_host_state(open.row, at)?;
        }
        let row = self.store.open_host_state(hid, state, error, at)?;
        self.host_rows[host] = Some(HostStateRow { row, state });
        let kind = match state {
            LinkState::Up => "host-up",
            LinkState::Down => "host-down",
            LinkState::Stale => "host-stale",
            LinkState::Connecting => return Ok(()),
        };
        // A host already up when the recorder started did not "come up" now.
        if before.is_some() || state != LinkState::Up {
            self.event(
                at,
                kind,
                None,
                host,
                None,
                "-".into(),
                error.unwrap_or("").to_owned(),
            )?;
        }
        Ok(())
    }

    pub(super) fn libvirt_events(&mut self, host: usize, s: &HostSample) -> Result<(), StoreError> {
        for e in &s.events {
            let EventKind::Lifecycle(life) = e.kind else {
                continue;
            };
            match life {
                Lifecycle::MigrationStarted => {
                    self.migrating.insert(e.uuid.clone(), (e.at_ms, host));
                }
                Lifecycle::MigrationEnded => {
                    self.ended.insert(e.uuid.clone(), e.at_ms);
                }
                Lifecycle::Kind(kind) => {
                    if !self.seen(e.at_ms, &e.uuid, kind, host) {
                        // Delivered live, so never "unknown".
                        let actor = self.actor(host, &e.uuid, kind, e.at_ms);
                        let actor = if actor == UNKNOWN {
                            EXTERNAL.into()
                        } else {
                            actor
                        };
                        self.event(
                            e.at_ms,
                            kind,
                            Some((&e.uuid, &e.name)),
                            host,
                            None,
                            actor,
                            "libvirt event".into(),
                        )?;
                    }
                }
                Lifecycle::Ignore => {}
            }
        }
        let cutoff = s.wall.timestamp_millis() - MIGRATION_MEMORY_MS;
        self.migrating.retain(|_, (t, _)| *t > cutoff);
        self.ended.retain(|_, t| *t > cutoff);
        Ok(())
    }
}
