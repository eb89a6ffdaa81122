//! Findings about the fleet's hosts as a whole: hosts not answering, and VMs running on two
//! hosts at once. Pure, like the other rules.

use super::findings::{Finding, Kind};
use super::fleet::Fleet;
use crate::link::LinkState;
use crate::policy::PolicyConfig;
use std::time::Instant;

/// A host that is down or stale is a finding of its own: `check` must not say OK while
/// hypervisors do not answer. Severity: the host's `host_down`, else the policy's.
pub fn host_down(fleet: &Fleet, policy: &PolicyConfig, now: Instant) -> Vec<Finding> {
    fleet
        .hosts
        .iter()
        .filter(|h| matches!(h.link, LinkState::Down | LinkState::Stale))
        .map(|h| {
            let since = h
                .last_sample_at
                .map(|t| {
                    format!(
                        "; last data {} ago",
                        super::age(now.saturating_duration_since(t))
                    )
                })
                .unwrap_or_else(|| "; never answered".into());
            let why = match (h.link, h.error.as_deref()) {
                (LinkState::Stale, _) => "stale: the last poll is late".to_owned(),
                (_, Some(e)) => {
                    crate::diagnose::explain(&h.uri, e).map_or_else(|| e.to_owned(), |x| x.reason)
                }
                (_, None) => "not answering".to_owned(),
            };
            Finding {
                kind: Kind::HostDown,
                severity: h
                    .host_down
                    .unwrap_or_else(|| policy.severity(Kind::HostDown)),
                vm: None,
                uuid: None,
                host: Some(h.name.clone()),
                detail: format!("{} {}: {why}{since}", h.name, h.link.label()),
            }
        })
        .collect()
}

/// One UUID running on two hosts that both answer: two QEMUs writing one disk.
pub fn split_brain(fleet: &Fleet, policy: &PolicyConfig) -> Vec<Finding> {
    fleet
        .split_brains()
        .into_iter()
        .filter_map(|(uuid, hosts)| {
            let vm = fleet.vm(uuid)?;
            let names: Vec<&str> = hosts
                .iter()
                .map(|&h| fleet.hosts[h].name.as_str())
                .collect();
            Some(Finding {
                kind: Kind::SplitBrain,
                severity: policy.severity(Kind::SplitBrain),
                vm: Some(vm.name.clone()),
                uuid: Some(uuid.to_owned()),
                host: Some(fleet.hosts[vm.host].name.clone()),
                detail: format!(
                    "running on {} at once: two VMs write the same disks; stop all but one now",
                    names.join(" and ")
                ),
            })
        })
        .collect()
}
