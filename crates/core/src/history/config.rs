//! `[history]` in the config: where the store is, how finely statistics are kept and for how
//! long. Growth is bounded by these numbers.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Off: nothing is recorded or read.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Default `$XDG_DATA_HOME/fleetwatch/history.db`; relative to the config file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Raw statistics are written at most this often per VM and host.
    #[serde(default = "d10s", deserialize_with = "crate::config::duration")]
    pub sample_every: Duration,
    /// Raw statistics are kept this long, then only their rollups.
    #[serde(default = "d1h", deserialize_with = "crate::config::duration")]
    pub raw_for: Duration,
    /// Coarser and coarser averages and maxima, each kept for longer.
    #[serde(default = "default_rollups")]
    pub rollup: Vec<Rollup>,
    /// Events and placements older than this are deleted.
    #[serde(default = "d400d", deserialize_with = "crate::config::duration")]
    pub events_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollup {
    #[serde(deserialize_with = "crate::config::duration")]
    pub every: Duration,
    #[serde(deserialize_with = "crate::config::duration")]
    pub keep: Duration,
}

fn yes() -> bool {
    true
}
fn d10s() -> Duration {
    Duration::from_secs(10)
}
fn d1h() -> Duration {
    Duration::from_secs(3600)
}
fn d400d() -> Duration {
    Duration::from_secs(400 * 86_400)
}

pub fn default_rollups() -> Vec<Rollup> {
    let r = |every: u64, keep: u64| Rollup {
        every: Duration::from_secs(every),
        keep: Duration::from_secs(keep),
    };
    vec![
        r(300, 86_400),
        r(1_800, 7 * 86_400),
        r(7_200, 30 * 86_400),
        r(86_400, 365 * 86_400),
    ]
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: true,
            path: None,
            sample_every: d10s(),
            raw_for: d1h(),
            rollup: default_rollups(),
            events_for: d400d(),
        }
    }
}

/// A `[history]` that serde accepts but would not work; `n` counts `[[history.rollup]]` from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryConfigError {
    #[error(
        "rollup {n} every {} must be a multiple of, and longer than, {}",
        humantime::format_duration(*.every),
        humantime::format_duration(*.prev)
    )]
    NotCoarser {
        n: usize,
        every: Duration,
        prev: Duration,
    },
    #[error(
        "rollup {n} keep {} is shorter than its every {}",
        humantime::format_duration(*.keep),
        humantime::format_duration(*.every)
    )]
    KeptTooBriefly {
        n: usize,
        keep: Duration,
        every: Duration,
    },
    #[error("sample_every must be at least 1s")]
    SampledTooOften,
}

impl HistoryConfig {
    pub fn resolve(&mut self, base: &Path) {
        if let Some(p) = &mut self.path
            && p.is_relative()
        {
            *p = base.join(&*p);
        }
    }

    /// Checks what serde cannot: each rollup coarser than the one before, and a whole multiple.
    pub fn validate(&self) -> Result<(), HistoryConfigError> {
        let mut prev = self.sample_every;
        for (i, r) in self.rollup.iter().enumerate() {
            if r.every <= prev || r.every.as_millis() % prev.as_millis().max(1) != 0 {
                return Err(HistoryConfigError::NotCoarser {
                    n: i + 1,
                    every: r.every,
                    prev,
                });
            }
            if r.keep < r.every {
                // Its points would be deleted before one of them is complete.
                return Err(HistoryConfigError::KeptTooBriefly {
                    n: i + 1,
                    keep: r.keep,
                    every: r.every,
                });
            }
            prev = r.every;
        }
        if self.sample_every < Duration::from_secs(1) {
            return Err(HistoryConfigError::SampledTooOften);
        }
        Ok(())
    }

    /// The database file: configured, else `$XDG_DATA_HOME/fleetwatch/history.db`.
    pub fn db_path(&self) -> Option<PathBuf> {
        self.path
            .clone()
            .or_else(|| Some(crate::dirs::data_dir()?.join("history.db")))
    }
}
