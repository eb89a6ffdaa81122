//! How much the collectors may run at once, whatever the fleet's size: the threads that make
//! libvirt calls, the connects among them, the actions, and the calls left hung.

/// Defaults: a few connections' worth of threads per core is plenty, since a call mostly
/// waits on the network; connects are fewer, because each may start an ssh process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Threads that make libvirt calls (connect, poll) for every host.
    pub threads: usize,
    /// Connects in flight at once: 1,000 hosts coming back after a network blip must not start
    /// 1,000 ssh processes together.
    pub connects: usize,
    /// Threads that carry out actions, one action per host at a time.
    pub actions: usize,
    /// Live migrations off one host at once (an evacuation's `[evacuation] parallel`); any
    /// other action still runs alone on its host.
    pub migrations_per_host: usize,
    /// Hung calls kept per host before it is not reconnected until one returns.
    pub hung_per_host: usize,
    /// Hung calls kept in all; past it no host opens a new connection until one returns.
    pub hung_total: usize,
}

pub const DEFAULT_THREADS: usize = 16;
pub const DEFAULT_CONNECTS: usize = 8;
pub const DEFAULT_ACTIONS: usize = 4;
/// As before the pool: three stuck connections show a host that hangs, more only cost threads.
pub const DEFAULT_HUNG_PER_HOST: usize = 3;
pub const DEFAULT_HUNG_TOTAL: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            threads: DEFAULT_THREADS,
            connects: DEFAULT_CONNECTS,
            actions: DEFAULT_ACTIONS,
            migrations_per_host: 1,
            hung_per_host: DEFAULT_HUNG_PER_HOST,
            hung_total: DEFAULT_HUNG_TOTAL,
        }
    }
}

impl Limits {
    /// Every limit at least 1: a zero would stop the collectors without saying why.
    pub(super) fn sane(self) -> Limits {
        Limits {
            threads: self.threads.max(1),
            connects: self.connects.max(1),
            // Enough threads for the migrations one host may run together.
            actions: self.actions.max(self.migrations_per_host).max(1),
            migrations_per_host: self.migrations_per_host.max(1),
            hung_per_host: self.hung_per_host.max(1),
            hung_total: self.hung_total.max(1),
        }
    }
}
