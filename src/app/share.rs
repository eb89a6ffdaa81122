//! Recorders that share one config over a database divide its hosts: each takes an equal
//! share of those no live recorder holds (`lease::fair_share`), looks again every lease
//! renewal, and starts over with its new share when that changed (one joined, one died). A
//! start over is a recorder restart, which the store is built for: what it loads back makes
//! the new recorder go on without inventing events.

use fleetwatch_core::config::{Config, HostConfig};
use fleetwatch_core::history::lease::{Holder, fair_share, renew_every_ms};
use fleetwatch_core::history::store::HistoryRead;
use std::time::Duration;

/// How often a sharing recorder looks whether its share changed: at each renewal, so a dead
/// recorder's hosts are seen free at most one renewal after they went stale.
pub fn look_every(config: &Config) -> Duration {
    Duration::from_millis(renew_every_ms(config.poll.interval) as u64)
}

/// The hosts of `config` this recorder should record now, by the leases `looker` reads (a
/// connection to the shared database; none for a file, which is not shared: every host).
/// `me`: this recorder (the same holder for all its sessions).
pub fn target(
    looker: Option<&dyn HistoryRead>,
    config: &Config,
    me: &Holder,
) -> Result<Vec<HostConfig>, String> {
    let Some(looker) = looker else {
        return Ok(config.hosts.clone());
    };
    let leases = looker.leases().map_err(|e| e.to_string())?;
    let names: Vec<&str> = config.hosts.iter().map(|h| h.name.as_str()).collect();
    let now = chrono::Utc::now().timestamp_millis();
    let share = fair_share(&names, &leases, me, now);
    Ok(config
        .hosts
        .iter()
        .filter(|h| share.contains(&h.name))
        .cloned()
        .collect())
}

/// The config with only these hosts, for the collectors and the recorder of one share.
pub fn only(config: &Config, hosts: &[HostConfig]) -> Config {
    Config {
        hosts: hosts.to_vec(),
        ..config.clone()
    }
}
