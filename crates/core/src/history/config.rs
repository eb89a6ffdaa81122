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
    /// A shared PostgreSQL database instead of the file (`postgresql://user@host:port/db`),
    /// for several recorders and many readers. Never with a password in it.
    #[serde(default)]
    pub url: Option<String>,
    /// The database password's file (owner-only), when neither PGPASSWORD nor ~/.pgpass
    /// gives it; relative to the config file.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The TUI watches the fleet as the recorders write it into `url`, opening no libvirt
    /// connection but for an action (also `fleetwatch --store URL`).
    #[serde(default)]
    pub client: bool,
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
            url: None,
            password_file: None,
            client: false,
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
    #[error("set [history] path (a file) or url (a database), not both")]
    PathAndUrl,
    #[error("[history] password_file is for url; there is no url")]
    PasswordWithoutUrl,
    #[error("[history] client watches the fleet through a shared database; there is no url")]
    ClientWithoutUrl,
    #[error("[history] url {0:?} must start with postgresql://")]
    UrlScheme(String),
    #[error(
        "[history] url carries a password; the config is no place for one: use PGPASSWORD, ~/.pgpass or [history] password_file"
    )]
    UrlPassword,
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
        for p in [&mut self.path, &mut self.password_file]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Checks what serde cannot: each rollup coarser than the one before, and a whole multiple.
    pub fn validate(&self) -> Result<(), HistoryConfigError> {
        if self.path.is_some() && self.url.is_some() {
            return Err(HistoryConfigError::PathAndUrl);
        }
        if self.password_file.is_some() && self.url.is_none() {
            return Err(HistoryConfigError::PasswordWithoutUrl);
        }
        if self.client && self.url.is_none() {
            return Err(HistoryConfigError::ClientWithoutUrl);
        }
        if let Some(url) = &self.url {
            let Some(rest) = url
                .strip_prefix("postgresql://")
                .or_else(|| url.strip_prefix("postgres://"))
            else {
                return Err(HistoryConfigError::UrlScheme(url.clone()));
            };
            // user:password@host: the userinfo is what comes before the last '@' of the
            // authority (a password may itself hold an '@').
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && userinfo.contains(':')
            {
                return Err(HistoryConfigError::UrlPassword);
            }
        }
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
    /// None when the history is a database (`url`): nothing then writes a file of its own.
    pub fn db_path(&self) -> Option<PathBuf> {
        if self.url.is_some() {
            return None;
        }
        self.path
            .clone()
            .or_else(|| Some(crate::dirs::data_dir()?.join("history.db")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(path: Option<&str>, url: Option<&str>, pw: Option<&str>) -> HistoryConfig {
        HistoryConfig {
            path: path.map(PathBuf::from),
            url: url.map(str::to_owned),
            password_file: pw.map(PathBuf::from),
            ..HistoryConfig::default()
        }
    }

    #[test]
    fn a_database_url_is_checked_before_anything_connects() {
        let ok = |u: &str| with(None, Some(u), None).validate();
        assert_eq!(ok("postgresql://fleet@db:5432/history"), Ok(()));
        assert_eq!(ok("postgres://db/history"), Ok(()));
        assert_eq!(
            ok("postgresql://fleet:s3cret@db/history"),
            Err(HistoryConfigError::UrlPassword)
        );
        assert_eq!(
            ok("postgresql://fleet:p@ss@db/history"),
            Err(HistoryConfigError::UrlPassword)
        );
        assert!(matches!(
            ok("mysql://db/history"),
            Err(HistoryConfigError::UrlScheme(_))
        ));
        assert_eq!(
            with(Some("h.db"), Some("postgresql://db/x"), None).validate(),
            Err(HistoryConfigError::PathAndUrl)
        );
        assert_eq!(
            with(None, None, Some("pw")).validate(),
            Err(HistoryConfigError::PasswordWithoutUrl)
        );
        let mut c = with(None, Some("postgresql://db/x"), Some("secret/pw"));
        c.resolve(Path::new("/etc/fleetwatch"));
        assert_eq!(
            c.password_file.as_deref(),
            Some(Path::new("/etc/fleetwatch/secret/pw"))
        );
    }
}
