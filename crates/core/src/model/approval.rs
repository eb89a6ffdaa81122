//! Approvals: what the inventory and a VM's own fleetwatch metadata say about it, and which of
//! them counts.

use super::rules::or_dash;
use super::sample::Approval;
use super::vm::Vm;
use crate::policy::PolicyConfig;
use crate::policy::loader::Inputs;
use chrono::{DateTime, Utc};

/// Where an approval came from, for the operator.
#[derive(Debug, Clone)]
pub enum Source {
    Inventory { line: usize },
    Metadata,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Source::Inventory { line } => write!(f, "inventory line {line}"),
            Source::Metadata => f.write_str("VM metadata"),
        }
    }
}

/// Every approval a VM has, and which of them still holds.
pub struct Approvals {
    all: Vec<(Approval, Source)>,
    now: DateTime<Utc>,
}

impl Approvals {
    fn valid(&self) -> impl Iterator<Item = &(Approval, Source)> {
        self.all
            .iter()
            .filter(|(a, _)| a.expires.is_none_or(|e| e > self.now))
    }

    /// The approval that counts: a valid one, the longest-lasting first; else the newest
    /// expired one (its spec and group still describe the VM).
    pub fn best(&self) -> Option<(&Approval, Source)> {
        self.valid()
            .max_by_key(|(a, _)| a.expires.unwrap_or(DateTime::<Utc>::MAX_UTC))
            .or_else(|| self.all.iter().max_by_key(|(a, _)| a.expires))
            .map(|(a, s)| (a, s.clone()))
    }

    /// Why the VM is not approved, or None when it is.
    pub(super) fn problem(&self, policy: &PolicyConfig) -> Option<String> {
        if self.valid().next().is_some() {
            return None;
        }
        if self.all.is_empty() {
            let inv = match policy.inventory.as_deref().and_then(|p| p.file_name()) {
                Some(f) => format!("not in the inventory ({})", f.to_string_lossy()),
                None => "no inventory configured".into(),
            };
            return Some(format!(
                "no approval: {inv}, no fleetwatch approval metadata"
            ));
        }
        let expired: Vec<String> = self
            .all
            .iter()
            .map(|(a, s)| {
                let when = a
                    .expires
                    .map(|e| e.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                format!(
                    "expired {when} ({s}, owner {}, ticket {})",
                    or_dash(&a.owner),
                    or_dash(&a.ticket)
                )
            })
            .collect();
        Some(format!("approval {}", expired.join("; ")))
    }
}

pub fn approval_of(vm: &Vm, inputs: &Inputs, now: DateTime<Utc>) -> Approvals {
    let mut all = Vec::new();
    if let Some(e) = inputs
        .inventory()
        .and_then(|inv| inv.lookup(&vm.uuid, &vm.name))
    {
        all.push((e.approval.clone(), Source::Inventory { line: e.line }));
    }
    if let Some(a) = vm
        .config
        .as_ref()
        .and_then(|c| c.fleet.as_ref())
        .and_then(|m| m.approval.clone())
    {
        all.push((a, Source::Metadata));
    }
    Approvals { all, now }
}

/// Each VM's service group (UUID -> group), from its best approval: what anti-affinity keeps
/// apart.
pub fn service_groups(
    fleet: &super::Fleet,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> std::collections::HashMap<String, String> {
    fleet
        .vms()
        .filter_map(|v| {
            let a = approval_of(v, inputs, now);
            let g = a.best().and_then(|(a, _)| a.group.clone());
            g.map(|g| (v.uuid.clone(), g))
        })
        .collect()
}
