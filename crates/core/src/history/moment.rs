//! What the store knows of one moment: whether any recorder ran then, and the statistics it
//! wrote around it, at the finest level still kept.

use super::config::HistoryConfig;
use super::lease::RENEW_EVERY_MS;
use std::time::Duration;

/// A recorder writes at least every `RENEW_EVERY_MS` while it runs; a moment this soon after
/// its last write is still its own.
pub const SLACK_MS: i64 = RENEW_EVERY_MS + 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    Recorded,
    /// Nothing was ever recorded.
    Never,
    /// Before the first record, which began at `first_ms`.
    Before {
        first_ms: i64,
    },
    /// No recorder ran from `from_ms` (the last write before) to `to_ms` (the next start; none
    /// when no recorder has run since).
    Gap {
        from_ms: i64,
        to_ms: Option<i64>,
    },
}

/// What the recordings say of one moment, as a store reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recordings {
    /// A recording covers it.
    pub inside: bool,
    /// When the first recording began.
    pub first_ms: Option<i64>,
    /// The last write of the latest recording that ended before it.
    pub ended_before_ms: Option<i64>,
    /// The start of the first recording after it.
    pub began_after_ms: Option<i64>,
}

/// One series' statistics at a moment. `None` where nothing was measured: never a zero.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stat {
    pub cpu: Option<f64>,
    pub mem: Option<f64>,
    pub disk: Option<f64>,
    pub net: Option<f64>,
    pub disk_read: Option<f64>,
    pub disk_write: Option<f64>,
    pub net_rx: Option<f64>,
    pub net_tx: Option<f64>,
}

/// How far back from a moment each level's rows still describe it: a raw row until the next
/// sample is due (twice the longer of the poll interval and the sampling step, so one late poll
/// is not a hole), a rollup row for its bucket.
pub fn windows(cfg: &HistoryConfig, poll: Duration) -> Vec<i64> {
    let raw = 2 * cfg.sample_every.max(poll).as_millis() as i64;
    std::iter::once(raw)
        .chain(cfg.rollup.iter().map(|r| r.every.as_millis() as i64))
        .collect()
}
