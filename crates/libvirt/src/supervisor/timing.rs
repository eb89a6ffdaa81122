//! What the app decides about a host's schedule: how often to poll, how long a silent call may
//! take, how the reconnect waits grow, and the requests that cut a wait short.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    pub timeout: Duration,
    pub backoff_start: Duration,
    pub backoff_cap: Duration,
}

impl Timing {
    pub fn new(interval: Duration, timeout: Duration) -> Timing {
        Timing {
            interval,
            timeout,
            backoff_start: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
        }
    }
}

/// Requests from the app to a host's supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Poll now, and retry a down host now instead of waiting out the back-off.
    PollNow,
}
