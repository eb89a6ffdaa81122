//! Reading the file's text into a [`Config`]: TOML and serde first, then the checks serde
//! cannot make, each refusal naming the file, the line and the key.

use super::lines::{describe, line_in_table, line_of_key, nth_line_of};
use super::{Config, ConfigError, MAX_HOSTS, MAX_THREADS, RawConfig};
use crate::actions::keys::{ActionKeys, KeyRules};
use std::path::Path;
use std::time::Duration;

impl Config {
    /// Parses `text`; `path` names the file in messages and anchors relative paths.
    /// `keys` is what `[keys]` may use: the UI's bindings, which the core does not know.
    pub fn parse(text: &str, path: Option<&Path>, keys: &KeyRules) -> Result<Config, ConfigError> {
        let shown = path.map_or_else(|| "<config>".to_owned(), |p| p.display().to_string());
        let raw: RawConfig = toml::from_str(text).map_err(|e| describe(&shown, text, &e))?;
        // Relative paths inside the file are relative to its folder, wherever we were started.
        let base = path
            .and_then(|p| std::path::absolute(p).ok())
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let fail = |key: &str, reason: String| ConfigError::Value {
            file: shown.clone(),
            line: line_of_key(text, key),
            key: key.to_owned(),
            reason,
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
        if !(1..=MAX_THREADS).contains(&raw.poll.threads) {
            return Err(fail("threads", format!("must be 1 to {MAX_THREADS}")));
        }
        if !(1..=raw.poll.threads).contains(&raw.poll.connects) {
            // More connects than threads could never run at once anyway.
            return Err(fail(
                "connects",
                format!("must be 1 to threads ({})", raw.poll.threads),
            ));
        }
        if raw.hosts.is_empty() {
            return Err(ConfigError::NoHosts { file: shown });
        }
        if raw.hosts.len() > MAX_HOSTS {
            return Err(ConfigError::TooManyHosts {
                file: shown,
                line: nth_line_of(text, "[[host]]", MAX_HOSTS),
                count: raw.hosts.len(),
            });
        }
        let mut hosts = Vec::with_capacity(raw.hosts.len());
        // Names as compared: a set, so 10,000 hosts cost 10,000 looks, not 50 million.
        let mut names = std::collections::HashSet::with_capacity(raw.hosts.len());
        for (i, mut h) in raw.hosts.into_iter().enumerate() {
            let host_fail = |key: &str, reason: String| ConfigError::Value {
                file: shown.clone(),
                line: nth_line_of(text, "[[host]]", i),
                key: format!("[[host]] {key}"),
                reason,
            };
            if h.name.trim().is_empty() {
                return Err(host_fail("name", "must not be empty".into()));
            }
            if !names.insert(h.name.trim().to_lowercase()) {
                return Err(host_fail(
                    "name",
                    format!("{:?} is used by two hosts; names must be unique", h.name),
                ));
            }
            if !h.uri.contains(':') {
                return Err(host_fail(
                    "uri",
                    format!(
                        "{:?} is not a libvirt URI (e.g. qemu+ssh://user@host/system)",
                        h.uri
                    ),
                ));
            }
            if let Err(e) = crate::transport::prepare(&h.uri) {
                return Err(host_fail("uri", e.to_string()));
            }
            if let Some(g) = &h.group
                && !raw.groups.contains_key(g)
            {
                let known: Vec<&str> = raw.groups.keys().map(String::as_str).collect();
                return Err(host_fail(
                    "group",
                    format!(
                        "{g:?} has no [group.{g}] table (a typo would lose its settings); defined: {}",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
            h.uri = resolve_test_uri(&h.uri, &base);
            hosts.push(h);
        }
        for (name, g) in &raw.groups {
            for a in g.actions.iter().flatten() {
                if !super::GROUP_ACTIONS.contains(&a.as_str()) {
                    return Err(ConfigError::Value {
                        file: shown.clone(),
                        line: line_in_table(text, &format!("[group.{name}]"), "actions"),
                        key: format!("[group.{name}] actions"),
                        reason: format!(
                            "{a:?} is not an action: {}",
                            super::GROUP_ACTIONS.join(", ")
                        ),
                    });
                }
            }
            if let Some(c) = &g.color {
                let hex = c.len() == 7
                    && c.starts_with('#')
                    && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
                if !hex && !super::GROUP_COLORS.contains(&c.as_str()) {
                    return Err(ConfigError::Value {
                        file: shown.clone(),
                        line: line_in_table(text, &format!("[group.{name}]"), "color"),
                        key: format!("[group.{name}] color"),
                        reason: format!(
                            "{c:?} is not a colour: {} or #rrggbb",
                            super::GROUP_COLORS.join(", ")
                        ),
                    });
                }
            }
        }
        let mut policy = raw.policy;
        if !policy.max_vcpu_overcommit.is_finite() || policy.max_vcpu_overcommit <= 0.0 {
            return Err(fail(
                "max_vcpu_overcommit",
                "must be a number above 0 (not inf or nan)".into(),
            ));
        }
        policy.resolve(&base);
        for h in &hosts {
            let mut own = h
                .group
                .as_ref()
                .and_then(|g| raw.groups.get(g))
                .map(|g| g.severity.clone())
                .unwrap_or_default();
            // The host's own `host_down` is more particular than its group's.
            if let Some(s) = h.host_down {
                own.insert(crate::model::findings::Kind::HostDown, s);
            }
            if !own.is_empty() {
                policy.host_severity.insert(h.name.clone(), own);
            }
        }
        if !(1..=super::MAX_PARALLEL_MIGRATIONS).contains(&raw.evacuation.parallel) {
            return Err(ConfigError::Value {
                file: shown.clone(),
                line: line_in_table(text, "[evacuation]", "parallel"),
                key: "[evacuation] parallel".into(),
                reason: format!(
                    "{} migrations at once: from 1 to {}",
                    raw.evacuation.parallel,
                    super::MAX_PARALLEL_MIGRATIONS
                ),
            });
        }
        let mut history = raw.history;
        history
            .validate()
            .map_err(|e| fail("rollup", e.to_string()))?;
        history.resolve(&base);
        Ok(Config {
            source: path.map(Path::to_path_buf),
            poll: raw.poll,
            hosts,
            policy,
            history,
            wall: raw.wall,
            evacuation: raw.evacuation,
            keys: ActionKeys::from_config(&raw.keys, keys).map_err(|e| ConfigError::Keys {
                file: shown.clone(),
                line: line_in_table(text, "[keys]", e.entry()),
                source: e,
            })?,
            read_only: false,
            groups: raw.groups,
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
