//! What can keep fleetwatch from having a config to run with, and where in the file it is.
//! Every text field may quote the file (a TOML error shows the line, a host name its value),
//! and the file may hold escape sequences: each is shown sanitized, never raw.

use super::MAX_HOSTS;
use crate::actions::keys::KeysError;
use crate::sanitize::clean_multiline as c;
use std::sync::Arc;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", c(.path))]
    Read {
        path: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// TOML that does not parse, or a key or value serde refuses, at the line it points at.
    #[error("{}, line {line} (in {}): {}\n    {line} | {}", c(.file), c(.table), c(.message), c(.text))]
    Syntax {
        file: String,
        line: usize,
        /// The `[table]` header above the line, or "top level".
        table: String,
        message: String,
        /// The line itself, trimmed.
        text: String,
    },
    /// As [`ConfigError::Syntax`] when TOML gives no position.
    #[error("{}: {}", c(.file), c(.message))]
    Unplaced { file: String, message: String },
    /// A value TOML and serde accept but fleetwatch does not.
    #[error("{}, line {}: {}: {}", c(.file), at(*.line), c(.key), c(.reason))]
    Value {
        file: String,
        line: Option<usize>,
        key: String,
        reason: String,
    },
    #[error("{}: no [[host]] entries: add at least one (`fleetwatch config example` prints a documented config)", c(.file))]
    NoHosts { file: String },
    #[error(
        "{}, line {}: {count} [[host]] entries, more than the limit of {MAX_HOSTS}, the \
         largest fleet one fleetwatch is tested to watch; split the fleet over several \
         configs (one fleetwatch or recorder each), at most {MAX_HOSTS} hosts in each",
        c(.file), at(*.line)
    )]
    TooManyHosts {
        file: String,
        /// The first `[[host]]` past the limit.
        line: Option<usize>,
        count: usize,
    },
    #[error("{}, line {}: {}", c(.file), at(*.line), c(&.source.to_string()))]
    Keys {
        file: String,
        line: Option<usize>,
        #[source]
        source: KeysError,
    },
    #[error("no --config given and no HOME to find one")]
    NoHome,
    #[error("no config at {}; pass --config PATH, or try --demo (`fleetwatch config example` prints a documented config)", c(.path))]
    NotFound { path: String },
    #[error("cannot create a temporary folder for the demo: {0}")]
    DemoFolder(#[source] Arc<std::io::Error>),
    #[error("cannot write demo file {}: {source}", c(.path))]
    DemoFile {
        path: String,
        #[source]
        source: Arc<std::io::Error>,
    },
}

fn at(line: Option<usize>) -> String {
    line.map_or("?".into(), |l| l.to_string())
}
