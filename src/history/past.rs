//! The fleet as it was: a recorded moment turned back into the same model the live view uses,
//! so every pane can show it. Hosts no longer configured still appear, by name.

use super::query::Past;
use super::recorder::state_of;
use crate::collection::LinkState;
use crate::config::HostConfig;
use crate::model::sample::{DomainSample, HostInfo, HostSample};
use crate::model::Fleet;
use std::sync::Arc;
use std::time::Instant;

pub fn fleet_at(configured: &[HostConfig], past: &Past) -> Fleet {
    let mut hosts: Vec<HostConfig> = configured.to_vec();
    for h in &past.hosts {
        if !hosts.iter().any(|c| c.name == h.name)
            && (h.state != "unknown" || past.vms.iter().any(|v| v.host == h.name))
        {
            hosts.push(HostConfig {
                name: h.name.clone(),
                uri: h.uri.clone(),
                tags: Vec::new(),
                actions: false,
            });
        }
    }
    let mut fleet = Fleet::new(&hosts);
    let taken = Instant::now();
    let wall = chrono::DateTime::from_timestamp_millis(past.at_ms).unwrap_or_default();
    for (i, h) in hosts.iter().enumerate() {
        let domains: Vec<DomainSample> = past
            .vms
            .iter()
            .filter(|v| v.host == h.name)
            .map(|v| DomainSample {
                uuid: v.uuid.clone(),
                name: v.name.clone(),
                state: Some(state_of(&v.state)),
                vcpus: v.vcpus,
                memory_bytes: v.memory_bytes,
                max_memory_bytes: v.memory_bytes,
                ..DomainSample::default()
            })
            .collect();
        let state = past.hosts.iter().find(|p| p.name == h.name);
        if state.is_none_or(|s| s.state == "unknown") && domains.is_empty() {
            fleet.set_link(
                i,
                LinkState::Down,
                Some("not recorded at that moment".into()),
            );
            continue;
        }
        fleet.apply(
            i,
            &HostSample {
                taken,
                wall,
                poll_micros: 0,
                rtt_micros: None,
                calls: 0,
                configs_pending: 0,
                info: Arc::new(HostInfo::default()),
                free_memory_bytes: None,
                node_cpu: None,
                local: None,
                domains,
                events: Vec::new(),
            },
        );
        if let Some(s) = state.filter(|s| s.state != "up") {
            let link = match s.state.as_str() {
                "stale" => LinkState::Stale,
                "down" => LinkState::Down,
                _ => LinkState::Connecting,
            };
            fleet.set_link(i, link, s.error.clone());
        }
    }
    fleet
}
