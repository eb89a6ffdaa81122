//! The demo fleet ships inside the binary, so `--demo` works from an installed copy: the
//! test-driver host files and a config naming them are written to a private temporary folder.

use crate::config::{Config, ConfigError};
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
];

/// The written demo; the folder is removed when this is dropped.
pub struct Demo {
    pub dir: tempfile::TempDir,
    pub config: Config,
}

pub fn write() -> Result<Demo, ConfigError> {
    let dir = tempfile::Builder::new()
        .prefix("fleetwatch-demo-")
        .tempdir()
        .map_err(|e| {
            ConfigError(format!(
                "cannot create a temporary folder for the demo: {e}"
            ))
        })?;
    for (name, text) in FILES {
        let path = dir.path().join(name);
        std::fs::write(&path, text)
            .map_err(|e| ConfigError(format!("cannot write demo file {}: {e}", path.display())))?;
    }
    let config = Config::load(&dir.path().join("fleetwatch.toml"))?;
    Ok(Demo { dir, config })
}

impl Demo {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
