//! Policy: the operator's rules (`[policy]` in the config) and the files they point at, the
//! approved inventory and the backup catalog. The files are read off the UI task, by a loader
//! thread that re-reads them when they change, and every problem in them is reported with the
//! file and line, never silently dropped.

pub mod catalog;
pub mod inventory;
pub mod loader;

use crate::model::findings::{Kind, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_BACKUP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_MAX_VCPU_OVERCOMMIT: f64 = 4.0;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Path prefixes of file and block disks that live on storage every host can reach.
    #[serde(default)]
    pub shared_storage: Vec<String>,
    /// The approved-VM inventory (TOML); relative to the config file.
    #[serde(default)]
    pub inventory: Option<PathBuf>,
    /// The backup catalog (JSON lines); relative to the config file.
    #[serde(default)]
    pub backup_catalog: Option<PathBuf>,
    #[serde(
        default = "default_backup_max_age",
        deserialize_with = "crate::config::duration"
    )]
    pub backup_max_age: Duration,
    #[serde(default = "default_overcommit")]
    pub max_vcpu_overcommit: f64,
    /// Whether a libvirt snapshot counts as backup evidence. Off by default: an internal
    /// snapshot lives on the same disks as the VM and dies with them.
    #[serde(default)]
    pub snapshots_count_as_backup: bool,
    /// Per service group settings, `[policy.group.NAME]`.
    #[serde(default)]
    pub group: BTreeMap<String, GroupPolicy>,
    /// Severity per finding kind, `[policy.severity]`, e.g. `unbacked = "warning"`.
    #[serde(default)]
    pub severity: BTreeMap<Kind, Severity>,
    /// Per host name: the severities its group (`[group.NAME.severity]`) and its own
    /// `host_down` set over [`PolicyConfig::severity`]. Filled from the hosts when the config
    /// is read, not written in `[policy]`.
    #[serde(skip)]
    pub host_severity: std::collections::HashMap<String, BTreeMap<Kind, Severity>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupPolicy {
    #[serde(default, deserialize_with = "crate::config::opt_duration")]
    pub backup_max_age: Option<Duration>,
    /// Its VMs boot from the network first on purpose (reinstalled at each boot): no
    /// `netboot-first` finding for them.
    #[serde(default)]
    pub netboot_expected: bool,
}

fn default_backup_max_age() -> Duration {
    DEFAULT_BACKUP_MAX_AGE
}
fn default_overcommit() -> f64 {
    DEFAULT_MAX_VCPU_OVERCOMMIT
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            shared_storage: Vec::new(),
            inventory: None,
            backup_catalog: None,
            backup_max_age: DEFAULT_BACKUP_MAX_AGE,
            max_vcpu_overcommit: DEFAULT_MAX_VCPU_OVERCOMMIT,
            snapshots_count_as_backup: false,
            group: BTreeMap::new(),
            severity: BTreeMap::new(),
            host_severity: Default::default(),
        }
    }
}

impl PolicyConfig {
    pub fn severity(&self, k: Kind) -> Severity {
        self.severity
            .get(&k)
            .copied()
            .unwrap_or_else(|| k.default_severity())
    }

    /// A finding's severity on this host: its own or its group's setting, else the policy's.
    pub fn severity_on(&self, k: Kind, host: Option<&str>) -> Severity {
        host.and_then(|h| self.host_severity.get(h))
            .and_then(|m| m.get(&k))
            .copied()
            .unwrap_or_else(|| self.severity(k))
    }

    pub fn backup_max_age(&self, group: Option<&str>) -> Duration {
        group
            .and_then(|g| self.group.get(g))
            .and_then(|g| g.backup_max_age)
            .unwrap_or(self.backup_max_age)
    }

    /// Whether a VM of this group is meant to boot from the network first.
    pub fn netboot_expected(&self, group: Option<&str>) -> bool {
        group
            .and_then(|g| self.group.get(g))
            .is_some_and(|g| g.netboot_expected)
    }

    /// Makes the file paths absolute against the config file's folder.
    pub fn resolve(&mut self, base: &Path) {
        for p in [&mut self.inventory, &mut self.backup_catalog]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

/// A problem in an input file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}, line {l}: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_overrides_backup_age() {
        let mut p = PolicyConfig::default();
        p.group.insert(
            "db".into(),
            GroupPolicy {
                backup_max_age: Some(Duration::from_secs(3600)),
                netboot_expected: false,
            },
        );
        assert_eq!(p.backup_max_age(Some("db")), Duration::from_secs(3600));
        assert_eq!(p.backup_max_age(Some("web")), DEFAULT_BACKUP_MAX_AGE);
        assert_eq!(p.backup_max_age(None), DEFAULT_BACKUP_MAX_AGE);
        p.severity.insert(Kind::Unbacked, Severity::Warning);
        assert_eq!(p.severity(Kind::Unbacked), Severity::Warning);
        assert_eq!(p.severity(Kind::Unapproved), Severity::Critical);
    }
}
