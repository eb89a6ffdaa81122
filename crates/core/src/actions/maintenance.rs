//! Hosts in maintenance: an evacuation puts its host in maintenance (who, since when) and keeps
//! where each VM it moved went, so `return` brings them back, from this session or the next
//! one, from this TUI or another operator's: the store keeps it beside the acknowledgements.
//! A host in maintenance is no target, and its findings are labelled maintenance: they are
//! expected while someone works on it, so they do not raise `check`'s status.

use super::evacuate::Move;
use crate::model::findings::Finding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    pub host: String,
    pub by: String,
    pub since_ms: i64,
    /// The VMs the evacuation moved away and still away, each with where it went.
    pub away: Vec<Move>,
}

impl Maintenance {
    pub fn new(host: &str, by: &str, since_ms: i64) -> Maintenance {
        Maintenance {
            host: host.to_owned(),
            by: by.to_owned(),
            since_ms,
            away: Vec::new(),
        }
    }

    /// A VM moved off the host (a second move of the same VM replaces the first).
    pub fn left(&mut self, m: Move) {
        self.away.retain(|a| a.uuid != m.uuid);
        self.away.push(m);
    }

    /// A VM is home again.
    pub fn back(&mut self, uuid: &str) {
        self.away.retain(|a| a.uuid != uuid);
    }

    /// "by ann since 2026-12-03 14:02 UTC, 3 VMs away"
    pub fn describe(&self) -> String {
        format!(
            "by {} since {}, {} VM(s) away",
            self.by,
            crate::time::show_ms(self.since_ms),
            self.away.len()
        )
    }
}

pub fn of<'a>(all: &'a [Maintenance], host: &str) -> Option<&'a Maintenance> {
    all.iter().find(|m| m.host == host)
}

/// The findings of hosts not in maintenance, and those of hosts in it with the maintenance.
#[allow(clippy::type_complexity)]
pub fn split<'a>(
    findings: &'a [Finding],
    all: &'a [Maintenance],
) -> (Vec<&'a Finding>, Vec<(&'a Finding, &'a Maintenance)>) {
    let mut live = Vec::new();
    let mut held = Vec::new();
    for f in findings {
        match f.host.as_deref().and_then(|h| of(all, h)) {
            Some(m) => held.push((f, m)),
            None => live.push(f),
        }
    }
    (live, held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::findings::{Kind, Severity};

    fn mv(vm: &str, to: &str) -> Move {
        Move {
            vm: vm.into(),
            uuid: format!("u-{vm}"),
            from: "hv1".into(),
            to: to.into(),
            memory_bytes: 1 << 30,
        }
    }

    #[test]
    fn a_vm_moved_twice_is_away_once_and_back_is_gone() {
        let mut m = Maintenance::new("hv1", "ann", 0);
        m.left(mv("web", "hv2"));
        m.left(mv("db", "hv2"));
        m.left(mv("web", "hv3"));
        assert_eq!(m.away.len(), 2);
        assert_eq!(m.away[1].to, "hv3");
        m.back("u-web");
        assert_eq!(m.away, vec![mv("db", "hv2")]);
    }

    #[test]
    fn only_findings_on_a_host_in_maintenance_are_held() {
        let f = |host: Option<&str>| Finding {
            kind: Kind::HostDown,
            severity: Severity::Critical,
            vm: None,
            uuid: None,
            host: host.map(str::to_owned),
            detail: String::new(),
        };
        let findings = [f(Some("hv1")), f(Some("hv2")), f(None)];
        let all = [Maintenance::new("hv1", "ann", 0)];
        let (live, held) = split(&findings, &all);
        assert_eq!(live.len(), 2);
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].0.host.as_deref(), Some("hv1"));
    }
}
