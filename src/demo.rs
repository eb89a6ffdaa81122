//! The demo fleet ships inside the binary, so `--demo` works from an installed copy: the
//! test-driver host files and a config naming them are written to a private temporary folder.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fleetwatch_core::config::{Config, ConfigError};
use regex::{Captures, Regex};
use std::path::Path;

const FILES: &[(&str, &str)] = &[
    (
        "fleetwatch.toml",
        include_str!("../assets/demo/fleetwatch.toml"),
    ),
    (
        "hv-ams-01.xml",
        include_str!("../assets/demo/hv-ams-01.xml"),
    ),
    (
        "hv-ams-02.xml",
        include_str!("../assets/demo/hv-ams-02.xml"),
    ),
    (
        "hv-fra-01.xml",
        include_str!("../assets/demo/hv-fra-01.xml"),
    ),
    (
        "hv-fra-02.xml",
        include_str!("../assets/demo/hv-fra-02.xml"),
    ),
    (
        "hv-lon-01.xml",
        include_str!("../assets/demo/hv-lon-01.xml"),
    ),
    (
        "inventory.toml",
        include_str!("../assets/demo/inventory.toml"),
    ),
    (
        "backups.jsonl",
        include_str!("../assets/demo/backups.jsonl"),
    ),
];

/// The moment the demo files describe. At start every time in them is moved by (now - this), so
/// the demo fleet's backups and approvals are as old as they were meant to be.
pub const AS_OF: &str = "2026-11-21T06:00:00Z";

/// The written demo; the folder is removed when this is dropped.
pub struct Demo {
    pub dir: tempfile::TempDir,
    pub config: Config,
}

pub fn write() -> Result<Demo, ConfigError> {
    let dir = tempfile::Builder::new()
        .prefix("fleetwatch-demo-")
        .tempdir()
        .map_err(|e| ConfigError::DemoFolder(e.into()))?;
    let shift = Utc::now()
        - DateTime::parse_from_rfc3339(AS_OF)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
    for (name, text) in FILES {
        let path = dir.path().join(name);
        std::fs::write(&path, shift_times(text, shift)).map_err(|e| ConfigError::DemoFile {
            path: path.display().to_string(),
            source: e.into(),
        })?;
    }
    let mut config = Config::load(
        &dir.path().join("fleetwatch.toml"),
        &crate::ui::bindings::key_rules(),
    )?;
    // The demo's history is kept apart from a real fleet's, and outlives the temporary folder
    // so `fleetwatch history --demo` can read what a demo session recorded.
    config.history.path = config
        .history
        .db_path()
        .map(|p| p.with_file_name("demo-history.db"));
    Ok(Demo { dir, config })
}

impl Demo {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Moves every time in a demo file by `by`: RFC 3339 times, plain dates (whole days) and the
/// epoch seconds of test-driver snapshots.
pub fn shift_times(text: &str, by: Duration) -> String {
    let Ok(re) = Regex::new(
        r"(?P<t>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)|(?P<d>\b\d{4}-\d{2}-\d{2}\b)|<creationTime>(?P<e>\d+)</creationTime>",
    ) else {
        return text.to_owned();
    };
    let days = Duration::days(by.num_days());
    re.replace_all(text, |c: &Captures| {
        if let Some(t) = c.name("t") {
            DateTime::parse_from_rfc3339(t.as_str())
                .map(|t| {
                    (t.with_timezone(&Utc) + by)
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string()
                })
                .unwrap_or_else(|_| t.as_str().to_owned())
        } else if let Some(d) = c.name("d") {
            NaiveDate::parse_from_str(d.as_str(), "%Y-%m-%d")
                .map(|d| (d + days).format("%Y-%m-%d").to_string())
                .unwrap_or_else(|_| d.as_str().to_owned())
        } else if let Some(e) = c.name("e") {
            let secs = e.as_str().parse::<i64>().unwrap_or(0) + by.num_seconds();
            format!("<creationTime>{secs}</creationTime>")
        } else {
            c[0].to_owned()
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_move_together() {
        let t = "last=\"2026-11-21T02:00:00Z\" expires = 2026-12-15 <creationTime>1795233600</creationTime>";
        let out = shift_times(t, Duration::days(2) + Duration::hours(3));
        assert_eq!(
            out,
            "last=\"2026-11-23T05:00:00Z\" expires = 2026-12-17 <creationTime>1795417200</creationTime>"
        );
        assert_eq!(shift_times(t, Duration::zero()), t);
    }
}
