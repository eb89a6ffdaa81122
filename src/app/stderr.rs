//! While fleetwatch polls, fd 2 goes to the log file. libvirt, libxml2 ("I/O warning : failed
//! to load external entity") and the ssh processes libvirt starts write to the process's
//! standard error, below any callback fleetwatch can install; on a full-screen UI that text
//! lands in the middle of the tables, and in a cron `check` it is noise. In the log it stays
//! readable. fd 2 is put back on every way out, panics included, so fleetwatch's own messages
//! reach the user.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;

/// The real standard error while it is redirected; the panic hook puts it back from here.
static SAVED: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// fd 2 sent to a file until dropped.
pub struct Redirect {
    _private: (),
}

impl Redirect {
    /// Sends fd 2 to `log` (appended), or to /dev/null when there is no log. Fails without
    /// changing anything.
    pub fn to(log: Option<&Path>) -> std::io::Result<Redirect> {
        let file = match log {
            Some(p) => {
                if let Some(dir) = p.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?
            }
            None => std::fs::OpenOptions::new().write(true).open("/dev/null")?,
        };
        let mut saved = SAVED.lock().unwrap_or_else(|p| p.into_inner());
        if saved.is_none() {
            let _ = std::io::stderr().flush();
            let original = std::io::stderr().as_fd().try_clone_to_owned()?;
            rustix::stdio::dup2_stderr(file.as_fd())?;
            *saved = Some(original);
        }
        Ok(Redirect { _private: () })
    }
}

/// Puts the real standard error back (idempotent; safe from a panic hook).
pub fn restore() {
    let mut saved = match SAVED.try_lock() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if let Some(fd) = saved.take() {
        let _ = rustix::stdio::dup2_stderr(fd.as_fd());
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        restore();
    }
}

/// Writes to the user's standard error, also while fd 2 goes to the log.
pub fn write(text: &str) {
    let saved = SAVED.lock().unwrap_or_else(|p| p.into_inner());
    let result = match saved.as_ref().map(|fd| fd.try_clone()) {
        Some(Ok(fd)) => std::fs::File::from(fd).write_all(text.as_bytes()),
        _ => std::io::stderr().write_all(text.as_bytes()),
    };
    // Nowhere left to say it: the text is in the log file when logging works.
    let _ = result;
}

/// `eprintln!` that reaches the user while fd 2 goes to the log.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::app::stderr::write(&format!("{}\n", format_args!($($arg)*))) };
}

/// Whether fd 2 is redirected now.
pub fn redirected() -> bool {
    SAVED.lock().map(|s| s.is_some()).unwrap_or(false)
}
