//! The crate's errors. Their Display is the text the UI, `snapshot --json` and the audit log
//! show, and that core's `diagnose::explain` classifies a host's failure from, so it is libvirt's
//! own message wherever libvirt gave one; the types add what failed for code that asks.

use fleetwatch_core::sanitize::clean_multiline;
use fleetwatch_core::transport::UriRefused;
use std::time::Duration;

/// A libvirt call that failed, with libvirt's message cleaned for the screen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LibvirtError {
    /// The C function that failed, for logs and tests; never part of the shown text.
    pub call: &'static str,
    pub message: String,
}

impl LibvirtError {
    pub fn new(call: &'static str, e: &virt::error::Error) -> LibvirtError {
        LibvirtError {
            call,
            message: clean_multiline(e.message()),
        }
    }

    /// For `map_err`: libvirt's error of `call`.
    pub fn of(call: &'static str) -> impl Fn(virt::error::Error) -> LibvirtError {
        move |e| LibvirtError::new(call, &e)
    }
}

/// Why a source could not be opened or polled.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Libvirt(#[from] LibvirtError),
    /// Refused before libvirt saw it: the URI would let ssh prompt on the terminal.
    #[error(transparent)]
    Uri(#[from] UriRefused),
    /// A source other than libvirt's (the tests' mocks), in its own words.
    #[error("{0}")]
    Other(String),
}

impl From<String> for SourceError {
    fn from(s: String) -> SourceError {
        SourceError::Other(s)
    }
}

impl From<&str> for SourceError {
    fn from(s: &str) -> SourceError {
        SourceError::Other(s.to_owned())
    }
}

/// A panic caught in a collector or action thread, already logged where it was caught.
#[derive(Debug, Clone, thiserror::Error)]
#[error("internal error in the collector: {message} (see the log)")]
pub struct Panicked {
    pub during: &'static str,
    pub message: String,
}

fn shown(d: &Duration) -> humantime::FormattedDuration {
    humantime::format_duration(*d)
}

/// Why the scheduler holds a host down until the next attempt.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("no answer to connect within {}", shown(.timeout))]
    ConnectTimeout { timeout: Duration },
    #[error("no answer within {}; reconnecting", shown(.timeout))]
    PollTimeout { timeout: Duration },
    #[error(
        "{live} earlier calls to this host are still hung; waiting for them before reconnecting"
    )]
    StillHung { live: usize },
    /// Past the cap of hung calls in all, nothing connects: each would risk one more thread.
    #[error(
        "the hung-call limit is reached ({hung} calls to hosts are hung); waiting for one to \
         return before connecting"
    )]
    HungLimit { hung: usize },
    #[error(transparent)]
    Panicked(#[from] Panicked),
}

/// Why an action was not done, or not done to the end.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("refused: {name} ({uuid}) is no longer on {host}; nothing was done")]
    Gone {
        name: String,
        uuid: String,
        host: String,
    },
    /// The VM is not what the confirmation pane showed: each change as "what old → new".
    #[error("refused: {name} changed since the pane opened ({}); nothing was done", .changes.join(", "))]
    Changed { name: String, changes: Vec<String> },
    #[error("not connected to the host for writing (down, or read-only): nothing was done")]
    NotConnected,
    /// A TUI watching through the store opens a connection for the action, and could not.
    #[error("cannot connect to the host for the action: {0}; nothing was done")]
    Connect(String),
    #[error(transparent)]
    Libvirt(#[from] LibvirtError),
    #[error("cannot start the migration thread: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("aborted by the operator; the VM stays where it was")]
    Aborted,
    /// The app runs an evacuation as its migrations; given whole, a host refuses it.
    #[error("an evacuation runs as one migration at a time, not as one action; nothing was done")]
    NotOneAction,
    #[error("the migration thread ended without a result")]
    MigrationLost,
    #[error(transparent)]
    Panicked(#[from] Panicked),
}

/// The core's outcome for each: refused where nothing was tried because the VM is not what the
/// pane showed, aborted when the operator stopped it, failed otherwise (as the audit has always
/// recorded a lost connection).
impl From<ActionError> for fleetwatch_core::actions::ActionFailure {
    fn from(e: ActionError) -> Self {
        use fleetwatch_core::actions::ActionFailure as F;
        let text = e.to_string();
        match e {
            ActionError::Gone { .. } | ActionError::Changed { .. } | ActionError::NotOneAction => {
                F::Refused(text)
            }
            ActionError::Aborted => F::Aborted(text),
            _ => F::Failed(text),
        }
    }
}

/// Why an action could not be handed to the action threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActError {
    #[error("no such host")]
    NoSuchHost,
    #[error("the collectors' action threads have ended")]
    Ended,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_text_is_the_one_the_ui_and_the_tests_read() {
        let l = LibvirtError {
            call: "virConnectOpen",
            message: "Cannot recv data: Connection reset by peer".into(),
        };
        assert_eq!(
            LinkError::from(SourceError::from(l)).to_string(),
            "Cannot recv data: Connection reset by peer"
        );
        let t = Duration::from_millis(400);
        assert_eq!(
            LinkError::PollTimeout { timeout: t }.to_string(),
            "no answer within 400ms; reconnecting"
        );
        assert_eq!(
            LinkError::ConnectTimeout { timeout: t }.to_string(),
            "no answer to connect within 400ms"
        );
        let changed = ActionError::Changed {
            name: "db-01".into(),
            changes: vec!["state paused → running".into(), "name a → b".into()],
        };
        assert_eq!(
            changed.to_string(),
            "refused: db-01 changed since the pane opened (state paused → running, name a → b); \
             nothing was done"
        );
    }

    #[test]
    fn each_action_error_has_the_audit_outcome_it_always_had() {
        use fleetwatch_core::actions::ActionFailure;
        let outcome = |e: ActionError| ActionFailure::from(e).outcome();
        let gone = ActionError::Gone {
            name: "a".into(),
            uuid: "u".into(),
            host: "h".into(),
        };
        assert_eq!(outcome(gone), "refused");
        let changed = ActionError::Changed {
            name: "a".into(),
            changes: vec!["state paused → running".into()],
        };
        assert_eq!(outcome(changed), "refused");
        assert_eq!(outcome(ActionError::Aborted), "aborted");
        assert_eq!(outcome(ActionError::NotConnected), "failed");
        assert_eq!(outcome(ActionError::MigrationLost), "failed");
        // The text goes with it unchanged: the pane and the audit show the actor's words.
        let f = ActionFailure::from(ActionError::Aborted);
        assert_eq!(
            f.to_string(),
            "aborted by the operator; the VM stays where it was"
        );
    }
}
