//! The configuration file: TOML, strictly checked. An unknown key or a bad value is an error that
//! names the file, the line and the key, because a typo silently ignored at 3 a.m. means a host
//! nobody watches.

mod duration;
mod error;
mod lines;
mod parse;
#[cfg(test)]
mod tests;

pub(crate) use duration::{duration, opt_duration};
pub use error::ConfigError;

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::history::config::HistoryConfig;
pub use crate::policy::PolicyConfig;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_SLOW_EVERY: u32 = 5;
/// Threads that make libvirt calls for all hosts, and connects among them at once: a call
/// mostly waits on the network, so a few per core serve thousands of hosts.
pub const DEFAULT_THREADS: usize = 16;
pub const DEFAULT_CONNECTS: usize = 8;
/// At most this many call threads: with the program's other threads the process stays under 64
/// threads (plus calls left hung, which are capped apart).
pub const MAX_THREADS: usize = 32;
/// Most `[[host]]` entries one config may have: the fleet size the collectors, the model and
/// the recorder are tested with. Threads no longer grow with hosts; memory and the UI's work
/// do.
pub const MAX_HOSTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this came from; relative paths inside it were resolved against its folder.
    pub source: Option<PathBuf>,
    pub poll: PollConfig,
    pub hosts: Vec<HostConfig>,
    pub policy: PolicyConfig,
    pub history: HistoryConfig,
    pub wall: WallConfig,
    pub evacuation: EvacuationConfig,
    /// `[keys]`: other keys for the actions.
    pub keys: crate::actions::keys::ActionKeys,
    /// The session may not act at all (`--read-only`, `--wall`); not a file setting.
    pub read_only: bool,
    /// `[group.NAME]`, by name.
    pub groups: std::collections::BTreeMap<String, HostGroup>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollConfig {
    /// Time between two polls of one host.
    #[serde(default = "default_interval", deserialize_with = "duration")]
    pub interval: Duration,
    /// A host that has not answered a connection attempt, or any libvirt call of a poll, within
    /// this is down.
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// Disk I/O and balloon statistics cost the daemon a QEMU monitor round trip per VM; they
    /// are fetched on every this-many-th poll only (1: every poll).
    #[serde(default = "default_slow_every")]
    pub slow_stats_every: u32,
    /// Threads that make the libvirt calls (connects and polls) of every host.
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Connects in flight at once (each may start an ssh process): a fleet coming back after a
    /// network blip reconnects this many hosts at a time.
    #[serde(default = "default_connects")]
    pub connects: usize,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            slow_stats_every: DEFAULT_SLOW_EVERY,
            threads: DEFAULT_THREADS,
            connects: DEFAULT_CONNECTS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    pub name: String,
    pub uri: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Allow actions (start, shutdown, migrate, ...) on this host. Off: fleetwatch opens the
    /// host read-only, so libvirt itself refuses any write.
    #[serde(default)]
    pub actions: bool,
    /// Severity of this host's `host-down` finding, over `[policy.severity]` (a lab host
    /// that is often off can be a warning while production stays critical).
    #[serde(default)]
    pub host_down: Option<crate::model::findings::Severity>,
    /// The `[group.NAME]` it belongs to (production, staging, a lab...).
    #[serde(default)]
    pub group: Option<String>,
}

/// `[group.NAME]`: how a group of hosts looks, and what may be done on them.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostGroup {
    /// Its colour in the header and the hosts pane: red, green, yellow, blue, magenta, cyan,
    /// white, gray or #rrggbb. Without colour (NO_COLOR) its name shows all the same.
    #[serde(default)]
    pub color: Option<String>,
    /// No action on its hosts, whatever their `actions` say: they are opened read-only.
    #[serde(default)]
    pub read_only: bool,
    /// Production: every confirmation pane for one of its VMs says so in its first line.
    #[serde(default)]
    pub production: bool,
    /// Only these actions on its hosts (names as in [`GROUP_ACTIONS`]); unset: all of them.
    /// A migration needs `migrate` in the groups of both hosts.
    #[serde(default)]
    pub actions: Option<Vec<String>>,
    /// `[group.NAME.severity]`: a finding's severity on its hosts, over `[policy.severity]`
    /// (a lab's unbacked VM a warning while production's stays critical).
    #[serde(default)]
    pub severity:
        std::collections::BTreeMap<crate::model::findings::Kind, crate::model::findings::Severity>,
}

/// The actions a group's `actions` may list: pause covers resume, migrate an evacuation's moves.
pub const GROUP_ACTIONS: [&str; 9] = [
    "start",
    "shutdown",
    "reboot",
    "pause",
    "snapshot",
    "migrate",
    "force-off",
    "revert-snapshot",
    "delete-snapshot",
];

/// The colour names a group may have (`#rrggbb` besides).
pub const GROUP_COLORS: [&str; 8] = [
    "red", "green", "yellow", "blue", "magenta", "cyan", "white", "gray",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    poll: PollConfig,
    #[serde(default, rename = "host")]
    hosts: Vec<HostConfig>,
    #[serde(default)]
    policy: PolicyConfig,
    #[serde(default)]
    history: HistoryConfig,
    #[serde(default)]
    wall: WallConfig,
    #[serde(default)]
    evacuation: EvacuationConfig,
    #[serde(default)]
    keys: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "group")]
    groups: std::collections::BTreeMap<String, HostGroup>,
}

/// `[wall]`: the unattended display of `--wall`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WallConfig {
    /// Time on each view before the next: overview, findings, recent migrations.
    #[serde(default = "default_cycle", deserialize_with = "duration")]
    pub cycle: Duration,
}

/// `[evacuation]`: how an evacuation (or a return) runs its live migrations.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvacuationConfig {
    /// Migrations at once, 1 to [`MAX_PARALLEL_MIGRATIONS`]: faster, at the cost of the
    /// source's network and of a failure finding more than one under way.
    #[serde(default = "one")]
    pub parallel: usize,
}

pub const MAX_PARALLEL_MIGRATIONS: usize = 8;

fn one() -> usize {
    1
}

impl Default for EvacuationConfig {
    fn default() -> Self {
        EvacuationConfig { parallel: 1 }
    }
}

fn default_cycle() -> Duration {
    Duration::from_secs(15)
}

impl Default for WallConfig {
    fn default() -> Self {
        WallConfig {
            cycle: default_cycle(),
        }
    }
}

fn default_interval() -> Duration {
    DEFAULT_INTERVAL
}
fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}
fn default_slow_every() -> u32 {
    DEFAULT_SLOW_EVERY
}
fn default_threads() -> usize {
    DEFAULT_THREADS
}
fn default_connects() -> usize {
    DEFAULT_CONNECTS
}

/// `$XDG_CONFIG_HOME/fleetwatch/config.toml`, falling back to `~/.config`.
pub fn default_path() -> Option<PathBuf> {
    Some(crate::dirs::config_dir()?.join("config.toml"))
}

impl Config {
    /// URIs fleetwatch may open for writing: hosts that allow actions, unless read-only.
    pub fn writable_uris(&self) -> std::collections::HashSet<String> {
        if self.read_only {
            return Default::default();
        }
        self.hosts
            .iter()
            .filter(|h| self.may_act(h))
            .map(|h| h.uri.clone())
            .collect()
    }

    /// The host's group and its settings, when it has one.
    pub fn group_of(&self, h: &HostConfig) -> Option<(&str, &HostGroup)> {
        self.groups
            .get_key_value(h.group.as_deref()?)
            .map(|(n, g)| (n.as_str(), g))
    }

    /// Actions on this host: its `actions`, unless its group is read-only (the session's own
    /// read-only is the caller's).
    fn may_act(&self, h: &HostConfig) -> bool {
        h.actions && !self.group_of(h).is_some_and(|(_, g)| g.read_only)
    }

    /// Per host (config order): the production group it is in, if any.
    pub fn production(&self) -> Vec<Option<String>> {
        self.hosts
            .iter()
            .map(|h| {
                self.group_of(h)
                    .filter(|(_, g)| g.production)
                    .map(|(n, _)| n.to_owned())
            })
            .collect()
    }

    /// Per host (config order): its group's name and `actions`, where the group limits them.
    pub fn group_actions(&self) -> Vec<Option<(String, Vec<String>)>> {
        self.hosts
            .iter()
            .map(|h| {
                let (name, g) = self.group_of(h)?;
                Some((name.to_owned(), g.actions.clone()?))
            })
            .collect()
    }

    pub fn actions_allowed(&self) -> Vec<bool> {
        self.hosts
            .iter()
            .map(|h| self.may_act(h) && !self.read_only)
            .collect()
    }

    pub fn load(path: &Path, keys: &crate::actions::keys::KeyRules) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            source: std::sync::Arc::new(e),
        })?;
        Config::parse(&text, Some(path), keys)
    }
}
