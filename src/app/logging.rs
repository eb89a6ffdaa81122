//! Where fleetwatch's own log goes: a file while the TUI runs (never the terminal it draws
//! on), standard error for the headless commands.

use std::path::PathBuf;

/// The log file: the one given, else `$XDG_STATE_HOME/fleetwatch/fleetwatch.log`.
pub fn path(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| Some(fleetwatch_core::dirs::state_dir()?.join("fleetwatch.log")))
}

/// Logs go to a file, never to the terminal the UI is drawing on.
pub fn to_file(path: Option<PathBuf>) {
    let Some(path) = path else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLEETWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

pub fn to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLEETWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
