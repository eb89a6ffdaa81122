//! Where fleetwatch keeps its files when the config does not say: the XDG base directories,
//! read once here for the config, the history, the audit and the log. XDG on every platform,
//! because that is what the docs promise and what tests point children at with `XDG_*_HOME`.
//! A variable that is unset, empty or relative falls back to the default under the home folder,
//! as the XDG spec says; None when there is no home folder to fall back on.

use etcetera::base_strategy::{BaseStrategy, Xdg};
use std::path::PathBuf;

const APP: &str = "fleetwatch";

/// `$XDG_CONFIG_HOME/fleetwatch` (`~/.config/fleetwatch`).
pub fn config_dir() -> Option<PathBuf> {
    Some(Xdg::new().ok()?.config_dir().join(APP))
}

/// `$XDG_DATA_HOME/fleetwatch` (`~/.local/share/fleetwatch`): the history and the audit.
pub fn data_dir() -> Option<PathBuf> {
    Some(Xdg::new().ok()?.data_dir().join(APP))
}

/// `$XDG_STATE_HOME/fleetwatch` (`~/.local/state/fleetwatch`): the log.
pub fn state_dir() -> Option<PathBuf> {
    Some(Xdg::new().ok()?.state_dir()?.join(APP))
}
