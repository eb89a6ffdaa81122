//! Findings: what is wrong with the fleet by the operator's own rules. Pure: the fleet, the
//! policy, what the inventory and backup catalog say, and the time are all given.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Unapproved,
    Unbacked,
    Drift,
    LocalStorage,
    AntiAffinity,
    FailoverCapacity,
    Overcommit,
    Ghost,
    HostDown,
    SplitBrain,
    NetbootFirst,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::SplitBrain,
        Kind::HostDown,
        Kind::Unapproved,
        Kind::Unbacked,
        Kind::Drift,
        Kind::LocalStorage,
        Kind::AntiAffinity,
        Kind::FailoverCapacity,
        Kind::Overcommit,
        Kind::Ghost,
        Kind::NetbootFirst,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Unapproved => "unapproved",
            Kind::Unbacked => "unbacked",
            Kind::Drift => "drift",
            Kind::LocalStorage => "local-storage",
            Kind::AntiAffinity => "anti-affinity",
            Kind::FailoverCapacity => "failover-capacity",
            Kind::Overcommit => "overcommit",
            Kind::Ghost => "ghost",
            Kind::HostDown => "host-down",
            Kind::SplitBrain => "split-brain",
            Kind::NetbootFirst => "netboot-first",
        }
    }

    /// One letter for the VMs table's flags column (legend in the help).
    pub fn badge(self) -> char {
        match self {
            Kind::Unapproved => 'U',
            Kind::Unbacked => 'B',
            Kind::Drift => 'D',
            Kind::LocalStorage => 'L',
            Kind::AntiAffinity => 'A',
            Kind::FailoverCapacity => 'F',
            Kind::Overcommit => 'O',
            Kind::Ghost => 'G',
            Kind::HostDown => 'H',
            Kind::SplitBrain => 'S',
            Kind::NetbootFirst => 'N',
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// How bad a finding of this kind is unless the config says otherwise. Critical: something
    /// is exposed now (no approval, no backup, a host whose loss strands VMs).
    pub fn default_severity(self) -> Severity {
        match self {
            Kind::Unapproved
            | Kind::Unbacked
            | Kind::FailoverCapacity
            | Kind::HostDown
            | Kind::SplitBrain => Severity::Critical,
            Kind::Drift
            | Kind::LocalStorage
            | Kind::AntiAffinity
            | Kind::Overcommit
            | Kind::Ghost
            | Kind::NetbootFirst => Severity::Warning,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub vm: Option<String>,
    pub uuid: Option<String>,
    pub host: Option<String>,
    pub detail: String,
}
