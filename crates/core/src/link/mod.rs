//! What collectors tell the rest of the program: a host's link state, its samples, and action
//! progress, as messages tagged with the host's index in the config, delivered through a
//! [`Mailbox`] whose size does not depend on how fast the app reads it.

mod mailbox;

pub use mailbox::{ACTION_BACKLOG, Closed, Mailbox, MailboxReceiver, MailboxSender};

use crate::model::sample::HostSample;
use std::time::Instant;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, strum::IntoStaticStr, strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum LinkState {
    Connecting,
    Up,
    Stale,
    Down,
}

impl LinkState {
    /// Its name as shown, stored and parsed back: the variant in lowercase.
    pub fn label(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone)]
pub enum Update {
    /// Shared: the UI and the recorder read the same sample, neither copies it.
    Sample(std::sync::Arc<HostSample>),
    Link {
        state: LinkState,
        error: Option<String>,
        /// For a host that is down: which attempt failed and when the next one starts.
        retry: Option<Retry>,
    },
    Action(crate::actions::ActionUpdate),
}

/// A down host's reconnection schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Consecutive failed attempts, this one included.
    pub attempts: u32,
    pub at: Instant,
}

/// What a collector thread tells the app about host number `host` (its index in the config).
#[derive(Debug, Clone)]
pub struct Message {
    pub host: usize,
    pub at: Instant,
    pub update: Update,
}
