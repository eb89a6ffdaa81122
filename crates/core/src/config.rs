//! The configuration file: TOML, strictly checked. An unknown key or a bad value is an error that
//! names the file, the line and the key, because a typo silently ignored at 3 a.m. means a host
//! nobody watches.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::history::config::HistoryConfig;
pub use crate::policy::PolicyConfig;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_SLOW_EVERY: u32 = 5;
/// Most `[[host]]` entries one config may have: every host costs [`THREADS_PER_HOST`] threads,
/// and 10,000 hosts ran the process out of them (an abort, not an error).
pub const MAX_HOSTS: usize = 2_000;
/// Threads each host costs: its supervisor, its connection attempts and polls, its actions.
pub const THREADS_PER_HOST: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this came from; relative paths inside it were resolved against its folder.
    pub source: Option<PathBuf>,
    pub poll: PollConfig,
    pub hosts: Vec<HostConfig>,
    pub policy: PolicyConfig,
    pub history: HistoryConfig,
    pub wall: WallConfig,
    /// `[keys]`: other keys for the actions.
    pub keys: crate::actions::keys::ActionKeys,
    /// The session may not act at all (`--read-only`, `--wall`); not a file setting.
    pub read_only: bool,
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
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            slow_stats_every: DEFAULT_SLOW_EVERY,
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
}

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
    keys: std::collections::BTreeMap<String, String>,
}

/// `[wall]`: the unattended display of `--wall`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WallConfig {
    /// Time on each view before the next: overview, findings, recent migrations.
    #[serde(default = "default_cycle", deserialize_with = "duration")]
    pub cycle: Duration,
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

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration string such as \"2s\", \"500ms\" or \"1m\"")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
            let d = humantime::parse_duration(s).map_err(|e| {
                E::custom(format!("invalid duration {s:?}: {e} (write e.g. \"2s\")"))
            })?;
            if d > crate::time::MAX_SPAN {
                return Err(E::custom(format!(
                    "duration {s:?} is longer than 100 years"
                )));
            }
            Ok(d)
        }
    }
    d.deserialize_str(V)
}

pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

/// A configuration problem, already phrased for the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    /// The message quotes the file's own text (TOML errors show the line), which may hold
    /// escape sequences: shown sanitized, never raw.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&crate::sanitize::clean_multiline(&self.0))
    }
}
impl std::error::Error for ConfigError {}

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
            .filter(|h| h.actions)
            .map(|h| h.uri.clone())
            .collect()
    }

    pub fn actions_allowed(&self) -> Vec<bool> {
        self.hosts
            .iter()
            .map(|h| h.actions && !self.read_only)
            .collect()
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config {}: {e}", path.display())))?;
        Config::parse(&text, Some(path))
    }

    /// Parses `text`; `path` names the file in messages and anchors relative paths.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        let shown = path.map_or_else(|| "<config>".to_owned(), |p| p.display().to_string());
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError(describe(&shown, text, &e)))?;
        // Relative paths inside the file are relative to its folder, wherever we were started.
        let base = path
            .and_then(|p| std::path::absolute(p).ok())
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let fail = |key: &str, msg: String| {
            ConfigError(format!(
                "{shown}, line {}: {key}: {msg}",
                line_of_key(text, key).map_or("?".into(), |l| l.to_string())
            ))
        };
        if raw.poll.interval < Duration::from_millis(200) {
            return Err(fail("interval", "must be at least 200ms".into()));
        }
        if raw.poll.timeout < Duration::from_secs(1) {
            return Err(fail("timeout", "must be at least 1s".into()));
        }
        for (key, d) in [
            ("interval", raw.poll.interval),
            ("timeout", raw.poll.timeout),
        ] {
            if d > Duration::from_secs(3600) {
                return Err(fail(key, "must be at most 1h".into()));
            }
        }
        if raw.poll.timeout < raw.poll.interval {
            // A host would be given up for dead before its next poll is even due.
            return Err(fail(
                "timeout",
                format!(
                    "must be at least the interval ({}), or a host is down before it is late",
                    humantime::format_duration(raw.poll.interval)
                ),
            ));
        }
        if raw.poll.slow_stats_every == 0 {
            return Err(fail("slow_stats_every", "must be 1 or more".into()));
        }
        if raw.hosts.is_empty() {
            return Err(ConfigError(format!(
                "{shown}: no [[host]] entries: add at least one (see config.example.toml)"
            )));
        }
        if raw.hosts.len() > MAX_HOSTS {
            let line =
                nth_line_of(text, "[[host]]", MAX_HOSTS).map_or("?".into(), |l| l.to_string());
            return Err(ConfigError(format!(
                "{shown}, line {line}: {} [[host]] entries, more than the limit of {MAX_HOSTS}: \
                 fleetwatch runs {THREADS_PER_HOST} threads per host (supervisor, connection, \
                 actions), and this many would exhaust the process's threads; split the fleet \
                 over several configs (one fleetwatch or recorder each), at most {MAX_HOSTS} \
                 hosts in each",
                raw.hosts.len()
            )));
        }
        let mut hosts = Vec::with_capacity(raw.hosts.len());
        for (i, mut h) in raw.hosts.into_iter().enumerate() {
            let line = nth_line_of(text, "[[host]]", i).map_or("?".into(), |l| l.to_string());
            if h.name.trim().is_empty() {
                return Err(ConfigError(format!(
                    "{shown}, line {line}: [[host]] name: must not be empty"
                )));
            }
            let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
            if hosts.iter().any(|o: &HostConfig| same(&o.name, &h.name)) {
                return Err(ConfigError(format!(
                    "{shown}, line {line}: [[host]] name: {:?} is used by two hosts; names must be unique",
                    h.name
                )));
            }
            if !h.uri.contains(':') {
                return Err(ConfigError(format!(
                    "{shown}, line {line}: [[host]] uri: {:?} is not a libvirt URI (e.g. qemu+ssh://user@host/system)",
                    h.uri
                )));
            }
            if let Err(e) = crate::transport::prepare(&h.uri) {
                return Err(ConfigError(format!(
                    "{shown}, line {line}: [[host]] uri: {e}"
                )));
            }
            h.uri = resolve_test_uri(&h.uri, &base);
            hosts.push(h);
        }
        let mut policy = raw.policy;
        if !policy.max_vcpu_overcommit.is_finite() || policy.max_vcpu_overcommit <= 0.0 {
            return Err(fail(
                "max_vcpu_overcommit",
                "must be a number above 0 (not inf or nan)".into(),
            ));
        }
        policy.resolve(&base);
        let mut history = raw.history;
        history.validate().map_err(|e| fail("rollup", e))?;
        history.resolve(&base);
        Ok(Config {
            source: path.map(Path::to_path_buf),
            poll: raw.poll,
            hosts,
            policy,
            history,
            wall: raw.wall,
            keys: crate::actions::keys::ActionKeys::from_config(&raw.keys).map_err(|e| {
                let line =
                    line_in_table(text, "[keys]", &e.key).map_or("?".into(), |l| l.to_string());
                ConfigError(format!("{shown}, line {line}: {e}"))
            })?,
            read_only: false,
        })
    }
}

/// `test:relative.xml` (no `//`) names a test-driver node file beside the config; libvirt itself
/// only takes `test:///absolute/path.xml`.
fn resolve_test_uri(uri: &str, base: &Path) -> String {
    match uri.strip_prefix("test:") {
        Some(rest) if !rest.starts_with("//") => {
            format!("test://{}", base.join(rest).display())
        }
        _ => uri.to_owned(),
    }
}

fn describe(shown: &str, text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim_end();
    let Some(span) = e.span() else {
        return format!("{shown}: {msg}");
    };
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("").trim();
    let table = text[..span.start.min(text.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .unwrap_or("top level");
    format!("{shown}, line {line} (in {table}): {msg}\n    {line} | {line_text}")
}

fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key) && l.contains('='))
        .map(|i| i + 1)
}

/// The line of `key = ...` inside the table `header` (bare or quoted key), else the header's.
fn line_in_table(text: &str, header: &str, key: &str) -> Option<usize> {
    let start = nth_line_of(text, header, 0)?;
    let entry = text
        .lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| {
            l.split_once('=').is_some_and(|(k, _)| {
                let k = k.trim();
                let k = k
                    .strip_prefix('"')
                    .and_then(|k| k.strip_suffix('"'))
                    .or_else(|| k.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
                    .unwrap_or(k);
                !key.is_empty() && k == key
            })
        })
        .map(|(i, _)| i + 1);
    Some(entry.unwrap_or(start))
}

fn nth_line_of(text: &str, header: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .nth(n)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Config, ConfigError> {
        Config::parse(t, Some(Path::new("/etc/fw/config.toml")))
    }

    #[test]
    fn defaults_apply() {
        let c = parse("[[host]]\nname = \"a\"\nuri = \"qemu:///system\"\n").unwrap();
        assert_eq!(c.poll, PollConfig::default());
        assert_eq!(c.hosts[0].tags, Vec::<String>::new());
    }

    #[test]
    fn an_ssh_uri_that_asks_for_a_terminal_is_refused() {
        let e =
            parse("[[host]]\nname = \"a\"\nuri = \"qemu+ssh://h/system?no_tty=0\"\n").unwrap_err();
        assert!(e.0.contains("line 1") && e.0.contains("no_tty=0"), "{e}");
        assert!(parse("[[host]]\nname = \"a\"\nuri = \"qemu+ssh://h/system\"\n").is_ok());
    }

    #[test]
    fn relative_test_uri_resolves_against_config_folder() {
        let c = parse("[[host]]\nname = \"a\"\nuri = \"test:demo/a.xml\"\n").unwrap();
        assert_eq!(c.hosts[0].uri, "test:///etc/fw/demo/a.xml");
        let c = parse("[[host]]\nname = \"a\"\nuri = \"test:///default\"\n").unwrap();
        assert_eq!(c.hosts[0].uri, "test:///default");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse("[poll]\ninterval = \"2s\"\nintervall = \"3s\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains("/etc/fw/config.toml, line 3"), "{e}");
        assert!(e.contains("intervall"), "{e}");
    }

    #[test]
    fn bad_duration_names_the_value() {
        let e =
            parse("[poll]\ninterval = \"fast\"\n[[host]]\nname=\"a\"\nuri=\"test:///default\"\n")
                .unwrap_err()
                .0;
        assert!(
            e.contains("line 2") && e.contains("interval") && e.contains("fast"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_host_names_are_refused() {
        let t = "[[host]]\nname=\"a\"\nuri=\"test:///default\"\n[[host]]\nname=\"a\"\nuri=\"test:///default\"\n";
        let e = parse(t).unwrap_err().0;
        assert!(e.contains("line 4") && e.contains("unique"), "{e}");
    }
}
