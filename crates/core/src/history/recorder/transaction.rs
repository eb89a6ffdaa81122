//! Writes under the lease, one transaction per batch of messages. A transaction costs more than
//! most messages' rows (the write lock, the lease asked about, the recording extended, the WAL
//! commit), so messages that queued up together are written together; the guarantees per
//! message become guarantees per batch: a killed recorder loses at most the batch it was
//! writing, a failed batch leaves none of its rows, and whether we hold the lease is asked
//! inside the transaction, so nothing of ours lands once another recorder took over.

use super::{RecordError, Recorder};
use crate::history::health::stalls;
use crate::history::store::StoreError;
use crate::link::Message;
use std::time::Duration;

/// Rollups and retention run this often.
pub const MAINTAIN_EVERY_MS: i64 = 60_000;

/// The most messages one transaction writes: a poll of every host of a 256-host fleet, and a
/// bound on what a failed commit throws away.
pub const BATCH_MAX: usize = 256;
/// How long a batch waits, after its first message, for more to join it.
pub const BATCH_WINDOW: Duration = Duration::from_millis(200);

/// A message as the recorder's queue hands it over.
#[derive(Debug, Clone)]
pub struct Queued {
    pub message: Message,
    /// Messages of the same host were dropped just before this one (the queue was full): what
    /// its sample shows changed at a time nobody knows, as after a gap.
    pub after_loss: bool,
}

impl Recorder {
    /// Records one collector message; `now_ms` is the wall clock.
    pub fn record(&mut self, m: &Message, now_ms: i64) -> Result<(), RecordError> {
        self.record_all(std::iter::once((m, false)), now_ms)
    }

    /// Records messages in one transaction, in order: all of them or, on failure, none.
    pub fn record_batch(&mut self, batch: &[Message], now_ms: i64) -> Result<(), RecordError> {
        self.record_all(batch.iter().map(|m| (m, false)), now_ms)
    }

    /// As [`Recorder::record_batch`], for messages that say whether some were lost before them.
    pub fn record_queued(&mut self, batch: &[Queued], now_ms: i64) -> Result<(), RecordError> {
        self.record_all(batch.iter().map(|q| (&q.message, q.after_loss)), now_ms)
    }

    fn record_all<'a, I>(&mut self, batch: I, now_ms: i64) -> Result<(), RecordError>
    where
        I: Iterator<Item = (&'a Message, bool)> + Clone,
    {
        if batch.clone().next().is_none() {
            return Ok(());
        }
        let hosts = batch.clone().map(|(m, _)| m.host);
        let batch_for_live = batch.clone().map(|(m, _)| m);
        let written = self.transaction(now_ms, |r| {
            for (m, after_loss) in batch {
                if after_loss && let Some(g) = r.gap.get_mut(m.host) {
                    *g = true;
                }
                r.write(m, now_ms)?;
            }
            if r.store.keeps_live() {
                r.publish(batch_for_live)?;
            }
            r.store.meta_set("last_write", &now_ms.to_string())
        });
        if let Err(RecordError::Store(_)) = &written {
            // What the batch showed was never written: the next sample of each of its hosts
            // shows those changes at a later time than they happened.
            for h in hosts {
                if let Some(g) = self.gap.get_mut(h) {
                    *g = true;
                }
            }
        }
        written?;
        if now_ms - self.last_maintenance >= MAINTAIN_EVERY_MS {
            self.last_maintenance = now_ms;
            self.maintain(now_ms);
        }
        Ok(())
    }

    /// Rollups and retention, then a look at whether they advance. Their failure is no
    /// batch's: the batch is written, and the stall is what `history_health` says.
    fn maintain(&mut self, now_ms: i64) {
        let ran = self.store.maintain(&self.cfg, now_ms);
        let marks = self.store.rollup_marks(self.cfg.rollup.len());
        let mut why = match &marks {
            Ok(m) => stalls(&self.cfg, m),
            Err(e) => vec![format!("cannot read the rollups' marks: {e}")],
        };
        if let Err(e) = &ran {
            why.insert(0, format!("rollups and retention failed: {e}"));
        }
        if let Ok(m) = marks {
            self.maintained_at = m.maintained_at;
        }
        if why != self.stalls {
            if why.is_empty() {
                tracing::info!("history rollups advance again");
            } else {
                tracing::warn!("history stalled: {}", why.join("; "));
            }
        }
        self.stalls = why;
    }

    /// When the rollups last committed, and why they do not advance (empty when they do).
    pub fn history_health(&self) -> (Option<i64>, &[String]) {
        (self.maintained_at, &self.stalls)
    }

    /// Keeps the lease while no message comes (every host down and quiet): call it every
    /// second or so; it writes only when the lease is due for renewal.
    pub fn tick(&mut self, now_ms: i64) -> Result<(), RecordError> {
        if now_ms - self.last_renew < self.me.renew_ms {
            return Ok(());
        }
        self.transaction(now_ms, |_| Ok(()))
    }

    /// One write under the lease: whether we still hold it is asked inside the transaction,
    /// so once the service took over (or we were presumed dead) nothing more of ours lands.
    fn transaction(
        &mut self,
        now_ms: i64,
        f: impl FnOnce(&mut Recorder) -> Result<(), StoreError>,
    ) -> Result<(), RecordError> {
        self.store.begin()?;
        self.recent_added = 0;
        let held = self.store.holds_lease(&self.me).and_then(|held| {
            if held && now_ms - self.last_renew >= self.me.renew_ms {
                self.store.renew_lease(&self.me, now_ms)?;
            }
            Ok(held)
        });
        let done = match held {
            Ok(true) => f(self).and_then(|()| self.store.extend_recording(self.recording, now_ms)),
            Ok(false) => {
                let _ = self.store.rollback();
                return Err(RecordError::LostLease);
            }
            Err(e) => Err(e),
        };
        match done.and_then(|()| self.store.commit()) {
            Ok(()) => {
                if now_ms - self.last_renew >= self.me.renew_ms {
                    self.last_renew = now_ms;
                }
                Ok(())
            }
            Err(e) => {
                let _ = self.store.rollback();
                // What this recorder believes was written must be what the store holds.
                self.reload()?;
                Err(e.into())
            }
        }
    }
}
