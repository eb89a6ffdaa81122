//! What the app decides about a host's schedule: how often to poll, how long a silent call may
//! take, how the reconnect waits grow, whether first polls are spread over the interval.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub interval: Duration,
    pub timeout: Duration,
    pub backoff_start: Duration,
    pub backoff_cap: Duration,
    /// Each host starts at its own offset in the interval and keeps it, so the fleet's polls
    /// are spread instead of all at once. One-shot commands turn it off: they want every host
    /// as soon as it answers.
    pub spread: bool,
}

impl Timing {
    pub fn new(interval: Duration, timeout: Duration) -> Timing {
        Timing {
            interval,
            timeout,
            backoff_start: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            spread: true,
        }
    }
}
