//! A panic in a collector thread is caught where it happens and becomes that host's error, so
//! one bad host or driver never takes the others (or the UI) down with it.

use crate::error::Panicked;
use std::any::Any;

/// The text of a caught panic.
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Logs a panic caught in a collector thread and words it as the host's error.
pub(super) fn internal_error(
    host: usize,
    uri: &str,
    during: &'static str,
    payload: &(dyn Any + Send),
) -> Panicked {
    let message = panic_message(payload);
    tracing::error!(host, uri, "collector panicked in {during}: {message}");
    Panicked { during, message }
}
